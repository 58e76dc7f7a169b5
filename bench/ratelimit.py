"""Rate-limit checks per second through `RedisRateLimiter.hit` against a bare EVALSHA, in one run.

Both sides share one throwaway redis-server, one redis.asyncio client and the same number of
concurrent asyncio tasks. The bare side calls EVALSHA of a one-line script (`return 1`, one
key); the limiter side runs its sliding-window script (trim, count, record, expire) on keys
spread over `--keys` users, with a limit high enough that every hit is allowed (the costlier
path). The sides alternate for `--rounds` rounds, taking turns to go first; the median rate
of each side is printed with the median of the rounds' ratios (goal: limiter >= 0.8 of bare),
which a machine busy with other work disturbs least.

    python bench/ratelimit.py [--calls N] [--concurrency C] [--keys K] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import NamedTuple

from _redis import redis_server
from redis.asyncio import Redis

from novapulse_adapters.redis import RedisRateLimiter
from novapulse_adapters.system import SystemClock

WINDOW = timedelta(minutes=1)
GOAL = 0.8

Call = Callable[[int], Awaitable[object]]


class Result(NamedTuple):
    bare: float
    limiter: float
    ratio: float
    hits_stored: int


async def rate(call: Call, calls: int, concurrency: int) -> float:
    """Calls per second of `call(n)` for n in range(calls), `concurrency` tasks at a time."""
    per_task = calls // concurrency

    async def worker(task: int) -> None:
        for n in range(task * per_task, (task + 1) * per_task):
            await call(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker(task) for task in range(concurrency)))
    return per_task * concurrency / (time.perf_counter() - started)


async def measure(url: str, args: argparse.Namespace) -> Result:
    client = Redis.from_url(url)
    try:
        sha = await client.script_load("return 1")
        limiter = RedisRateLimiter(client, SystemClock(), namespace="bench")
        keys = [f"user:{n}" for n in range(args.keys)]
        limit = args.calls * (args.rounds + 1)  # never refused: every call takes the full path

        async def bare(n: int) -> object:
            return await client.evalsha(sha, 1, keys[n % args.keys])

        async def limited(n: int) -> object:
            decision = await limiter.hit(keys[n % args.keys], limit, WINDOW)
            if not decision.allowed:
                raise SystemExit("bench: a hit was refused; the limit is too low")
            return decision

        warm = min(args.calls, 10 * args.concurrency)  # connections open, scripts loaded
        await rate(bare, warm, args.concurrency)
        await rate(limited, warm, args.concurrency)
        bare_rates, limiter_rates = [], []
        for round_ in range(args.rounds):  # alternate which side goes first
            first, second = (bare, limited) if round_ % 2 == 0 else (limited, bare)
            a = await rate(first, args.calls, args.concurrency)
            b = await rate(second, args.calls, args.concurrency)
            bare_rates.append(a if first is bare else b)
            limiter_rates.append(b if first is bare else a)
        ratios = [ours / theirs for ours, theirs in zip(limiter_rates, bare_rates, strict=True)]
        hits_stored = sum([await client.zcard(f"bench:rl:{key}") for key in keys[:100]])
        return Result(
            statistics.median(bare_rates),
            statistics.median(limiter_rates),
            statistics.median(ratios),
            hits_stored,
        )
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per side per round")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with redis_server() as url:
        result = asyncio.run(measure(url, args))
    print(
        f"calls={args.calls} x {args.rounds} rounds, concurrency={args.concurrency}, "
        f"keys={args.keys} (one redis-server, one redis.asyncio client, medians)"
    )
    print(f"bare EVALSHA 'return 1' : {result.bare:8.0f} calls/s")
    print(f"RedisRateLimiter.hit    : {result.limiter:8.0f} checks/s")
    print(f"hits stored in the first 100 keys: {result.hits_stored}")
    verdict = "ok" if result.ratio >= GOAL else "BELOW GOAL"
    print(
        f"ratio (limiter / bare, median of rounds): {result.ratio:.2f}"
        f"  (goal >= {GOAL:.2f}: {verdict})"
    )


if __name__ == "__main__":
    main()
