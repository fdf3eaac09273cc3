"""supabase-js's and supabase-py's `auth.mfa` on `make run`: answered as GoTrue v2.196 answers
them (`mfa.go`, `loadFactor`) with the CLI's template, whose `[auth.mfa.*] enroll_enabled`
are off; turned on, enrolling says that it is not served here. supabase-py is the client
that reads the codes; the Supabase CLI judges the settings."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase_auth.errors import AuthApiError

from supabase import Client
from tests.local_api.test_auth_config import (
    PASSWORD,
    V2024,
    _email,
    _signup,
    _supabase,
    cli_template,
    configured,
    read_alike,
)

__all__ = ["cli_template", "configured"]  # fixtures shared with test_auth_config.py


def _signed_in(server: Any, api: httpx.Client) -> Client:
    email = _email()
    assert _signup(api, email).status_code == 200
    client = _supabase(server)
    client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    return client


def _refusal(call: Any) -> tuple[int, str | None, str]:
    with pytest.raises(AuthApiError) as refused:
        call()
    return refused.value.status, refused.value.code, refused.value.message


@pytest.mark.parametrize(("table", "cli_reads", "expected"), [
    ("[auth.mfa.totp]\nenroll_enabled = true\nverify_enabled = true", True,
     {"mfa_enroll": ("totp",)}),
    ("[auth.mfa.web_authn]\nenroll_enabled = true\nverify_enabled = true", True,
     {"mfa_enroll": ("webauthn",)}),
    ("[auth.mfa.web_authn]\nenroll_enabled = true", False,
     "auth.mfa.web_authn.enroll_enabled requires verify_enabled"),
    ('[auth.mfa.totp]\nenroll_enabled = "yes"', False, "must be a boolean"),
])
def test_the_mfa_settings_are_read_as_the_cli_reads_them(
        cli_template: str, tmp_path: Path, table: str, cli_reads: bool,
        expected: dict[str, Any] | str) -> None:
    text = cli_template.replace("[auth.mfa.totp]\nenroll_enabled = false\n"
                                "verify_enabled = false\n", "") + "\n" + table + "\n"
    read_alike(text, tmp_path, cli_reads, expected)


def test_mfa_is_answered_as_gotrue_answers_it_with_the_clis_template(configured: Any) -> None:
    with configured() as (server, api):
        client = _signed_in(server, api)
        for factor, code, name in (("totp", "mfa_totp_enroll_not_enabled", "TOTP"),
                                   ("phone", "mfa_phone_enroll_not_enabled", "Phone")):
            assert _refusal(lambda f=factor: client.auth.mfa.enroll(
                {"factor_type": f, "phone": "+48123456789"})) == (
                422, code, f"MFA enroll is disabled for {name}")
        factor_id = str(uuid.uuid4())
        for call in (lambda: client.auth.mfa.challenge({"factor_id": factor_id}),
                     lambda: client.auth.mfa.unenroll({"factor_id": factor_id})):
            assert _refusal(call) == (404, "mfa_factor_not_found", "Factor not found")
        session = client.auth.get_session()
        assert session is not None
        bearer = {"Authorization": f"Bearer {session.access_token}", **V2024}
        odd = api.post("/auth/v1/factors", json={"factor_type": "sms"}, headers=bearer)
        assert (odd.status_code, odd.json()["code"]) == (400, "validation_failed")
        assert odd.json()["message"] == "factor_type needs to be totp, phone, or webauthn"
        not_an_id = api.post("/auth/v1/factors/abc/verify", json={}, headers=bearer)
        assert (not_an_id.status_code, not_an_id.json()["code"]) == (404, "validation_failed")
        assert api.get("/auth/v1/factors", headers=bearer).status_code == 405
        unsigned = api.post("/auth/v1/factors", json={"factor_type": "totp"}, headers=V2024)
        assert (unsigned.status_code, unsigned.json()["code"]) == (401, "no_authorization")


def test_an_anonymous_user_may_not_enroll(configured: Any) -> None:
    with configured(anonymous_sign_ins=True) as (server, _):
        client = _supabase(server)
        client.auth.sign_in_anonymously()
        assert _refusal(lambda: client.auth.mfa.enroll({"factor_type": "totp"})) == (
            403, "no_authorization", "Anonymous user not allowed to perform these actions")


def test_mfa_turned_on_is_not_served_here(configured: Any) -> None:
    with configured(mfa_enroll=("totp",)) as (server, api):
        client = _signed_in(server, api)
        status, code, message = _refusal(
            lambda: client.auth.mfa.enroll({"factor_type": "totp"}))
    assert (status, code) == (422, "not_served_locally")
    assert "[auth.mfa.totp] enroll_enabled" in message
