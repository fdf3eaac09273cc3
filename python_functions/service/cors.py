"""CORS for browser apps, the same on the AI service and the local API: any origin, the
request headers supabase-js sends (`authorization, x-client-info, apikey, content-type`, as
Supabase's functions documentation configures them, plus its PostgREST and Auth clients'
profile, preference and version headers), and the response headers a client reads."""

from typing import Any

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
OPTIONS: dict[str, Any] = {
    "allow_origins": ["*"],
    "allow_methods": METHODS,
    "allow_headers": ["authorization", "x-client-info", "apikey", "content-type",
                      "accept-profile", "content-profile", "prefer", "range",
                      "x-supabase-api-version", "x-request-id"],
    "expose_headers": ["Content-Range", "Content-Profile", "X-Request-Id",
                       "X-Supabase-Api-Version", "Retry-After"],
    "max_age": 3600,
}
