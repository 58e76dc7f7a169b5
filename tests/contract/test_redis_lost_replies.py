"""A command whose reply is lost (its connection died after Redis ran it, or the reply came
later than the timeout) is reported `Unavailable`, never sent again: a script run twice would
answer differently (a fresh one-time code refused as replayed, a refresh token's first use
taken for a reuse)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("redis")

from redis.asyncio import Redis

from novapulse_adapters.memory import FrozenClock
from novapulse_adapters.redis import RedisOtpReplayStore, redis_client
from novapulse_core.domain.errors import Unavailable
from support.reply_dropping_proxy import ReplyDroppingProxy

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TIMEOUT = timedelta(milliseconds=200)


@pytest.fixture
async def proxy(redis_server: int) -> AsyncIterator[ReplyDroppingProxy]:
    proxy = ReplyDroppingProxy(redis_server)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["connection-died", "reply-too-late"])
async def test_a_script_whose_reply_was_lost_ran_once_and_is_reported_unavailable(
    proxy: ReplyDroppingProxy, redis_server: int, delay: float
) -> None:
    client = redis_client(f"redis://127.0.0.1:{proxy.port}/0", timeout=TIMEOUT)
    store = RedisOtpReplayStore(client, FrozenClock(NOW), namespace="lost")
    plain = Redis(port=redis_server)
    try:
        await store.claim("warm", 1, NOW + timedelta(minutes=1))  # its script is loaded
        proxy.arm(b"lost:otp:2:alice", delay=delay)

        with pytest.raises(Unavailable):
            await store.claim("alice", 2, NOW + timedelta(minutes=1))

        assert proxy.dropped == 1
        assert await plain.exists("lost:otp:2:alice") == 1  # Redis ran it, once
    finally:
        await client.aclose()
        await plain.aclose()
