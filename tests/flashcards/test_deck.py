"""The deck: create by hand, search, sort, page, edit, soft-delete; owners only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error, race_rpc
from tests.flashcards.conftest import Generated, create_cards

Generate = Callable[..., Generated]


def _fronts(response: Any) -> list[str]:
    return [c["front"] for c in response.body["data"]]


def test_manual_cards_are_created_trimmed_and_logged(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    cards = create_cards(api, alice, (" Stolica Polski? ", " Warszawa "), ("2 + 2", "4"))
    assert [(c["front"], c["back"], c["source"]) for c in cards] == [
        ("Stolica Polski?", "Warszawa", "manual"), ("2 + 2", "4", "manual")]
    assert admin.execute("select event_type, data from core.events").fetchall() == [
        ("flashcards_created", {"count": 2, "source": "manual"})]


@pytest.mark.parametrize(("items", "field"), [
    ([], "items"),
    ([{"front": "f", "back": "b"}] * 101, "items"),
    ([{"front": "f"}], "items[0].back"),
    ([{"front": "f", "back": "b"}, {"front": "x" * 201, "back": "b"}], "items[1].front"),
    ([{"front": "f", "back": "b" * 501}], "items[0].back"),
    ([{"front": "   ", "back": "b"}], "items[0].front"),
    ([["f", "b"]], "items[0]"),
])
def test_bad_items_are_400_and_nothing_is_created(
    api: Api, alice: User, admin: psycopg.Connection[Any], items: list[Any], field: str
) -> None:
    body = assert_error(api("flashcards.create_flashcards", alice, items=items),
                        400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field
    assert admin.execute("select count(*) from flashcards.flashcards").fetchone() == (0,)


def test_search_finds_a_card_by_a_word_of_its_back(api: Api, alice: User, bob: User) -> None:
    create_cards(api, alice, ("Photosynthesis", "Plants turn light into glucose"),
            ("Mitochondrion", "The powerhouse of the cell"),
            ("Fotosynteza", "Rośliny wytwarzają glukozę"))
    create_cards(api, bob, ("Bob's card", "glucose too"))
    found = api("flashcards.list_flashcards", alice, search="glucose")
    assert _fronts(found) == ["Photosynthesis"]
    assert found.body["pagination"]["total"] == 1
    assert _fronts(api("flashcards.list_flashcards", alice, search="GLUKOZĘ")) == ["Fotosynteza"]
    assert _fronts(api("flashcards.list_flashcards", alice, search="powerhouse cell")) == [
        "Mitochondrion"]
    assert _fronts(api("flashcards.list_flashcards", alice, search="cell -powerhouse")) == []
    assert api("flashcards.list_flashcards", alice, search="   ").body["pagination"][
        "total"] == 3


def test_sort_and_pages(api: Api, alice: User) -> None:
    create_cards(api, alice, ("b", "1"), ("c", "2"), ("a", "3"))
    by_front = api("flashcards.list_flashcards", alice, sort="front", sort_order="asc")
    assert _fronts(by_front) == ["a", "b", "c"]
    page = api("flashcards.list_flashcards", alice, sort="front", sort_order="desc",
               page_size=1, page_offset=1)
    assert _fronts(page) == ["b"]
    assert page.body["pagination"] == {"limit": 1, "offset": 1, "total": 3, "total_capped": False}
    got = api("flashcards.list_flashcards", alice, method="GET", sort="front",
              sort_order="desc", page_size="1", page_offset="1")
    assert got.body == page.body


@pytest.mark.parametrize(("args", "field"), [
    ({"sort": "back"}, "sort"), ({"sort_order": "up"}, "sort_order"),
    ({"page_size": 101}, "page_size"), ({"page_offset": -1}, "page_offset"),
    ({"search": "x" * 201}, "search"),
])
def test_bad_list_arguments_are_400(api: Api, alice: User, args: dict[str, Any],
                                    field: str) -> None:
    body = assert_error(api("flashcards.list_flashcards", alice, **args), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field


def test_editing_an_ai_card_makes_it_ai_edited(
    api: Api, alice: User, generate_via_rpc: Generate
) -> None:
    made = generate_via_rpc(alice)
    reviewed = api("flashcards.review_candidates", alice, session_id=made.session_id,
                   actions=[{"candidate_id": made.candidate_ids[0], "action": "accept"}])
    card = reviewed.body["data"]["flashcards"][0]
    same = api("flashcards.update_flashcard", alice, id=card["id"], back=card["back"])
    assert same.body["data"]["source"] == "ai"  # nothing changed
    edited = api("flashcards.update_flashcard", alice, id=card["id"], back=" Better answer ")
    assert edited.status == 200
    assert (edited.body["data"]["back"], edited.body["data"]["source"]) == (
        "Better answer", "ai_edited")
    manual = create_cards(api, alice, ("q", "a"))[0]
    assert api("flashcards.update_flashcard", alice, id=manual["id"],
               front="q2").body["data"]["source"] == "manual"


def test_editing_is_for_the_owner_and_needs_a_side(api: Api, alice: User, bob: User) -> None:
    card = create_cards(api, alice, ("q", "a"))[0]
    assert_error(api("flashcards.update_flashcard", bob, id=card["id"], front="mine"),
                 404, "NOT_FOUND")
    assert_error(api("flashcards.update_flashcard", alice, id=str(uuid.uuid4()), front="x"),
                 404, "NOT_FOUND")
    assert_error(api("flashcards.update_flashcard", alice, id=card["id"]),
                 400, "VALIDATION_ERROR")
    body = assert_error(api("flashcards.update_flashcard", alice, id=card["id"], front="x" * 201),
                        400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "front"
    assert_error(api("flashcards.update_flashcard", alice, id="nope", front="x"),
                 400, "VALIDATION_ERROR")


def test_delete_is_soft_counts_only_own_cards_and_hides_them(
    api: Api, alice: User, bob: User, admin: psycopg.Connection[Any]
) -> None:
    mine = create_cards(api, alice, ("a", "1"), ("b", "2"), ("c", "3"))
    bobs = create_cards(api, bob, ("x", "9"))
    deleted = api("flashcards.delete_flashcards", alice,
                  ids=[mine[0]["id"], mine[1]["id"], bobs[0]["id"], str(uuid.uuid4())])
    assert deleted.body == {"data": {"deleted": 2}}
    assert _fronts(api("flashcards.list_flashcards", alice)) == ["c"]
    assert _fronts(api("flashcards.list_flashcards", bob)) == ["x"]
    assert api("flashcards.delete_flashcards", alice, ids=[mine[0]["id"]]).body == {
        "data": {"deleted": 0}}
    assert_error(api("flashcards.update_flashcard", alice, id=mine[0]["id"], front="z"),
                 404, "NOT_FOUND")
    assert admin.execute("select count(*) from flashcards.flashcards where deleted_at is not null"
                         ).fetchone() == (2,)  # kept, hidden


def test_racing_deletes_of_the_same_cards_delete_each_once(
    api: Api, alice: User, database_url: str, admin: psycopg.Connection[Any]
) -> None:
    ids = [c["id"] for c in create_cards(api, alice, ("a", "1"), ("b", "2"), ("c", "3"))]
    responses = race_rpc(database_url, 6, "flashcards.delete_flashcards", {"ids": ids},
                         alice.claims)
    assert sorted(r.body["data"]["deleted"] for r in responses) == [0, 0, 0, 0, 0, 3]
    assert admin.execute(
        "select count(*), (array_agg(data))[1] from core.events"
        " where event_type = 'flashcards_deleted'").fetchone() == (1, {"count": 3})


@pytest.mark.parametrize(("ids", "field"), [
    ([], "ids"), (["nope"], "ids[0]"), ([1], "ids[0]"), ("x", "ids"),
])
def test_bad_ids_are_400(api: Api, alice: User, ids: Any, field: str) -> None:
    body = assert_error(api("flashcards.delete_flashcards", alice, ids=ids), 400,
                        "VALIDATION_ERROR")
    assert body["details"]["field"] == field


def test_without_a_user_the_rpcs_answer_401(api: Api) -> None:
    assert api("flashcards.list_flashcards").status == 401
    assert api("flashcards.create_flashcards", items=[{"front": "f", "back": "b"}]).status == 401
