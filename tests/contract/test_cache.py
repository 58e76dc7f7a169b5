"""The `Cache` contract, run against every adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from novapulse_core.ports.cache import Cache

TTL = timedelta(seconds=60)
Remaining = Callable[[str], Awaitable[timedelta | None]]


async def test_a_key_never_set_is_a_miss(cache: Cache) -> None:
    assert await cache.get("cache:user:u1:profile") is None


async def test_a_value_set_is_read_back_byte_for_byte(cache: Cache) -> None:
    value = bytes(range(256)) + "zürich".encode()

    await cache.set("k", value, TTL)

    assert await cache.get("k") == value


async def test_a_set_replaces_the_value_and_its_lifetime(
    cache: Cache, cache_remaining: Remaining
) -> None:
    await cache.set("k", b"old", timedelta(minutes=5))

    await cache.set("k", b"new", TTL)

    assert await cache.get("k") == b"new"
    left = await cache_remaining("k")
    assert left is not None
    assert TTL - timedelta(seconds=5) < left <= TTL


async def test_an_entry_lives_for_its_ttl(cache: Cache, cache_remaining: Remaining) -> None:
    await cache.set("short", b"v", timedelta(milliseconds=1500))
    await cache.set("long", b"v", timedelta(minutes=5))

    short, long = await cache_remaining("short"), await cache_remaining("long")

    assert short is not None
    assert timedelta(0) < short <= timedelta(milliseconds=1500)
    assert long is not None
    assert timedelta(minutes=4) < long <= timedelta(minutes=5)
    assert await cache_remaining("never-set") is None


async def test_a_ttl_must_be_positive(cache: Cache) -> None:
    with pytest.raises(ValueError, match="positive"):
        await cache.set("k", b"v", timedelta(0))


async def test_delete_many_removes_the_keys_given_and_counts_those_present(cache: Cache) -> None:
    for key in ("a", "b", "c"):
        await cache.set(key, key.encode(), TTL)

    removed = await cache.delete_many(["a", "b", "b", "absent"])

    assert removed == 2
    assert [await cache.get(k) for k in ("a", "b", "c")] == [None, None, b"c"]
    assert await cache.delete_many([]) == 0


async def test_delete_prefix_removes_only_keys_with_that_prefix(cache: Cache) -> None:
    keys = ["cache:user:u1:profile", "cache:user:u2:profile", "cache:company:c1:stats", "other"]
    for key in keys:
        await cache.set(key, b"v", TTL)

    removed = await cache.delete_prefix("cache:user:")

    assert removed == 2
    assert [await cache.get(k) for k in keys] == [None, None, b"v", b"v"]


async def test_a_prefix_is_literal_not_a_pattern(cache: Cache) -> None:
    await cache.set("a*b:1", b"v", TTL)
    await cache.set("axb:1", b"v", TTL)
    await cache.set("a?[x]:1", b"v", TTL)

    assert await cache.delete_prefix("a*b") == 1
    assert await cache.delete_prefix("a?[") == 1

    assert await cache.get("axb:1") == b"v"


async def test_the_empty_prefix_clears_every_key(cache: Cache) -> None:
    for i in range(1200):  # more than one SCAN batch
        await cache.set(f"cache:user:u{i}:profile", b"v", TTL)

    assert await cache.delete_prefix("") == 1200

    assert await cache.get("cache:user:u7:profile") is None


async def test_keys_are_independent(cache: Cache) -> None:
    await cache.set("k1", b"one", TTL)
    await cache.set("k2", b"two", TTL)

    await cache.delete_many(["k1"])

    assert await cache.get("k2") == b"two"
