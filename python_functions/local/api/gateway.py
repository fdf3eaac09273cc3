"""What Supabase's API gateway does to a request before the services see it: the project's
publishable and secret keys (`sb_publishable_…`, `sb_secret_…`, the keys new projects get in
place of the legacy anon and service_role JWTs; `[auth] publishable_key` and `secret_key`,
else the CLI's fixed ones) stand for those JWTs.

As `supabase start`'s gateway sets `Authorization` (Kong's request transformer in the
Supabase CLI's `internal/start`, the same from September 2025 to June 2026): a bearer that
is not an `sb_` key goes through as it is (a user's access token, a legacy key); otherwise
an `apikey` header holding the secret or the publishable key makes the bearer the
service_role or the anon JWT. supabase-js 2.119 and supabase-py 2.34 send a new key both as
`apikey` and as the bearer until a user signs in. Any other `sb_` bearer is dropped, so the
`apikey` header alone decides, as there. An unknown `sb_` key is then not a JWT, and
PostgREST's and GoTrue's checks refuse it, where `supabase start` lets it through as anon.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from python_functions.local.api.jwt_keys import ProjectKeys

_NEW_KEY_BEARER = b"Bearer sb_"  # compared as the gateway does: this case only


class ApiGateway:
    """ASGI middleware: each HTTP request's `Authorization` as the gateway sets it, for
    `supabase start`'s publishable and secret keys and the project's anon and service_role
    keys (`ProjectKeys.api_key`)."""

    def __init__(self, app: ASGIApp, keys: ProjectKeys) -> None:
        self.app = app
        # what the gateway puts in place of each key, signed once
        self.bearers = {key.encode(): b"Bearer " + keys.api_key(role).encode()
                        for key, role in ((keys.secret_key, "service_role"),
                                          (keys.publishable_key, "anon"))}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": self.headers(scope["headers"])}
        await self.app(scope, receive, send)

    def headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        authorization = next((v for k, v in headers if k == b"authorization"), None)
        if authorization is not None and not authorization.startswith(_NEW_KEY_BEARER):
            return headers
        apikey = next((v for k, v in headers if k == b"apikey"), b"")
        bearer = self.bearers.get(apikey.strip())
        kept = [(k, v) for k, v in headers if k != b"authorization"]
        return [*kept, (b"authorization", bearer)] if bearer else kept
