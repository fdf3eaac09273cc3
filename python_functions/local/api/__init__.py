"""The local API: what a supabase-js app needs from this backend, on one origin and at
Supabase's paths, for `make run` (on hosted Supabase or `supabase start` the real services
answer instead).

    /rest/v1/           PostgREST's OpenAPI description     (openapi.py)
    /rest/v1/rpc/{fn}   PostgREST's RPC endpoint            (rest.py; a function's rows
                                                             shaped as a table's: tables.py)
    /rest/v1/{table}    PostgREST's table reads and writes  (tables.py)
    /auth/v1/...        sign-up, sign-in, user, sign-out,   (gotrue.py, gotrue_admin.py,
                        the admin API for users, mail        gotrue_mail.py; OAuth: 422)
    /functions/v1/...   the AI service's routes, proxied     (here)

CORS for browser apps on every path (`python_functions.service.cors`); the publishable and
secret keys stand for the anon and service_role JWTs, as Supabase's gateway has them
(gateway.py); tokens are signed and checked with the keys `supabase start` gives GoTrue and
PostgREST (jwt_keys.py). What it keeps of the database (signatures, tables, role settings)
is reloaded on `NOTIFY pgrst` (db/listener.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from python_functions.db import rpc
from python_functions.db.listener import Listener
from python_functions.db.pool import LifoConnectionPool
from python_functions.local import config
from python_functions.local.api.gateway import ApiGateway
from python_functions.local.api.gotrue import GoTrue
from python_functions.local.api.gotrue_admin import GoTrueAdmin
from python_functions.local.api.gotrue_mail import GoTrueMail
from python_functions.local.api.jwt_keys import ProjectKeys, third_party_jwks
from python_functions.local.api.openapi import OpenApiEndpoint
from python_functions.local.api.rest import RpcEndpoint, json_response
from python_functions.local.api.tables import TableEndpoint
from python_functions.service import cors
from python_functions.service.errors import error_body

log = logging.getLogger("python_functions.local.api")

LISTENER_NAME = "local_api_listener"  # its connection's application_name
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-authenticate", "host"})


class FunctionsProxy:
    """`/functions/v1/...` relayed to the AI service (which serves that prefix too)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def handle(self, request: Request) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k not in _HOP_BY_HOP]
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        upstream = self.http.build_request(  # the body streams through as it arrives
            request.method, request.url.path, params=request.url.query, headers=headers,
            content=request.stream() if has_body else None)
        try:
            answer = await self.http.send(upstream)
        except httpx.HTTPError as exc:
            log.warning("functions relay failed", extra={"error_type": type(exc).__name__})
            # functions-js reports an answer with x-relay-error as a FunctionsRelayError
            return json_response(502, error_body(
                "SERVICE_UNAVAILABLE", "The AI service is not reachable",
                hint="Is `make run` up?"), {"x-relay-error": "true"}, postgrest=False)
        out = {k: v for k, v in answer.headers.items()
               if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"}
        return Response(answer.content, answer.status_code, out)


def create_app(database_url: str, jwt_secret: str, functions_url: str, public_url: str,
               schemas: list[str] | None = None, pool_size: int = 10,
               auth: config.AuthConfig | None = None, listener_name: str = LISTENER_NAME,
               extra_search_path: Sequence[str] | None = None) -> Starlette:
    """The local API; `schemas`, `auth` (GoTrue's settings) and `extra_search_path`
    (PostgREST's) default to what supabase/config.toml says, and its `[auth] jwt_secret`,
    when set, stands for `jwt_secret`; `listener_name` is the application_name of its
    LISTEN connection. A config.toml that `supabase start` would refuse raises
    `ConfigError`, as do the keys of an `[auth.third_party]` provider that cannot be
    fetched (`supabase start` fails too)."""
    project = config.read()
    auth = auth or config.AuthConfig.from_toml(project)
    keys = ProjectKeys(jwt_secret, auth, third_party_jwks(auth.third_party_issuer)
                       if auth.third_party_issuer else ())
    pool: AsyncConnectionPool[Any] = LifoConnectionPool(
        database_url, min_size=1, max_size=pool_size, open=False, timeout=3.0,
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "application_name": "local_api", "connect_timeout": 3})
    http = httpx.AsyncClient(base_url=functions_url,
                             timeout=httpx.Timeout(120.0, connect=5.0))
    rest = RpcEndpoint(pool, schemas or project["api"]["schemas"], keys,
                       config.extra_search_path(project) if extra_search_path is None
                       else extra_search_path)
    tables = TableEndpoint(rest, config.max_rows(project))
    openapi = OpenApiEndpoint(rest, public_url)
    # `iss`: `[auth] jwt_issuer`, else Auth's external URL, as the CLI defaults it
    auth_url = public_url.rstrip("/") + "/auth/v1"
    gotrue = GoTrue(pool, keys, auth.jwt_issuer or auth_url, auth)
    gotrue.mail = GoTrueMail(gotrue, auth_url)
    functions = FunctionsProxy(http)

    async def reload_schema() -> None:
        await pool.drain()
        rpc.clear_schema_cache()
        tables.forget()

    listener = Listener(database_url, listener_name, reload_schema, rpc.clear_role_settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await pool.open(wait=False)
        listener.start()
        try:
            yield
        finally:
            await listener.stop()
            await http.aclose()
            await pool.close()

    methods = cors.METHODS
    return Starlette(
        routes=[
            Route("/rest/v1/rpc/{function}", tables.call, methods=methods),
            Route("/rest/v1", openapi.handle, methods=methods),
            Route("/rest/v1/", openapi.handle, methods=methods),
            Route("/rest/v1/{path:path}", tables.handle, methods=methods),
            Mount("/auth/v1", routes=gotrue.routes(
                [*GoTrueAdmin(pool, keys, auth, auth_url).routes(), *gotrue.mail.routes()])),
            Route("/functions/v1/{path:path}", functions.handle, methods=methods),
        ],
        middleware=[Middleware(CORSMiddleware, **cors.OPTIONS),
                    Middleware(ApiGateway, keys=keys)],
        lifespan=lifespan,
    )
