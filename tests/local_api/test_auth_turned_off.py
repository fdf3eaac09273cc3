"""What the CLI's template turns off in Auth, answered on `make run` as GoTrue v2.196 answers
it there: OAuth sign-in (`/authorize`, where supabase-js's `signInWithOAuth` sends the
browser), identity linking (`link_identity`, `unlink_identity`), the OAuth 2.1 server, SAML
SSO (`sign_in_with_sso`) and passkeys, each behind its middleware (`external.go`,
`identity.go`, `requireManualLinkingEnabled`, `requireOAuthServerEnabled`,
`requireSAMLEnabled`, `requirePasskeyEnabled`); turned on, what needs an OAuth provider or
a mail says it is not served here. The CLI judges the settings."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase_auth.errors import AuthApiError

from tests.http_fixtures import SERVICE_ROLE_KEY
from tests.local_api.test_auth_config import V2024, cli_template, configured, read_alike
from tests.local_api.test_auth_mfa import _refusal, _signed_in

__all__ = ["cli_template", "configured"]  # fixtures shared with test_auth_config.py


def _bearer(client: Any) -> dict[str, str]:
    session = client.auth.get_session()
    assert session is not None
    return {"Authorization": f"Bearer {session.access_token}", **V2024}


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.mark.parametrize(("old", "new", "cli_reads", "expected"), [
    ("enable_manual_linking = false", "enable_manual_linking = true", True,
     {"manual_linking": True}),
    ("enable_manual_linking = false", 'enable_manual_linking = "yes"', False,
     "enable_manual_linking must be a boolean"),
    ("[auth.oauth_server]\n# Enable OAuth server functionality\nenabled = false",
     "[auth.oauth_server]\nenabled = true", True, {"oauth_server": True}),
])
def test_the_linking_and_oauth_server_settings_are_read_as_the_cli_reads_them(
        cli_template: str, tmp_path: Path, old: str, new: str, cli_reads: bool,
        expected: dict[str, Any] | str) -> None:
    assert old in cli_template
    read_alike(cli_template.replace(old, new), tmp_path, cli_reads, expected)


def test_with_the_clis_template_linking_and_the_oauth_server_are_off_as_in_gotrue(
        configured: Any) -> None:
    with configured() as (server, api):
        client = _signed_in(server, api)
        assert _refusal(lambda: client.auth.link_identity({"provider": "github"})) == (
            404, "manual_linking_disabled", "Manual linking is disabled")
        identity = client.auth.get_user_identities().identities[0]
        assert _refusal(lambda: client.auth.unlink_identity(identity)) == (
            404, "manual_linking_disabled", "Manual linking is disabled")
        bearer = _bearer(client)
        # the middleware comes before the route, as chi runs `Use`: any method, any path
        for method, path in (("POST", "/user/identities/authorize"),
                             ("GET", "/user/identities/x/y")):
            assert _code(api.request(method, "/auth/v1" + path, headers=bearer)) == (
                404, "manual_linking_disabled"), path
        # and before it, `requireAuthentication`
        assert _code(api.delete(f"/auth/v1/user/identities/{uuid.uuid4()}",
                                headers=V2024)) == (401, "no_authorization")
        for method, path, headers in (("GET", "/user/oauth/grants", bearer),
                                      ("DELETE", "/user/oauth/grants", bearer),
                                      ("POST", "/oauth/clients/register", V2024),
                                      ("GET", "/oauth/authorize", V2024),
                                      ("GET", "/.well-known/oauth-authorization-server", V2024)):
            answer = api.request(method, "/auth/v1" + path, headers=headers)
            assert _code(answer) == (404, "feature_disabled"), path
            assert answer.json()["message"] == "OAuth server is disabled"
        assert _code(api.get("/auth/v1/user/oauth/grants", headers=V2024)) == (
            401, "no_authorization")
        assert api.get("/auth/v1/oauthx", headers=V2024).status_code == 404


def test_with_manual_linking_on_the_one_identity_may_not_be_unlinked(configured: Any) -> None:
    with configured(manual_linking=True, oauth_server=True) as (server, api):
        client = _signed_in(server, api)
        identity = client.auth.get_user_identities().identities[0]
        assert _refusal(lambda: client.auth.unlink_identity(identity)) == (
            422, "single_identity_not_deletable",
            "User must have at least 1 identity after unlinking")
        bearer = _bearer(client)
        assert _code(api.delete("/auth/v1/user/identities/nope", headers=bearer)) == (
            404, "validation_failed")
        # `requestAud`: another audience asked for than the token's
        assert _code(api.delete(f"/auth/v1/user/identities/{identity.identity_id}",
                                headers={**bearer, "X-JWT-AUD": "elsewhere"})) == (
            403, "unexpected_audience")
        assert api.get(f"/auth/v1/user/identities/{identity.identity_id}",
                       headers=bearer).status_code == 405
        with pytest.raises(AuthApiError) as refused:  # an OAuth provider's sign-in
            client.auth.link_identity({"provider": "github"})
        assert (refused.value.status, refused.value.code) == (422, "not_served_locally")
        for path in ("/user/oauth/grants", "/oauth/authorize"):
            assert _code(api.get("/auth/v1" + path, headers=bearer)) == (
                422, "not_served_locally"), path


@pytest.mark.parametrize(("table", "cli_reads", "expected"), [
    ('[auth.external.github]\nenabled = true\nclient_id = "id"\nsecret = "s"', True,
     {"oauth_providers": (("github", True),)}),
    ('[auth.external.apple]\nenabled = true\nclient_id = "id"', True,  # no secret asked
     {"oauth_providers": (("apple", False),)}),
    ('[auth.external.slack]\nenabled = true\nclient_id = "id"\nsecret = "s"', True,
     {}),  # deprecated: the CLI drops it
    ("[auth.external.github]\nenabled = true", False,
     "Missing required field in config: auth.external.github.client_id"),
    ('[auth.external.github]\nenabled = true\nclient_id = "id"', False,
     "Missing required field in config: auth.external.github.secret"),
    ('[auth.external.github]\nenabled = "true"', False,
     "auth.external.github.enabled must be a boolean"),
    ("[auth.passkey]\nenabled = true\n[auth.webauthn]\nrp_id = \"localhost\"\n"
     "rp_origins = [\"http://127.0.0.1:3000\"]", True, {"passkeys": True}),
    ("[auth.passkey]\nenabled = true", False,
     "Missing required config section: auth.webauthn"),
    ("[auth.passkey]\nenabled = true\n[auth.webauthn]\nrp_id = \"localhost\"", False,
     "Missing required field in config: auth.webauthn.rp_origins"),
])
def test_the_oauth_providers_and_passkeys_are_read_as_the_cli_reads_them(
        cli_template: str, tmp_path: Path, table: str, cli_reads: bool,
        expected: dict[str, Any] | str) -> None:
    name = table.split("]")[0] + "]"
    if f"\n{name}\n" in cli_template:  # the template's (off): replaced
        start = cli_template.index(f"\n{name}\n") + 1
        end = cli_template.index("\n[", start + 1)
        text = cli_template[:start] + table + cli_template[end:]
    else:  # one the template leaves out or comments out
        text = cli_template + "\n" + table + "\n"
    read_alike(text, tmp_path, cli_reads, expected)


def test_an_oauth_sign_in_is_refused_as_gotrue_refuses_the_provider(configured: Any) -> None:
    """`signInWithOAuth` sends the browser to `/authorize`: with the CLI's template every
    provider is off, and GoTrue answers in `API.Provider`'s words."""
    with configured(oauth_providers=(("github", True), ("apple", False))) as (_, api):
        for provider, reason in (("gitlab", "provider is not enabled"),
                                 ("GitLab", "provider is not enabled"),
                                 ("slack", "provider is not enabled"),
                                 ("nope", "Provider nope could not be found"),
                                 ("", "Provider  could not be found"),
                                 ("custom:acme", "custom OAuth providers are disabled"),
                                 ("apple", "missing OAuth secret")):
            answer = api.get("/auth/v1/authorize", params={"provider": provider},
                             headers=V2024)
            assert _code(answer) == (400, "validation_failed"), provider
            assert answer.json()["message"] == f"Unsupported provider: {reason}"
        on = api.get("/auth/v1/authorize", params={"provider": "github"}, headers=V2024)
        assert _code(on) == (422, "not_served_locally")
        # `/settings` reports them as GoTrue does, so a sign-in page offers the same choices
        external = api.get("/auth/v1/settings").json()["external"]
        assert (external["github"], external["apple"], external["gitlab"]) == (
            True, True, False)
        assert api.post("/auth/v1/authorize", headers=V2024).status_code == 405


def test_sso_passkeys_and_reauthentication_are_answered_as_gotrue_answers_them(
        configured: Any) -> None:
    with configured() as (server, api):
        client = _signed_in(server, api)
        # SAML: the CLI never turns it on
        assert _refusal(lambda: client.auth.sign_in_with_sso({"domain": "example.com"})) == (
            404, "saml_provider_disabled", "SAML 2.0 is disabled")
        for method, path in (("GET", "/sso/saml/metadata"), ("DELETE", "/sso")):
            assert _code(api.request(method, "/auth/v1" + path, headers=V2024)) == (
                404, "saml_provider_disabled"), path
        for method, path in (("POST", "/passkeys/authentication/options"),
                             ("GET", "/passkeys")):
            assert _code(api.request(method, "/auth/v1" + path, headers=V2024)) == (
                404, "passkey_disabled"), path
        assert api.get("/auth/v1/ssox", headers=V2024).status_code == 404
        # reauthentication needs a signed-in user first (its mail: test_auth_mail.py)
        assert _code(api.get("/auth/v1/reauthenticate", headers=V2024)) == (
            401, "no_authorization")
        bearer = _bearer(client)
        assert api.post("/auth/v1/reauthenticate", headers=bearer).status_code == 405
    with configured(passkeys=True) as (_, api):
        assert _code(api.get("/auth/v1/passkeys", headers=V2024)) == (
            422, "not_served_locally")
        assert api.get("/auth/v1/settings").json()["passkeys_enabled"] is True


def test_the_admin_check_comes_before_what_is_not_served(configured: Any) -> None:
    """`requireAdminCredentials` runs before every `/admin` route (and `/invite`)."""
    with configured() as (server, api):
        bearer = _bearer(_signed_in(server, api))
        for method, path in (("POST", "/admin/generate_link"), ("GET", "/admin/audit"),
                             ("POST", "/invite"), ("GET", "/admin/oauth/clients")):
            assert _code(api.request(method, "/auth/v1" + path, headers=V2024)) == (
                401, "no_authorization"), path
            assert _code(api.request(method, "/auth/v1" + path, headers=bearer)) == (
                403, "not_admin"), path
            admin = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}
            expected = (404, "feature_disabled") if "oauth" in path else (
                400, "validation_failed") if path in ("/admin/generate_link", "/invite") else (
                422, "not_served_locally")
            assert _code(api.request(method, "/auth/v1" + path, headers=admin)) == (
                expected), path
