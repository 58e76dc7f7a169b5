"""Rate-limit checks per second through `RedisRateLimiter.hit` against a bare EVALSHA, in one run.

Both sides share one throwaway redis-server, one redis.asyncio client and the same number of
concurrent asyncio tasks. The bare side calls EVALSHA of a one-line script (`return 1`, one
key); the limiter side runs its sliding-window script (trim, count, record, expire) on keys
spread over `--keys` users, with a limit high enough that every hit is allowed (the costlier
path). The sides alternate for `--rounds` rounds; the median rate of each is reported with
the ratio (goal: limiter >= 0.8 of bare).

    python bench/ratelimit.py [--calls N] [--concurrency C] [--keys K] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from _redis import redis_server
from redis.asyncio import Redis

from novapulse_adapters.redis import RedisRateLimiter
from novapulse_adapters.system import SystemClock

WINDOW = timedelta(minutes=1)
GOAL = 0.8

Call = Callable[[int], Awaitable[object]]


async def rate(call: Call, calls: int, concurrency: int) -> float:
    """Calls per second of `call(n)` for n in range(calls), `concurrency` tasks at a time."""
    per_task = calls // concurrency

    async def worker(task: int) -> None:
        for n in range(task * per_task, (task + 1) * per_task):
            await call(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker(task) for task in range(concurrency)))
    return per_task * concurrency / (time.perf_counter() - started)


async def measure(url: str, args: argparse.Namespace) -> tuple[float, float, int]:
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
        for _ in range(args.rounds):
            bare_rates.append(await rate(bare, args.calls, args.concurrency))
            limiter_rates.append(await rate(limited, args.calls, args.concurrency))
        hits_stored = sum([await client.zcard(f"bench:rl:{key}") for key in keys[:100]])
        return statistics.median(bare_rates), statistics.median(limiter_rates), hits_stored
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="calls per side per round")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with redis_server() as url:
        bare_rate, limiter_rate, stored = asyncio.run(measure(url, args))
    ratio = limiter_rate / bare_rate
    print(
        f"calls={args.calls} x {args.rounds} rounds, concurrency={args.concurrency}, "
        f"keys={args.keys} (one redis-server, one redis.asyncio client, medians)"
    )
    print(f"bare EVALSHA 'return 1'    : {bare_rate:8.0f} calls/s")
    print(f"RedisRateLimiter.hit       : {limiter_rate:8.0f} checks/s")
    print(f"hits stored in first 100 keys: {stored}")
    verdict = "ok" if ratio >= GOAL else "BELOW GOAL"
    print(f"ratio (limiter / bare): {ratio:.2f}  (goal >= {GOAL:.2f}: {verdict})")


if __name__ == "__main__":
    main()
