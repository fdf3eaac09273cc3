"""`POST /sessions/ai` served as a plain ASGI route: what the service costs without FastAPI's
request handling (`bench service` runs it beside the service, at one connection).

The same work as the service's route: the project's access log and body limit around it,
the same token check (`deps.authenticate`), the body validated by the route's own model, and
the route's own function (`pullups.generate_session`, called directly) for begin -> provider
-> finish. Left out: FastAPI's and Starlette's middleware (CORS among them, and the project's
`/functions/v1` prefix), routing, dependency solving and request objects; a body that fails
validation gets a 400 without the field details (the benchmark sends valid ones). Everything
else (the lifespan, other paths) goes to the service's app.

    python -m bench.raw_route   # configured from the environment, like `serve`
"""

from __future__ import annotations

from types import SimpleNamespace

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from python_functions.apps import pullups
from python_functions.service import logs, server
from python_functions.service.access import AccessLog
from python_functions.service.app import create_app
from python_functions.service.deps import Caller, RequestStats, Services, authenticate
from python_functions.service.errors import ApiError, error_response
from python_functions.service.limits import BodySizeLimit
from python_functions.service.settings import Settings, get_settings

PATH = "/sessions/ai"
_ROUTE = SimpleNamespace(path=PATH)  # what the access log reads as the route's template


def raw_route(service: FastAPI, settings: Settings) -> ASGIApp:
    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await service(scope, receive, send)
            return
        scope["route"] = _ROUTE
        svc: Services = service.state.services
        stats: RequestStats = scope["state"]["stats"]
        try:
            claims = await authenticate(Headers(scope=scope), svc)
            stats.user_id = str(claims["sub"])
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client left (or the body limit answered)
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            try:
                command = pullups.GenerateAiSessionCommand.model_validate_json(body)
            except ValidationError:
                raise ApiError(400, "VALIDATION_ERROR", "Invalid request") from None
            response = await pullups.generate_session(command, Caller(claims, svc, stats))
        except ApiError as refused:
            response = error_response(refused)
        await response(scope, receive, send)

    return AccessLog(BodySizeLimit(route, max_bytes=settings.max_body_bytes,
                                   read_timeout_s=settings.body_read_timeout_seconds))


def main() -> None:
    settings = get_settings()
    logs.configure()
    app = raw_route(create_app(settings), settings)
    uvicorn.Server(server.config(app, settings.host, settings.port,
                                 settings.header_read_timeout_seconds,
                                 settings.keep_alive_seconds)).run()


if __name__ == "__main__":
    main()
