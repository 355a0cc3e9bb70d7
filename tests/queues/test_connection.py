"""Where Redis is: a URL or the sentinels, described without its password."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from disparo.config import Settings
from disparo.queues.connection import RedisTarget


def test_a_url_is_described_without_its_password() -> None:
    target = RedisTarget(url="redis://:s3cr3t@10.0.0.5:6379/0")
    assert target.describe() == "redis://:***@10.0.0.5:6379/0"
    assert "s3cr3t" not in target.describe()
    assert "socket_timeout=40" in str(target.bullmq_connection())


def test_sentinels_come_from_the_settings() -> None:
    settings = Settings.model_construct(
        **(
            Settings().model_dump()
            | {
                "redis_sentinels": Settings.model_validate(
                    {"redis_sentinels": "10.0.0.1:26379, 10.0.0.2:26380"}
                ).redis_sentinels,
                "redis_sentinel_master": "prod",
                "redis_password": SecretStr("pw"),
            }
        )
    )
    target = RedisTarget.from_settings(settings, "")
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert (target.master, target.password) == ("prod", "pw")
    assert target.describe() == "sentinel://10.0.0.1:26379,10.0.0.2:26380/prod"
    assert not isinstance(target.bullmq_connection(), str)  # a client of its own


def test_a_sentinel_that_is_not_host_port_is_refused() -> None:
    settings = Settings.model_validate({"redis_sentinels": "10.0.0.1"})
    with pytest.raises(ValueError, match="not host:port"):
        RedisTarget.from_settings(settings, "")


def test_a_cluster_needs_a_hash_tagged_prefix() -> None:
    plain = Settings.model_validate(
        {"redis_cluster_nodes": "10.0.0.1:7000", "queue_prefix": "bull"}
    )
    with pytest.raises(ValueError, match="hash tag"):
        RedisTarget.from_settings(plain, "")
    tagged = Settings.model_validate(
        {"redis_cluster_nodes": "10.0.0.1:7000,10.0.0.2:7000", "queue_prefix": "{disparo}"}
    )
    target = RedisTarget.from_settings(tagged, "")
    assert target.describe() == "cluster://10.0.0.1:7000,10.0.0.2:7000"
