"""Bearer tokens: only valid Supabase user tokens get in; everything else is 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from python_functions.service.auth import (
    InvalidToken,
    VerifiedTokens,
    jwks_client,
    mint_token,
    user_claims,
    verify_token,
)
from python_functions.service.settings import DEV_JWT_SECRET
from tests.conftest import User
from tests.http_fixtures import assert_service_error, token_for


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _post(http: httpx.Client, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return http.post("/sessions/ai", json={"maxPullups": 5}, headers=headers)


def _resigned(header_segment: str, user: User) -> str:
    """A token with this header segment, signed with the project's secret."""
    signing_input = header_segment + "." + _b64(user_claims(user.id, user.email))
    signature = hmac.new(DEV_JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256)
    return signing_input + "." + base64.urlsafe_b64encode(
        signature.digest()).rstrip(b"=").decode()


def _unsigned(user: User) -> str:
    return _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(user_claims(user.id, user.email)) + "."


@pytest.mark.parametrize("case", [
    "missing", "not bearer", "empty", "garbage", "expired", "forged", "alg none",
    "wrong audience", "service role", "anon role", "sub not a uuid", "no exp",
    "sub as urn", "sub in braces", "header not json", "alg a list", "junk in the header",
    "header nested deeply",
])
def test_bad_tokens_are_401(http: httpx.Client, alice: User, case: str) -> None:
    claims = user_claims(alice.id, alice.email)
    header: str | None = {
        "missing": None,
        "not bearer": f"Basic {token_for(alice)}",
        "empty": "Bearer",
        "garbage": "Bearer not.a.jwt",
        "expired": "Bearer " + mint_token(claims | {"exp": int(time.time()) - 10},
                                          DEV_JWT_SECRET),
        "forged": "Bearer " + mint_token(claims, "another-secret-that-is-at-least-32-chars"),
        "alg none": "Bearer " + _unsigned(alice),
        "wrong audience": "Bearer " + mint_token(claims | {"aud": "other"}, DEV_JWT_SECRET),
        "service role": "Bearer " + mint_token(claims | {"role": "service_role"},
                                               DEV_JWT_SECRET),
        "anon role": "Bearer " + mint_token(claims | {"role": "anon"}, DEV_JWT_SECRET),
        "sub not a uuid": "Bearer " + mint_token(claims | {"sub": "alice"}, DEV_JWT_SECRET),
        "no exp": "Bearer " + mint_token({k: v for k, v in claims.items() if k != "exp"},
                                         DEV_JWT_SECRET),
        "sub as urn": "Bearer " + mint_token(claims | {"sub": f"urn:uuid:{alice.id}"},
                                             DEV_JWT_SECRET),
        "sub in braces": "Bearer " + mint_token(claims | {"sub": "{" + alice.id + "}"},
                                                DEV_JWT_SECRET),
        "header not json": "Bearer " + _resigned("bm90IGpzb24", alice),
        "alg a list": "Bearer " + _b64({"alg": ["HS256"], "typ": "JWT"}) + "."
                      + token_for(alice).split(".", 1)[1],
        # the header's alg is read leniently to pick the key; PyJWT must still refuse junk
        "junk in the header": "Bearer " + "!!!!" + token_for(alice),
        # json.loads gives up with RecursionError, not ValueError
        "header nested deeply": "Bearer " + _resigned(
            base64.urlsafe_b64encode(b"[" * 3000).rstrip(b"=").decode(), alice),
    }[case]
    response = _post(http, header)
    assert_service_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_valid_token_gets_in(http: httpx.Client, alice: User) -> None:
    assert _post(http, f"Bearer {token_for(alice)}").status_code == 201


def test_anonymous_users_are_refused_by_default(http: httpx.Client, alice: User,
                                                admin: Any) -> None:
    """With anonymous sign-ins on, each throwaway account would get its own AI quota."""
    anonymous = f"Bearer {token_for(alice, is_anonymous=True)}"
    body = assert_service_error(_post(http, anonymous), 403, "FORBIDDEN")
    assert "AI_ALLOW_ANONYMOUS" in body["hint"]
    response = http.post("/ai-sessions", json={"input_text": "x" * 1200, "model": "local/rules"},
                         headers={"Authorization": anonymous})
    assert_service_error(response, 403, "FORBIDDEN")
    assert admin.execute("select count(*) from core.quota_reservations").fetchone() == (0,)


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[tuple[str, ec.EllipticCurvePrivateKey]]:
    """The project's JWKS (one ES256 key), served over HTTP like Supabase Auth serves it."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [jwk | {"kid": "key-1", "alg": "ES256", "use": "sig"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/auth/v1/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, *_args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", key
    server.shutdown()


def test_asymmetric_tokens_verify_against_the_jwks(
    jwks_server: tuple[str, ec.EllipticCurvePrivateKey], alice: User
) -> None:
    url, key = jwks_server
    client = jwks_client(url + "/auth/v1/.well-known/jwks.json")
    claims = user_claims(alice.id, alice.email)
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "key-1"})
    assert verify_token(token, DEV_JWT_SECRET, client)["sub"] == alice.id
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, other, algorithm="ES256", headers={"kid": "key-1"})
    with pytest.raises(InvalidToken):
        verify_token(forged, DEV_JWT_SECRET, client)
    with pytest.raises(InvalidToken):  # no JWKS configured: asymmetric tokens are refused
        verify_token(token, DEV_JWT_SECRET, None)


def test_a_verified_token_stops_working_when_it_expires(http: httpx.Client,
                                                        alice: User) -> None:
    expires = int(time.time()) + 2
    token = token_for(alice, exp=expires)
    headers = {"Authorization": f"Bearer {token}"}
    first = http.post("/sessions/ai", json={"maxPullups": 8}, headers=headers)
    assert first.status_code == 201, first.text  # verified, and remembered
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    late = http.post("/sessions/ai", json={"maxPullups": 8}, headers=headers)
    assert late.status_code == 401
    assert late.json()["code"] == "UNAUTHORIZED"


def test_verified_tokens_are_bounded_and_forget_expired_ones() -> None:
    tokens = VerifiedTokens(max_entries=2)
    for name in ("a", "b", "c"):
        tokens.put(name, {"exp": 100})
    assert tokens.get("a", now=50) is None  # the least recently used went first
    assert tokens.get("b", now=50) == {"exp": 100}
    assert tokens.get("c", now=100) is None  # expired at exp, as PyJWT decides
    assert tokens.get("c", now=50) is None  # and forgotten
