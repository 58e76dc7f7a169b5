"""The `RateLimiter` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from novapulse_adapters.memory import FrozenClock
from novapulse_core.domain.limits import RateDecision
from novapulse_core.ports.limits import RateLimiter

WINDOW = timedelta(seconds=60)


async def test_hits_are_allowed_up_to_the_limit_counting_down(rate_limiter: RateLimiter) -> None:
    decisions = [await rate_limiter.hit("k", 3, WINDOW) for _ in range(3)]

    assert decisions == [
        RateDecision(allowed=True, remaining=2),
        RateDecision(allowed=True, remaining=1),
        RateDecision(allowed=True, remaining=0),
    ]


async def test_a_hit_past_the_limit_is_refused_with_the_wait(
    rate_limiter: RateLimiter, store_clock: FrozenClock
) -> None:
    for _ in range(3):
        await rate_limiter.hit("k", 3, WINDOW)
    store_clock.advance(timedelta(seconds=20))

    refused = await rate_limiter.hit("k", 3, WINDOW)

    assert refused == RateDecision(allowed=False, remaining=0, retry_after=40)


async def test_the_window_slides_freeing_one_hit_as_each_old_one_leaves(
    rate_limiter: RateLimiter, store_clock: FrozenClock
) -> None:
    for _ in range(3):
        await rate_limiter.hit("k", 3, WINDOW)
        store_clock.advance(timedelta(seconds=10))
    # hits at 0, 10 and 20 s; now 30 s
    assert (await rate_limiter.hit("k", 3, WINDOW)).retry_after == 30

    store_clock.advance(timedelta(seconds=30))  # 60 s: the first hit has left
    assert await rate_limiter.hit("k", 3, WINDOW) == RateDecision(allowed=True, remaining=0)
    assert (await rate_limiter.hit("k", 3, WINDOW)).retry_after == 10


async def test_refused_hits_do_not_prolong_the_wait(
    rate_limiter: RateLimiter, store_clock: FrozenClock
) -> None:
    await rate_limiter.hit("k", 1, WINDOW)
    for _ in range(5):
        store_clock.advance(timedelta(seconds=10))
        assert not (await rate_limiter.hit("k", 1, WINDOW)).allowed

    store_clock.advance(timedelta(seconds=10))

    assert (await rate_limiter.hit("k", 1, WINDOW)).allowed


async def test_retry_after_rounds_up_to_whole_seconds(
    rate_limiter: RateLimiter, store_clock: FrozenClock
) -> None:
    await rate_limiter.hit("k", 1, WINDOW)
    store_clock.advance(timedelta(seconds=59, milliseconds=900))

    assert (await rate_limiter.hit("k", 1, WINDOW)).retry_after == 1


async def test_keys_are_independent(rate_limiter: RateLimiter) -> None:
    await rate_limiter.hit("a", 1, WINDOW)

    assert (await rate_limiter.hit("b", 1, WINDOW)).allowed
    assert not (await rate_limiter.hit("a", 1, WINDOW)).allowed


async def test_peek_tells_the_decision_without_recording_a_hit(rate_limiter: RateLimiter) -> None:
    assert await rate_limiter.peek("k", 2, WINDOW) == RateDecision(allowed=True, remaining=2)
    await rate_limiter.hit("k", 2, WINDOW)
    assert await rate_limiter.peek("k", 2, WINDOW) == RateDecision(allowed=True, remaining=1)
    assert await rate_limiter.peek("k", 2, WINDOW) == RateDecision(allowed=True, remaining=1)
    await rate_limiter.hit("k", 2, WINDOW)

    peeked = await rate_limiter.peek("k", 2, WINDOW)

    assert not peeked.allowed
    assert peeked.retry_after == 60


async def test_reset_forgets_the_hits_of_a_key(rate_limiter: RateLimiter) -> None:
    await rate_limiter.hit("k", 1, WINDOW)
    await rate_limiter.hit("other", 1, WINDOW)

    await rate_limiter.reset("k")

    assert (await rate_limiter.hit("k", 1, WINDOW)).allowed
    assert not (await rate_limiter.hit("other", 1, WINDOW)).allowed


async def test_undo_forgets_the_latest_hit_only(
    rate_limiter: RateLimiter, store_clock: FrozenClock
) -> None:
    await rate_limiter.hit("k", 2, WINDOW)
    store_clock.advance(timedelta(seconds=20))
    await rate_limiter.hit("k", 2, WINDOW)

    await rate_limiter.undo("k")
    await rate_limiter.undo("unknown")

    assert await rate_limiter.peek("k", 2, WINDOW) == RateDecision(allowed=True, remaining=1)
    await rate_limiter.hit("k", 2, WINDOW)
    assert (await rate_limiter.hit("k", 2, WINDOW)).retry_after == 40  # the first hit stayed


async def test_of_racing_hits_exactly_the_limit_pass(rate_limiter: RateLimiter) -> None:
    # Warm up: a networked client then holds a connection per racer, so none waits to connect.
    await asyncio.gather(*(rate_limiter.peek("warm", 3, WINDOW) for _ in range(8)))

    decisions = await asyncio.gather(*(rate_limiter.hit("k", 3, WINDOW) for _ in range(8)))

    allowed = [d for d in decisions if d.allowed]
    assert sorted(d.remaining for d in allowed) == [0, 1, 2]
    assert all(d.retry_after == 60 for d in decisions if not d.allowed)


USER = ("user:ann", 2, WINDOW)
COMPANY = ("company:acme", 3, timedelta(seconds=30))


async def test_hit_all_spends_every_budget_counting_each_down(rate_limiter: RateLimiter) -> None:
    decisions = await rate_limiter.hit_all([USER, COMPANY])

    assert decisions == [
        RateDecision(allowed=True, remaining=1),
        RateDecision(allowed=True, remaining=2),
    ]
    assert await rate_limiter.peek(*USER) == RateDecision(allowed=True, remaining=1)
    assert await rate_limiter.peek(*COMPANY) == RateDecision(allowed=True, remaining=2)


async def test_a_request_refused_by_its_first_budget_spends_nothing_of_the_others(
    rate_limiter: RateLimiter,
) -> None:
    await rate_limiter.hit_all([USER, COMPANY])
    await rate_limiter.hit_all([USER, COMPANY])

    refused = await rate_limiter.hit_all([USER, COMPANY])

    assert refused == [RateDecision(allowed=False, remaining=0, retry_after=60)]
    assert await rate_limiter.peek(*COMPANY) == RateDecision(allowed=True, remaining=1)


async def test_a_request_refused_by_a_later_budget_spends_nothing_of_the_earlier_ones(
    rate_limiter: RateLimiter, store_clock: FrozenClock
) -> None:
    for _ in range(3):
        await rate_limiter.hit(*COMPANY)
    store_clock.advance(timedelta(seconds=10))

    refused = await rate_limiter.hit_all([USER, COMPANY])

    # the user's budget answers as a peek would: this request is not counted in it
    assert refused == [
        RateDecision(allowed=True, remaining=2),
        RateDecision(allowed=False, remaining=0, retry_after=20),
    ]
    assert await rate_limiter.peek(*USER) == RateDecision(allowed=True, remaining=2)


async def test_hit_all_and_hit_spend_the_same_budgets(rate_limiter: RateLimiter) -> None:
    await rate_limiter.hit(*USER)
    await rate_limiter.hit_all([USER, COMPANY])

    assert not (await rate_limiter.hit(*USER)).allowed
    assert await rate_limiter.hit_all([]) == []


async def test_of_racing_requests_on_two_budgets_exactly_the_tighter_limit_pass(
    rate_limiter: RateLimiter,
) -> None:
    # Warm up: a networked client then holds a connection per racer, so none waits to connect.
    await asyncio.gather(*(rate_limiter.peek("warm", 3, WINDOW) for _ in range(8)))
    company = ("company:acme", 5, WINDOW)

    answers = await asyncio.gather(
        *(rate_limiter.hit_all([(f"user:{n % 2}", 2, WINDOW), company]) for n in range(8))
    )

    passed = [a for a in answers if a[-1].allowed]
    assert len(passed) == 4  # two per user; the company's five are never all spent
    assert sorted(a[1].remaining for a in passed) == [1, 2, 3, 4]
    assert await rate_limiter.peek(*company) == RateDecision(allowed=True, remaining=1)


async def test_of_racing_requests_refused_by_the_shared_budget_none_spends_its_own(
    rate_limiter: RateLimiter,
) -> None:
    await asyncio.gather(*(rate_limiter.peek("warm", 3, WINDOW) for _ in range(8)))
    company = ("company:acme", 3, WINDOW)

    answers = await asyncio.gather(
        *(rate_limiter.hit_all([(f"user:{n}", 1, WINDOW), company]) for n in range(8))
    )

    passed = [n for n, a in enumerate(answers) if a[-1].allowed]
    assert len(passed) == 3
    assert all(a[-1].retry_after == 60 for a in answers if not a[-1].allowed)
    spent = [(await rate_limiter.peek(f"user:{n}", 1, WINDOW)).allowed for n in range(8)]
    assert [n for n, free in enumerate(spent) if not free] == passed
