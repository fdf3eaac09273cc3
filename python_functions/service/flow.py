"""The one shape of every AI request, written once for all apps:

    begin RPC (rules, quota, the pending attempt) -> provider -> finish RPC (result or failure)

Each app's router supplies its RPC names, its prompt and output model, and maps the finish
RPC's answer to HTTP. Whatever the provider does, the attempt reaches the finish RPC with a
final status and every provider call made; a request cancelled mid-way (client gone, server
stopping) still closes its attempt, in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from python_functions.ai.providers import CallRecord, ProviderFailure, StructuredResult
from python_functions.db import rpc
from python_functions.service.deps import RequestStats, Services
from python_functions.service.errors import ApiError

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger("python_functions.service.flow")

_background: set[asyncio.Task[Any]] = set()


def resolve_model(svc: Services, requested: str | None) -> str:
    """The requested model, or the default; 400 VALIDATION_ERROR outside the allow-list."""
    settings = svc.settings
    model = requested or settings.default_model
    if model not in settings.allowed_models:
        raise ApiError(400, "VALIDATION_ERROR", "Unknown model", {"field": "model"},
                       hint="Allowed: " + ", ".join(settings.allowed_models))
    return model


async def begin(svc: Services, function: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a begin_* RPC; its error (400, 401, 409, 429, ...) goes to the client as it is."""
    begun = await svc.database.call(function, args)
    if not begun.ok or not isinstance(begun.body, dict):
        raise ApiError.from_rpc(begun.status, begun.body, begun.headers)
    return begun.body


@dataclass
class Attempted(Generic[T]):
    finished: rpc.RpcResponse  # the finish RPC's answer
    value: T | None  # the provider's validated answer; None when it failed
    error_code: str | None = None  # why it failed (AI_TIMEOUT, AI_PROVIDER_ERROR, ...)


async def attempt(
    svc: Services,
    request_stats: RequestStats,
    *,
    ask: Callable[[], Awaitable[StructuredResult[T]]],
    on_success: Callable[[T], dict[str, Any]],
    finish_function: str,
    finish_args: dict[str, Any],
    earlier_calls: list[CallRecord] | None = None,
) -> Attempted[T]:
    """Ask the provider, then close the attempt with the finish RPC.

    The outcome sent is {status: success|timeout|error, durationMs, calls, ...}: on success
    `on_success(value)` adds the app's fields; on failure errorCode, errorMessage and
    providerStatus say why. `earlier_calls` (an OCR run) are recorded with the provider's.
    """
    started = time.monotonic()
    calls: list[CallRecord] = []
    value: T | None = None
    error_code: str | None = None
    outcome: dict[str, Any]
    try:
        result = await ask()
        calls = result.calls
        value = result.value
        outcome = {"status": "success", **on_success(result.value)}
    except ProviderFailure as failure:
        calls = failure.calls
        error_code = failure.code
        outcome = {"status": "timeout" if failure.code == "AI_TIMEOUT" else "error",
                   "errorCode": failure.code, "errorMessage": failure.message,
                   "providerStatus": failure.provider_status}
    except asyncio.CancelledError:
        # the request is going away: still close the attempt so nothing stays pending
        closing = asyncio.create_task(svc.database.call(finish_function, finish_args | {
            "outcome": {"status": "error", "errorCode": "CANCELLED",
                        "durationMs": int((time.monotonic() - started) * 1000),
                        "calls": [c.as_json() for c in earlier_calls or []]}}))
        _background.add(closing)
        closing.add_done_callback(_background.discard)
        raise
    calls = [*(earlier_calls or []), *calls]
    outcome |= {"durationMs": int((time.monotonic() - started) * 1000),
                "calls": [c.as_json() for c in calls]}
    request_stats.extra |= {
        "provider": svc.chat.provider,
        "attempts": len(calls),
        "provider_latency_ms": sum(c.latency_ms for c in calls),
        "prompt_tokens": sum(c.prompt_tokens or 0 for c in calls),
        "completion_tokens": sum(c.completion_tokens or 0 for c in calls),
        "outcome": outcome["status"],
    }
    finished = await _finish_with_retries(svc, finish_function,
                                          finish_args | {"outcome": outcome})
    return Attempted(finished, value, error_code)


# Waits between tries of a finish RPC while the database is away (a restart takes seconds):
# the provider's answer was paid for, so it is worth ~10 s more of the request.
FINISH_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 3.0, 4.0)


# After the request has given up (the client got 503), the finish is still tried in the
# background for this long: within the reservation TTL (3 min), so the attempt settles
# with its calls rather than being closed as abandoned.
BACKGROUND_FINISH_S = 150.0


async def _finish_with_retries(svc: Services, function: str, args: dict[str, Any]
                               ) -> rpc.RpcResponse:
    """A finish RPC, tried again while the database is unavailable (503). Still failing,
    the client is answered 503 and the finish goes on in the background."""
    finished = await svc.database.call(function, args)
    for delay in FINISH_RETRY_DELAYS_S:
        if finished.status != 503:
            break
        await asyncio.sleep(delay)
        finished = await svc.database.call(function, args)
    if finished.status == 503:
        later = asyncio.create_task(_finish_later(svc, function, args))
        _background.add(later)
        later.add_done_callback(_background.discard)
    return finished


async def _finish_later(svc: Services, function: str, args: dict[str, Any]) -> None:
    deadline = time.monotonic() + BACKGROUND_FINISH_S
    delay = 1.0
    while time.monotonic() < deadline:
        await asyncio.sleep(delay)
        finished = await svc.database.call(function, args)
        if finished.status != 503:
            log.info("finish written late", extra={"status": finished.status})
            return
        delay = min(delay * 2, 10.0)
    log.error("finish never written", extra={"status": 503})


def failure_code(finished: rpc.RpcResponse, request_stats: RequestStats) -> str:
    """The error code of a finish RPC that recorded a failure (200 with error.code), after
    passing through an RPC error (4xx) or turning database trouble into 500 INTERNAL."""
    if not finished.ok:
        raise ApiError.from_rpc(finished.status, finished.body, finished.headers)
    body = finished.body if isinstance(finished.body, dict) else {}
    error = body.get("error") or (body.get("data") or {}).get("error") or {}
    code = str(error.get("code") or "INTERNAL")
    request_stats.extra["error_code"] = code
    return code
