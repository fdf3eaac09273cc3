"""The local API signs and checks JWTs with the keys `supabase start` gives GoTrue and
PostgREST: sessions signed ES256 with the CLI's default key, published at
/auth/v1/.well-known/jwks.json; the JWT secret still taken unless `[auth] signing_keys_path`
names keys of the project's own. The Supabase CLI is the judge of the keys (`supabase gen
signing-key` makes a project's, `supabase gen bearer-jwt` signs with them or with its local
default), PostgREST v16.1's jose-jwt of the 401s, supabase-js of the JWKS (its
`getClaims()`, in examples/supabase-js/)."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from supabase_auth.errors import AuthInvalidJwtError

from python_functions.local import stack
from python_functions.local.api import create_app as create_local_api
from python_functions.local.api.jwt_keys import ProjectKeys
from python_functions.local.cluster import free_port
from python_functions.local.config import (
    CLI_DEFAULT_SIGNING_KEY,
    AuthConfig,
    ConfigError,
    auth_config,
)
from python_functions.service.auth import mint_token, user_claims
from python_functions.service.settings import (
    DEV_JWT_SECRET,
    LOCAL_PUBLISHABLE_KEY,
    LOCAL_SECRET_KEY,
    Settings,
)
from tests.conftest import TEST_EMAIL_DOMAIN, User
from tests.http_fixtures import ANON_KEY, ServerThread, assert_service_error, token_for
from tests.local_api.conftest import pgrst_error
from tests.local_api.test_auth_config import _cli_reads, cli_template
from tests.test_supabase_fidelity import SUPABASE_CLI

__all__ = ["cli_template"]  # a fixture of test_auth_config, used here

PASSWORD = "a-good-password"


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _header(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))


def _signed_up(api: httpx.Client) -> dict[str, Any]:
    email = f"keys-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    response = api.post("/auth/v1/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def _list_sessions(api: httpx.Client, token: str) -> httpx.Response:
    return api.post("/rest/v1/rpc/list_sessions", json={},
                    headers={"Authorization": f"Bearer {token}", "Content-Profile": "pullups"})


def _ai_service(http: httpx.Client, token: str) -> httpx.Response:
    """A request of the AI service that its token lets through to a 400 (an out-of-range
    body), so that nothing is generated."""
    return http.post("/sessions/ai", json={"maxPullups": -1},
                     headers={"Authorization": f"Bearer {token}"})


def _cli(workdir: Path, *args: str, answer: str = "") -> str:
    """The last line the Supabase CLI prints for `args` in `workdir`'s project."""
    done = subprocess.run([str(SUPABASE_CLI), *args, "--workdir", str(workdir)], input=answer,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def _bearer_jwt(workdir: Path, user: User) -> str:
    """`supabase gen bearer-jwt` for `user` (a blank answer to its prompt: the local default
    key, or the first of `signing_keys_path`), with the audience user tokens have."""
    return _cli(workdir, "gen", "bearer-jwt", "--role", "authenticated", "--sub", user.id,
                "--payload", json.dumps({"aud": "authenticated"}), answer="\n")


@pytest.fixture
def cli_project(tmp_path: Path, cli_template: str) -> Path:
    """A project as `supabase init` makes it (the CLI's own defaults)."""
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text(cli_template)
    return tmp_path


@pytest.fixture
def api(local_api: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_api.url, timeout=30, headers={"apikey": ANON_KEY}) as client:
        yield client


# -----------------------------------------------------------------------------
# The CLI's default key: sessions are ES256, the JWT secret is still taken
# -----------------------------------------------------------------------------

def test_sessions_are_signed_es256_with_the_key_the_jwks_publishes(
        api: httpx.Client, local_api: ServerThread) -> None:
    session = _signed_up(api)
    assert _header(session["access_token"]) == {
        "alg": "ES256", "kid": CLI_DEFAULT_SIGNING_KEY["kid"], "typ": "JWT"}
    published = api.get("/auth/v1/.well-known/jwks.json")
    assert published.status_code == 200
    assert published.headers["cache-control"] == "public, max-age=600"
    (key,) = published.json()["keys"]
    assert "d" not in key and (key["kid"], key["kty"], key["crv"], key["use"],
                                key["key_ops"]) == (CLI_DEFAULT_SIGNING_KEY["kid"], "EC",
                                                    "P-256", "sig", ["verify"])
    # fetched over HTTP, as any backend that trusts the project's JWKS does
    client = jwt.PyJWKClient(f"{local_api.url}/auth/v1/.well-known/jwks.json")
    signing_key = client.get_signing_key_from_jwt(session["access_token"])
    claims = jwt.decode(session["access_token"], signing_key.key, algorithms=["ES256"],
                        audience="authenticated")
    assert claims["sub"] == session["user"]["id"]
    refreshed = api.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                         json={"refresh_token": session["refresh_token"]})
    assert _header(refreshed.json()["access_token"])["alg"] == "ES256"
    assert _list_sessions(api, session["access_token"]).status_code == 200
    assert api.get("/auth/v1/user", headers={
        "Authorization": f"Bearer {session['access_token']}"}).status_code == 200


def test_oidc_discovery_names_the_issuer_and_its_jwks(api: httpx.Client,
                                                      local_api: ServerThread) -> None:
    """A library that finds keys by OIDC discovery (`{issuer}/.well-known/openid-configuration`)
    finds the JWKS that checks the sessions, as on GoTrue v2.196."""
    session = _signed_up(api)
    issuer = jwt.decode(session["access_token"], options={"verify_signature": False})["iss"]
    assert issuer == f"{local_api.url}/auth/v1"
    discovered = api.get(issuer.removeprefix(local_api.url) + "/.well-known/openid-configuration")
    assert discovered.status_code == 200
    document = discovered.json()
    assert (document["issuer"], document["jwks_uri"]) == (
        issuer, f"{issuer}/.well-known/jwks.json")
    client = jwt.PyJWKClient(document["jwks_uri"])
    assert jwt.decode(session["access_token"],
                      client.get_signing_key_from_jwt(session["access_token"]).key,
                      algorithms=document["id_token_signing_alg_values_supported"],
                      audience="authenticated", issuer=issuer)["sub"] == session["user"]["id"]
    assert api.post("/auth/v1/.well-known/openid-configuration").status_code == 405


def test_a_token_the_cli_signs_with_its_local_default_key_is_taken_everywhere(
        api: httpx.Client, http: httpx.Client, cli_project: Path, alice: User) -> None:
    """What `supabase start` takes (its PostgREST and GoTrue get this key), `make run` takes:
    the local API and the AI service, which reads the local Auth's JWKS."""
    token = _bearer_jwt(cli_project, alice)
    assert _header(token)["kid"] == CLI_DEFAULT_SIGNING_KEY["kid"]
    assert _list_sessions(api, token).status_code == 200
    assert api.get("/auth/v1/user", headers={"Authorization": f"Bearer {token}"}
                   ).json()["id"] == alice.id
    assert _ai_service(http, token).status_code == 400  # past the token, at the body


def test_tokens_signed_with_the_jwt_secret_are_still_taken(api: httpx.Client,
                                                            alice: User) -> None:
    """Without `signing_keys_path` the CLI gives PostgREST the secret too, and GoTrue takes
    an HS256 token by it: legacy keys and tokens keep working."""
    token = token_for(alice, session_id=None)  # no session to look up
    assert _list_sessions(api, token).status_code == 200
    assert api.get("/auth/v1/user", headers={"Authorization": f"Bearer {token}"}
                   ).status_code == 200


def _forged_es256(claims: dict[str, Any], kid: str) -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, other, algorithm="ES256", headers={"kid": kid})


@pytest.mark.parametrize(("kid", "details"), [
    (str(CLI_DEFAULT_SIGNING_KEY["kid"]), "None of the keys was able to decode the JWT"),
    ("another-kid", "No suitable key was found to decode the JWT"),
], ids=["the key's kid", "an unknown kid"])
def test_an_es256_token_of_another_key_is_refused_by_rest_auth_and_the_service(
        api: httpx.Client, http: httpx.Client, alice: User, kid: str, details: str) -> None:
    forged = _forged_es256(dict(user_claims(alice.id, alice.email)), kid)
    body = pgrst_error(_list_sessions(api, forged), 401, "PGRST301")
    assert (body["message"], body["details"]) == ("No suitable key or wrong key type", details)
    refused = api.get("/auth/v1/user", headers={"Authorization": f"Bearer {forged}"})
    assert (refused.status_code, refused.json()["error_code"]) == (403, "bad_jwt")
    assert_service_error(_ai_service(http, forged), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(("token", "message", "details"), [
    # jose-jwt picks keys by kid: the secret has none, so an HS256 token with one finds none
    (lambda claims: jwt.encode(claims, DEV_JWT_SECRET, headers={"kid": "k1"}),
     "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
    (lambda claims: f"{_b64({'alg': 'none'})}.{_b64(claims)}.",
     "Wrong or unsupported encoding algorithm",
     "JWT is unsecured but expected 'alg' was not 'none'"),
    (lambda claims: f"{_b64({'alg': 'PS256'})}.{_b64(claims)}.{_b64(b'sig')}",
     "JWT cryptographic operation failed", None),
    (lambda claims: f"{_b64({'alg': 'HS256', 'kid': 7})}.{_b64(claims)}.{_b64(b'sig')}",
     "JWT cryptographic operation failed", None),
    (lambda claims: f"{_b64({'alg': 'RSA-OAEP', 'enc': 'A256GCM'})}.{_b64(claims)}.x",
     "JWT cryptographic operation failed", None),
    (lambda claims: f"{_b64({'alg': 'HS256'})}=.{_b64(claims)}.{_b64(b'sig')}",
     "JWT cryptographic operation failed", None),
], ids=["HS256 with a kid", "alg none", "an algorithm jose does not know", "a numeric kid",
        "a JWE", "padded base64"])
def test_rest_refuses_a_token_in_postgrest_v16_1s_words(
        api: httpx.Client, alice: User, token: Any, message: str, details: str | None) -> None:
    body = pgrst_error(_list_sessions(api, token(dict(user_claims(alice.id, alice.email)))),
                       401, "PGRST301")
    assert (body["message"], body["details"]) == (message, details)


def test_rest_takes_any_hmac_algorithm_with_the_secret(api: httpx.Client, alice: User) -> None:
    token = jwt.encode(dict(user_claims(alice.id, alice.email)), DEV_JWT_SECRET,
                       algorithm="HS384")
    assert _list_sessions(api, token).status_code == 200


# -----------------------------------------------------------------------------
# [auth] signing_keys_path: the project's own keys
# -----------------------------------------------------------------------------

@pytest.fixture
def own_keys(cli_project: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The project with keys of its own, made as the README says: `signing_keys_path` set,
    the file started as `[]` and `supabase gen signing-key --yes` writing an RS256 key into
    it; then, as after a rotation, a second one `--append`ed and kept for checking only."""
    config = cli_project / "supabase" / "config.toml"
    config.write_text(config.read_text().replace(
        "[auth]\n", '[auth]\nsigning_keys_path = "./signing_keys.json"\n', 1))
    file = cli_project / "supabase" / "signing_keys.json"
    file.write_text("[]")
    for args in (("--algorithm", "RS256"), ("--algorithm", "ES256", "--append")):
        done = subprocess.run([str(SUPABASE_CLI), "gen", "signing-key", *args, "--yes",
                               "--workdir", str(cli_project)], capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    keys = json.loads(file.read_text())
    assert [key["alg"] for key in keys] == ["RS256", "ES256"]
    keys[1]["key_ops"] = ["verify"]
    file.write_text(json.dumps(keys))
    return cli_project, keys


@contextlib.contextmanager
def _api_with(database_url: str, auth: AuthConfig) -> Iterator[httpx.Client]:
    port = free_port()
    app = create_local_api(database_url, DEV_JWT_SECRET, f"http://127.0.0.1:{free_port()}",
                           f"http://127.0.0.1:{port}",
                           auth=auth)
    with ServerThread(app, port=port) as server, httpx.Client(
            base_url=server.url, timeout=30,
            headers={"apikey": LOCAL_PUBLISHABLE_KEY}) as client:
        yield client


def test_a_projects_own_keys_sign_its_sessions_and_the_secret_is_no_longer_taken_by_rest(
        own_keys: tuple[Path, list[dict[str, Any]]], database_url: str, alice: User) -> None:
    project, keys = own_keys
    auth = auth_config(project / "supabase" / "config.toml")
    assert auth.keys_from_file and [k["kid"] for k in auth.signing_keys] == [
        k["kid"] for k in keys]
    with _api_with(database_url, auth) as api:
        session = _signed_up(api)  # the publishable key: the gateway's anon key, RS256 now
        assert _header(session["access_token"])["kid"] == keys[0]["kid"]
        assert _header(session["access_token"])["alg"] == "RS256"
        published = api.get("/auth/v1/.well-known/jwks.json").json()["keys"]
        assert [k["kid"] for k in published] == [k["kid"] for k in keys]
        assert not any(set(k) & {"d", "p", "q", "dp", "dq", "qi"} for k in published)
        assert _list_sessions(api, session["access_token"]).status_code == 200
        # the CLI signs with the file's first key too; a token of the second is also taken
        assert _list_sessions(api, _bearer_jwt(project, alice)).status_code == 200
        second = jwt.encode(dict(user_claims(alice.id, alice.email)), jwt.PyJWK(keys[1]).key,
                            algorithm="ES256", headers={"kid": keys[1]["kid"]})
        assert _list_sessions(api, second).status_code == 200
        # the secret is not in PostgREST's JWKS any more; GoTrue still takes it
        legacy = token_for(alice, session_id=None)
        body = pgrst_error(_list_sessions(api, legacy), 401, "PGRST301")
        assert body["details"] == "No suitable key was found to decode the JWT"
        assert api.get("/auth/v1/user", headers={"Authorization": f"Bearer {legacy}"}
                       ).status_code == 200
        # the secret key stands for the service_role key, signed with the file's first key
        assert api.get("/auth/v1/admin/users", headers={"apikey": LOCAL_SECRET_KEY}
                       ).status_code == 200


def test_the_api_keys_are_signed_with_the_first_key_for_ten_years(
        own_keys: tuple[Path, list[dict[str, Any]]]) -> None:
    project, keys = own_keys
    anon = ProjectKeys(DEV_JWT_SECRET, auth_config(project / "supabase" / "config.toml")
                       ).api_key("anon", now=1_800_000_000)
    assert _header(anon) == {"alg": "RS256", "kid": keys[0]["kid"], "typ": "JWT"}
    assert jwt.decode(anon, jwt.PyJWK(keys[0]).key.public_key(), algorithms=["RS256"]) == {
        "iss": "supabase-demo", "role": "anon", "exp": 1_800_000_000 + 10 * 365 * 24 * 3600}
    default = ProjectKeys(DEV_JWT_SECRET, AuthConfig()).api_key("anon")
    assert default == ANON_KEY == mint_token(
        {"iss": "supabase-demo", "role": "anon", "exp": 1983812996}, DEV_JWT_SECRET)


@pytest.mark.parametrize(("keys", "cli_reads", "refusal"), [
    (None, False, "failed to read signing keys"),
    ("not json", False, "failed to decode signing keys"),
    ("{}", False, "failed to decode signing keys"),
    ([{**CLI_DEFAULT_SIGNING_KEY, "alg": "HS256"}], False, "unsupported algorithm: HS256"),
    ([{k: v for k, v in CLI_DEFAULT_SIGNING_KEY.items() if k != "d"}], False,
     "private part"),
    ([{**CLI_DEFAULT_SIGNING_KEY, "crv": "P-384"}], False, "cannot sign ES256"),
    # the CLI reads these, and GoTrue refuses to start with them
    ([CLI_DEFAULT_SIGNING_KEY, {**CLI_DEFAULT_SIGNING_KEY, "kid": "second"}], True,
     "multiple signing keys detected"),
    ([{**CLI_DEFAULT_SIGNING_KEY, "key_ops": ["verify"]}], True, "no signing key detected"),
    # the CLI reads it, GoTrue would sign with the secret and PostgREST then take no token
    ([], True, "holds no keys"),
], ids=["a missing file", "not JSON", "not an array", "an HS256 key", "a public key",
        "a P-384 key", "two signing keys", "no signing key", "no keys"])
def test_a_signing_keys_file_the_stack_cannot_start_with_is_refused(
        cli_project: Path, keys: Any, cli_reads: bool, refusal: str) -> None:
    config = cli_project / "supabase" / "config.toml"
    text = config.read_text().replace(
        "[auth]\n", '[auth]\nsigning_keys_path = "./signing_keys.json"\n', 1)
    if keys is not None:
        (cli_project / "supabase" / "signing_keys.json").write_text(
            keys if isinstance(keys, str) else json.dumps(keys))
    assert _cli_reads(text, cli_project) is cli_reads
    with pytest.raises(ConfigError, match=refusal):
        auth_config(config)


def _supabase_py(url: str, key: str, asked: list[str]) -> Any:
    """A supabase-py client whose every request's path is noted in `asked`."""
    from supabase import ClientOptions, create_client

    http = httpx.Client(timeout=10, event_hooks={
        "request": [lambda request: asked.append(request.url.path)]})
    return create_client(url, key, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=http))


@pytest.mark.parametrize("own", [False, True], ids=["the CLI's key", "the project's RS256 key"])
def test_supabase_py_get_claims_checks_a_session_by_the_jwks_without_asking_auth(
        own: bool, local_api: ServerThread, database_url: str, request: pytest.FixtureRequest
        ) -> None:
    with contextlib.ExitStack() as stack:
        url = local_api.url
        if own:
            project, _ = request.getfixturevalue("own_keys")
            client = stack.enter_context(_api_with(
                database_url, auth_config(project / "supabase" / "config.toml")))
            url = str(client.base_url).rstrip("/")
        asked: list[str] = []
        supabase = _supabase_py(url, LOCAL_PUBLISHABLE_KEY, asked)
        email = f"claims-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
        signed_up = supabase.auth.sign_up({"email": email, "password": PASSWORD})
        asked.clear()
        answer = supabase.auth.get_claims()
        assert answer is not None and answer["claims"]["sub"] == signed_up.user.id
        assert answer["headers"]["alg"] == ("RS256" if own else "ES256")
        assert asked == ["/auth/v1/.well-known/jwks.json"]  # not /auth/v1/user
        # the same token with another user's id in it: its signature no longer holds
        head, payload, signature = signed_up.session.access_token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        altered = _b64({**claims, "sub": str(uuid.uuid4())})
        with pytest.raises(AuthInvalidJwtError, match="Invalid JWT signature"):
            supabase.auth.get_claims(f"{head}.{altered}.{signature}")


def test_a_projects_jwt_secret_signs_the_api_keys_and_is_the_one_taken(
        database_url: str, alice: User) -> None:
    """`[auth] jwt_secret`, as the CLI hands it to Auth and PostgREST: the anon key (what the
    publishable key stands for) is signed with it, and the dev secret no longer passes."""
    secret = "a-project-secret-of-its-own-of-32-characters"
    auth = dataclasses.replace(AuthConfig(), jwt_secret=secret)
    assert ProjectKeys(DEV_JWT_SECRET, auth).api_key("anon") == mint_token(
        {"iss": "supabase-demo", "role": "anon", "exp": 1983812996}, secret)
    with _api_with(database_url, auth) as api:
        own = mint_token(dict(user_claims(alice.id, alice.email)), secret)
        assert _list_sessions(api, own).status_code == 200
        body = pgrst_error(_list_sessions(api, token_for(alice)), 401, "PGRST301")
        assert body["details"] == "None of the keys was able to decode the JWT"
        session = _signed_up(api)  # the publishable key: the anon key of that secret
        assert _list_sessions(api, session["access_token"]).status_code == 200


def test_make_run_hands_the_projects_jwt_secret_to_every_service(cli_project: Path) -> None:
    config = cli_project / "supabase" / "config.toml"
    settings = Settings(supabase_jwt_secret=DEV_JWT_SECRET)
    assert stack.with_project_secret(settings, config).supabase_jwt_secret == DEV_JWT_SECRET
    config.write_text(config.read_text().replace(
        "[auth]\n", '[auth]\njwt_secret = "env(PROJECT_JWT_SECRET)"\n', 1))
    (cli_project / "supabase" / ".env").write_text("PROJECT_JWT_SECRET=" + "s" * 40 + "\n")
    assert stack.with_project_secret(settings, config).supabase_jwt_secret == "s" * 40


def test_a_projects_own_api_keys_are_the_ones_the_gateway_maps(database_url: str) -> None:
    """`[auth] publishable_key`, `secret_key`, `anon_key` and `service_role_key` ("custom
    secrets" in the CLI's words): the gateway maps the project's new keys onto its legacy
    ones, and the CLI's fixed keys no longer mean anything."""
    secret = "a-project-secret-of-its-own-of-32-characters"
    anon = mint_token({"iss": "mine", "role": "anon", "exp": 1983812996}, secret)
    service = mint_token({"iss": "mine", "role": "service_role", "exp": 1983812996}, secret)
    auth = dataclasses.replace(AuthConfig(), jwt_secret=secret,
                               publishable_key="sb_publishable_mine", secret_key="sb_secret_mine",
                               anon_key=anon, service_role_key=service)
    assert ProjectKeys(DEV_JWT_SECRET, auth).api_key("anon") == anon
    with _api_with(database_url, auth) as api:
        mine = {"apikey": "sb_publishable_mine", "Authorization": "Bearer sb_publishable_mine"}
        assert api.post("/auth/v1/signup", headers=mine, json={
            "email": f"mine-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}",
            "password": PASSWORD}).status_code == 200
        assert api.get("/auth/v1/admin/users", headers={"apikey": "sb_secret_mine"}
                       ).status_code == 200
        # the CLI's fixed keys: not mapped, so no JWT at all
        cli_secret = api.get("/auth/v1/admin/users", headers={"apikey": LOCAL_SECRET_KEY})
        assert (cli_secret.status_code, cli_secret.json()["error_code"]) == (
            401, "no_authorization")
        refused = api.post("/rest/v1/rpc/ai_quota", json={},
                           headers={"apikey": LOCAL_PUBLISHABLE_KEY,
                                    "Content-Profile": "pullups"})
        pgrst_error(refused, 401, "PGRST301")


# -----------------------------------------------------------------------------
# [auth.third_party]: a provider's keys, which PostgREST also takes
# -----------------------------------------------------------------------------

def _with_providers(text: str, tables: str) -> str:
    """config.toml `text` with each `[auth.third_party.*]` table of `tables` (turned on) in
    place of the template's one of that name, or added."""
    for table in ("\n" + tables).split("\n[")[1:]:
        name = "[" + table.split("]")[0] + "]"
        turned_off = name + "\nenabled = false\n"
        text = (text.replace(turned_off, "[" + table + "\n") if turned_off in text
                else text + "\n[" + table + "\n")
    return text


@pytest.mark.parametrize(("table", "issuer"), [
    ('[auth.third_party.firebase]\nenabled = true\nproject_id = "my-app"',
     "https://securetoken.google.com/my-app"),
    ('[auth.third_party.auth0]\nenabled = true\ntenant = "me"\ntenant_region = "eu"',
     "https://me.eu.auth0.com"),
    ('[auth.third_party.auth0]\nenabled = true\ntenant = "me"', "https://me.auth0.com"),
    ('[auth.third_party.aws_cognito]\nenabled = true\nuser_pool_id = "pool"\n'
     'user_pool_region = "eu-west-1"', "https://cognito-idp.eu-west-1.amazonaws.com/pool"),
    ('[auth.third_party.clerk]\nenabled = true\ndomain = "me.clerk.accounts.dev"',
     "https://me.clerk.accounts.dev"),
    ('[auth.third_party.workos]\nenabled = true\nissuer_url = "https://api.workos.com/x"',
     "https://api.workos.com/x"),
    # what the CLI refuses, in its words
    ("[auth.third_party.firebase]\nenabled = true", "without a project_id"),
    ('[auth.third_party.aws_cognito]\nenabled = true\nuser_pool_id = "pool"',
     "cognito is enabled but without a user_pool_region"),
    ('[auth.third_party.clerk]\nenabled = true\ndomain = "example.com"', "invalid domain"),
    ("[auth.third_party.workos]\nenabled = true", "without a issuer_url"),
    ('[auth.third_party.firebase]\nenabled = true\nproject_id = "p"\n'
     '[auth.third_party.auth0]\nenabled = true\ntenant = "t"', "Only one third_party"),
], ids=["firebase", "auth0 in a region", "auth0", "cognito", "clerk", "workos",
        "firebase without its project", "cognito without its region", "a clerk domain",
        "workos without its issuer", "two providers"])
def test_a_third_party_provider_is_read_as_the_cli_reads_it(
        cli_project: Path, table: str, issuer: str) -> None:
    text = _with_providers((cli_project / "supabase" / "config.toml").read_text(), table)
    refused = not issuer.startswith("https://")
    assert _cli_reads(text, cli_project) is not refused
    config = cli_project / "supabase" / "config.toml"
    if refused:
        with pytest.raises(ConfigError, match=issuer):
            auth_config(config)
    else:
        assert auth_config(config).third_party_issuer == issuer


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def provider() -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """A third-party Auth provider on a local port: its OIDC discovery document, its JWKS
    (an RS256 key), and what it answers, which a test may change."""
    key = _rsa_key()
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    answers: dict[str, Any] = {"keys": [public | {"kid": "provider-1", "alg": "RS256",
                                                  "use": "sig"}]}

    async def discovery(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(answers.get("discovery", {"issuer": base,
                                                      "jwks_uri": base + "/jwks"}))

    async def jwks(_request: Request) -> JSONResponse:
        return JSONResponse({"keys": answers["keys"]})

    app = Starlette(routes=[Route("/.well-known/openid-configuration", discovery),
                            Route("/jwks", jwks)])
    with ServerThread(app) as server:
        yield server.url, key, answers


def test_postgrest_takes_the_third_party_providers_tokens_and_auth_does_not(
        provider: tuple[str, Any, dict[str, Any]], database_url: str, alice: User) -> None:
    """As on `supabase start`: the CLI puts the provider's keys in PostgREST's JWKS (a token
    with `role: authenticated`, as the provider is set up to add, reads as that user), and
    GoTrue does not know them."""
    url, key, _ = provider
    auth = dataclasses.replace(AuthConfig(), third_party_issuer=url)
    token = jwt.encode({"sub": alice.id, "role": "authenticated", "iss": url,
                        "exp": int(time.time()) + 600}, key, algorithm="RS256",
                       headers={"kid": "provider-1"})
    with _api_with(database_url, auth) as api:
        assert _list_sessions(api, token).status_code == 200
        other = jwt.encode({"sub": alice.id, "role": "authenticated"},
                           _rsa_key(), algorithm="RS256", headers={"kid": "provider-1"})
        body = pgrst_error(_list_sessions(api, other), 401, "PGRST301")
        assert body["details"] == "None of the keys was able to decode the JWT"
        refused = api.get("/auth/v1/user", headers={"Authorization": f"Bearer {token}"})
        assert (refused.status_code, refused.json()["error_code"]) == (403, "bad_jwt")
        assert _signed_up(api)["user"]  # Auth's own sessions as before


@pytest.mark.parametrize(("answer", "refusal"), [
    ({"discovery": {"issuer": "x"}}, "does not expose a jwks_uri property"),
    ({"keys": []}, "does not contain any JWK keys"),
    ({"discovery": {"jwks_uri": "http://127.0.0.1:9/none"}}, "auth.third_party: http"),
], ids=["no jwks_uri", "no keys", "keys not reachable"])
def test_a_provider_whose_keys_cannot_be_fetched_stops_the_local_api(
        provider: tuple[str, Any, dict[str, Any]], database_url: str,
        answer: dict[str, Any], refusal: str) -> None:
    url, _, answers = provider
    answers.update(answer)
    with pytest.raises(ConfigError, match=refusal):
        create_local_api(database_url, DEV_JWT_SECRET, "http://127.0.0.1:9", "http://x",
                         auth=dataclasses.replace(AuthConfig(), third_party_issuer=url))
