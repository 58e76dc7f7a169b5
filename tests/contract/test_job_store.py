"""The `JobStore` contract, run against every adapter; then how each adapter honours retention."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from novapulse_adapters.memory import FrozenClock, InMemoryJobStore
from novapulse_adapters.mongo import BeanieJobStore, JobDocument, MongoConnection
from novapulse_adapters.telemetry.tracing import TracedStore
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.jobs import (
    Job,
    JobState,
    JobTransition,
    QueueName,
    QueueThroughput,
    apply,
)
from novapulse_core.domain.paging import PageRequest
from novapulse_core.ports.jobs import JobStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from novapulse_adapters.redis import RedisJobStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)  # whole milliseconds: MongoDB keeps ms
W, A, C, F, R, D = (
    JobState.WAITING,
    JobState.ACTIVE,
    JobState.COMPLETED,
    JobState.FAILED,
    JobState.RETRYING,
    JobState.DEAD,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def a_job(
    job_id: str = "j0001",
    queue: QueueName = QueueName.EMAIL,
    company_id: str | None = "co-a",
    **changes: Any,
) -> Job:
    """A job as `JobService.enqueue` stores it: waiting, with its first transition."""
    job = Job(
        id=job_id,
        queue=queue,
        task="send_email",
        payload={"to": "ada@example.com", "n": 3, "nested": {"x": [1, 2.5, None, True]}},
        created_at=T0,
        company_id=company_id,
        request_id="req-1",
        updated_at=T0,
        transitions=(JobTransition(job_id, W, T0, 0),),
    )
    return attrs.evolve(job, **changes)


def step(
    job_id: str, state: JobState, seconds: float, attempt: int = 1, **fields: Any
) -> JobTransition:
    return JobTransition(job_id, state, at(seconds), attempt, **fields)


def replay(job: Job, transitions: Iterable[JobTransition]) -> Job:
    """What every store must hold: the domain rule folded over the transitions."""
    return functools.reduce(apply, (t for t in transitions if t.job_id == job.id), job)


def boom(job_id: str, seconds: float, attempt: int = 1, ms: float | None = 5.0) -> JobTransition:
    """A failed attempt with an error and (by default) a duration."""
    failure = {"error_type": "Boom", "error_message": "it broke", "duration_ms": ms}
    return step(job_id, F, seconds, attempt, **failure)


async def add_all(store: JobStore, *jobs: Job) -> None:
    for job in jobs:
        await store.add(job)


def ids(jobs: Iterable[Job]) -> list[str]:
    return [job.id for job in jobs]


# add, get


async def test_an_added_job_reads_back_unchanged(job_store: JobStore) -> None:
    job = a_job(payload={"to": "zoë@example.com", "deep": {"list": [1, 2.5, None, True, "ü"]}})
    await job_store.add(job)

    stored = await job_store.get("j0001")

    assert stored == job
    assert stored.created_at.tzinfo == UTC
    assert stored.transitions[0].at.tzinfo == UTC


async def test_a_bare_job_without_company_or_history_reads_back(job_store: JobStore) -> None:
    job = Job(id="j0001", queue=QueueName.REPORT, task="t", payload={}, created_at=T0)
    await job_store.add(job)

    assert await job_store.get("j0001") == job


async def test_adding_an_existing_id_is_a_conflict(job_store: JobStore) -> None:
    await job_store.add(a_job())

    with pytest.raises(Conflict):
        await job_store.add(a_job(task="another"))
    assert (await job_store.get("j0001")).task == "send_email"


async def test_an_unknown_job_is_not_found(job_store: JobStore) -> None:
    await job_store.add(a_job())

    with pytest.raises(NotFound):
        await job_store.get("j0002")


# record


async def test_transitions_apply_in_order_by_the_domain_rule(job_store: JobStore) -> None:
    job = a_job()
    await job_store.add(job)
    flaky = [
        step("j0001", A, 1, 1),
        boom("j0001", 2, 1, ms=12.5),
        step("j0001", R, 2.001, 1, retry_in_seconds=10.0),
        step("j0001", W, 12, 1),
        step("j0001", A, 13, 2),
        step("j0001", C, 14, 2, duration_ms=7.25),
    ]

    await job_store.record(flaky)

    stored = await job_store.get("j0001")
    assert stored == replay(job, flaky)
    assert (stored.state, stored.attempts, stored.finished_at) == (C, 2, at(14))
    assert (stored.error_type, stored.duration_ms) == ("Boom", 7.25)
    assert [t.state for t in stored.transitions] == [W, A, F, R, W, A, C]


async def test_a_requeued_dead_job_waits_again_without_a_finish_time(job_store: JobStore) -> None:
    job = a_job()
    await job_store.add(job)
    history = [step("j0001", A, 1), boom("j0001", 2), step("j0001", D, 2, error_type="Boom")]
    await job_store.record(history)
    assert (await job_store.get("j0001")).finished_at == at(2)

    requeue = [step("j0001", W, 60, 1)]
    await job_store.record(requeue)

    stored = await job_store.get("j0001")
    assert stored == replay(job, history + requeue)
    assert (stored.state, stored.finished_at, stored.error_type) == (W, None, "Boom")
    assert stored.error_message is None  # the dead transition carried none


async def test_only_a_dead_job_is_brought_back_and_only_once(job_store: JobStore) -> None:
    dead, waiting = a_job("j0001"), a_job("j0002")
    await add_all(job_store, dead, waiting)
    history = [step("j0001", A, 1), boom("j0001", 2), step("j0001", D, 2, error_type="Boom")]
    await job_store.record(history)

    first, second = step("j0001", W, 60, 1), step("j0001", W, 61, 1)
    assert await job_store.record_if_dead(first) is True
    assert await job_store.record_if_dead(second) is False
    assert await job_store.record_if_dead(step("j0002", W, 60, 0)) is False
    assert await job_store.record_if_dead(step("j9999", W, 60, 0)) is False

    assert await job_store.get("j0001") == replay(dead, [*history, first])
    assert await job_store.get("j0002") == waiting
    assert (await job_store.counts(QueueName.EMAIL))[W] == 2


async def test_of_two_racing_requeues_of_a_dead_job_exactly_one_wins(job_store: JobStore) -> None:
    await job_store.add(a_job())
    await job_store.record([step("j0001", A, 1), step("j0001", D, 2, error_type="Boom")])
    # Warm up: a networked client then holds a connection per racer, so neither waits to connect.
    await asyncio.gather(*(job_store.record_if_dead(step("j9999", W, 3)) for _ in range(2)))

    outcomes = await asyncio.gather(
        job_store.record_if_dead(step("j0001", W, 60)),
        job_store.record_if_dead(step("j0001", W, 60)),
    )

    assert sorted(outcomes) == [False, True]
    assert [t.state for t in (await job_store.get("j0001")).transitions].count(W) == 2


async def test_attempts_never_go_down(job_store: JobStore) -> None:
    job = a_job()
    await job_store.add(job)
    late = [step("j0001", A, 1, 3), step("j0001", W, 2, 1)]

    await job_store.record(late)

    assert (await job_store.get("j0001")).attempts == 3


async def test_only_failures_touch_the_errors_and_a_missing_duration_keeps_the_last(
    job_store: JobStore,
) -> None:
    job = a_job()
    await job_store.add(job)
    history = [
        boom("j0001", 1, ms=40.0),
        step("j0001", R, 2, error_type="Ignored", error_message="not a failure"),
        step("j0001", A, 3, 2),
        step("j0001", F, 4, 2),
    ]

    await job_store.record(history[:3])
    assert (await job_store.get("j0001")).error_type == "Boom"
    await job_store.record(history[3:])

    stored = await job_store.get("j0001")
    assert stored == replay(job, history)
    assert (stored.error_type, stored.error_message, stored.duration_ms) == (None, None, 40.0)


async def test_unknown_ids_are_skipped(job_store: JobStore) -> None:
    job = a_job()
    await job_store.add(job)
    batch = [step("gone", A, 1), step("j0001", A, 1), step("gone", C, 2, duration_ms=1.0)]

    await job_store.record(batch)

    assert await job_store.get("j0001") == replay(job, batch)
    with pytest.raises(NotFound):
        await job_store.get("gone")
    assert (await job_store.counts(QueueName.EMAIL))[C] == 0


async def test_an_empty_batch_changes_nothing(job_store: JobStore) -> None:
    await job_store.add(a_job())

    await job_store.record([])

    assert await job_store.get("j0001") == a_job()


async def test_a_batch_of_500_transitions_is_recorded_in_one_call(job_store: JobStore) -> None:
    jobs = [a_job(f"j{n:04d}", company_id=f"co-{n % 3}") for n in range(100)]
    await add_all(job_store, *jobs)
    rounds = [
        lambda i: step(i, A, 1, 1),
        lambda i: boom(i, 2, 1, ms=float(int(i[1:]) + 1)),
        lambda i: step(i, R, 3, 1, retry_in_seconds=1.5),
        lambda i: step(i, A, 4, 2),
        lambda i: step(i, C, 5, 2, duration_ms=float(int(i[1:]) + 101)),
    ]
    batch = [make(job.id) for make in rounds for job in jobs]  # interleaved across jobs
    assert len(batch) == 500

    await job_store.record(batch)

    for job in (jobs[0], jobs[57], jobs[99]):
        assert await job_store.get(job.id) == replay(job, batch)
    assert (await job_store.counts(QueueName.EMAIL))[C] == 100
    throughput = await job_store.throughput(QueueName.EMAIL, T0)
    assert (throughput.processed, throughput.failed) == (100, 100)
    assert throughput.p50_ms == pytest.approx(100.5)


# list


async def test_jobs_list_newest_first_with_one_extra_row(job_store: JobStore) -> None:
    await add_all(job_store, *(a_job(f"j{n:04d}") for n in (3, 1, 5, 2, 4)))

    newest_first = ["j0005", "j0004", "j0003", "j0002", "j0001"]
    assert ids(await job_store.list(PageRequest(limit=10))) == newest_first
    assert ids(await job_store.list(PageRequest(limit=2))) == ["j0005", "j0004", "j0003"]
    after = await job_store.list(PageRequest(limit=2, after="j0004"))
    assert ids(after) == ["j0003", "j0002", "j0001"]
    assert await job_store.list(PageRequest(limit=2, after="j0001")) == []


async def test_listed_jobs_are_whole_records(job_store: JobStore) -> None:
    job = a_job()
    await job_store.add(job)
    history = [step("j0001", A, 1), step("j0001", C, 2, duration_ms=3.5)]
    await job_store.record(history)

    assert list(await job_store.list(PageRequest())) == [replay(job, history)]


async def test_list_filters_by_queue_state_and_company(job_store: JobStore) -> None:
    await add_all(
        job_store,
        a_job("j0001", QueueName.EMAIL, "co-a"),
        a_job("j0002", QueueName.WEBHOOK, "co-a"),
        a_job("j0003", QueueName.EMAIL, "co-b"),
        a_job("j0004", QueueName.EMAIL, None),
        a_job("j0005", QueueName.EMAIL, "co-a"),
    )
    await job_store.record([step("j0005", A, 1), step("j0003", A, 1), step("j0002", A, 1)])
    page = PageRequest(limit=10)

    async def listed(**filters: Any) -> list[str]:
        return ids(await job_store.list(page, **filters))

    assert await listed(queue=QueueName.EMAIL) == ["j0005", "j0004", "j0003", "j0001"]
    assert await listed(state=A) == ["j0005", "j0003", "j0002"]
    assert await listed(company_id="co-a") == ["j0005", "j0002", "j0001"]
    assert await listed(queue=QueueName.EMAIL, state=W) == ["j0004", "j0001"]
    assert await listed(queue=QueueName.EMAIL, company_id="co-a") == ["j0005", "j0001"]
    assert await listed(state=A, company_id="co-a") == ["j0005", "j0002"]
    assert await listed(queue=QueueName.EMAIL, state=A, company_id="co-b") == ["j0003"]
    assert await listed(queue=QueueName.REPORT) == []
    assert await listed(company_id="co-z") == []


async def test_filtered_pages_cover_every_match_once(job_store: JobStore) -> None:
    await add_all(job_store, *(a_job(f"j{n:04d}", company_id=f"co-{n % 2}") for n in range(25)))
    await job_store.record([step(f"j{n:04d}", D, 1) for n in range(0, 25, 3)])
    expected = [f"j{n:04d}" for n in range(24, -1, -1) if n % 2 == 0 and n % 3 == 0]

    seen: list[str] = []
    page = PageRequest(limit=2)
    while True:
        rows = await job_store.list(page, state=D, company_id="co-0")
        seen += ids(rows[: page.limit])
        if len(rows) <= page.limit:
            break
        page = PageRequest(limit=2, after=rows[page.limit - 1].id)

    assert seen == expected


# counts


async def test_counts_give_every_state_zeros_included(job_store: JobStore) -> None:
    assert await job_store.counts(QueueName.EMAIL) == {state: 0 for state in JobState}


async def test_counts_follow_the_transitions_of_the_queue(job_store: JobStore) -> None:
    await add_all(
        job_store,
        *(a_job(f"j{n:04d}") for n in range(1, 6)),
        a_job("j0006", QueueName.WEBHOOK),
    )
    await job_store.record(
        [
            step("j0001", A, 1),
            step("j0002", A, 1),
            step("j0002", C, 2),
            step("j0003", A, 1),
            boom("j0003", 2),
            step("j0003", D, 2),
            step("j0004", A, 1),
            boom("j0004", 2),
            step("j0004", R, 2),
            step("j0006", A, 1),
        ]
    )

    assert await job_store.counts(QueueName.EMAIL) == {W: 1, A: 1, C: 1, F: 0, R: 1, D: 1}
    assert await job_store.counts(QueueName.WEBHOOK) == {W: 0, A: 1, C: 0, F: 0, R: 0, D: 0}


# throughput


async def test_throughput_counts_finished_attempts_at_or_after_since(job_store: JobStore) -> None:
    await add_all(job_store, *(a_job(f"j{n:04d}") for n in range(1, 5)))
    await add_all(job_store, a_job("j0009", QueueName.WEBHOOK))
    await job_store.record(
        [
            step("j0001", C, 5, duration_ms=999.0),  # before the window
            step("j0002", A, 9),
            step("j0002", C, 10, duration_ms=100.0),  # exactly at `since`: counted
            boom("j0003", 20, ms=300.0),
            step("j0003", R, 20),
            step("j0003", A, 30, 2),
            boom("j0003", 31, 2, ms=None),  # a failure with no duration still counts
            step("j0003", D, 31, 2),  # dead is not an attempt
            step("j0004", A, 40),  # still running
            step("j0009", C, 40, duration_ms=1.0),  # another queue
        ]
    )

    throughput = await job_store.throughput(QueueName.EMAIL, at(10))

    assert (throughput.processed, throughput.failed) == (1, 2)
    assert throughput.p50_ms == pytest.approx(200.0)
    assert throughput.p95_ms == pytest.approx(290.0)


async def test_counts_and_throughput_of_one_company_leave_the_others_out(
    job_store: JobStore,
) -> None:
    await add_all(
        job_store,
        a_job("j0001"),
        a_job("j0002"),
        a_job("j0003", company_id="co-b"),
        a_job("j0004", company_id=None),
    )
    await job_store.record(
        [
            step("j0001", A, 1),
            step("j0001", C, 2, duration_ms=10.0),
            step("j0003", A, 1),
            step("j0003", C, 2, duration_ms=30.0),
            step("j0004", A, 1),
            boom("j0004", 2),
        ]
    )

    mine = await job_store.counts(QueueName.EMAIL, company_id="co-a")
    everyone = await job_store.counts(QueueName.EMAIL)
    assert (mine[W], mine[C], mine[F]) == (1, 1, 0)
    assert (everyone[W], everyone[C], everyone[F]) == (1, 2, 1)
    throughput = await job_store.throughput(QueueName.EMAIL, T0, company_id="co-a")
    assert (throughput.processed, throughput.failed, throughput.p50_ms) == (1, 0, 10.0)
    assert (await job_store.throughput(QueueName.EMAIL, T0)).processed == 2
    assert (await job_store.counts(QueueName.EMAIL, company_id="co-c"))[W] == 0


async def test_throughput_percentiles_interpolate_between_ranks(job_store: JobStore) -> None:
    await add_all(job_store, *(a_job(f"j{n:04d}") for n in range(20)))
    await job_store.record(
        [step(f"j{n:04d}", C, 60 + n, duration_ms=float(20 - n)) for n in range(20)]
    )

    throughput = await job_store.throughput(QueueName.EMAIL, at(60))

    assert throughput == QueueThroughput(
        processed=20, failed=0, p50_ms=pytest.approx(10.5), p95_ms=pytest.approx(19.05)
    )


async def test_throughput_of_nothing_has_no_percentiles(job_store: JobStore) -> None:
    await job_store.add(a_job())
    await job_store.record([step("j0001", A, 1), boom("j0001", 2, ms=None)])

    assert await job_store.throughput(QueueName.REPORT, T0) == QueueThroughput(0, 0, None, None)
    assert await job_store.throughput(QueueName.EMAIL, T0) == QueueThroughput(0, 1, None, None)
    assert await job_store.throughput(QueueName.EMAIL, at(3)) == QueueThroughput(0, 0, None, None)


async def test_throughput_includes_finished_attempts_a_job_was_added_with(
    job_store: JobStore,
) -> None:
    done = step("j0001", C, 5, duration_ms=8.0)
    await job_store.add(a_job(transitions=(done,), state=C, finished_at=at(5), attempts=1))

    assert await job_store.throughput(QueueName.EMAIL, T0) == QueueThroughput(1, 0, 8.0, 8.0)


# retention: every store keeps a finished job for the retention; how it lets go differs


async def test_a_finished_job_is_kept_within_the_retention(
    job_store: JobStore, job_clock: FrozenClock, job_retention: timedelta
) -> None:
    await add_all(job_store, a_job("j0001"), a_job("j0002"))
    await job_store.record([step("j0001", C, 1), step("j0002", D, 1)])

    job_clock.advance(at(1) + job_retention - timedelta(seconds=1) - job_clock.now())

    assert (await job_store.get("j0001")).state == C
    assert ids(await job_store.list(PageRequest())) == ["j0002", "j0001"]
    assert (await job_store.counts(QueueName.EMAIL))[D] == 1


async def test_memory_forgets_finished_jobs_once_the_retention_passed() -> None:
    clock = FrozenClock(T0)
    store = InMemoryJobStore(clock, retention=timedelta(days=1))
    await add_all(store, *(a_job(f"j{n:04d}") for n in range(1, 5)))
    await store.record(
        [step("j0001", C, 1), step("j0002", D, 1), step("j0003", A, 1), step("j0004", D, 1)]
    )
    await store.record([step("j0004", W, 2)])  # requeued: no longer finished

    clock.advance(timedelta(days=1, seconds=1) - timedelta(milliseconds=1))
    assert len(await store.list(PageRequest())) == 4
    clock.advance(timedelta(milliseconds=1))

    assert ids(await store.list(PageRequest())) == ["j0004", "j0003"]
    with pytest.raises(NotFound):
        await store.get("j0001")
    assert await store.counts(QueueName.EMAIL) == {W: 1, A: 1, C: 0, F: 0, R: 0, D: 0}


async def test_redis_expires_a_finished_job_retention_after_it_finished(
    redis_client: Redis,
) -> None:
    store = redis_store(redis_client, timedelta(days=365))
    await add_all(store, a_job("j0001"), a_job("j0002"))

    await store.record([step("j0001", A, 1), step("j0002", D, 1)])
    assert await redis_client.pttl("t:job:j0001") == -1
    remaining_ms = await redis_client.pttl("t:job:j0002")
    assert 0 < remaining_ms <= timedelta(days=365) / timedelta(milliseconds=1)

    await store.record([step("j0002", W, 2)])  # requeued: kept for good again
    assert await redis_client.pttl("t:job:j0002") == -1


async def test_redis_skips_and_prunes_jobs_whose_record_expired(redis_client: Redis) -> None:
    """Finished in 2026-03 with one day of retention: expired already when recorded."""
    store = redis_store(redis_client, timedelta(days=1))
    await add_all(store, *(a_job(f"j{n:04d}", company_id="co-a") for n in range(1, 4)))

    await store.record([step("j0001", C, 1), step("j0002", D, 1), step("j0003", A, 1)])

    with pytest.raises(NotFound):
        await store.get("j0001")
    assert ids(await store.list(PageRequest(), company_id="co-a")) == ["j0003"]
    assert ids(await store.list(PageRequest(), state=D)) == []
    assert await store.counts(QueueName.EMAIL) == {W: 0, A: 1, C: 0, F: 0, R: 0, D: 0}
    assert await redis_client.zcard("t:jobs:expiring") == 0


async def test_redis_lists_past_a_record_that_vanished(redis_client: Redis) -> None:
    """A record may expire (or be evicted) before the indexes hear of it: list skips it."""
    store = redis_store(redis_client, timedelta(days=365))
    await add_all(store, *(a_job(f"j{n:04d}") for n in range(1, 6)))

    await redis_client.delete("t:job:j0004", "t:job:j0002")

    assert ids(await store.list(PageRequest(limit=2))) == ["j0005", "j0003", "j0001"]
    assert ids(await store.list(PageRequest(limit=1, after="j0005"))) == ["j0003", "j0001"]


def redis_store(client: Redis, retention: timedelta) -> RedisJobStore:
    from novapulse_adapters.redis import RedisJobStore

    return RedisJobStore(client, namespace="t", retention=retention)


async def test_redis_records_a_batch_of_500_in_one_round_trip(redis_client: Redis) -> None:
    from redis.asyncio import Redis

    class CountingRedis(Redis):
        """Counts the commands the client sends: each is one round trip."""

        sent = 0

        async def execute_command(self, *args: Any, **options: Any) -> Any:
            self.sent += 1
            return await super().execute_command(*args, **options)

    client = CountingRedis(connection_pool=redis_client.connection_pool)
    store = redis_store(client, timedelta(days=365))
    await add_all(store, *(a_job(f"j{n:04d}") for n in range(100)))
    await store.record([step("nobody", A, 0)])  # loads the script: later calls are one EVALSHA
    states = (A, C, W, A, C)
    batch = [step(f"j{n:04d}", s, i) for i, s in enumerate(states) for n in range(100)]

    client.sent = 0
    await store.record(batch)

    assert client.sent == 1
    assert (await store.counts(QueueName.EMAIL))[C] == 100


async def test_mongo_keeps_a_ttl_index_of_the_retention_on_finished_at(
    mongo_connection: MongoConnection,
) -> None:
    store = BeanieJobStore(retention=timedelta(days=3))
    await store.add(a_job())

    indexes = await JobDocument.get_pymongo_collection().index_information()

    ttl = indexes["finished_at_ttl"]
    assert ttl["key"] == [("finished_at", 1)]
    assert ttl["expireAfterSeconds"] == 3 * 24 * 3600


# Store calls in a trace: a span per call named by its port, a client span naming its database
# (`db.system.name`) on MongoDB and Redis, an internal one on the memory adapters.

SPAN_DATABASE = {"InMemoryJobStore": None, "RedisJobStore": "redis", "BeanieJobStore": "mongodb"}


async def test_a_store_call_in_a_trace_is_a_span_that_names_its_database(
    job_store: JobStore,
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    traced = TracedStore(job_store, tracer, "JobStore")

    with tracer.start_as_current_span("POST /api/v1/users"):
        await traced.add(a_job())  # type: ignore[attr-defined]

    (call,) = [s for s in spans.get_finished_spans() if s.name == "JobStore.add"]
    database = SPAN_DATABASE[type(job_store).__name__]
    assert call.attributes is not None
    assert call.attributes.get("db.system.name") == database
    assert call.kind is (SpanKind.INTERNAL if database is None else SpanKind.CLIENT)
    assert call.attributes["novapulse.store"] == "JobStore"
