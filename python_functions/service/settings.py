"""Configuration from the environment (and an optional `.env`), documented in `.env.example`."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from python_functions import PROJECT_ROOT

# The same development secret `supabase start` uses, so dev tokens work against either stack.
DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105
# The publishable and secret keys `supabase start` prints (`supabase status`), the same on every
# machine; the local API takes them for the anon and service_role JWTs, as its gateway does.
LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH"
LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"  # noqa: S105
DEFAULT_DB_PORT = 54322


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="Postgres to use, as a role that can `set role service_role`; "
        "unset means the embedded cluster under LOCAL_DIR on DB_PORT.",
    )
    supabase_url: str | None = None
    supabase_service_role_key: str | None = None
    supabase_jwt_secret: str = DEV_JWT_SECRET
    local_dir: Path = PROJECT_ROOT / ".local"
    db_port: int = DEFAULT_DB_PORT
    host: str = "127.0.0.1"
    port: int = 8000
    # `make run`'s local API (/rest/v1, /auth/v1, /functions/v1), where `supabase start`
    # serves Supabase's
    api_port: int = 54321
    # `make run`'s mail catcher (Mailpit's API, and the SMTP port Auth sends to); unset:
    # `[local_smtp] port` and `smtp_port` of supabase/config.toml (54324, 54325)
    mail_port: int | None = None
    mail_smtp_port: int | None = None
    db_pool_size: int = Field(default=10, ge=1, le=100)
    # each connection prepares the RPC statements once; off behind a pooler in transaction
    # mode (Supavisor on port 6543, PgBouncer), where the next transaction may be another
    # server connection
    db_prepared_statements: bool = True
    # service processes sharing PORT (each with its own pool of DB_POOL_SIZE connections)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # a client silent this long in the middle of its headers or its body gets 408
    header_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # an idle kept-alive connection is closed after this long: longer than the clients' and
    # proxies' own idle limit, so that they close first (see python_functions/service/server.py)
    keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # how often the service closes AI attempts a crashed request left pending (0: never)
    sweep_interval_seconds: float = Field(default=60.0, ge=0)

    # AI provider: OpenRouter when a key is set, any OpenAI-compatible AI_BASE_URL, else the
    # bundled offline provider (python -m python_functions.local.provider) on LOCAL_AI_PORT.
    openrouter_api_key: str | None = None
    ai_base_url: str | None = None
    ai_api_key: str | None = None
    ai_allowed_models: str = "openai/gpt-4o-mini,local/rules"
    ai_default_model: str | None = None
    ai_app_url: str = "http://localhost"  # OpenRouter's HTTP-Referer attribution
    ai_app_title: str = "AI sessions backend"
    local_ai_port: int = 8001
    ai_allow_anonymous: bool = False  # anonymous sign-ins (is_anonymous) may use the AI routes
    pullups_ai_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    flashcards_ai_timeout_seconds: float = Field(default=30.0, gt=0, le=120)
    recipes_ai_timeout_seconds: float = Field(default=30.0, gt=0, le=120)
    # recipe photos: Tesseract's languages, its time limit and how many run at once
    ocr_languages: str = Field(default="pol+eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$")
    ocr_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    ocr_max_concurrency: int = Field(default=2, ge=1, le=32)
    # "vision": recipe photos are read by the provider's vision model instead of Tesseract
    recipes_ocr: Literal["tesseract", "vision"] = "tesseract"
    recipes_vision_model: str | None = None  # default: the default model

    @property
    def uses_local_ai(self) -> bool:
        return self.ai_base_url is None and not self.openrouter_api_key

    @property
    def provider_base_url(self) -> str:
        if self.ai_base_url:
            return self.ai_base_url.rstrip("/")
        if self.openrouter_api_key:
            return "https://openrouter.ai/api/v1"
        return f"http://127.0.0.1:{self.local_ai_port}/v1"

    @property
    def provider_name(self) -> str:
        if self.ai_base_url:
            return "openai-compatible"
        return "openrouter" if self.openrouter_api_key else "local"

    @property
    def provider_api_key(self) -> str | None:
        return self.ai_api_key or self.openrouter_api_key

    @property
    def allowed_models(self) -> list[str]:
        return [m.strip() for m in self.ai_allowed_models.split(",") if m.strip()]

    @property
    def default_model(self) -> str:
        if self.ai_default_model:
            return self.ai_default_model
        return "local/rules" if self.uses_local_ai else self.allowed_models[0]

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def jwks_url(self) -> str | None:
        if not self.supabase_url:
            return None
        return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"

    @property
    def uses_postgrest(self) -> bool:
        """The service reaches the database through PostgREST (supabase-py) when it has
        the project URL and service role key but no DATABASE_URL."""
        return (self.database_url is None and bool(self.supabase_url)
                and bool(self.supabase_service_role_key))

    @property
    def uses_embedded_db(self) -> bool:
        return self.database_url is None and not self.uses_postgrest

    @property
    def db_url(self) -> str:
        return self.database_url or f"postgresql://postgres:postgres@127.0.0.1:{self.db_port}/postgres"

    @property
    def bootstrap_db_url(self) -> str | None:
        """The embedded cluster's superuser (`supabase_admin`), which applies the platform
        stand-in; None for a database someone else runs."""
        if not self.uses_embedded_db:
            return None
        return f"postgresql://supabase_admin:postgres@127.0.0.1:{self.db_port}/postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
