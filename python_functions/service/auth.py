"""Supabase JWTs: minting development tokens and verifying user tokens locally."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections import OrderedDict
from typing import Any

import jwt

AUDIENCE = "authenticated"
# only the canonical form is a user id: uuid.UUID would also take "urn:uuid:...", braces
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                             r"[0-9a-fA-F]{12}")
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256")


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged, expired or not a user token."""


def user_claims(user_id: str, email: str | None, *, ttl_seconds: int = 3600,
                now: int | None = None, issuer: str = "supabase-local",
                session_id: str | None = None, app_metadata: dict[str, Any] | None = None,
                user_metadata: dict[str, Any] | None = None, anonymous: bool = False,
                amr: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Claims shaped like the access tokens Supabase Auth issues to a signed-in user (with a
    password, or `anonymous`: no provider in its app metadata, `is_anonymous` true); `amr`:
    how the session was signed in, if not so now."""
    issued = int(now if now is not None else time.time())
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": user_id,
        "email": email or "",
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "amr": amr if amr is not None else [
            {"method": "anonymous" if anonymous else "password", "timestamp": issued}],
        "app_metadata": app_metadata if app_metadata is not None else (
            {} if anonymous else {"provider": "email", "providers": ["email"]}),
        "user_metadata": user_metadata or {},
        "session_id": session_id or str(uuid.uuid4()),
        "is_anonymous": anonymous,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }


def api_key(role: str, secret: str) -> str:
    """A project API key as `supabase start` prints them: a long-lived JWT whose only
    claims are the issuer, the role (`anon` or `service_role`) and the expiry."""
    return mint_token({"iss": "supabase-demo", "role": role, "exp": 1983812996}, secret)


def mint_token(claims: dict[str, Any], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def token_algorithm(token: str) -> Any:
    """The `alg` of a token's header, read without checking anything: it only picks the key,
    and `jwt.decode` then accepts that one algorithm and checks the whole token. (PyJWT's
    `get_unverified_header` checks every segment character by character: reading the header
    with it, twice, then decoding cost three times its check per request.)"""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # deep nesting: RecursionError
        return None
    return header.get("alg") if isinstance(header, dict) else None


def verify_token(token: str, secret: str, jwks: jwt.PyJWKClient | None = None) -> dict[str, Any]:
    """Verify a Supabase user access token.

    HS256 with the project's JWT secret, or ES256/RS256 with a key of the project's JWKS
    (chosen by the token's `kid`); `exp` and `aud=authenticated` required, `sub` a uuid,
    `role=authenticated`. `alg: none` and any other algorithm are refused.
    """
    try:
        algorithm = token_algorithm(token)
        key: Any
        if algorithm == "HS256":
            key = secret
        elif algorithm in ASYMMETRIC_ALGORITHMS and jwks is not None:
            key = jwks.get_signing_key_from_jwt(token).key
        else:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[algorithm], audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
        if not _CANONICAL_UUID.fullmatch(str(claims["sub"])):
            raise ValueError("sub is not a canonical uuid")
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("role") != "authenticated":
        raise InvalidToken("not a user token")
    return claims


def jwks_client(url: str) -> jwt.PyJWKClient:
    """A JWKS client that caches the keys (refetched when a new `kid` shows up)."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=5)


class VerifiedTokens:
    """Tokens verified already, with their claims, until they expire: a client sends the
    same access token with every request for its hour, and checking its signature again
    each time is most of the cost of authenticating it. Bounded (least recently used go
    first); a forged or expired token is never stored."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._max_entries = max_entries

    def get(self, token: str, now: float | None = None) -> dict[str, Any] | None:
        claims = self._entries.get(token)
        if claims is None:
            return None
        if claims["exp"] <= (now if now is not None else time.time()):
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        self._entries[token] = claims
        self._entries.move_to_end(token)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
