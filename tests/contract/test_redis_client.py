"""NovaPulse's Redis client: a restart of Redis costs no command, a stuck Redis one timeout a
while, not one per command."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

pytest.importorskip("redis")

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from novapulse_adapters.redis import redis_client
from novapulse_adapters.redis.client import primary


async def test_a_command_on_a_connection_redis_closed_is_sent_again_on_a_new_one(
    redis_server: int,
) -> None:
    client = redis_client(f"redis://127.0.0.1:{redis_server}/0")
    killer = Redis(port=redis_server)
    try:
        await client.set("contract:restart", b"before")
        await killer.client_kill_filter(_type="normal", skipme=True)  # as a restart does

        assert await client.get("contract:restart") == b"before"
    finally:
        await client.aclose()
        await killer.aclose()


async def test_a_write_that_meets_a_dead_connection_is_not_sent_again_and_the_next_connects(
    redis_server: int,
) -> None:
    client = redis_client(f"redis://127.0.0.1:{redis_server}/0")
    killer = Redis(port=redis_server)
    try:
        await asyncio.gather(*(client.ping() for _ in range(3)))  # several pooled connections
        await killer.client_kill_filter(_type="normal", skipme=True)

        with pytest.raises(RedisConnectionError):
            await client.incr("contract:restart:count")
        assert await client.incr("contract:restart:count") == 1  # the failed one was not resent
        assert await client.set("contract:restart:other", b"v")  # no other stale connection
    finally:
        await client.aclose()
        await killer.aclose()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers (a stuck Redis, a partition)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


async def test_a_redis_that_never_answers_costs_a_command_the_timeout(silent_port: int) -> None:
    client = redis_client(f"redis://127.0.0.1:{silent_port}/0", timeout=timedelta(milliseconds=200))
    started = time.monotonic()
    try:
        with pytest.raises(RedisTimeoutError):
            await client.get("anything")
    finally:
        await client.aclose()
    assert time.monotonic() - started < 1.0


async def test_after_a_timeout_commands_fail_at_once_until_redis_is_asked_again(
    silent_port: int,
) -> None:
    client = redis_client(f"redis://127.0.0.1:{silent_port}/0", timeout=timedelta(milliseconds=200))
    try:
        with pytest.raises(RedisTimeoutError):
            await client.get("first")  # waits out the timeout
        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(RedisConnectionError, match="not asked again yet"):
                await client.get("meanwhile")
        assert time.monotonic() - started < 0.1

        await asyncio.sleep(0.25)
        with pytest.raises(RedisTimeoutError):
            await client.get("later")  # asked again, waits again
    finally:
        await client.aclose()


def test_under_sentinels_the_url_names_the_primary_and_how_to_log_in() -> None:
    assert primary("redis://main") == ("main", {"db": 0})
    assert primary("redis://ops%40acme:p%3Ass@Main-1/3") == (
        "Main-1",  # as written: Sentinel's names are case-sensitive
        {"db": 3, "username": "ops@acme", "password": "p:ss"},
    )
