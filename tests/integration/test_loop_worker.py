"""Jobs run as tasks on the worker group's event loop: at most the queue's concurrency at once,
cut short by the time limit, and a stop that finishes or hands back every job."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from novapulse_core.domain.jobs import Job, JobState, QueueName
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.worker import WorkerGroup

from .conftest import make_settings
from .job_servers import eventually

REPORT_CONCURRENCY = 2


def _services(**overrides: str) -> composition.Container:
    return composition.build_container(
        make_settings(
            NOVAPULSE_QUEUE_REPORT_CONCURRENCY=str(REPORT_CONCURRENCY),
            NOVAPULSE_QUEUE_REPORT_MAX_RETRIES="1",
            NOVAPULSE_QUEUE_REPORT_BACKOFF_BASE_SECONDS="0.01",
            **overrides,
        )
    )


def _started(services: composition.Container, **options: Any) -> WorkerGroup:
    group: WorkerGroup = services.worker_group(queues=[QueueName.REPORT], **options)
    group.start(prepare=lambda: composition.start(services))
    return group


def _on_loop(group: WorkerGroup, coroutine: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, group.loop).result()


def _enqueue(group: WorkerGroup, services: composition.Container, task: str, n: int) -> list[Job]:
    return [_on_loop(group, services.jobs().enqueue(task, {"n": i})) for i in range(n)]


def _states(group: WorkerGroup, services: composition.Container) -> Mapping[JobState, int]:
    counts = _on_loop(group, services.job_store().counts(QueueName.REPORT))
    return {state: n for state, n in counts.items() if n}


class Overlap:
    """A handler that notes how many of its calls run at the same time."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1


def test_a_queue_runs_at_most_its_concurrency_of_jobs_at_once() -> None:
    services, overlap = _services(), Overlap()
    services.tasks().register("test.overlap", QueueName.REPORT, overlap)
    group = _started(services)
    try:
        _enqueue(group, services, "test.overlap", 10)
        eventually(
            lambda: _states(group, services),
            lambda states: states == {JobState.COMPLETED: 10},
            "every job completes",
        )
    finally:
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert overlap.most == REPORT_CONCURRENCY


async def _never_ends(payload: Mapping[str, object]) -> None:
    await asyncio.Event().wait()


def test_an_attempt_past_the_time_limit_is_cut_short_retried_and_then_dead() -> None:
    services = _services()
    services.tasks().register("test.stuck", QueueName.REPORT, _never_ends)
    group = _started(services, time_limit_seconds=0.1)
    try:
        (job,) = _enqueue(group, services, "test.stuck", 1)
        eventually(
            lambda: _states(group, services), lambda s: s == {JobState.DEAD: 1}, "the job dies"
        )
        record = _on_loop(group, services.job_store().get(job.id))
    finally:
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert [(t.state, t.attempt) for t in record.transitions] == [
        (JobState.WAITING, 0),
        (JobState.ACTIVE, 1),
        (JobState.FAILED, 1),
        (JobState.RETRYING, 1),
        (JobState.ACTIVE, 2),
        (JobState.FAILED, 2),
        (JobState.DEAD, 2),
    ]
    assert record.error_type == "TimeoutError"
    assert _on_loop_free(services).dead == 1


def _on_loop_free(services: composition.Container) -> Any:
    return asyncio.run(services.job_queue().depth(QueueName.REPORT))


class FirstCallsHang:
    """Hangs on its first `hanging` calls (until cancelled), returns at once afterwards."""

    def __init__(self, hanging: int) -> None:
        self.hanging = hanging
        self.calls = 0

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.calls += 1
        if self.calls <= self.hanging:
            await asyncio.Event().wait()


def test_a_stop_hands_running_and_waiting_jobs_back_and_the_next_group_completes_them() -> None:
    services, handler = _services(), FirstCallsHang(REPORT_CONCURRENCY)
    services.tasks().register("test.hangs", QueueName.REPORT, handler)
    group = _started(services)
    jobs = _enqueue(group, services, "test.hangs", 5)
    eventually(
        lambda: _states(group, services),
        lambda s: s.get(JobState.ACTIVE) == REPORT_CONCURRENCY,
        "two jobs run",
    )
    group.stop(0.2)

    assert _on_loop_free(services).waiting == 5
    again = _started(services)
    try:
        eventually(
            lambda: _states(again, services),
            lambda s: s == {JobState.COMPLETED: 5},
            "the next group completes every job",
        )
        cut_short = [_on_loop(again, services.job_store().get(job.id)) for job in jobs[:2]]
    finally:
        again.stop(5, cleanup=lambda: composition.stop(services))
    for record in cut_short:
        assert [t.state for t in record.transitions] == [
            JobState.WAITING,
            JobState.ACTIVE,
            JobState.FAILED,
            JobState.RETRYING,
            JobState.ACTIVE,
            JobState.COMPLETED,
        ]
    assert handler.calls == 7
