"""Where Redis is and how to connect: a URL, Redis Sentinel (DISPARO_REDIS_SENTINELS), or
a Redis Cluster (DISPARO_REDIS_CLUSTER_NODES, with a hash-tagged DISPARO_QUEUE_PREFIX).

Through Sentinel every client (the API's and the workers' bullmq queues and workers, the
rate limiter, the locks, the heartbeats) asks the sentinels for the current master, and
after a failover reconnects to the new one: a command that failed on the old master is
retried with backoff (redis-py's Retry), the way bullmq's own URL connections retry.
bullmq-python accepts a ready client in place of a URL (`{"connection": client}`); each
Queue and Worker gets its own, since closing one closes its client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from disparo.config import Settings

# A blocking BZPOPMIN waits up to 10 s; a socket timeout below that makes redis-py drop the
# wait and delayed jobs never fire (DESIGN.md, bullmq traps). Keep it well above.
SOCKET_TIMEOUT = 40
# Retries of a command across a failover: a sentinel notices a dead master after its
# down-after-milliseconds and promotes a replica a few seconds later; about a minute here.
FAILOVER_RETRIES = 40


class MasterFollowingConnection(SentinelManagedConnection):
    """Asks the sentinels where the master is before every socket connect. redis-py (7.4)
    resolves the master only when the pool hands out a connection: a connection that
    drops while in use reconnects, through its retries, to the address it had — the dead
    master — until its whole retry budget (about 76 s here) is spent, and the batch in
    hand waits that long (seen in the failover test)."""

    async def _connect(self) -> None:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()  # type: ignore[no-untyped-call]


def bullmq_redis_url(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_timeout", str(SOCKET_TIMEOUT))
    query.setdefault("socket_connect_timeout", "10")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _address(entry: str, setting: str = "SENTINELS") -> tuple[str, int]:
    host, sep, port = entry.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"DISPARO_REDIS_{setting}: {entry!r} is not host:port")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class RedisTarget:
    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    cluster_nodes: tuple[tuple[str, int], ...] = ()
    master: str = "mymaster"
    password: str | None = None
    sentinel_password: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> RedisTarget:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() or None if value is not None else None

        cluster = tuple(_address(entry, "CLUSTER_NODES") for entry in settings.redis_cluster_nodes)
        if cluster and not re.search(r"\{[^}]+\}", settings.queue_prefix):
            raise ValueError(
                "DISPARO_REDIS_CLUSTER_NODES needs DISPARO_QUEUE_PREFIX with a hash tag, e.g. "
                "{disparo}: bullmq's scripts touch many keys of a queue, which must share a slot"
            )
        return cls(
            url=url,
            cluster_nodes=cluster,
            sentinels=tuple(_address(entry) for entry in settings.redis_sentinels),
            master=settings.redis_sentinel_master,
            password=secret(settings.redis_password),
            sentinel_password=secret(settings.redis_sentinel_password),
        )

    def describe(self) -> str:
        """Where Redis is, for messages and logs: never a password."""
        if self.cluster_nodes:
            return "cluster://" + ",".join(f"{host}:{port}" for host, port in self.cluster_nodes)
        if self.sentinels:
            hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"sentinel://{hosts}/{self.master}"
        return _hide_password(self.url)

    def client(
        self, *, socket_timeout: float = SOCKET_TIMEOUT, connect_timeout: float = 10.0
    ) -> aioredis.Redis:
        """A new client of the current master (strings decoded, as bullmq expects)."""
        if self.cluster_nodes:
            return cast(aioredis.Redis, RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in self.cluster_nodes],
                decode_responses=True, socket_timeout=socket_timeout,
                socket_connect_timeout=connect_timeout, password=self.password,
            ))  # fmt: skip
        if not self.sentinels:
            return aioredis.Redis.from_url(
                self.url, decode_responses=True, socket_timeout=socket_timeout,
                socket_connect_timeout=connect_timeout, password=self.password,
            )  # fmt: skip
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels),
            sentinel_kwargs={"password": self.sentinel_password, "socket_timeout": 2,
                             "socket_connect_timeout": 2},
            socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout,
            password=self.password,
        )  # fmt: skip
        return cast(
            aioredis.Redis,
            sentinel.master_for(
                self.master,
                decode_responses=True,
                connection_class=MasterFollowingConnection,
                retry=Retry(ExponentialBackoff(cap=2, base=0.2), FAILOVER_RETRIES),
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
            ),
        )

    def bullmq_connection(self) -> str | aioredis.Redis:
        """What a bullmq Queue or Worker is given: the URL, or its own Sentinel client."""
        if self.sentinels or self.cluster_nodes:
            return self.client()
        return bullmq_redis_url(self.url)
