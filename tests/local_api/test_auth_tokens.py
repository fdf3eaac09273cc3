"""The local Auth reads a bearer token as GoTrue v2.196 does (`parseJWTClaims`, then
`maybeLoadUserOrSession`): any token of the project's keys, checked by golang-jwt v5.3.1,
whose refusal is 403 `bad_jwt` "invalid JWT: unable to parse or verify signature, " and
golang-jwt's own words (`parser.go`, `validator.go`, the signing methods' `Verify`); then the
user its `sub` names. supabase-py is the client that shows the words to an app."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from supabase_auth.errors import AuthApiError

from python_functions.local.api import create_app as create_local_api
from python_functions.local.cluster import free_port
from python_functions.local.config import CLI_DEFAULT_SIGNING_KEY, auth_config
from python_functions.service.auth import user_claims
from python_functions.service.settings import DEV_JWT_SECRET
from supabase import ClientOptions, create_client
from tests.conftest import User
from tests.http_fixtures import ANON_KEY, SERVICE_ROLE_KEY, ServerThread

PREFIX = "invalid JWT: unable to parse or verify signature, "
DEFAULT_KID = str(CLI_DEFAULT_SIGNING_KEY["kid"])
V2024 = {"X-Supabase-Api-Version": "2024-01-01"}  # the error body supabase-js asks for


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _session_signed(claims: dict[str, Any]) -> str:
    """`claims` signed as the local Auth signs a session: ES256, the CLI's default key."""
    key = jwt.PyJWK(CLI_DEFAULT_SIGNING_KEY).key
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": DEFAULT_KID})


def _claims_of(user: User, **changes: Any) -> dict[str, Any]:
    """A session's claims for `user`, without a session (so that only the token is judged),
    with `changes` (None drops a claim)."""
    claims = {**user_claims(user.id, user.email), "session_id": None, **changes}
    return {name: value for name, value in claims.items() if value is not None}


def _unsigned(header: dict[str, Any] | bytes, claims: dict[str, Any] | bytes,
              signature: str = _b64(b"signature")) -> str:
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


@pytest.fixture(scope="module")
def auth_server(database_url: str) -> Iterator[ServerThread]:
    """The local API with the project's `[auth]`, for the module (whichever transport the
    AI service would use: Auth does not call it)."""
    port = free_port()
    app = create_local_api(database_url, DEV_JWT_SECRET, f"http://127.0.0.1:{free_port()}",
                           f"http://127.0.0.1:{port}", auth=auth_config())
    with ServerThread(app, port=port) as server:
        yield server


@pytest.fixture
def auth(auth_server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=auth_server.url + "/auth/v1", timeout=30,
                      headers={"apikey": ANON_KEY, **V2024}) as client:
        yield client


def _user(auth: httpx.Client, token: str, scheme: str = "Bearer ") -> httpx.Response:
    return auth.get("/user", headers={"Authorization": scheme + token})


def _refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == response.headers["x-sb-error-code"] == code, body
    message: str = body["message"]
    return message


_NOW = int(time.time())
_OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())
_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

# (the token made of a user's claims, golang-jwt's words)
BAD_TOKENS: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "expired": (lambda c: _session_signed({**c, "exp": _NOW - 10}),
                "token has invalid claims: token is expired"),
    "expired and not yet valid": (
        lambda c: _session_signed({**c, "exp": _NOW - 10, "nbf": _NOW + 600}),
        "token has invalid claims: token is expired, token is not valid yet"),
    "another project's secret": (
        lambda c: jwt.encode(c, "another-projects-secret-of-32-characters", algorithm="HS256"),
        "token signature is invalid: signature is invalid"),
    "another key with the default kid": (
        lambda c: jwt.encode(c, _OTHER_EC_KEY, algorithm="ES256",
                             headers={"kid": DEFAULT_KID}),
        "token signature is invalid: crypto/ecdsa: verification error"),
    "HS256 naming the EC key": (
        lambda c: jwt.encode(c, DEV_JWT_SECRET, algorithm="HS256",
                             headers={"kid": DEFAULT_KID}),
        "token signature is invalid: key is of invalid type: HMAC verify expects []byte"),
    "RS256 of an unknown key": (
        lambda c: jwt.encode(c, _RSA_KEY, algorithm="RS256"),
        "token is unverifiable: error while executing keyfunc:"
        " unrecognized JWT kid <nil> for algorithm RS256"),
    "RS256 of a numeric kid": (
        lambda c: _unsigned({"alg": "RS256", "kid": 7}, c),
        "token is unverifiable: error while executing keyfunc:"
        " unrecognized JWT kid 7 for algorithm RS256"),
    "HS512": (lambda c: jwt.encode(c, DEV_JWT_SECRET * 2, algorithm="HS512"),
              "token signature is invalid: signing method HS512 is invalid"),
    "alg none": (lambda c: _unsigned({"alg": "none"}, c, ""),
                 "token signature is invalid: signing method none is invalid"),
    "no alg": (lambda c: _unsigned({"typ": "JWT"}, c),
               "token is unverifiable: signing method (alg) is unspecified"),
    "an unknown alg": (lambda c: _unsigned({"alg": "HS1"}, c),
                       "token is unverifiable: signing method (alg) is unavailable"),
    "two parts": (lambda c: _b64({"alg": "HS256"}) + "." + _b64(c),
                  "token is malformed: token contains an invalid number of segments"),
    "a padded header": (lambda c: _b64({"alg": "HS256"}) + "=." + _b64(c) + ".sig",
                        "token is malformed: could not base64 decode header:"
                        f" illegal base64 data at input byte {len(_b64({'alg': 'HS256'}))}"),
    "a header that is not JSON": (
        lambda c: _unsigned(b'{"alg" "HS256"}', c),
        "token is malformed: could not JSON decode header:"
        " invalid character '\"' after object key"),
    "a header that is an array": (
        lambda c: _unsigned(b'["HS256"]', c),
        "token is malformed: could not JSON decode header:"
        " json: cannot unmarshal array into Go value of type map[string]interface {}"),
    "a cut-off claim": (lambda c: _unsigned({"alg": "HS256"}, b'{"sub": "'),
                        "token is malformed: could not JSON decode claim:"
                        " unexpected end of JSON input"),
    "a numeric sub": (
        lambda c: _unsigned({"alg": "HS256"}, {**c, "sub": 5}),
        "token is malformed: could not JSON decode claim: json: cannot unmarshal number into"
        " Go struct field AccessTokenClaims.RegisteredClaims.sub of type string"),
    "a role that is not a string": (
        lambda c: _unsigned({"alg": "HS256"}, {**c, "role": ["authenticated"]}),
        "token is malformed: could not JSON decode claim: json: cannot unmarshal array into"
        " Go struct field AccessTokenClaims.role of type string"),
    "an exp that is not a number": (
        lambda c: _unsigned({"alg": "HS256"}, {**c, "exp": "tomorrow"}),
        "token is malformed: could not JSON decode claim: could not parse NumericData: json:"
        " invalid number literal, trying to unmarshal \"\\\"tomorrow\\\"\" into Number"),
    "an aud of numbers": (lambda c: _unsigned({"alg": "HS256"}, {**c, "aud": [1]}),
                          "token is malformed: could not JSON decode claim:"
                          " invalid type for claim"),
    "a bad signature's base64": (
        lambda c: _unsigned({"alg": "HS256"}, c, "a+b"),
        "token is malformed: could not base64 decode signature:"
        " illegal base64 data at input byte 1"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_token_is_refused_in_golang_jwts_words(auth: httpx.Client, alice: User,
                                                     case: str) -> None:
    make, reason = BAD_TOKENS[case]
    assert _refused(_user(auth, make(_claims_of(alice))), 403, "bad_jwt") == PREFIX + reason


def test_a_token_that_names_no_user_is_refused_as_gotrue_refuses_it(
        auth: httpx.Client, alice: User) -> None:
    assert _refused(_user(auth, SERVICE_ROLE_KEY), 403, "bad_jwt") == (
        "invalid claim: missing sub claim")
    assert _refused(_user(auth, _session_signed(_claims_of(alice, sub=""))), 403,
                    "bad_jwt") == "invalid claim: missing sub claim"
    assert _refused(_user(auth, _session_signed(_claims_of(alice, sub="alice"))), 400,
                    "bad_jwt") == "invalid claim: sub claim must be a UUID"
    nobody = _session_signed(_claims_of(alice, sub=str(uuid.uuid4())))
    assert _refused(_user(auth, nobody), 403, "user_not_found") == (
        "User from sub claim in JWT does not exist")


def test_any_token_of_the_projects_keys_naming_a_user_reads_it(auth: httpx.Client,
                                                               alice: User) -> None:
    """GoTrue checks no audience, role or expiry's presence: a token `supabase gen
    bearer-jwt` makes for the anon role with a user's `sub` reads that user, as there; so do
    the forms of a UUID gofrs reads, and claim names in another case (encoding/json matches
    them so)."""
    hex_id = uuid.UUID(alice.id).hex
    for token in (
            _session_signed(_claims_of(alice, role="anon", aud=None, exp=None)),
            jwt.encode({"sub": alice.id}, DEV_JWT_SECRET, algorithm="HS256"),
            _session_signed({"sub": "{" + alice.id + "}"}),
            _session_signed({"sub": "urn:uuid:" + alice.id}),
            _session_signed({"sub": hex_id.upper()}),
            _session_signed({"SUB": alice.id, "exp": str(_NOW + 600)})):
        answer = _user(auth, token)
        assert answer.status_code == 200, (answer.text, jwt.decode(
            token, options={"verify_signature": False}))
        assert answer.json()["id"] == alice.id


def test_the_bearer_scheme_is_read_as_gotrue_reads_it(auth: httpx.Client, alice: User) -> None:
    """`^(?:B|b)earer (\\S+$)`: one space, the token to the end."""
    token = _session_signed(_claims_of(alice))
    assert _user(auth, token, "bearer ").status_code == 200
    for scheme, sent in (("BEARER ", token), ("Bearer  ", token), ("Bearer ", token + " x"),
                         ("Token ", token)):
        assert _refused(_user(auth, sent, scheme), 401, "no_authorization") == (
            "This endpoint requires a valid Bearer token"), scheme


def test_the_admin_api_refuses_a_bad_token_in_the_same_words(auth: httpx.Client) -> None:
    expired = jwt.encode({"role": "service_role", "exp": _NOW - 10}, DEV_JWT_SECRET,
                         algorithm="HS256")
    refused = auth.get("/admin/users", headers={"Authorization": f"Bearer {expired}"})
    assert _refused(refused, 403, "bad_jwt") == (
        PREFIX + "token has invalid claims: token is expired")
    lasting = jwt.encode({"role": "service_role"}, DEV_JWT_SECRET, algorithm="HS256")
    assert auth.get("/admin/users", headers={"Authorization": f"Bearer {lasting}"}
                    ).status_code == 200


def test_logout_judges_the_user_before_the_scope(auth: httpx.Client,
                                                 admin: psycopg.Connection[Any],
                                                 alice: User) -> None:
    token = _session_signed(_claims_of(alice))
    refused = auth.post("/logout", params={"scope": "everywhere"},
                        headers={"Authorization": f"Bearer {token}"})
    assert _refused(refused, 400, "validation_failed") == 'Unsupported logout scope "everywhere"'
    admin.execute("delete from auth.users where id = %s", (alice.id,))
    gone = auth.post("/logout", params={"scope": "everywhere"},
                     headers={"Authorization": f"Bearer {token}"})
    assert _refused(gone, 403, "user_not_found") == "User from sub claim in JWT does not exist"


def test_supabase_py_shows_an_app_golang_jwts_words(auth_server: ServerThread,
                                                    alice: User) -> None:
    client = create_client(auth_server.url, ANON_KEY, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))
    expired = _session_signed(_claims_of(alice, exp=_NOW - 10))
    with pytest.raises(AuthApiError) as refused:
        client.auth.get_user(expired)
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        403, "bad_jwt", PREFIX + "token has invalid claims: token is expired")
