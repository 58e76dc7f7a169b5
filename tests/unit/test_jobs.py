"""The job lifecycle in the core: enqueueing, running attempts, retries, dead letters, requeue."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType

import pytest

from novapulse_adapters.memory import FrozenClock, SequentialIds
from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.queue import InMemoryJobQueue
from novapulse_core import context
from novapulse_core.domain.access import Principal
from novapulse_core.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from novapulse_core.domain.identity import Role
from novapulse_core.domain.jobs import (
    DEFAULT_POLICIES,
    Backoff,
    BackoffKind,
    Job,
    JobState,
    JobTransition,
    Priority,
    QueueName,
)
from novapulse_core.domain.paging import PageRequest
from novapulse_core.services.job_runner import (
    Done,
    GiveUp,
    JobRunner,
    LifecycleRecorder,
    RetryLater,
)
from novapulse_core.services.jobs import JobService
from novapulse_core.services.tasks import TaskRegistry

ADMIN = Principal(user_id="u-admin", company_id="co-a", role=Role.ADMIN)
OTHER_ADMIN = Principal(user_id="u-other", company_id="co-b", role=Role.ADMIN)
MEMBER = Principal(user_id="u-member", company_id="co-a", role=Role.MEMBER)


class Flaky:
    """A handler that fails `failures` times with `error`, then succeeds."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or RuntimeError("smtp said 451")
        self.calls: list[Mapping[str, object]] = []

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.calls.append(payload)
        if len(self.calls) <= self.failures:
            raise self.error


class Jobs:
    """Job service and runner on memory adapters and a frozen clock; the test is the worker."""

    def __init__(self, handler: Flaky, store: InMemoryJobStore | None = None) -> None:
        self.clock = FrozenClock()
        self.store = store or InMemoryJobStore(self.clock, retention=timedelta(days=7))
        self.queue = InMemoryJobQueue()
        self.tasks = TaskRegistry()
        self.tasks.register("email.send", QueueName.EMAIL, handler)
        self.recorder = LifecycleRecorder(self.store)
        self.service = JobService(
            self.store, self.queue, self.tasks, SequentialIds("job"), self.clock, DEFAULT_POLICIES
        )
        self.runner = JobRunner(
            self.tasks, self.recorder, self.clock, DEFAULT_POLICIES, spread=lambda: 0.0
        )

    async def work_once(self) -> object:
        """Fetch one message, run it, and do what the broker would with the outcome."""
        message = self.queue.take()
        retries = 0
        while True:
            outcome = await self.runner.run(
                message.job.id,
                message.job.task,
                message.job.payload,
                attempt=message.attempt_offset + retries + 1,
                retries=retries,
            )
            await self.recorder.flush()
            if isinstance(outcome, RetryLater):
                self.clock.advance(outcome.delay_seconds)
                retries += 1
                continue
            if isinstance(outcome, GiveUp):
                self.queue.kill(message)
            return outcome


async def test_an_enqueued_job_is_recorded_waiting_with_its_request_id() -> None:
    jobs = Jobs(Flaky())
    token = context.request_id.set("req-42")
    try:
        job = await jobs.service.enqueue("email.send", {"to": "a@b.example"}, company_id="co-a")
    finally:
        context.request_id.reset(token)

    stored = await jobs.store.get(job.id)
    assert stored.state is JobState.WAITING
    assert stored.request_id == "req-42"
    assert stored.queue is QueueName.EMAIL
    assert [e.job.id for e in jobs.queue.waiting] == [job.id]


async def test_an_unknown_task_is_invalid_and_records_nothing() -> None:
    jobs = Jobs(Flaky())
    with pytest.raises(Invalid):
        await jobs.service.enqueue("no.such.task", {})
    assert list(await jobs.store.list(PageRequest())) == []


def _nested(levels: int) -> object:
    value: object = "bottom"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"n": 2**63}, "does not fit in 64 bits"),
        ({"n": -(2**63) - 1}, "does not fit in 64 bits"),
        ({"ratio": float("nan")}, "not a JSON number"),
        ({"limits": [1.0, float("inf")]}, "not a JSON number"),
        ({"by_id": {7: "seven"}}, "is not a string"),
        ({"when": timedelta(seconds=1)}, "timedelta is not JSON"),
        ({"tags": {"a", "b"}}, "set is not JSON"),
        ({"inner": MappingProxyType({"a": 1})}, "mappingproxy is not JSON"),
        ({"by_name": {"a\0b": 1}}, "holds a NUL character"),
        ({"deep": _nested(40)}, "deeper than 32 levels"),
    ],
)
async def test_a_payload_no_store_keeps_as_it_is_is_invalid_and_records_nothing(
    payload: dict[str, object], problem: str
) -> None:
    jobs = Jobs(Flaky())
    with pytest.raises(Invalid, match=problem):
        await jobs.service.enqueue("email.send", payload, company_id="co-a")
    assert list(await jobs.store.list(PageRequest())) == []
    assert jobs.queue.waiting == []


async def test_a_json_payload_at_the_edges_is_queued_as_it_is() -> None:
    payload = {
        "n": [2**63 - 1, -(2**63)],
        "x": 1.5e308,
        "ok": True,
        "none": None,
        "deep": _nested(30),
        "text": "é\u0000",
    }
    jobs = Jobs(Flaky())
    job = await jobs.service.enqueue("email.send", payload, company_id="co-a")
    assert (await jobs.store.get(job.id)).payload == payload


class AnswerLost(InMemoryJobStore):
    """Stores a new job, then fails as if its answer had been lost on the way."""

    async def add(self, job: Job) -> None:
        await super().add(job)
        raise Unavailable("Redis cannot be reached right now; try again shortly")


async def test_a_job_whose_add_answer_was_lost_is_left_dead_to_requeue_not_waiting() -> None:
    clock = FrozenClock()
    jobs = Jobs(Flaky(), store=AnswerLost(clock, retention=timedelta(days=7)))

    with pytest.raises(Unavailable):
        await jobs.service.enqueue("email.send", {}, company_id="co-a")

    (job,) = await jobs.store.list(PageRequest())
    assert job.state is JobState.DEAD
    assert (job.error_message or "").startswith("the job store did not answer")
    assert jobs.queue.waiting == []
    await jobs.service.requeue(ADMIN, job.id)
    assert [m.job.id for m in jobs.queue.waiting] == [job.id]


async def test_a_broker_that_cannot_be_reached_leaves_the_job_dead_with_the_reason() -> None:
    jobs = Jobs(Flaky())
    jobs.queue.fail_next()

    with pytest.raises(Unavailable):
        await jobs.service.enqueue("email.send", {}, company_id="co-a")

    (job,) = await jobs.store.list(PageRequest())
    assert job.state is JobState.DEAD
    assert job.error_type == "Unavailable"
    assert "broker" in (job.error_message or "")


async def test_a_job_walks_waiting_active_completed() -> None:
    jobs = Jobs(Flaky())
    job = await jobs.service.enqueue("email.send", {"n": 1}, company_id="co-a")
    jobs.clock.advance(2)

    assert await jobs.work_once() == Done()

    stored = await jobs.store.get(job.id)
    assert [t.state for t in stored.transitions] == [
        JobState.WAITING,
        JobState.ACTIVE,
        JobState.COMPLETED,
    ]
    assert stored.attempts == 1
    assert stored.finished_at == jobs.clock.now()


async def test_a_flaky_job_retries_with_exponential_backoff_then_completes() -> None:
    handler = Flaky(failures=2)
    jobs = Jobs(handler)
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")

    assert await jobs.work_once() == Done()

    stored = await jobs.store.get(job.id)
    assert [t.state for t in stored.transitions] == [
        JobState.WAITING,
        *[JobState.ACTIVE, JobState.FAILED, JobState.RETRYING] * 2,
        JobState.ACTIVE,
        JobState.COMPLETED,
    ]
    delays = [t.retry_in_seconds for t in stored.transitions if t.state is JobState.RETRYING]
    base = DEFAULT_POLICIES[QueueName.EMAIL].backoff.base_seconds
    assert delays == [base / 2, base]  # equal jitter at spread 0: half of 1x, then of 2x
    assert stored.attempts == 3
    assert len(handler.calls) == 3


async def test_a_job_that_always_fails_is_dead_after_its_last_retry() -> None:
    jobs = Jobs(Flaky(failures=100))
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")

    assert await jobs.work_once() == GiveUp()

    stored = await jobs.store.get(job.id)
    retries = DEFAULT_POLICIES[QueueName.EMAIL].max_retries
    assert stored.state is JobState.DEAD
    assert stored.attempts == retries + 1
    assert [t.state for t in stored.transitions][-2:] == [JobState.FAILED, JobState.DEAD]
    assert stored.error_type == "RuntimeError"
    assert stored.error_message == "smtp said 451"
    assert [e.job.id for e in jobs.queue.dead] == [job.id]


@pytest.mark.parametrize("error", [Invalid("bad address"), NotFound("user gone")])
async def test_an_error_a_retry_cannot_cure_goes_straight_to_dead(error: Exception) -> None:
    jobs = Jobs(Flaky(failures=1, error=error))
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")

    assert await jobs.work_once() == GiveUp()

    stored = await jobs.store.get(job.id)
    assert [t.state for t in stored.transitions] == [
        JobState.WAITING,
        JobState.ACTIVE,
        JobState.FAILED,
        JobState.DEAD,
    ]
    assert stored.attempts == 1


async def test_a_requeued_dead_job_carries_on_counting_attempts_and_can_complete() -> None:
    handler = Flaky(failures=DEFAULT_POLICIES[QueueName.EMAIL].max_retries + 1)
    jobs = Jobs(handler)
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")
    await jobs.work_once()

    requeued = await jobs.service.requeue(ADMIN, job.id)

    assert requeued.state is JobState.WAITING
    assert jobs.queue.dead == []
    assert await jobs.work_once() == Done()
    stored = await jobs.store.get(job.id)
    assert stored.state is JobState.COMPLETED
    assert stored.attempts == DEFAULT_POLICIES[QueueName.EMAIL].max_retries + 2


async def test_only_dead_jobs_are_requeued() -> None:
    jobs = Jobs(Flaky())
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")
    with pytest.raises(Conflict):
        await jobs.service.requeue(ADMIN, job.id)


class InterleavedReads(InMemoryJobStore):
    """Every read lets other tasks run, as a store across a network does."""

    async def get(self, job_id: str) -> Job:
        await asyncio.sleep(0)
        return await super().get(job_id)


async def test_two_concurrent_requeues_of_one_dead_job_enqueue_it_once() -> None:
    clock = FrozenClock()
    jobs = Jobs(Flaky(failures=1, error=Invalid("bad")), InterleavedReads(clock, timedelta(days=1)))
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")
    await jobs.work_once()

    outcomes = await asyncio.gather(
        jobs.service.requeue(ADMIN, job.id),
        jobs.service.requeue(ADMIN, job.id),
        return_exceptions=True,
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Job"]
    assert [e.job.id for e in jobs.queue.waiting] == [job.id]
    stored = await jobs.store.get(job.id)
    assert [t.state for t in stored.transitions].count(JobState.WAITING) == 2


async def test_requeue_dead_sends_back_every_dead_job_of_the_company_on_the_queue() -> None:
    jobs = Jobs(Flaky(failures=1, error=Invalid("bad")))
    mine = await jobs.service.enqueue("email.send", {}, company_id="co-a")
    await jobs.work_once()
    theirs = await jobs.service.enqueue("email.send", {}, company_id="co-b")
    jobs.queue.fail_next()  # dead through the broker, not through the worker
    with pytest.raises(Unavailable):
        await jobs.service.enqueue("email.send", {}, company_id="co-b")

    assert await jobs.service.requeue_dead(ADMIN, QueueName.EMAIL) == 1

    assert (await jobs.store.get(mine.id)).state is JobState.WAITING
    assert (await jobs.store.get(theirs.id)).state is JobState.WAITING
    dead_of_b = await jobs.service.list(OTHER_ADMIN, PageRequest(), state=JobState.DEAD)
    assert len(dead_of_b.items) == 1


async def test_a_requeue_the_broker_cannot_take_leaves_the_job_dead_to_requeue_later() -> None:
    jobs = Jobs(Flaky(failures=1, error=Invalid("bad")))
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")
    await jobs.work_once()
    jobs.queue.fail_next()  # the broker is down when the dead letter is discarded

    with pytest.raises(Unavailable):
        await jobs.service.requeue(ADMIN, job.id)

    assert (await jobs.store.get(job.id)).state is JobState.DEAD
    assert (await jobs.service.requeue(ADMIN, job.id)).state is JobState.WAITING
    assert [e.job.id for e in jobs.queue.waiting] == [job.id]


async def test_requeue_dead_leaves_every_job_the_broker_could_not_take_dead_again() -> None:
    jobs = Jobs(Flaky(failures=3, error=Invalid("bad")))
    dead = [await jobs.service.enqueue("email.send", {}, company_id="co-a") for _ in range(3)]
    for _ in dead:
        await jobs.work_once()
    jobs.queue.fail_next()  # the broker is down for the one pass over its dead letters

    with pytest.raises(Unavailable):
        await jobs.service.requeue_dead(ADMIN, QueueName.EMAIL)

    assert {(await jobs.store.get(j.id)).state for j in dead} == {JobState.DEAD}
    assert await jobs.service.requeue_dead(ADMIN, QueueName.EMAIL) == 3
    assert sorted(e.job.id for e in jobs.queue.waiting) == sorted(j.id for j in dead)


async def test_a_company_never_sees_or_requeues_another_companys_job() -> None:
    jobs = Jobs(Flaky())
    job = await jobs.service.enqueue("email.send", {}, company_id="co-b")

    with pytest.raises(NotFound):
        await jobs.service.get(ADMIN, job.id)
    with pytest.raises(NotFound):
        await jobs.service.requeue(ADMIN, job.id)
    assert (await jobs.service.list(ADMIN, PageRequest())).items == []


async def test_members_cannot_use_the_dashboard() -> None:
    jobs = Jobs(Flaky())
    with pytest.raises(Forbidden):
        await jobs.service.status(MEMBER)
    with pytest.raises(Forbidden):
        await jobs.service.list(MEMBER, PageRequest())


async def test_the_dashboard_shows_every_queue_with_depth_states_and_throughput() -> None:
    jobs = Jobs(Flaky(failures=1, error=Invalid("bad")))
    await jobs.service.enqueue("email.send", {}, company_id="co-a")
    await jobs.work_once()
    await jobs.service.enqueue("email.send", {}, company_id="co-a")

    statuses = {s.policy.queue: s for s in await jobs.service.status(ADMIN)}

    assert set(statuses) == set(QueueName)
    email = statuses[QueueName.EMAIL]
    assert (email.depth.waiting, email.depth.dead) == (1, 1)
    assert email.states[JobState.WAITING] == 1
    assert email.states[JobState.DEAD] == 1
    assert email.last_minute.failed == 1
    assert email.last_minute.failure_rate == 1.0


async def test_the_dashboard_counts_only_the_callers_companys_jobs() -> None:
    jobs = Jobs(Flaky(failures=1, error=Invalid("bad")))
    await jobs.service.enqueue("email.send", {}, company_id="co-b")
    await jobs.work_once()  # co-b's job dies: a failed attempt and a dead job of co-b
    await jobs.service.enqueue("email.send", {}, company_id="co-a")

    mine = {s.policy.queue: s for s in await jobs.service.status(ADMIN)}[QueueName.EMAIL]
    theirs = {s.policy.queue: s for s in await jobs.service.status(OTHER_ADMIN)}[QueueName.EMAIL]

    assert (mine.states[JobState.WAITING], mine.states[JobState.DEAD]) == (1, 0)
    assert mine.last_minute.failed == 0
    assert (theirs.states[JobState.WAITING], theirs.states[JobState.DEAD]) == (0, 1)
    assert theirs.last_minute.failed == 1
    assert mine.depth == theirs.depth  # the broker's queues are shared


def test_the_default_policies_are_the_seeds_queue_table() -> None:
    seed = {
        QueueName.EMAIL: (Priority.HIGH, 5, 5, BackoffKind.EXPONENTIAL),
        QueueName.WEBHOOK: (Priority.MEDIUM, 10, 3, BackoffKind.EXPONENTIAL),
        QueueName.WORKFLOW: (Priority.MEDIUM, 3, 3, BackoffKind.EXPONENTIAL),
        QueueName.REPORT: (Priority.LOW, 2, 2, BackoffKind.FIXED),
    }
    assert {
        queue: (p.priority, p.concurrency, p.max_retries, p.backoff.kind)
        for queue, p in DEFAULT_POLICIES.items()
    } == seed


def test_exponential_backoff_doubles_up_to_its_bound_and_fixed_stays_put() -> None:
    exponential = Backoff(BackoffKind.EXPONENTIAL, base_seconds=10, max_seconds=60)
    assert [exponential.delay(n, spread=0.999999) for n in (1, 2, 3, 4, 5)] == pytest.approx(
        [10, 20, 40, 60, 60], rel=1e-5
    )
    assert [exponential.delay(n, spread=0.0) for n in (1, 2, 3)] == [5, 10, 20]
    fixed = Backoff(BackoffKind.FIXED, base_seconds=30, max_seconds=60)
    assert {fixed.delay(n, spread=0.7) for n in range(1, 6)} == {30}


class RefusingOnce(InMemoryJobStore):
    """A job store that is down for the first batch it is given, then back."""

    refusals = 1

    async def record(self, transitions: Sequence[JobTransition]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise Unavailable("down")
        await super().record(transitions)


async def test_the_recorder_keeps_a_batch_the_store_refused_and_writes_it_later() -> None:
    jobs = Jobs(Flaky(), store=RefusingOnce(FrozenClock(), retention=timedelta(days=7)))
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")
    await jobs.runner.run(job.id, job.task, job.payload, attempt=1, retries=0)

    assert (await jobs.store.get(job.id)).state is JobState.WAITING  # the run's write refused
    await jobs.recorder.flush()
    assert (await jobs.store.get(job.id)).state is JobState.COMPLETED


async def test_an_attempt_is_written_to_the_store_before_its_outcome_is_returned() -> None:
    """The broker acknowledges a message after the outcome: a worker killed in between must
    leave a job that is delivered again, not a record stuck at active."""
    jobs = Jobs(Flaky())
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")

    await jobs.runner.run(job.id, job.task, job.payload, attempt=1, retries=0)

    assert (await jobs.store.get(job.id)).state is JobState.COMPLETED


async def test_an_attempt_cut_short_by_a_time_limit_is_recorded_not_left_active() -> None:
    async def endless(payload: Mapping[str, object]) -> None:
        await asyncio.sleep(3600)

    jobs = Jobs(Flaky())
    jobs.tasks.register("report.build", QueueName.REPORT, endless)
    job = await jobs.service.enqueue("report.build", {}, company_id="co-a")
    attempt = asyncio.ensure_future(
        jobs.runner.run(job.id, job.task, job.payload, attempt=1, retries=0)
    )
    await asyncio.sleep(0)
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt

    stored = await jobs.store.get(job.id)
    assert [t.state for t in stored.transitions][-3:] == [
        JobState.ACTIVE,
        JobState.FAILED,
        JobState.RETRYING,
    ]
    assert stored.error_type == "TimeoutError"
