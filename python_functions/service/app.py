"""The AI service: an ASGI app built from settings (`python -m python_functions serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import aiohttp
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from python_functions.ai.ocr import OcrEngine
from python_functions.ai.providers import ChatClient
from python_functions.apps import flashcards, pullups, recipes
from python_functions.db.transports import Database, PostgresDatabase, PostgrestDatabase
from python_functions.service import cors, errors, openapi
from python_functions.service.access import AccessLog
from python_functions.service.auth import jwks_client
from python_functions.service.deps import RequireUser, Services, current_user, services
from python_functions.service.limits import BodySizeLimit, FunctionsPrefix
from python_functions.service.settings import Settings

log = logging.getLogger("python_functions.sweep")


async def _sweep(database: Database, interval: float) -> None:
    """Close abandoned AI attempts of every app (a request killed between begin and finish)
    every `interval` seconds; several service processes may do it at once (skip locked)."""
    while True:
        await asyncio.sleep(interval)
        result = await database.call("core.close_abandoned_attempts", {})
        if not result.ok:
            log.warning("sweep failed", extra={"status": result.status})
        elif isinstance(result.body, dict) and any(result.body.values()):
            log.info("closed abandoned attempts", extra={"closed": sum(result.body.values())})


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database
        owned: PostgresDatabase | PostgrestDatabase | None = None
        if db is None:
            if settings.uses_postgrest:
                assert settings.supabase_url and settings.supabase_service_role_key
                owned = PostgrestDatabase(settings.supabase_url,
                                          settings.supabase_service_role_key,
                                          settings.db_pool_size)
            else:
                owned = PostgresDatabase(settings.db_url, settings.db_pool_size,
                                         prepared=settings.db_prepared_statements)
            await owned.open()
            db = owned
        connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=30)
        timeout = aiohttp.ClientTimeout(total=120, connect=10)  # each call has its own
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            chat = ChatClient(http, settings.provider_base_url, settings.provider_name,
                              settings.provider_api_key, settings.ai_app_url,
                              settings.ai_app_title)
            jwks = jwks_client(settings.jwks_url) if settings.jwks_url else None
            ocr = OcrEngine(settings.ocr_languages, settings.ocr_timeout_seconds,
                            settings.ocr_max_concurrency)
            app.state.services = Services(settings, db, chat, jwks, ocr)
            # the sweep calls core.close_abandoned_attempts(), which PostgREST does not
            # expose: through PostgREST, pg_cron runs it (README) and each begin_* closes
            # its user's abandoned attempts
            sweeps = settings.sweep_interval_seconds > 0 and not (
                database is None and settings.uses_postgrest)
            sweeper = (asyncio.create_task(_sweep(db, settings.sweep_interval_seconds))
                       if sweeps else None)
            try:
                yield
            finally:
                if sweeper is not None:
                    sweeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sweeper
                if owned is not None:
                    await owned.close()

    app = FastAPI(
        title="AI sessions service",
        version="0.1.0",
        description="AI and OCR endpoints of the Supabase backend. Errors: "
                    "{code, message, details, hint}.",
        lifespan=lifespan,
    )
    errors.install(app)
    routers = (pullups.router, flashcards.router, recipes.router)
    for router in routers:
        app.include_router(router)
    openapi.install(app, settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       read_timeout_s=settings.body_read_timeout_seconds, route_limits={
        "/ai-sessions": max(settings.max_body_bytes, flashcards.MAX_BODY_BYTES),
        "/ai/recipes/draft": max(settings.max_body_bytes, recipes.MAX_BODY_BYTES)})
    app.add_middleware(RequireUser, routes=frozenset(
        (route.path, method) for router in routers for route in router.routes
        if isinstance(route, APIRoute)
        and any(d.call is current_user for d in route.dependant.dependencies)
        for method in route.methods or ()))
    app.add_middleware(FunctionsPrefix)  # the limits and routes see bare paths
    app.add_middleware(CORSMiddleware, **cors.OPTIONS)  # preflights need no token
    app.add_middleware(AccessLog)  # outermost: every answer is logged, preflights too

    @app.get("/health", tags=["ops"],
             summary="Database and AI provider reachable (503 without the database)")
    async def health(svc: Annotated[Services, Depends(services)]) -> JSONResponse:
        database_ok, provider_ok = await asyncio.gather(svc.database.ping(),
                                                        svc.chat.reachable())
        body: dict[str, Any] = {
            # 503 only without a database; an unreachable provider fails only AI answers
            "status": "ok" if database_ok and provider_ok else "degraded",
            "database": "ok" if database_ok else "unreachable",
            "provider": {"name": svc.chat.provider, "reachable": provider_ok,
                         "defaultModel": svc.settings.default_model},
        }
        return JSONResponse(body, status_code=200 if database_ok else 503)

    return app


def app_from_environment() -> FastAPI:
    """The app of one of several worker processes (`WORKERS` > 1), from the environment."""
    from python_functions.service import logs, server
    from python_functions.service.settings import get_settings

    settings = get_settings()
    logs.configure()
    server.set_header_timeout(settings.header_read_timeout_seconds)
    return create_app(settings)
