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


async def test_a_keys_version_is_zero_until_deleted_and_each_deletion_changes_it(
    cache: Cache,
) -> None:
    assert await cache.version("k") == 0

    await cache.delete_many(["k"])
    first = await cache.version("k")
    await cache.delete_many(["k", "k"])

    assert 0 != first != await cache.version("k") != 0


async def test_a_value_is_set_only_while_the_version_read_before_stands(cache: Cache) -> None:
    read_before = await cache.version("k")
    await cache.delete_many(["k"])  # another process changed the store meanwhile

    assert not await cache.set_if_version("k", b"computed before", TTL, read_before)
    assert await cache.get("k") is None
    assert await cache.set_if_version("k", b"computed after", TTL, await cache.version("k"))
    assert await cache.get("k") == b"computed after"


async def test_set_if_version_replaces_the_value_and_its_lifetime(
    cache: Cache, cache_remaining: Remaining
) -> None:
    await cache.set("k", b"unreadable", timedelta(minutes=5))

    assert await cache.set_if_version("k", b"v", TTL, await cache.version("k"))

    assert await cache.get("k") == b"v"
    left = await cache_remaining("k")
    assert left is not None
    assert TTL - timedelta(seconds=5) < left <= TTL


async def test_a_version_is_forgotten_once_the_hold_after_the_deletion_passed(
    cache: Cache, pass_the_hold: Callable[[], Awaitable[None]]
) -> None:
    await cache.delete_many(["k"])

    await pass_the_hold()

    assert await cache.version("k") == 0
    assert await cache.set_if_version("k", b"v", TTL, 0)


async def test_a_prefix_clear_raises_no_version(cache: Cache) -> None:
    await cache.set("cache:a", b"v", TTL)

    await cache.delete_prefix("cache:")

    assert await cache.version("cache:a") == 0


async def test_a_version_read_before_a_deletion_never_matches_after_it(
    cache: Cache, pass_the_hold: Callable[[], Awaitable[None]]
) -> None:
    await cache.delete_many(["k"])
    read_before = await cache.version("k")  # just before the hold runs out
    await pass_the_hold()
    await cache.delete_many(["k"])  # another process changed the store again

    assert await cache.version("k") != read_before
    assert not await cache.set_if_version("k", b"stale", TTL, read_before)


async def test_a_clear_of_every_entry_counts_entries_and_keeps_versions(cache: Cache) -> None:
    await cache.set("cache:a", b"v", TTL)
    await cache.delete_many(["cache:b"])  # not cached; its version changed
    version = await cache.version("cache:b")

    assert await cache.delete_prefix("") == 1
    assert await cache.version("cache:b") == version
