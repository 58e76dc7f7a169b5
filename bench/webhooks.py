"""Webhook deliveries per second through NovaPulse against a bare aiohttp client, in one run.

One local receiver (an aiohttp server in a subprocess, on its own core) answers 200 to every
POST. Both sides send it the same N signed-size 1 KiB event envelopes at the same concurrency
C. NovaPulse's side publishes N domain events on the event bus of the embedded default (stub
broker, in-memory stores) and runs the whole pipeline: fan-out to one subscribed endpoint, a
delivery record, a job on the webhook queue, a worker (at most C jobs in flight on its event
loop), signing, the aiohttp POST and the attempt log; it is timed until the job store counts N
completed deliveries. The bare side POSTs the same bodies with one `aiohttp.ClientSession`
under a semaphore of C. Prints both rates and the ratio (goal: >= 0.6). Setup (sign-up,
endpoint) is not timed. Both sides run in this process, whose garbage collector goes at the
pace `novapulse serve` and `novapulse worker` set (`NOVAPULSE_GC_THRESHOLD`).

    python bench/webhooks.py [--events N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import Sequence

import aiohttp
import orjson
from _receiver import Receiver, receiver

from novapulse_core.domain.access import Principal
from novapulse_core.domain.events import DomainEvent
from novapulse_core.domain.identity import Role
from novapulse_core.domain.jobs import JobState, QueueName
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.collector import pace_collector
from novapulse_entrypoints.settings import Settings

EVENT_TYPE = "bench.happened"
DATA_BYTES = 1024
POLL_SECONDS = 0.02
TIMEOUT_SECONDS = 300.0
FAST_HASHING = {
    "NOVAPULSE_ARGON2_TIME_COST": "1",
    "NOVAPULSE_ARGON2_MEMORY_KIB": "8",
    "NOVAPULSE_ARGON2_PARALLELISM": "1",
}


def _data(seq: int) -> dict[str, object]:
    """A JSON object of exactly DATA_BYTES bytes."""
    data: dict[str, object] = {"seq": seq, "user_id": f"u-{seq:08d}", "note": ""}
    data["note"] = "x" * (DATA_BYTES - len(orjson.dumps(data)))
    return data


async def _setup(services: composition.Container, url: str, events: int) -> list[DomainEvent]:
    """A company, its owner and one endpoint on `url` for EVENT_TYPE; then the events."""
    registration = await services.companies().register(
        company_name="Bench",
        owner_email="owner@bench.example",
        owner_name="Bench Owner",
        owner_password=secrets.token_urlsafe(24),
    )
    company_id = registration.company.id
    owner = Principal(registration.owner.id, company_id, Role.OWNER)
    await services.webhooks().create(owner, url=url, event_types=[EVENT_TYPE])
    ids, clock = services.ids(), services.clock()
    return [
        DomainEvent(ids.new_id(), EVENT_TYPE, company_id, clock.now(), _data(n))
        for n in range(events)
    ]


async def _post_all(url: str, bodies: Sequence[bytes], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    headers = {"Content-Type": "application/json"}

    async def post(session: aiohttp.ClientSession, body: bytes) -> None:
        async with gate, session.post(url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"the receiver answered {response.status}")

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(post(session, body) for body in bodies))
    return time.perf_counter() - started


def bare(rx: Receiver, bodies: Sequence[bytes], concurrency: int) -> float:
    before = rx.count()
    elapsed = asyncio.run(_post_all(rx.url, bodies, concurrency))
    if rx.count() - before != len(bodies):
        raise RuntimeError("bare: the receiver did not get every body")
    return len(bodies) / elapsed


def novapulse(
    rx: Receiver, services: composition.Container, events: Sequence[DomainEvent]
) -> tuple[float, float]:
    """(published events/s, delivered events/s), both from the first publish."""
    group = services.worker_group(queues=[QueueName.WEBHOOK])
    group.start(prepare=lambda: composition.start(services))
    try:
        loop, bus, store = group.loop, services.event_bus(), services.job_store()
        before = rx.count()

        async def publish_all() -> None:
            for event in events:
                await bus.publish(event)

        async def counts() -> dict[JobState, int]:
            return dict(await store.counts(QueueName.WEBHOOK))

        started = time.perf_counter()
        asyncio.run_coroutine_threadsafe(publish_all(), loop).result()
        published = time.perf_counter() - started
        while True:
            seen = asyncio.run_coroutine_threadsafe(counts(), loop).result()
            if seen[JobState.COMPLETED] >= len(events):
                break
            if seen[JobState.FAILED] or seen[JobState.RETRYING] or seen[JobState.DEAD]:
                raise RuntimeError(f"novapulse: a delivery failed: {seen}")
            if time.perf_counter() - started > TIMEOUT_SECONDS:
                raise RuntimeError(f"novapulse: not done in {TIMEOUT_SECONDS:.0f}s: {seen}")
            time.sleep(POLL_SECONDS)
        delivered = time.perf_counter() - started
    finally:
        group.stop(10, cleanup=lambda: composition.stop(services))
    if rx.count() - before != len(events):
        raise RuntimeError("novapulse: the receiver did not get every delivery")
    return len(events) / published, len(events) / delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    n, c = args.events, args.concurrency
    with receiver() as rx:
        settings = Settings.from_env(
            {
                **FAST_HASHING,
                "NOVAPULSE_WEBHOOK_ALLOW_LIST": "127.0.0.1/32",
                "NOVAPULSE_QUEUE_WEBHOOK_CONCURRENCY": str(c),
            }
        )
        pace_collector(settings.gc_threshold)  # as NovaPulse's processes do; both sides run here
        services = composition.build_container(settings)
        events = asyncio.run(_setup(services, rx.url, n))
        dispatcher = services.webhook_dispatcher()
        bodies = [
            dispatcher.encode(e.id, e.type, e.occurred_at, e.company_id, e.data) for e in events
        ]
        bare_rate = bare(rx, bodies, c)
        publish_rate, ours_rate = novapulse(rx, services, events)
    size = sum(map(len, bodies)) / len(bodies)
    print(
        f"events={n} concurrency={c} body={size:.0f} B (data {DATA_BYTES} B); receiver: aiohttp "
        "in a subprocess; novapulse: embedded default (stub broker, in-memory stores)"
    )
    print(f"bare aiohttp : {bare_rate:8.0f} deliveries/s")
    print(f"novapulse    : {ours_rate:8.0f} deliveries/s  (publish + fan-out {publish_rate:.0f}/s)")
    print(f"ratio (novapulse / bare): {ours_rate / bare_rate:.2f}  (goal >= 0.60)")


if __name__ == "__main__":
    main()
