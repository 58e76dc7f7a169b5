"""Cache-aside: hits, TTL expiry, one computation per concurrent miss, failing open."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from novapulse_adapters.memory import FrozenClock
from novapulse_core.domain.cache import Codec
from novapulse_core.domain.errors import NotFound, Unavailable
from novapulse_core.services.cache import CacheAside

from .cache_kit import SwitchableCache

TTL = timedelta(seconds=60)
TEXT = Codec[str](lambda s: s, str)


class Source:
    """A computation that counts its runs and can be held until released."""

    def __init__(self) -> None:
        self.runs = 0
        self.value = "v1"
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> str:
        self.runs += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.value


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def cache(clock: FrozenClock) -> SwitchableCache:
    return SwitchableCache(clock)


@pytest.fixture
def aside(cache: SwitchableCache) -> CacheAside:
    return CacheAside(cache)


async def test_a_miss_computes_and_caches_then_a_hit_does_not_compute(aside: CacheAside) -> None:
    source = Source()

    first = await aside.get_or_compute("k", TTL, source, TEXT)
    source.value = "v2"
    second = await aside.get_or_compute("k", TTL, source, TEXT)

    assert (first, second, source.runs) == ("v1", "v1", 1)


async def test_an_entry_is_computed_again_once_its_ttl_has_passed(
    aside: CacheAside, clock: FrozenClock
) -> None:
    source = Source()
    await aside.get_or_compute("k", TTL, source, TEXT)
    source.value = "v2"

    clock.advance(TTL - timedelta(milliseconds=1))
    assert await aside.get_or_compute("k", TTL, source, TEXT) == "v1"
    clock.advance(timedelta(milliseconds=1))
    assert await aside.get_or_compute("k", TTL, source, TEXT) == "v2"
    assert source.runs == 2


async def test_concurrent_misses_on_one_key_compute_once(aside: CacheAside) -> None:
    source = Source()
    source.gate = asyncio.Event()
    callers = [asyncio.create_task(aside.get_or_compute("k", TTL, source, TEXT)) for _ in range(20)]
    await asyncio.sleep(0)  # every caller reaches the flight (a yield, not a wait on time)

    source.gate.set()

    assert await asyncio.gather(*callers) == ["v1"] * 20
    assert source.runs == 1


async def test_concurrent_misses_on_different_keys_compute_each(aside: CacheAside) -> None:
    source = Source()

    await asyncio.gather(*(aside.get_or_compute(k, TTL, source, TEXT) for k in "abc"))

    assert source.runs == 3


async def test_a_failed_computation_reaches_every_waiter_and_caches_nothing(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    runs = 0

    async def missing() -> str:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0)
        raise NotFound("no such user")

    outcomes = await asyncio.gather(
        *(aside.get_or_compute("k", TTL, missing, TEXT) for _ in range(3)), return_exceptions=True
    )

    assert runs == 1
    assert all(isinstance(o, NotFound) for o in outcomes)
    assert cache.inner.keys() == []


async def test_a_cancelled_caller_does_not_cancel_the_others(aside: CacheAside) -> None:
    source = Source()
    source.gate = asyncio.Event()
    leaver = asyncio.create_task(aside.get_or_compute("k", TTL, source, TEXT))
    stayer = asyncio.create_task(aside.get_or_compute("k", TTL, source, TEXT))
    await asyncio.sleep(0)

    leaver.cancel()
    source.gate.set()

    assert await stayer == "v1"
    assert leaver.cancelled()


async def test_a_key_invalidated_while_computing_is_not_written_with_that_answer(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    source = Source()
    source.gate = asyncio.Event()
    early = asyncio.create_task(aside.get_or_compute("k", TTL, source, TEXT))
    await asyncio.sleep(0)

    await aside.invalidate(["k"])
    source.value = "v2"
    late = asyncio.create_task(aside.get_or_compute("k", TTL, source, TEXT))
    await asyncio.sleep(0)
    source.gate.set()

    assert await early == "v2"  # the held computation read the store after the change
    assert await late == "v2"
    assert source.runs == 2  # the late caller did not join the grounded flight
    assert await cache.get("k") is not None


async def test_an_answer_read_before_another_process_changed_the_store_is_not_cached(
    cache: SwitchableCache,
) -> None:
    reader, writer = CacheAside(cache), CacheAside(cache)  # two API processes, one Redis
    store = {"k": "v1"}
    read, released = asyncio.Event(), asyncio.Event()

    async def slow_read() -> str:
        value = store["k"]
        read.set()
        await released.wait()
        return value

    before_the_change = asyncio.create_task(reader.get_or_compute("k", TTL, slow_read, TEXT))
    await read.wait()
    store["k"] = "v2"
    await writer.invalidate(["k"])
    released.set()

    assert await before_the_change == "v1"
    assert await cache.get("k") is None
    assert await reader.get_or_compute("k", TTL, slow_read, TEXT) == "v2"
    cached = await cache.get("k")
    assert cached is not None
    assert TEXT.decode(cached) == "v2"


async def test_an_unreadable_entry_is_a_miss_and_is_replaced(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    await cache.set("k", b"not json", TTL)

    assert await aside.get_or_compute("k", TTL, Source(), TEXT) == "v1"

    assert aside.unreadable == 1
    assert await cache.get("k") == TEXT.encode("v1")


async def test_a_cache_that_cannot_be_reached_fails_open_and_counts_it(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    source = Source()
    cache.down = True

    answers = [await aside.get_or_compute("k", TTL, source, TEXT) for _ in range(3)]

    assert answers == ["v1"] * 3
    assert source.runs == 3  # every read went to the store
    assert aside.failed_open == 6  # each read and each skipped write
    cache.down = False
    await aside.get_or_compute("k", TTL, source, TEXT)
    await aside.get_or_compute("k", TTL, source, TEXT)
    assert source.runs == 4  # recovered by itself: cached again


async def test_invalidating_a_cache_that_cannot_be_reached_says_unavailable(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    cache.down = True

    with pytest.raises(Unavailable):
        await aside.invalidate(["k"])
    with pytest.raises(Unavailable):
        await aside.invalidate_prefix("cache:")


class CountingCodec:
    """`TEXT`, counting its decodes."""

    def __init__(self) -> None:
        self.decoded = 0

    def codec(self) -> Codec[str]:
        def load(data: object) -> str:
            self.decoded += 1
            return str(data)

        return Codec[str](lambda s: s, load)


async def test_an_unchanged_entry_is_decoded_once_and_a_changed_one_again(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    counting = CountingCodec()
    codec = counting.codec()
    await cache.set("k", codec.encode("v1"), TTL)

    reads = [await aside.get_or_compute("k", TTL, Source(), codec) for _ in range(3)]
    await cache.set("k", codec.encode("v2"), TTL)
    changed = await aside.get_or_compute("k", TTL, Source(), codec)

    assert (reads, changed, counting.decoded) == (["v1"] * 3, "v2", 2)


async def test_an_invalidated_entry_is_not_answered_from_what_was_decoded(
    aside: CacheAside, cache: SwitchableCache
) -> None:
    await cache.set("k", TEXT.encode("v1"), TTL)
    assert await aside.get_or_compute("k", TTL, Source(), TEXT) == "v1"

    await aside.invalidate(["k"])
    source = Source()
    source.value = "v2"

    assert await aside.get_or_compute("k", TTL, source, TEXT) == "v2"
