"""Jobs per second through NovaPulse against a bare Dramatiq actor, on one Redis, in one run.

Both sides get the same N no-op jobs and the same Redis server; the bare side runs T worker
threads, NovaPulse's worker runs up to T jobs at once on its event loop.
NovaPulse's side enqueues through `JobService` (a job record per job) and its worker records
every transition (active, completed) in the job store; the bare side is a plain actor.
Prints the enqueue and processing rates of both and the processing ratio (goal: >= 0.7).

    python bench/jobs.py [--jobs N] [--threads T]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets
import threading
import time
from collections.abc import Mapping

import dramatiq
from _redis import redis_server
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from novapulse_core.domain.jobs import JobState, QueueName
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.settings import Settings

POLL_SECONDS = 0.01


def bare(url: str, jobs: int, threads: int) -> tuple[float, float]:
    broker = RedisBroker(
        url=url,
        namespace="bare",
        middleware=[
            AgeLimit(),
            TimeLimit(),
            ShutdownNotifications(),
            Callbacks(),
            Pipelines(),
            Retries(),
        ],
    )
    done = 0
    lock = threading.Lock()

    @dramatiq.actor(queue_name="bare", broker=broker)
    def noop(n: int) -> None:
        nonlocal done
        with lock:
            done += 1

    started = time.perf_counter()
    for n in range(jobs):
        noop.send(n)
    enqueued = time.perf_counter() - started
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    started = time.perf_counter()
    worker.start()
    while done < jobs:
        time.sleep(POLL_SECONDS)
    processed = time.perf_counter() - started
    worker.stop()
    broker.close()
    return jobs / enqueued, jobs / processed


async def _noop(payload: Mapping[str, object]) -> None:
    return None


def novapulse(url: str, jobs: int, threads: int) -> tuple[float, float]:
    settings = Settings.from_env(
        {
            # Processes sharing Redis must share their keys; this one process makes its own.
            "NOVAPULSE_JWT_SECRET": secrets.token_urlsafe(48),
            "NOVAPULSE_MFA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "NOVAPULSE_REDIS_URL": url,
            "NOVAPULSE_QUEUE_NAMESPACE": "bench",
            "NOVAPULSE_QUEUE_WEBHOOK_CONCURRENCY": str(threads),
        }
    )
    services = composition.build_container(settings)
    services.tasks().register("bench.noop", QueueName.WEBHOOK, _noop)
    group = services.worker_group(queues=[QueueName.WEBHOOK])
    group.start(prepare=lambda: composition.start(services))
    loop = group.loop
    service, store = services.jobs(), services.job_store()

    async def enqueue_all() -> None:
        for n in range(jobs):
            await service.enqueue("bench.noop", {"n": n})

    async def completed() -> int:
        return (await store.counts(QueueName.WEBHOOK))[JobState.COMPLETED]

    # Jobs wait while they are enqueued (the enqueue uses the workers' loop), then are timed.
    group.pause()
    started = time.perf_counter()
    asyncio.run_coroutine_threadsafe(enqueue_all(), loop).result()
    enqueued = time.perf_counter() - started
    started = time.perf_counter()
    group.resume()
    while asyncio.run_coroutine_threadsafe(completed(), loop).result() < jobs:
        time.sleep(POLL_SECONDS)
    processed = time.perf_counter() - started
    group.stop(10, cleanup=lambda: composition.stop(services))
    return jobs / enqueued, jobs / processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with redis_server() as url:
        bare_enqueue, bare_rate = bare(url, args.jobs, args.threads)
        ours_enqueue, ours_rate = novapulse(url, args.jobs, args.threads)
    print(f"jobs={args.jobs} threads={args.threads} (one redis-server, one process)")
    print(f"bare dramatiq : enqueue {bare_enqueue:8.0f}/s  process {bare_rate:8.0f}/s")
    print(f"novapulse     : enqueue {ours_enqueue:8.0f}/s  process {ours_rate:8.0f}/s")
    print(f"ratio (process, novapulse / bare): {ours_rate / bare_rate:.2f}  (goal >= 0.70)")


if __name__ == "__main__":
    main()
