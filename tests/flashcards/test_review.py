"""Candidate review (`flashcards.review_candidates`), the sessions' reads, and the rules of
finish_ai_session: called the way PostgREST calls them."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error, race, race_rpc
from tests.flashcards.conftest import CANDIDATES, Generated, study_text

Generate = Callable[..., Generated]


def _counts(api: Api, user: User, session_id: str) -> tuple[int, int, int, int]:
    session = api("flashcards.get_ai_session", user, session_id=session_id).body["data"]["session"]
    return (session["candidates_count"], session["accepted_unedited_count"],
            session["accepted_edited_count"], session["rejected_count"])


def test_a_mixed_review_makes_the_right_cards_and_counts(
    api: Api, alice: User, generate_via_rpc: Generate, admin: psycopg.Connection[Any]
) -> None:
    made = generate_via_rpc(alice)
    c = made.candidate_ids
    response = api("flashcards.review_candidates", alice, session_id=made.session_id, actions=[
        {"candidate_id": c[0], "action": "accept"},
        {"candidate_id": c[1], "action": "edit", "front": "  Chlorophyll?  "},
        {"candidate_id": c[2], "action": "reject"},
    ])
    assert response.status == 200, response.body
    cards = response.body["data"]["flashcards"]
    assert [(x["front"], x["back"], x["source"]) for x in cards] == [
        (CANDIDATES[0]["front"], CANDIDATES[0]["back"], "ai"),
        ("Chlorophyll?", CANDIDATES[1]["back"], "ai_edited"),  # trimmed; the back kept
    ]
    assert response.body["meta"] == {"accepted": 1, "edited": 1, "rejected": 1}
    assert _counts(api, alice, made.session_id) == (4, 1, 1, 1)
    candidates = api("flashcards.get_ai_session", alice,
                     session_id=made.session_id).body["data"]["candidates"]
    assert [x["status"] for x in candidates] == ["accepted", "edited", "rejected", "pending"]
    assert candidates[0]["flashcard_id"] == cards[0]["id"]
    deck = api("flashcards.list_flashcards", alice).body
    assert deck["pagination"]["total"] == 2
    # the rest later: counts add up, they are never overwritten
    again = api("flashcards.review_candidates", alice, session_id=made.session_id,
                actions=[{"candidate_id": c[3], "action": "accept"}])
    assert again.status == 200
    assert _counts(api, alice, made.session_id) == (4, 2, 1, 1)
    events = admin.execute("select data from core.events where event_type ="
                           " 'candidates_reviewed' order by id").fetchall()
    assert [e[0] for e in events] == [{"accepted": 1, "edited": 1, "rejected": 1},
                                      {"accepted": 1, "edited": 0, "rejected": 0}]


def test_a_second_review_of_a_candidate_is_409_and_changes_nothing(
    api: Api, alice: User, generate_via_rpc: Generate, admin: psycopg.Connection[Any]
) -> None:
    made = generate_via_rpc(alice)
    c = made.candidate_ids
    assert api("flashcards.review_candidates", alice, session_id=made.session_id,
               actions=[{"candidate_id": c[0], "action": "reject"}]).status == 200
    conflict = api("flashcards.review_candidates", alice, session_id=made.session_id, actions=[
        {"candidate_id": c[1], "action": "accept"},   # would be fine alone
        {"candidate_id": c[0], "action": "accept"},   # already reviewed
    ])
    body = assert_error(conflict, 409, "CANDIDATE_ALREADY_REVIEWED")
    assert body["details"]["candidateId"] == c[0]
    assert _counts(api, alice, made.session_id) == (4, 0, 0, 1)  # all or nothing
    assert admin.execute("select count(*) from flashcards.flashcards").fetchone() == (0,)


def test_racing_reviews_of_one_candidate_make_one_card(
    alice: User, generate_via_rpc: Generate, database_url: str,
    admin: psycopg.Connection[Any],
) -> None:
    made = generate_via_rpc(alice)
    responses = race_rpc(database_url, 6, "flashcards.review_candidates", {
        "session_id": made.session_id,
        "actions": [{"candidate_id": made.candidate_ids[0], "action": "accept"}]}, alice.claims)
    assert Counter(r.status for r in responses) == {200: 1, 409: 5}
    assert {r.body["code"] for r in responses if not r.ok} == {"CANDIDATE_ALREADY_REVIEWED"}
    assert admin.execute("select count(*) from flashcards.flashcards").fetchone() == (1,)


def test_racing_reviews_of_different_candidates_all_count(
    api: Api, alice: User, generate_via_rpc: Generate, database_url: str,
) -> None:
    made = generate_via_rpc(alice)
    ids = iter(made.candidate_ids)

    def review(go: Callable[[], object]) -> int:
        candidate = next(ids)
        with psycopg.connect(database_url, autocommit=True) as conn:
            go()
            return Api(conn)("flashcards.review_candidates", alice, session_id=made.session_id,
                             actions=[{"candidate_id": candidate, "action": "accept"}]).status

    assert race(len(made.candidate_ids), review) == [200] * len(made.candidate_ids)
    assert _counts(api, alice, made.session_id) == (4, 4, 0, 0)


def test_someone_elses_session_or_candidate_is_404(
    api: Api, alice: User, bob: User, generate_via_rpc: Generate
) -> None:
    alices = generate_via_rpc(alice)
    bobs = generate_via_rpc(bob)
    assert_error(api("flashcards.review_candidates", bob, session_id=alices.session_id,
                     actions=[{"candidate_id": alices.candidate_ids[0], "action": "accept"}]),
                 404, "NOT_FOUND")
    # alice's candidate smuggled into bob's own session
    body = assert_error(api("flashcards.review_candidates", bob, session_id=bobs.session_id,
                            actions=[{"candidate_id": alices.candidate_ids[0],
                                      "action": "accept"}]), 404, "NOT_FOUND")
    assert body["details"]["field"] == "actions[0].candidate_id"
    assert_error(api("flashcards.get_ai_session", bob, session_id=alices.session_id),
                 404, "NOT_FOUND")
    assert_error(api("flashcards.get_ai_session", bob, session_id=str(uuid.uuid4())),
                 404, "NOT_FOUND")


@pytest.mark.parametrize(("actions", "field"), [
    ([], "actions"),
    ("accept", "actions"),
    ([{"candidate_id": "c", "action": "accept"}] * 101, "actions"),
    (["accept"], "actions[0]"),
    ([{"candidate_id": "{c0}", "action": "keep"}], "actions[0].action"),
    ([{"candidate_id": "not-a-uuid", "action": "accept"}], "actions[0].candidate_id"),
    ([{"candidate_id": "{c0}", "action": "edit"}], "actions[0]"),
    ([{"candidate_id": "{c0}", "action": "edit", "front": "  "}], "actions[0].front"),
    ([{"candidate_id": "{c0}", "action": "edit", "back": "b" * 501}], "actions[0].back"),
    ([{"candidate_id": "{c0}", "action": "edit", "front": 7}], "actions[0].front"),
    ([{"candidate_id": "{c0}", "action": "accept"}, {"candidate_id": "{c0}", "action": "reject"}],
     "actions[1].candidate_id"),
])
def test_bad_actions_are_400_naming_the_field(
    api: Api, alice: User, generate_via_rpc: Generate, actions: Any, field: str
) -> None:
    made = generate_via_rpc(alice)
    filled = json.loads(json.dumps(actions).replace("{c0}", made.candidate_ids[0]))
    body = assert_error(api("flashcards.review_candidates", alice, session_id=made.session_id,
                            actions=filled), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field
    assert _counts(api, alice, made.session_id) == (4, 0, 0, 0)


def test_a_session_that_is_not_completed_cannot_be_reviewed(api: Api, alice: User) -> None:
    begun = api.service("flashcards.begin_ai_session", user_id=alice.id,
                        input_text=study_text(1200), model="local/rules")
    body = assert_error(api("flashcards.review_candidates", alice,
                            session_id=begun.body["sessionId"],
                            actions=[{"candidate_id": str(uuid.uuid4()), "action": "accept"}]),
                        422, "INVALID_STATUS")
    assert body["details"]["currentStatus"] == "pending"


def test_finish_checks_the_candidates_again(api: Api, alice: User, generate_via_rpc: Generate,
                                            admin: psycopg.Connection[Any]) -> None:
    made = generate_via_rpc(alice, [
        {"front": "  Same front ", "back": "first", "prompt": "p"},
        {"front": "same FRONT", "back": "duplicate, dropped", "prompt": "p"},
        {"front": "", "back": "empty front, dropped", "prompt": "p"},
        {"front": "f" * 201, "back": "too long, dropped", "prompt": "p"},
        {"front": "ok", "back": "b" * 501, "prompt": "p"},
        "not an object",
        {"front": "Second", "back": "kept", "prompt": "p"},
    ] + [{"front": f"Q{i}", "back": "A", "prompt": ""} for i in range(40)])
    rows = admin.execute("select position, front, back, prompt from flashcards.candidates"
                         " where session_id = %s order by position",
                         (made.session_id,)).fetchall()
    assert len(rows) == 30
    assert rows[0] == (1, "Same front", "first", "p")
    assert rows[1] == (2, "Second", "kept", "p")
    assert rows[2] == (3, "Q0", "A", None)


def test_finish_with_no_usable_candidate_records_a_failure(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    begun = api.service("flashcards.begin_ai_session", user_id=alice.id,
                        input_text=study_text(1200), model="local/rules")
    finished = api.service("flashcards.finish_ai_session", user_id=alice.id,
                           session_id=begun.body["sessionId"],
                           outcome={"status": "success", "candidates": [{"front": ""}]})
    assert finished.status == 200
    assert finished.body["error"] == {"code": "AI_INVALID_OUTPUT"}
    assert admin.execute("select status::text, error_code from"
                         " flashcards.ai_generation_sessions").fetchone() == (
        "failed", "AI_INVALID_OUTPUT")
    # closing it twice changes nothing
    again = api.service("flashcards.finish_ai_session", user_id=alice.id,
                        session_id=begun.body["sessionId"], outcome={"status": "success"})
    assert again.body["error"] == {"code": "GENERATION_CLOSED"}


def test_begin_validates_what_the_service_should_have(api: Api, alice: User) -> None:
    short = api.service("flashcards.begin_ai_session", user_id=alice.id,
                        input_text="  " + study_text(999) + "   ", model="local/rules")
    assert assert_error(short, 400, "VALIDATION_ERROR")["details"]["field"] == "input_text"
    nobody = api.service("flashcards.begin_ai_session", user_id=str(uuid.uuid4()),
                         input_text=study_text(1200), model="local/rules")
    assert_error(nobody, 401, "UNAUTHORIZED")
    no_model = api.service("flashcards.begin_ai_session", user_id=alice.id,
                           input_text=study_text(1200), model=" ")
    assert assert_error(no_model, 400, "VALIDATION_ERROR")["details"]["field"] == "model"


def test_a_session_abandoned_by_a_crash_is_closed_by_the_next_begin(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    begun = api.service("flashcards.begin_ai_session", user_id=alice.id,
                        input_text=study_text(1200), model="local/rules")
    admin.execute("update flashcards.ai_generation_sessions"
                  " set created_at = now() - interval '10 minutes'")
    api.service("flashcards.begin_ai_session", user_id=alice.id,
                input_text=study_text(1200), model="local/rules")
    assert admin.execute("select status::text, error_code from flashcards.ai_generation_sessions"
                         " where id = %s", (begun.body["sessionId"],)).fetchone() == (
        "failed", "ABANDONED")


def test_list_ai_sessions_pages_without_the_input_text(
    api: Api, alice: User, bob: User, generate_via_rpc: Generate
) -> None:
    made = [generate_via_rpc(alice) for _ in range(3)]
    generate_via_rpc(bob)
    page = api("flashcards.list_ai_sessions", alice, page_size=2, page_offset=1)
    assert page.status == 200
    assert page.body["pagination"] == {"limit": 2, "offset": 1, "total": 3, "total_capped": False}
    assert [s["id"] for s in page.body["data"]] == [made[1].session_id, made[0].session_id]
    assert "input_text" not in page.body["data"][0]
    assert page.body["data"][0]["input_length"] == 1200
    got = api("flashcards.list_ai_sessions", alice, method="GET", page_size="2",
              page_offset="1")
    assert got.body == page.body
    assert_error(api("flashcards.list_ai_sessions", alice, page_size=0), 400, "VALIDATION_ERROR")


def test_clients_cannot_write_the_tables_directly(
    admin: psycopg.Connection[Any], alice: User, generate_via_rpc: Generate
) -> None:
    made = generate_via_rpc(alice)
    for statement in (
        "insert into flashcards.flashcards (user_id, front, back, source)"
        " values (auth.uid(), 'f', 'b', 'manual')",
        "update flashcards.candidates set status = 'accepted'",
        "update flashcards.ai_generation_sessions set accepted_unedited_count = 99",
        "delete from flashcards.candidates",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                admin.transaction(force_rollback=True):
            admin.execute("select set_config('role', 'authenticated', true),"
                          " set_config('request.jwt.claims', %s, true)",
                          (json.dumps(alice.claims),))
            admin.execute(statement)
    assert admin.execute("select count(*) from flashcards.candidates where session_id = %s",
                         (made.session_id,)).fetchone() == (4,)
