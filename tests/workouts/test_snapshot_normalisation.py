"""The fast snapshot normaliser (`normalized_session`, on every write) answers exactly
what the item-by-item one (`normalize_session`) does: the same document for a valid
snapshot, the same 400 for an invalid one. Its checks are written separately, as jsonpath
filters, for speed, so each rule is tried on both, in listed cases and in generated ones.
Given the snapshot stored so far, it skips the exercises and the sets that are unchanged at
their place, and still answers the same."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import calls_this_transaction
from tests.workouts.conftest import snapshot

DATE = dt.date(2026, 11, 20)


def _normalise(admin: psycopg.Connection[Any], function: str, document: Any,
               known: Any = None) -> tuple[str, Any]:
    """The function's answer, or its error; `known`: the snapshot stored so far
    (normalized_session's p_known)."""
    stored = "" if known is None else ", %s::jsonb"
    values = (json.dumps(document), DATE) + (() if known is None else (json.dumps(known),))
    try:
        with admin.transaction():
            row = admin.execute(f"select workouts_private.{function}(%s::jsonb, %s{stored})",
                                values).fetchone()
    except psycopg.Error as exc:
        return "error", (exc.diag.sqlstate, exc.diag.message_primary, exc.diag.message_detail)
    assert row is not None
    return "ok", row[0]


@pytest.fixture(scope="module")
def superuser(bootstrap_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Counting function calls (track_functions) takes a superuser."""
    with psycopg.connect(bootstrap_url, autocommit=True) as conn:
        yield conn


def _walks(admin: psycopg.Connection[Any], document: Any) -> int:
    """How often normalized_session handed `document` to the item-by-item walk."""
    walker = "workouts_private.normalize_session"
    with admin.transaction():
        admin.execute("set local track_functions = 'all'")
        before = calls_this_transaction(admin, walker)
        admin.execute("select workouts_private.normalized_session(%s::jsonb, %s)",
                      (json.dumps(document), DATE))
        return calls_this_transaction(admin, walker) - before


def _with_set(change: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    document = snapshot()
    target = document["exercises"][1]["sets"][2]
    target.update(change)
    for key in drop:
        del target[key]
    return document


def _with(path: list[Any], value: Any) -> Any:
    document: Any = copy.deepcopy(snapshot())
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


def _every_set(change: dict[str, Any]) -> dict[str, Any]:
    """A snapshot whose sets are all equal, each with `change` applied."""
    document = snapshot()
    for exercise in document["exercises"]:
        for one_set in exercise["sets"]:
            one_set.update(change)
    return document


VALID: list[Any] = [
    snapshot(),
    _every_set({"extra": "dropped from every set, not only the first"}),
    _every_set({"planned_weight": 10000.0, "rest_seconds": 0}),
    snapshot(exercises=0),
    {**snapshot(), "unknown": 1, "date": "2026-11-20"},
    {k: v for k, v in snapshot().items() if k != "date"},
    _with_set({"extra": "dropped", "planned_weight": 62.5, "actual_reps": 8.0}),
    _with_set({}, drop=("planned_weight", "actual_reps", "actual_weight", "rest_seconds")),
    _with_set({"planned_reps": 1000, "rest_seconds": 3600, "actual_weight": 0}),
    _with_set({"planned_reps": 50e-1}),
    _with(["exercises", 0, "name"], "x" * 200),
    _with(["exercises", 0, "sets"], []),
    # blank means spaces only (btrim): a tab or a line break is a name
    _with(["plan_name"], " \n "),
    _with(["exercises", 0, "name"], "\t"),
    _with(["exercises", 0, "name"], "ż" * 200),
]

INVALID: list[Any] = [
    None, [], "text",
    _every_set({"planned_reps": 1000.5}),
    {**snapshot(), "date": "2026-11-21"},
    _with(["exercises"], {}),
    _with(["exercises"], [{"name": "x", "sets": []}] * 51),
    _with(["plan_name"], " "),
    _with(["day_name"], "d" * 201),
    _with(["plan_name"], 5),
    _with(["exercises", 0], "not an object"),
    _with(["exercises", 0, "sets"], {"planned_reps": 1}),
    _with(["exercises", 0, "sets"], [{"planned_reps": 1, "completed": True}] * 51),
    _with(["exercises", 0, "name"], ""),
    _with(["exercises", 0, "name"], "x" * 201),
    _with(["exercises", 0, "sets", 0], [1, 2]),
    _with_set({"completed": "yes"}),
    _with_set({}, drop=("completed",)),
    _with_set({}, drop=("planned_reps",)),
    _with_set({"planned_reps": None}),
    _with_set({"planned_reps": 8.5}),
    _with_set({"planned_reps": -1}),
    _with_set({"planned_reps": "8"}),
    _with_set({"planned_weight": 10000.5}),
    _with_set({"actual_reps": 1001}),
    _with_set({"actual_weight": "heavy"}),
    _with_set({"rest_seconds": 3600.5}),
    _with_set({"rest_seconds": 3601}),
    _with(["exercises", 0, "name"], "é" * 200 + "é"),
    # a value wrapped in an array is not that value (lax jsonpath would unwrap it)
    {**snapshot(), "date": ["2026-11-20"]},
    {**snapshot(), "date": None},
    _with(["plan_name"], ["Push"]),
    _with(["exercises", 0], [snapshot()["exercises"][0]]),
    _with(["exercises", 0, "name"], ["x"]),
    _with(["exercises", 0, "sets", 0], [snapshot()["exercises"][0]["sets"][0]]),
    _with_set({"completed": [True]}),
    _with_set({"planned_reps": [8]}),
    _with_set({"planned_weight": [60]}),
    _with_set({"actual_weight": [60]}),
    _with_set({"actual_reps": [8]}),
    _with_set({"rest_seconds": [60]}),
]


@pytest.mark.parametrize("document", VALID)
def test_a_valid_snapshot_is_normalised_the_same_by_both(
        admin: psycopg.Connection[Any], document: Any) -> None:
    fast = _normalise(admin, "normalized_session", document)
    walk = _normalise(admin, "normalize_session", document)
    assert fast[0] == "ok", fast
    assert fast == walk


@pytest.mark.parametrize("document", INVALID)
def test_an_invalid_snapshot_is_refused_with_the_same_error_by_both(
        admin: psycopg.Connection[Any], document: Any) -> None:
    fast = _normalise(admin, "normalized_session", document)
    walk = _normalise(admin, "normalize_session", document)
    assert walk[0] == "error", walk
    assert fast == walk


@pytest.mark.parametrize("document", VALID)
def test_a_valid_snapshot_never_reaches_the_item_walk(
        superuser: psycopg.Connection[Any], document: Any) -> None:
    assert _walks(superuser, document) == 0


@pytest.mark.parametrize("document", INVALID)
def test_an_invalid_snapshot_is_explained_by_the_item_walk(
        admin: psycopg.Connection[Any], document: Any) -> None:
    with pytest.raises(psycopg.Error) as refused, admin.transaction():
        admin.execute("select workouts_private.normalized_session(%s::jsonb, %s)",
                      (json.dumps(document), DATE))
    assert "function workouts_private.normalize_session(" in (refused.value.diag.context or "")


@pytest.mark.parametrize("document", VALID + INVALID)
def test_the_stored_snapshot_changes_no_answer(
        admin: psycopg.Connection[Any], document: Any) -> None:
    alone = _normalise(admin, "normalized_session", document)
    assert _normalise(admin, "normalized_session", document, known=snapshot()) == alone
    # a stored snapshot whose exercises are all different: everything is checked
    other = snapshot(reps=3, completed=True, exercises=3)
    assert _normalise(admin, "normalized_session", document, known=other) == alone


_ODD_VALUES: list[Any] = [
    None, True, 0, 8, -1, 1000, 1001, 999.5, 0.5, 10000, 10000.01, 3600, 3601, 1e-9, 2.5,
    "8", "", [], [8], {}, {"a": 1}]
_ODD_NAMES: list[Any] = [
    "", " ", "a", " a ", "\n", "\t", " \n ", "x" * 200, "x" * 201, "ż" * 200, "ż" * 201,
    " " * 201, 5, None, ["a"], {"a": "b"}, True]
_SET_KEYS = tuple(snapshot()["exercises"][0]["sets"][0])


def _generated_set(rng: random.Random) -> Any:
    if rng.random() < 0.9:  # most sets are valid, so that many snapshots are
        return snapshot()["exercises"][0]["sets"][0]  # built anew at each call
    if rng.random() < 0.08:
        return rng.choice([None, [], [{"planned_reps": 8, "completed": True}], "x", 1])
    generated: dict[str, Any] = {}
    for key in _SET_KEYS:
        roll = rng.random()
        if roll < 0.15:
            continue  # missing
        usual = rng.choice([True, False]) if key == "completed" else rng.choice([0, 8, 60, None])
        generated[key] = usual if roll < 0.6 else rng.choice(_ODD_VALUES)
    if rng.random() < 0.15:
        generated["extra"] = 1
    return generated


def _generated_exercise(rng: random.Random) -> Any:
    if rng.random() < 0.02:
        return rng.choice([None, [], "x", 1])
    count = rng.choice([0, 1, 3, 50, 51]) if rng.random() < 0.1 else 3
    first = _generated_set(rng)
    exercise: dict[str, Any] = {
        "name": "Bench" if rng.random() < 0.9 else rng.choice(_ODD_NAMES),
        "sets": [copy.deepcopy(first) if rng.random() < 0.5 else _generated_set(rng)
                 for _ in range(count)]}
    if rng.random() < 0.02:
        exercise["sets"] = rng.choice([None, "x", {}, 1])
    for key in ("sets", "name"):
        if rng.random() < 0.02:
            del exercise[key]
    if rng.random() < 0.1:
        exercise["note"] = "kept out"
    return exercise


def _generated_snapshot(rng: random.Random) -> Any:
    """A snapshot with random faults: wrong types, values at and past each limit, blank and
    long names, missing and unknown keys, wrapped values."""
    if rng.random() < 0.03:
        return rng.choice([None, [], "x", 1, {}])
    document: dict[str, Any] = {
        "plan_name": "Push" if rng.random() < 0.7 else rng.choice(_ODD_NAMES),
        "day_name": "Day" if rng.random() < 0.7 else rng.choice(_ODD_NAMES)}
    roll = rng.random()
    if roll < 0.5:
        document["date"] = DATE.isoformat()
    elif roll < 0.6:
        document["date"] = rng.choice(["2026-11-21", None, 20261120, [DATE.isoformat()],
                                       {"d": 1}, DATE.isoformat() + " "])
    count = rng.choice([0, 1, 4, 50, 51]) if rng.random() < 0.2 else 4
    document["exercises"] = [_generated_exercise(rng) for _ in range(count)]
    if rng.random() < 0.05:
        document["exercises"] = rng.choice([None, "x", {}, 1])
    for key in ("plan_name", "day_name", "exercises"):
        if rng.random() < 0.03:
            del document[key]
    if rng.random() < 0.1:
        document["extra"] = {"a": [1, 2]}
    return document


def _edited(rng: random.Random, stored: dict[str, Any]) -> dict[str, Any]:
    """`stored` with one place changed the way a client might: an exercise, a set or a name
    replaced by a generated one, or a set added."""
    document = copy.deepcopy(stored)
    exercises = document["exercises"]
    if not exercises or rng.random() < 0.1:
        document["plan_name"] = rng.choice(_ODD_NAMES)
        return document
    at = rng.randrange(len(exercises))
    roll = rng.random()
    if roll < 0.2:
        exercises[at] = _generated_exercise(rng)
    elif roll < 0.3:
        exercises[at]["name"] = rng.choice(_ODD_NAMES)
    elif roll < 0.5:
        exercises[at]["sets"].append(_generated_set(rng))
    elif exercises[at]["sets"]:
        sets = exercises[at]["sets"]
        sets[rng.randrange(len(sets))] = _generated_set(rng)
    return document


def test_generated_snapshots_get_the_same_answer_both_ways_and_valid_ones_skip_the_walk(
        admin: psycopg.Connection[Any], superuser: psycopg.Connection[Any]) -> None:
    """600 generated snapshots (seeded): the fast check refuses exactly what the walk
    refuses, and hands no valid snapshot to the walk."""
    rng = random.Random(20261127)
    valid = 0
    for _ in range(600):
        document = _generated_snapshot(rng)
        fast = _normalise(admin, "normalized_session", document)
        assert fast == _normalise(admin, "normalize_session", document), document
        if fast[0] == "ok":
            valid += 1
            assert _walks(superuser, document) == 0, document
    assert valid > 50  # enough valid ones to matter


def test_generated_edits_of_a_stored_snapshot_get_the_walks_answer(
        admin: psycopg.Connection[Any]) -> None:
    """A stored (valid) snapshot and a generated edit of it (seeded): with the stored one
    known, so that what is unchanged at its place is skipped, the fast check still answers
    the edit as the walk does."""
    rng = random.Random(1127)
    edits = 0
    while edits < 300:
        stored = _normalise(admin, "normalize_session", _generated_snapshot(rng))
        if stored[0] != "ok":
            continue
        document = _edited(rng, stored[1])
        assert (_normalise(admin, "normalized_session", document, known=stored[1])
                == _normalise(admin, "normalize_session", document)), document
        edits += 1


def _stored_before_a_rule() -> dict[str, Any]:
    """A snapshot whose first exercise the checks would refuse now (as if stored before a
    rule changed, or by an operator)."""
    return _with(["exercises", 0, "sets", 0, "planned_reps"], 8.5)


def test_an_exercise_unchanged_at_its_place_is_not_checked_again(
        admin: psycopg.Connection[Any]) -> None:
    stored = _stored_before_a_rule()
    logged = copy.deepcopy(stored)
    logged["exercises"][1]["sets"][0].update(actual_reps=8, completed=True)
    assert _normalise(admin, "normalized_session", logged)[0] == "error"
    answer = _normalise(admin, "normalized_session", logged, known=stored)
    assert answer == ("ok", {**logged, "date": DATE.isoformat()})


def test_an_exercise_moved_or_a_set_changed_is_checked(admin: psycopg.Connection[Any]) -> None:
    stored = _stored_before_a_rule()
    moved = copy.deepcopy(stored)
    moved["exercises"].reverse()
    changed = copy.deepcopy(stored)
    changed["exercises"][0]["sets"][0]["rest_seconds"] = 90  # the set refused now, edited
    for document in (moved, changed):
        assert _normalise(admin, "normalized_session", document, known=stored)[0] == "error"


def test_a_set_unchanged_at_its_place_is_not_checked_again(
        admin: psycopg.Connection[Any]) -> None:
    """Only the sets that differ from the stored exercise at the same place are checked:
    the exercise's name changed, its stored set that the checks would refuse did not."""
    stored = _stored_before_a_rule()
    renamed = copy.deepcopy(stored)
    renamed["exercises"][0]["name"] = "Renamed"
    renamed["exercises"][0]["sets"][1].update(actual_reps=8, completed=True)
    assert _normalise(admin, "normalized_session", renamed)[0] == "error"
    answer = _normalise(admin, "normalized_session", renamed, known=stored)
    assert answer == ("ok", {**renamed, "date": DATE.isoformat()})
    # the exercise's own checks still run
    unnamed = copy.deepcopy(renamed)
    unnamed["exercises"][0]["name"] = " "
    assert _normalise(admin, "normalized_session", unnamed, known=stored)[0] == "error"


def _printed_size(admin: psycopg.Connection[Any], document: Any) -> int:
    row = admin.execute("select octet_length(%s::jsonb::text)", (json.dumps(document),)
                        ).fetchone()
    assert row is not None
    return int(row[0])


def _near_the_size_limit(admin: psycopg.Connection[Any], below: int) -> dict[str, Any]:
    """A valid snapshot without a date whose printed size is 256 KiB minus `below` bytes:
    exercises of 50 sets (about 6 KB each), then one filled up to the size by its name."""
    document = {k: v for k, v in snapshot(exercises=1).items() if k != "date"}
    one_set = document["exercises"][0]["sets"][0]
    document["exercises"][0]["sets"] = [dict(one_set) for _ in range(50)]
    full = document["exercises"][0]
    size = _printed_size(admin, document)
    target = 262144 - below
    per_exercise = _printed_size(admin, {**document, "exercises": [full, full]}) - size
    count = 1 + (target - size) // per_exercise
    document["exercises"] = [full] * count + [{"name": "x", "sets": []}]
    last = document["exercises"][-1]
    while _printed_size(admin, document) + 200 < target:
        last["sets"].append(dict(one_set))
    last["name"] = "x" * (1 + target - _printed_size(admin, document))
    assert _printed_size(admin, document) == target and len(last["sets"]) <= 50
    return document


@pytest.mark.parametrize("below", [5, 21, 22, 23, 40])
def test_the_size_limit_counts_the_date_the_answer_adds(
        admin: psycopg.Connection[Any], below: int) -> None:
    """The date adds 22 bytes to the printed answer: a snapshot 22 bytes or more under
    256 KiB passes, one closer to it does not, on both ways."""
    document = _near_the_size_limit(admin, below)
    fast = _normalise(admin, "normalized_session", document)
    walk = _normalise(admin, "normalize_session", document)
    assert fast == walk
    assert fast[0] == ("ok" if below >= 22 else "error")


@pytest.mark.parametrize(("text", "message"), [
    ("2026-11-20", None), ("2024-02-29", None), ("2100-12-31", None), ("2000-01-01", None),
    ("2026-02-29", "d is not a valid date"), ("2026-13-01", "d is not a valid date"),
    ("2026-04-31", "d is not a valid date"), ("2026-00-10", "d is not a valid date"),
    ("0000-01-01", "d is not a valid date"), ("1999-02-30", "d is not a valid date"),
    ("1999-12-31", "d must be between 2000-01-01 and 2100-12-31"),
    ("2101-01-01", "d must be between 2000-01-01 and 2100-12-31"),
    ("2026-1-01", "d must be a date (YYYY-MM-DD)"), ("tomorrow", "d must be a date (YYYY-MM-DD)"),
])
def test_dates_are_parsed_and_refused_as_the_cast_did(
        admin: psycopg.Connection[Any], text: str, message: str | None) -> None:
    try:
        with admin.transaction():
            row = admin.execute("select core.parse_date(%s, 'd')", (text,)).fetchone()
    except psycopg.Error as exc:
        assert json.loads(exc.diag.message_primary or "")["message"] == message
    else:
        assert message is None and row is not None and row[0] == dt.date.fromisoformat(text)
