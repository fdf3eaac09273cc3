"""What Supabase's API gateway does to a request before the services see it: the project's
publishable and secret keys (`sb_publishable_…`, `sb_secret_…`, the keys new projects get in
place of the legacy anon and service_role JWTs) stand for those JWTs.

As `supabase start`'s gateway sets `Authorization` (Kong's request transformer, Supabase
CLI 2.117): a bearer that is not an `sb_` key goes through as it is (a user's access token,
a legacy key); otherwise an `apikey` header holding the secret or the publishable key makes
the bearer the service_role or the anon JWT. supabase-js 2.119 and supabase-py send a new
key both as `apikey` and as the bearer until a user signs in. Any other `sb_` bearer is
dropped, so the `apikey` header alone decides, as there; an unknown `sb_` key is then not a
JWT and PostgREST's and GoTrue's checks refuse it (`supabase start` lets it through as anon;
a hosted project refuses it).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from python_functions.service.auth import api_key
from python_functions.service.settings import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY

_NEW_KEY_BEARER = b"Bearer sb_"  # compared as the gateway does: this case only


@dataclass(frozen=True)
class ProjectKeys:
    """A project's publishable and secret keys, and the JWTs they stand for."""

    jwt_secret: str
    publishable: str = LOCAL_PUBLISHABLE_KEY
    secret: str = LOCAL_SECRET_KEY

    def jwt_for(self, apikey: bytes) -> bytes | None:
        """The JWT an `apikey` header stands for: the service_role one for the secret key,
        the anon one for the publishable key; None for anything else."""
        role = {self.secret.encode(): "service_role",
                self.publishable.encode(): "anon"}.get(apikey.strip())
        return api_key(role, self.jwt_secret).encode() if role else None


class ApiGateway:
    """ASGI middleware: each HTTP request's `Authorization` as the gateway sets it."""

    def __init__(self, app: ASGIApp, keys: ProjectKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": self.headers(scope["headers"])}
        await self.app(scope, receive, send)

    def headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        authorization = next((v for k, v in headers if k == b"authorization"), None)
        if authorization is not None and not authorization.startswith(_NEW_KEY_BEARER):
            return headers
        apikey = next((v for k, v in headers if k == b"apikey"), None)
        jwt = self.keys.jwt_for(apikey) if apikey is not None else None
        kept = [(k, v) for k, v in headers if k != b"authorization"]
        return [*kept, (b"authorization", b"Bearer " + jwt)] if jwt else kept
