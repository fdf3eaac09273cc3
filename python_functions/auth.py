"""Supabase JWTs: minting development tokens and verifying user tokens locally."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

AUDIENCE = "authenticated"


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged, expired or not a user token."""


def user_claims(user_id: str, email: str | None, *, ttl_seconds: int = 3600,
                now: int | None = None) -> dict[str, Any]:
    """Claims shaped like the access tokens Supabase Auth issues to a signed-in user."""
    issued = int(now if now is not None else time.time())
    return {
        "iss": "supabase-local",
        "aud": AUDIENCE,
        "sub": user_id,
        "email": email or "",
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": issued}],
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }


def mint_token(claims: dict[str, Any], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(token: str, secret: str) -> dict[str, Any]:
    """Verify an HS256 user token: signature, `exp`, `aud=authenticated`, uuid `sub`."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
        uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("role") != "authenticated":
        raise InvalidToken("not a user token")
    return claims
