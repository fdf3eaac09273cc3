"""What the service passes on from an RPC error, judged on real answers of the database."""

from __future__ import annotations

import uuid

import pytest

from python_functions.errors import ApiError
from tests.conftest import Api, User


def test_a_documented_rpc_error_goes_to_the_client_as_it_is(api: Api, alice: User) -> None:
    refused = api.service("flashcards.begin_ai_session", user_id=alice.id, input_text="short",
                          model="local/rules")
    error = ApiError.from_rpc(refused.status, refused.body, refused.headers)
    assert (error.status, error.code) == (400, "VALIDATION_ERROR")
    assert error.details["field"] == "input_text"


@pytest.mark.parametrize("outcome", [
    {"status": "success", "durationMs": "abc"},          # 22P02 from a cast: a service bug
    {"status": "error", "durationMs": 10**12},            # 22003 out of range
])
def test_a_raw_postgres_error_becomes_a_bare_500(api: Api, alice: User,
                                                 outcome: dict[str, object]) -> None:
    begun = api.service("flashcards.begin_ai_session", user_id=alice.id,
                        input_text="x " * 600, model="local/rules")
    failed = api.service("flashcards.finish_ai_session", user_id=alice.id,
                         session_id=begun.body["sessionId"], outcome=outcome)
    assert 400 <= failed.status < 500 and not failed.body["code"].isalpha()  # raw SQLSTATE
    error = ApiError.from_rpc(failed.status, failed.body, failed.headers)
    assert error.body() == {"code": "INTERNAL", "message": "Internal server error",
                            "details": None, "hint": None}


def test_an_unknown_function_is_a_bare_500_too(api: Api) -> None:
    missing = api.service("flashcards.no_such_rpc", user_id=str(uuid.uuid4()))
    assert missing.body["code"] == "PGRST202"
    assert ApiError.from_rpc(missing.status, missing.body, missing.headers).status == 500
