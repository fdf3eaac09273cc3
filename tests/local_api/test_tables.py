"""/rest/v1/{table} reads as PostgREST v16.1 answers them (each case cites the behaviour it
mirrors in python_functions/local/api/tables.py): the caller's rows through RLS, PostgREST's
filters, order, ranges, counts and media types, and its errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api, User
from tests.flashcards.conftest import CANDIDATES, create_cards, study_text
from tests.http_fixtures import token_for
from tests.local_api.conftest import pgrst_error

CARDS = "/rest/v1/flashcards"


def _as(user: User, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}", "Accept-Profile": "flashcards",
            **more}


@pytest.fixture
def deck(api: Api, alice: User, bob: User) -> list[dict[str, Any]]:
    """Alice's three cards, and one of Bob's that no read of hers may show."""
    create_cards(api, bob, ("bob's", "card"))
    return create_cards(api, alice, ("alpha", "first, with a comma"), ("beta", "second"),
                  ("gamma", "third"))


def test_a_read_returns_the_callers_rows_through_rls_with_postgrests_headers(
        api_http: httpx.Client, alice: User, deck: list[dict[str, Any]]) -> None:
    response = api_http.get(CARDS, params={"select": "front,back", "order": "front.desc"},
                            headers=_as(alice))
    assert response.status_code == 200, response.text
    assert response.json() == [{"front": "gamma", "back": "third"},
                               {"front": "beta", "back": "second"},
                               {"front": "alpha", "back": "first, with a comma"}]
    assert response.headers["content-range"] == "0-2/*"  # uncounted
    assert response.headers["content-location"] == (
        "/flashcards?order=front.desc&select=front%2Cback")
    assert response.headers["content-profile"] == "flashcards"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    every = api_http.get(CARDS, headers=_as(alice)).json()  # no select: every column
    assert {card["id"] for card in every} == {card["id"] for card in deck}
    assert {"user_id", "source", "created_at"} <= set(every[0])


def test_filters_take_postgrests_operators_quoting_and_logic(
        api_http: httpx.Client, alice: User, deck: list[dict[str, Any]]) -> None:
    def fronts(**params: str) -> list[str]:
        response = api_http.get(CARDS, params={"select": "front", "order": "front", **params},
                                headers=_as(alice))
        assert response.status_code == 200, response.text
        return [row["front"] for row in response.json()]

    assert fronts(front="eq.beta") == ["beta"]
    assert fronts(front="neq.beta") == ["alpha", "gamma"]
    assert fronts(back='in.("first, with a comma",third)') == ["alpha", "gamma"]
    assert fronts(front="like.*a*a") == ["alpha", "gamma"]  # * is %
    assert fronts(front="ilike.B*") == ["beta"]
    assert fronts(front="not.in.(alpha,beta)") == ["gamma"]
    assert fronts(front="gt.alpha", back="lt.t") == ["beta"]  # two filters: both apply
    assert fronts(**{"or": "(front.eq.alpha,and(front.gte.gamma,back.eq.third))"}) == [
        "alpha", "gamma"]
    assert fronts(**{"not.or": "(front.eq.alpha,front.eq.gamma)"}) == ["beta"]
    assert fronts(front="match.^[ab]") == ["alpha", "beta"]
    assert fronts(front="eq(any).{alpha,gamma}") == ["alpha", "gamma"]
    assert fronts(session_id="is.null") == ["alpha", "beta", "gamma"]  # manual cards
    assert fronts(session_id="not.is.null") == []
    assert fronts(front="isdistinct.beta") == ["alpha", "gamma"]
    assert fronts(back="fts.second") == ["beta"]
    assert fronts(back="wfts(english).thirds") == ["gamma"]  # stemmed, as to_tsvector is
    assert fronts(search_vector="fts.alpha") == ["alpha"]  # a tsvector column as it is
    # a value is only ever a value
    assert fronts(front="eq.alpha'; drop table flashcards.flashcards; --") == []
    assert fronts() == ["alpha", "beta", "gamma"]


def test_limit_offset_range_and_counts_give_postgrests_status_and_content_range(
        api_http: httpx.Client, alice: User, deck: list[dict[str, Any]]) -> None:
    def page(params: dict[str, str], **headers: str) -> httpx.Response:
        return api_http.get(CARDS, params={"select": "front", "order": "front", **params},
                            headers=_as(alice, **headers))

    first = page({"limit": "2"})
    assert first.status_code == 200 and first.headers["content-range"] == "0-1/*"
    counted = page({"limit": "2", "offset": "1"}, Prefer="count=exact")
    assert counted.status_code == 206, counted.text  # more rows than the page
    assert counted.headers["content-range"] == "1-2/3"
    assert counted.headers["preference-applied"] == "count=exact"
    assert [row["front"] for row in counted.json()] == ["beta", "gamma"]
    whole = page({}, Prefer="count=exact")
    assert whole.status_code == 200 and whole.headers["content-range"] == "0-2/3"
    by_header = page({}, Range="1-1")
    assert [row["front"] for row in by_header.json()] == ["beta"]
    assert by_header.headers["content-range"] == "1-1/*"
    empty = page({"front": "eq.none"}, Prefer="count=exact")
    assert empty.status_code == 200 and empty.headers["content-range"] == "*/0"
    assert empty.json() == []
    past = page({"offset": "5"}, Prefer="count=exact")
    body = pgrst_error(past, 416, "PGRST103")
    assert body["details"] == "An offset of 5 was requested, but there are only 3 rows."
    pgrst_error(page({"limit": "-1"}), 416, "PGRST103")
    pgrst_error(page({}, Range="2-1"), 416, "PGRST103")
    assert len(page({"offset": "-1"}).json()) == 3  # intersected with rows 0..: from 0
    assert page({"limit": "0"}).json() == []
    planned = page({"select": "front,len:back->>x", "front": "neq.z"},
                   Prefer="count=planned")  # the planner's estimate: some number
    assert planned.status_code in (200, 206), planned.text
    assert planned.headers["content-range"].split("/")[1].isdigit()
    estimated = page({}, Prefer="count=estimated")  # under max_rows: the exact count
    assert estimated.headers["content-range"] == "0-2/3"


def test_select_takes_aliases_casts_and_json_paths(
        api_http: httpx.Client, api: Api, alice: User) -> None:
    plan = {"days": [{"name": "Push", "exercises": []}, {"name": "Pull", "exercises": []}]}
    assert api("workouts.create_plan", alice, name="Split", plan=plan).status == 201
    response = api_http.get("/rest/v1/plans", params={
        "select": "title:name,created:created_at::date,plan->days->1->>name,days:plan->days",
        "plan->days->0->>name": "eq.Push"},
        headers={**_as(alice), "Accept-Profile": "workouts"})
    assert response.status_code == 200, response.text
    [row] = response.json()
    assert set(row) == {"title", "created", "name", "days"}
    assert row["title"] == "Split" and row["name"] == "Pull"
    assert len(row["created"]) == 10 and row["days"] == plan["days"]


def test_single_csv_stripped_nulls_and_head_answer_as_postgrest(
        api_http: httpx.Client, alice: User, deck: list[dict[str, Any]]) -> None:
    object_type = "application/vnd.pgrst.object+json"
    one = api_http.get(CARDS, params={"select": "front,session_id", "front": "eq.beta"},
                       headers=_as(alice, Accept=object_type))
    assert one.status_code == 200 and one.json() == {"front": "beta", "session_id": None}
    many = api_http.get(CARDS, headers=_as(alice, Accept=object_type))
    body = pgrst_error(many, 406, "PGRST116")
    assert body["details"] == "The result contains 3 rows"
    stripped = api_http.get(CARDS, params={"select": "front,session_id", "front": "eq.beta"},
                            headers=_as(alice, Accept=object_type + ";nulls=stripped"))
    assert stripped.json() == {"front": "beta"}
    csv = api_http.get(CARDS, params={"select": "front,back", "order": "front"},
                       headers=_as(alice, Accept="text/csv"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == 'front,back\nalpha,"first, with a comma"\nbeta,second\ngamma,third'
    head = api_http.head(CARDS, headers=_as(alice, Prefer="count=exact"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-range"] == "0-2/3"


def test_errors_are_postgrests_and_nothing_else_is_read(
        api_http: httpx.Client, alice: User, deck: list[dict[str, Any]]) -> None:
    unknown = pgrst_error(api_http.get("/rest/v1/flashcard", headers=_as(alice)), 404, "PGRST205")
    assert unknown["message"] == (
        "Could not find the table 'flashcards.flashcard' in the schema cache")
    assert unknown["hint"] == "Perhaps you meant the table 'flashcards.flashcards'"
    column = pgrst_error(api_http.get(CARDS, params={"select": "nope"}, headers=_as(alice)),
                    400, "42703")
    assert column["message"] == "column flashcards.nope does not exist"
    quoted = api_http.get(CARDS, params={"select": 'front"); drop table x; --'},
                          headers=_as(alice))
    pgrst_error(quoted, 400, "PGRST100")
    bad = pgrst_error(api_http.get(CARDS, params={"front": "noop.1"}, headers=_as(alice)),
                 400, "PGRST100")
    assert bad["message"] == '"failed to parse filter (noop.1)" (line 1, column 1)'
    cast = api_http.get(CARDS, params={"select": "front::text);select(1"}, headers=_as(alice))
    pgrst_error(cast, 400, "PGRST100")
    typed = pgrst_error(api_http.get(CARDS, params={"created_at": "gt.yesterday-ish"},
                                headers=_as(alice)), 400, "22007")
    assert "yesterday-ish" in typed["message"]
    embedded = api_http.get(CARDS, params={"deck.front": "eq.a"}, headers=_as(alice))
    assert pgrst_error(embedded, 400, "PGRST108")["message"] == (
        "'deck' is not an embedded resource in this request")
    schema = api_http.get(CARDS, headers=_as(alice, **{"Accept-Profile": "core"}))
    pgrst_error(schema, 406, "PGRST106")
    anon = api_http.get(CARDS, headers={"Accept-Profile": "flashcards"})  # the anon key
    anon_body = pgrst_error(anon, 401, "42501")
    assert anon_body["message"] == "permission denied for table flashcards"
    pgrst_error(api_http.get(CARDS, headers={"Authorization": "Bearer x.y.z",
                                        "Accept-Profile": "flashcards"}), 401, "PGRST301")
    pgrst_error(api_http.get("/rest/v1/flashcards/1", headers=_as(alice)), 404, "PGRST125")


def _reviewed_session(api: Api, user: User) -> str:
    """An AI session of four candidates (made as the AI service makes one), the first two
    accepted into the deck."""
    begun = api.service("flashcards.begin_ai_session", user_id=user.id,
                        input_text=study_text(1200), model="local/rules")
    session_id: str = begun.body["sessionId"]
    finished = api.service("flashcards.finish_ai_session", user_id=user.id,
                           session_id=session_id, outcome={
                               "status": "success", "durationMs": 12,
                               "candidates": CANDIDATES, "calls": []})
    ids = [c["id"] for c in finished.body["candidates"]]
    reviewed = api("flashcards.review_candidates", user, session_id=session_id, actions=[
        {"candidate_id": ids[0], "action": "accept"},
        {"candidate_id": ids[1], "action": "accept"}])
    assert reviewed.status == 200, reviewed.body
    return session_id


def test_select_embeds_related_tables_by_their_foreign_keys(
        api_http: httpx.Client, api: Api, alice: User, bob: User) -> None:
    session_id = _reviewed_session(api, alice)
    _reviewed_session(api, bob)
    create_cards(api, alice, ("manual", "card"))

    # many-to-one: an object, or null where the key is null; aliased
    cards = api_http.get(CARDS, params={
        "select": "front,session:ai_generation_sessions(id,status)", "order": "front"},
        headers=_as(alice))
    assert cards.status_code == 200, cards.text
    assert [(c["front"], c["session"]) for c in cards.json()] == [
        ("What is chlorophyll?", {"id": session_id, "status": "completed"}),
        ("What is photosynthesis?", {"id": session_id, "status": "completed"}),
        ("manual", None)]
    # !inner drops the rows without one, and the count follows
    inner = api_http.get(CARDS, params={"select": "front,ai_generation_sessions!inner(id)"},
                         headers=_as(alice, Prefer="count=exact"))
    assert len(inner.json()) == 2 and inner.headers["content-range"] == "0-1/2"
    # one-to-many: an array, filtered by the embed's own filters, nested, through RLS
    sessions = api_http.get("/rest/v1/ai_generation_sessions", params={
        "select": "id,candidates(front,status,card:flashcards!flashcard_id(front))",
        "candidates.status": "eq.accepted"}, headers=_as(alice))
    assert sessions.status_code == 200, sessions.text
    [session] = sessions.json()  # Bob's is not Alice's to read
    assert session["id"] == session_id
    assert sorted((c["front"], c["card"]["front"]) for c in session["candidates"]) == [
        ("What is chlorophyll?", "What is chlorophyll?"),
        ("What is photosynthesis?", "What is photosynthesis?")]
    # a to-one spread: the embedded columns in the row itself
    spread = api_http.get(CARDS, params={
        "select": "front,...ai_generation_sessions(session_status:status)",
        "order": "front", "limit": "1"}, headers=_as(alice))
    assert spread.json() == [{"front": "What is chlorophyll?", "session_status": "completed"}]
    # the embed's own order, limit and offset (supabase-js's `{ referencedTable }`)
    ordered = api_http.get("/rest/v1/ai_generation_sessions", params={
        "select": "candidates(position)", "candidates.order": "position.desc",
        "candidates.limit": "2", "candidates.offset": "1"}, headers=_as(alice))
    assert ordered.json() == [{"candidates": [{"position": 3}, {"position": 2}]}]
    rejected_only = api_http.get("/rest/v1/ai_generation_sessions", params={
        "select": "id,candidates!inner(id)", "candidates.status": "eq.rejected"},
        headers=_as(alice))
    assert rejected_only.json() == []


def test_order_by_a_to_one_embeds_column_sorts_the_rows_by_it(
        api_http: httpx.Client, api: Api, alice: User) -> None:
    """`order=rel(col)` (`addRelatedOrders`), which supabase-js sends for
    `.order('rel(col)')`: by the embed as the request names it, its alias if it has one."""
    _reviewed_session(api, alice)
    create_cards(api, alice, ("manual", "card"))

    def positions(order: str, **params: str) -> list[int | None]:
        response = api_http.get(CARDS, params={
            "select": "front,card:candidates!candidate_id(position)", "order": order,
            **params}, headers=_as(alice))
        assert response.status_code == 200, response.text
        return [row["card"] and row["card"]["position"] for row in response.json()]

    descending = positions("card(position).desc.nullslast,front")
    accepted = [p for p in descending if p is not None]  # two candidates, two positions
    assert descending == [*accepted, None] and accepted == sorted(set(accepted), reverse=True)
    assert len(accepted) == 2
    assert positions("card(position).asc.nullsfirst") == [None, *reversed(accepted)]
    assert positions("card(position).desc.nullslast", limit="1") == descending[:1]
    two = api_http.get(CARDS, params={"order": "card(position,id)"}, headers=_as(alice))
    assert pgrst_error(two, 400, "PGRST100")["message"] == (  # one column; PostgREST's position
        '"failed to parse order (card(position,id))" (line 1, column 5)')
    # the embed's own name does not name an aliased embed; a to-many one cannot sort rows
    unaliased = api_http.get(CARDS, params={"select": "front,card:candidates!candidate_id(id)",
                                            "order": "candidates(id)"}, headers=_as(alice))
    assert pgrst_error(unaliased, 400, "PGRST108")["message"] == (
        "'candidates' is not an embedded resource in this request")
    many = api_http.get("/rest/v1/ai_generation_sessions", params={
        "select": "id,candidates(id)", "order": "candidates(id)"}, headers=_as(alice))
    body = pgrst_error(many, 400, "PGRST118")
    assert body["message"] == "A related order on 'candidates' is not possible"
    assert body["details"] == ("'ai_generation_sessions' and 'candidates' do not form a"
                               " many-to-one or one-to-one relationship")


def test_embedding_errors_are_postgrests(api_http: httpx.Client, alice: User) -> None:
    none = pgrst_error(api_http.get(CARDS, params={"select": "front,plans(*)"},
                               headers=_as(alice)), 400, "PGRST200")
    assert none["message"] == ("Could not find a relationship between 'flashcards' and"
                               " 'plans' in the schema cache")
    # flashcards.candidate_id and candidates.flashcard_id: two ways to candidates
    both = pgrst_error(api_http.get(CARDS, params={"select": "front,candidates(front)"},
                               headers=_as(alice)), 300, "PGRST201")
    assert {d["cardinality"] for d in both["details"]} == {"one-to-one", "one-to-many"}
    assert "'candidates!flashcards_candidate_fk'" in both["hint"]
    picked = api_http.get(CARDS, params={"select": "front,candidates!candidate_id(front)"},
                          headers=_as(alice))
    assert picked.status_code == 200, picked.text
    stray = api_http.get(CARDS, params={"select": "front", "candidates.front": "eq.x"},
                         headers=_as(alice))
    assert pgrst_error(stray, 400, "PGRST108")["message"] == (
        "'candidates' is not an embedded resource in this request")


PLANS = "/rest/v1/plans"


def _plans(user: User, **more: str) -> dict[str, str]:
    """A read names its schema in Accept-Profile, a write in Content-Profile."""
    return {"Authorization": f"Bearer {token_for(user)}", "Accept-Profile": "workouts", **more}


def _write(user: User, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}", "Content-Profile": "workouts",
            **more}


def test_plans_take_owner_writes_through_the_table_as_on_supabase(
        api_http: httpx.Client, alice: User, bob: User) -> None:
    """`workouts.plans` is the one table with owner CRUD (column grants and RLS): what
    supabase-js's insert/update/delete do there, as PostgREST answers them."""
    days = {"days": [{"name": "Push", "exercises": []}]}
    created = api_http.post(PLANS, params={
                                "select": "id,name,plan,archived,training_sessions(id)"},
                            json=[{"name": "A", "plan": days}, {"name": "B", "plan": days}],
                            headers=_write(alice, Prefer="return=representation"))
    assert created.status_code == 201, created.text
    assert created.headers["preference-applied"] == "return=representation"
    rows = created.json()
    assert [(r["name"], r["plan"], r["archived"], r["training_sessions"]) for r in rows] == [
        ("A", days, False, []), ("B", days, False, [])]  # the rest from the column defaults
    minimal = api_http.post(PLANS, json={"name": "C"}, headers=_write(alice))
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["content-range"] == "*/*"
    names = api_http.get(PLANS, params={"select": "name", "order": "name"},
                         headers=_plans(alice)).json()
    assert names == [{"name": "A"}, {"name": "B"}, {"name": "C"}]

    updated = api_http.patch(PLANS, params={"name": "in.(A,C)", "select": "name,archived"},
                             json={"archived": True},
                             headers=_write(alice, Prefer="return=representation,count=exact"))
    assert updated.status_code == 200, updated.text
    assert sorted(r["name"] for r in updated.json()) == ["A", "C"]
    assert updated.headers["content-range"] == "0-1/2"
    quiet = api_http.patch(PLANS, params={"name": "eq.B"}, json={"description": "d"},
                           headers=_write(alice))
    assert quiet.status_code == 204 and quiet.headers["content-range"] == "0-0/*"
    # Bob's writes reach none of Alice's rows (RLS), and he cannot set what is not granted
    other = api_http.patch(PLANS, params={"name": "eq.B"}, json={"name": "stolen"},
                           headers=_write(bob, Prefer="count=exact"))
    assert other.status_code == 204 and other.headers["content-range"] == "*/0"
    owner = api_http.post(PLANS, json={"name": "X", "user_id": alice.id}, headers=_write(bob))
    assert pgrst_error(owner, 403, "42501")["message"] == (
        "permission denied for table plans")
    single = api_http.patch(PLANS, params={"name": "like.*"}, json={"description": "all"},
                            headers=_write(alice, Prefer="return=representation",
                                           Accept="application/vnd.pgrst.object+json"))
    assert pgrst_error(single, 406, "PGRST116")["details"] == "The result contains 3 rows"
    untouched = api_http.get(PLANS, params={"select": "description", "description":
                                            "eq.all"}, headers=_plans(alice))
    assert untouched.json() == []  # rolled back, as PostgREST rolls it back

    deleted = api_http.delete(PLANS, params={"archived": "is.true", "select": "name"},
                              headers=_write(alice, Prefer="return=representation"))
    assert deleted.status_code == 200 and sorted(r["name"] for r in deleted.json()) == [
        "A", "C"]
    gone = api_http.delete(PLANS, params={"name": "eq.B"},
                           headers=_write(alice, Prefer="count=exact"))
    assert gone.status_code == 204 and gone.headers["content-range"] == "*/1"
    assert api_http.get(PLANS, headers=_plans(alice)).json() == []


def test_missing_default_gives_a_key_an_object_lacks_its_column_default(
        api_http: httpx.Client, alice: User) -> None:
    """`Prefer: missing=default` (supabase-js's `defaultToNull: false`): with `columns=`
    naming more keys than an object has, the missing ones take their column's default
    instead of null, on an insert (`fromJsonBodyF`) and on an update."""
    rows = [{"name": "A", "archived": True, "plan": {"days": [{"name": "Push"}]}},
            {"name": "B"}]
    params = {"columns": "name,archived,plan", "select": "name,archived,plan"}
    nulls = api_http.post(PLANS, params=params, json=rows, headers=_write(alice))
    assert pgrst_error(nulls, 400, "23502")["message"].startswith("null value in column")
    filled = api_http.post(PLANS, params=params, json=rows, headers=_write(
        alice, Prefer="missing=default, return=representation"))
    assert filled.status_code == 201, filled.text
    assert filled.headers["preference-applied"] == "missing=default, return=representation"
    assert filled.json() == [
        {"name": "A", "archived": True, "plan": {"days": [{"name": "Push"}]}},
        {"name": "B", "archived": False, "plan": {"days": []}}]
    one = api_http.post(PLANS, params={"columns": "name,archived"}, json={"name": "C"},
                        headers=_write(alice, Prefer="missing=default"))
    assert one.status_code == 201 and one.headers["preference-applied"] == "missing=default"
    reset = api_http.patch(PLANS, params={"name": "eq.A", "columns": "name,archived",
                                          "select": "name,archived"}, json={"name": "A2"},
                           headers=_write(alice, Prefer="missing=default,"
                                                         "return=representation"))
    assert reset.json() == [{"name": "A2", "archived": False}]
    plain = api_http.post(PLANS, json={"name": "D"}, headers=_write(alice, Prefer=(
        "missing=null")))
    assert plain.headers["preference-applied"] == "missing=null"


def test_table_writes_refuse_bad_bodies_and_what_postgres_refuses(
        api_http: httpx.Client, alice: User) -> None:
    def post(body: Any, **params: str) -> httpx.Response:
        return api_http.post(PLANS, params=params, json=body, headers=_write(alice))

    assert pgrst_error(api_http.post(PLANS, content=b"{", headers=_write(alice)), 400,
                  "PGRST102")["message"] == "Empty or invalid json"
    assert pgrst_error(post([{"name": "a"}, {"plan": {"days": []}}]), 400,
                  "PGRST102")["message"] == "All object keys must match"
    assert pgrst_error(post({"name": "a", "nope": 1}), 400, "PGRST204")["message"] == (
        "Could not find the 'nope' column of 'plans' in the schema cache")
    pgrst_error(post({"name": " "}), 400, "23514")  # the table's check constraint
    pgrst_error(post({"name": "a", "plan": {"days": 1}}), 400, "23514")
    # `columns=` picks the keys: the others are ignored
    assert post({"name": "kept", "nope": 1}, columns="name").status_code == 201
    cards = api_http.post("/rest/v1/flashcards", json={"front": "f", "back": "b"},
                          headers={**_as(alice), "Content-Profile": "flashcards"})
    pgrst_error(cards, 403, "42501")  # written through the RPCs only


def test_a_csv_or_form_body_writes_rows_of_strings(api_http: httpx.Client,
                                                   alice: User) -> None:
    """`text/csv` (PostgREST's bulk insert, `csvToJson`): the header line names the
    columns, each further line is a row, its values strings typed by the columns, `NULL`
    null; a form's fields are one row. What is not such a body writes nothing."""
    def post(body: bytes, media: str, **params: str) -> httpx.Response:
        return api_http.post(PLANS, params=params, content=body, headers=_write(
            alice, **{"Content-Type": media, "Prefer": "return=representation"}))

    rows = post(b'name,archived\r\nCSV A,true\r\n"CSV, ""B""",false\r\n', "text/csv",
                select="name,archived")
    assert rows.status_code == 201, rows.text
    assert rows.json() == [{"name": "CSV A", "archived": True},
                           {"name": 'CSV, "B"', "archived": False}]
    form = post(b"name=Form+plan&archived=true", "application/x-www-form-urlencoded",
                select="name,archived")
    assert (form.status_code, form.json()) == (201, [{"name": "Form plan", "archived": True}])
    assert post(b"name\n", "text/csv").json() == []  # a header alone: no rows
    pgrst_error(post(b"name,archived\nC,NULL\n", "text/csv"), 400, "23502")  # null
    ragged = post(b"name,archived\nD,true\nE\n", "text/csv")
    assert pgrst_error(ragged, 400, "PGRST102")["message"] == (
        "All lines must have same number of fields")
    pgrst_error(post(b'name\n"F\n', "text/csv"), 400, "PGRST102")  # an open quote
    pgrst_error(post(b"name\n\xff\n", "text/csv"), 400, "PGRST102")  # not UTF-8
    pgrst_error(post(b"", "text/csv"), 400, "PGRST102")  # no header line
    names = api_http.get(PLANS, params={"select": "name", "order": "name"},
                         headers=_plans(alice)).json()
    assert [row["name"] for row in names] == ["CSV A", 'CSV, "B"', "Form plan"]


def test_a_to_many_spread_answers_each_column_as_an_array(
        api_http: httpx.Client, api: Api, alice: User) -> None:
    """`...rel(cols)` over a one-to-many relationship (`ToManySpread`): each column of the
    embed an array in the parent's row, in the embed's order, empty without rows; `!inner`
    drops those rows; a nested embed is an array of its answers."""
    _reviewed_session(api, alice)
    sessions = "/rest/v1/ai_generation_sessions"

    def spread(select: str, **params: str) -> list[dict[str, Any]]:
        response = api_http.get(sessions, params={"select": select, **params},
                                headers=_as(alice))
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows

    [row] = spread("status,...candidates(position,fronts:front)",
                   **{"candidates.order": "position.desc"})
    assert set(row) == {"status", "position", "fronts"}
    assert row["position"] == [4, 3, 2, 1]  # the session's four candidates
    assert len(row["fronts"]) == 4 and all(isinstance(f, str) for f in row["fronts"])
    # a nested to-one embed: an array of its objects, null where a candidate has no card
    [row] = spread("...candidates(front,status,card:flashcards!flashcard_id(front))",
                   **{"candidates.order": "position"})
    assert [card and card["front"] for card in row["card"]] == [
        front if status == "accepted" else None
        for front, status in zip(row["front"], row["status"], strict=True)]
    assert row["status"].count("accepted") == 2
    # a nested to-one spread: its columns join the embed's, arrays as well
    [nested] = spread("...candidates(position,...flashcards!flashcard_id(card_front:front))",
                      **{"candidates.order": "position"})
    assert nested == {"position": [1, 2, 3, 4],
                      "card_front": [card and card["front"] for card in row["card"]]}
    [every] = spread("...candidates(*)")
    columns = api_http.get("/rest/v1/candidates", params={"limit": "1"},
                           headers=_as(alice)).json()[0]
    assert list(every) == list(columns) and all(len(v) == 4 for v in every.values())
    assert spread("id,...candidates(position)", **{"candidates.position": "gt.100"})[0][
        "position"] == []
    assert spread("id,...candidates!inner(position)", **{"candidates.position": "gt.100"}) == []


def test_aggregates_are_off_as_on_supabase(api_http: httpx.Client, alice: User) -> None:
    # aggregates are off, as PostgREST's db-aggregates-enabled is by default (and on Supabase)
    for select in ("count()", "front.count()", "id,created_at.max()::date"):
        aggregate = api_http.get(CARDS, params={"select": select}, headers=_as(alice))
        assert pgrst_error(aggregate, 400, "PGRST123")["message"] == (
            "Use of aggregate functions is not allowed")
    pgrst_error(api_http.get("/rest/v1/nope", params={"select": "count()"}, headers=_as(alice)),
           404, "PGRST205")  # the table first


def test_a_writes_order_sorts_its_answer_and_limit_cuts_nothing(
        api_http: httpx.Client, alice: User) -> None:
    """As PostgREST v16.1, which dropped limited updates and deletes: `order` orders the
    rows answered (`addOrders`), `limit` and `offset` apply to no level of a write
    (`addRanges`), and the key's columns are returned for it (`inferColsEmbedNeeds`)."""
    for name in ("A", "B", "C"):
        api_http.post(PLANS, json={"name": name}, headers=_write(alice))
    updated = api_http.patch(PLANS, params={"order": "name.desc", "limit": "1", "select": "name",
                                            "name": "neq.B"},
                             json={"archived": True},
                             headers=_write(alice, Prefer="return=representation"))
    assert updated.status_code == 200, updated.text
    assert updated.json() == [{"name": "C"}, {"name": "A"}]  # both, in order
    by_key = api_http.patch(PLANS, params={"order": "id", "select": "name"},
                            json={"description": "d"},
                            headers=_write(alice, Prefer="return=representation"))
    assert by_key.status_code == 200, by_key.text  # ordered by the key, not answering it
    assert sorted(row["name"] for row in by_key.json()) == ["A", "B", "C"]
    deleted = api_http.delete(PLANS, params={"order": "name.asc", "offset": "2",
                                             "select": "name,training_sessions(id)",
                                             "training_sessions.limit": "0"},
                              headers=_write(alice, Prefer="return=representation"))
    assert deleted.json() == [{"name": n, "training_sessions": []} for n in ("A", "B", "C")]
