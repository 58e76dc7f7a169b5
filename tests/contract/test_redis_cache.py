"""What only the Redis cache can show: its namespace, and `Unavailable` when Redis is gone."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from novapulse_core.domain.errors import Unavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

pytest.importorskip("redis")

TTL = timedelta(seconds=60)


async def test_two_namespaces_on_one_server_never_see_each_other(redis_client: Redis) -> None:
    from novapulse_adapters.redis import RedisCache

    blue, green = (RedisCache(redis_client, namespace=ns) for ns in ("blue", "green"))
    await blue.set("cache:company:c1:stats", b"blue", TTL)
    await green.set("cache:company:c1:stats", b"green", TTL)

    assert await blue.delete_prefix("") == 1

    assert await green.get("cache:company:c1:stats") == b"green"
    assert await redis_client.get("green:cache:company:c1:stats") == b"green"


async def test_a_redis_that_cannot_be_reached_says_unavailable(dead_client: Redis) -> None:
    from novapulse_adapters.redis import RedisCache

    cache = RedisCache(dead_client, namespace="contract")

    for call in (
        cache.get("k"),
        cache.set("k", b"v", TTL),
        cache.delete_many(["k"]),
        cache.delete_prefix("k"),
    ):
        with pytest.raises(Unavailable):
            await call
