"""The one error shape of the whole product, for the HTTP service.

Every error leaves the service as `{code, message, details, hint}` with the status of
docs/architecture.md, plus `error` (see `error_body`); request validation is 400
VALIDATION_ERROR (not FastAPI's 422), and nothing internal (stack traces, SQL, provider
bodies) reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("python_functions.service.errors")

_DOCUMENTED_CODE = re.compile(r"[A-Z]+(?:_[A-Z]+)*")
# What a function's error may say to the client in a header (core.api_error's p_headers):
# only these go on. An RPC's answer through PostgREST is an HTTP message whose own headers
# (Content-Length, Date, Server, Proxy-Status) must not reach the service's answer.
_PASSED_ON_HEADERS = ("Retry-After", "WWW-Authenticate")
_HTTP_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
               405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


def error_body(code: str, message: str, details: Any = None, hint: str | None = None
               ) -> dict[str, Any]:
    """The shared body, plus `error`: the message again, as an edge function answers it. It is
    the one key supabase-py reads from a failed `functions.invoke` (supabase_functions 2.34,
    `_error_message_from`), so its `FunctionsHttpError` says what went wrong instead of
    "An error occurred while requesting your edge function"."""
    return {"code": code, "message": message, "details": details, "hint": hint,
            "error": message}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 hint: str | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.extra = extra or {}  # fields a contract adds to the shared body (recipes' reasons)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    @classmethod
    def from_rpc(cls, status: int, body: Any, headers: dict[str, str]) -> ApiError:
        """A documented RPC error (a `core.api_error`: UPPER_SNAKE code, shared body) goes
        to the client as it is. Anything else is a bare 500 INTERNAL, the details only in
        the log: database trouble (5xx), and raw Postgres or PostgREST errors (`22P02`,
        `PGRST202`), which from a service-only RPC mean a bug, never the client's fault."""
        code = body.get("code") if isinstance(body, dict) else None
        if status == 503:  # the database is away (restart, failover): worth a retry soon
            log.warning("database unavailable", extra={"status": status})
            return cls(503, "SERVICE_UNAVAILABLE", "The database is unavailable; try again",
                       headers={"Retry-After": "1"})
        if status >= 500 or not isinstance(code, str) or not _DOCUMENTED_CODE.fullmatch(code):
            log.error("rpc failed", extra={
                "status": status,
                "error_code": body.get("code") if isinstance(body, dict) else None})
            return cls(500, "INTERNAL", "Internal server error")
        lowered = {name.lower(): value for name, value in headers.items()}
        return cls(status, str(body.get("code")), str(body.get("message")),
                   body.get("details"), body.get("hint"),
                   {name: lowered[name.lower()] for name in _PASSED_ON_HEADERS
                    if name.lower() in lowered})

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details, self.hint) | self.extra


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


_FIELD_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}|\d{1,6}")


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    """`{field, errors}` like the SQL side's `{field}`: the first bad field, then all of them.
    Never the input itself, which may be user text: a field name that is not a plain
    identifier (an unknown key the client sent) is reported as `body`; malformed JSON is
    `body` with the character `position`."""
    errors = []
    for item in exc.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        entry: dict[str, Any] = {"message": item.get("msg", "")}
        if item.get("type") == "json_invalid":
            entry["field"] = "body"
            if location and location[-1].isdigit():
                entry["position"] = int(location[-1])
        elif location and all(_FIELD_PART.fullmatch(part) for part in location):
            entry["field"] = ".".join(location)
        else:
            entry["field"] = "body"
        errors.append(entry)
    return {"field": errors[0]["field"] if errors else "body", "errors": errors}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
        message = "Malformed JSON body" if malformed else "Invalid request"
        return error_response(ApiError(400, "VALIDATION_ERROR", message,
                                       _validation_details(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body FastAPI could not read: bad bytes, too deep, ...
            return error_response(ApiError(400, "VALIDATION_ERROR", "Malformed JSON body",
                                           {"field": "body"}))
        code = _HTTP_CODES.get(exc.status_code, "INTERNAL" if exc.status_code >= 500
                               else "BAD_REQUEST")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        return error_response(ApiError(exc.status_code, code, message,
                                       headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", None) or "(unmatched)"
        log.error("unhandled error", extra={"route": route, "error_type": type(exc).__name__})
        return error_response(ApiError(500, "INTERNAL", "Internal server error"))
