"""Configuration from the environment (and an optional `.env`), documented in `.env.example`."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from python_functions import PROJECT_ROOT

# The same development secret `supabase start` uses, so dev tokens work against either stack.
DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105
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

    @property
    def uses_embedded_db(self) -> bool:
        return self.database_url is None

    @property
    def db_url(self) -> str:
        return self.database_url or f"postgresql://postgres:postgres@127.0.0.1:{self.db_port}/postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
