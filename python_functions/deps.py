"""What every route may depend on: the verified user, the database, the AI client."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from python_functions.auth import ASYMMETRIC_ALGORITHMS, InvalidToken, verify_token
from python_functions.db import Database
from python_functions.errors import ApiError
from python_functions.ocr import OcrEngine
from python_functions.providers import ChatClient
from python_functions.settings import Settings


@dataclass
class RequestStats:
    """Per-request facts for the one log line (ids, statuses, timings; never content)."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.monotonic)
    user_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Services:
    settings: Settings
    database: Database
    chat: ChatClient
    jwks: jwt.PyJWKClient | None
    ocr: OcrEngine


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def stats(request: Request) -> RequestStats:
    found: RequestStats = request.state.stats
    return found


_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def current_user(request: Request,
                       svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """The verified claims of the bearer token, or 401 UNAUTHORIZED."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "Missing bearer token", headers=_UNAUTHORIZED)
    token = token.strip()
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm in ASYMMETRIC_ALGORITHMS:  # may fetch the JWKS: keep it off the loop
            claims = await run_in_threadpool(verify_token, token,
                                             svc.settings.supabase_jwt_secret, svc.jwks)
        else:
            claims = verify_token(token, svc.settings.supabase_jwt_secret, svc.jwks)
    except (InvalidToken, jwt.PyJWTError):
        raise ApiError(401, "UNAUTHORIZED", "Invalid or expired token",
                       headers=_UNAUTHORIZED) from None
    stats(request).user_id = str(claims["sub"])
    if claims.get("is_anonymous") is True and not svc.settings.ai_allow_anonymous:
        # with anonymous sign-ins on, every throwaway account would get its own AI quota
        raise ApiError(403, "FORBIDDEN", "Sign in with an account to use the AI features",
                       hint="Anonymous users are refused unless AI_ALLOW_ANONYMOUS=true")
    return claims
