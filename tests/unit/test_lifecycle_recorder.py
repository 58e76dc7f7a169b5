"""The lifecycle recorder writes transitions in batches: attempts ending together share one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.system import FrozenClock
from novapulse_core.domain.jobs import Job, JobState, JobTransition, QueueName
from novapulse_core.services.job_runner import LifecycleRecorder


class CountingStore(InMemoryJobStore):
    def __init__(self, clock: FrozenClock) -> None:
        super().__init__(clock, retention=timedelta(days=1))
        self.batches: list[list[JobState]] = []
        self.writing = asyncio.Event()
        self.open = asyncio.Event()
        self.open.set()

    async def record(self, transitions: Sequence[JobTransition]) -> None:
        self.batches.append([t.state for t in transitions])
        self.writing.set()
        await self.open.wait()
        await super().record(transitions)


async def _jobs(store: CountingStore, clock: FrozenClock, n: int) -> list[Job]:
    jobs = [Job(f"job-{i}", QueueName.REPORT, "t", {}, clock.now()) for i in range(n)]
    for job in jobs:
        await store.add(job)
    return jobs


async def test_attempts_that_end_in_the_same_turn_share_one_write() -> None:
    clock = FrozenClock()
    store = CountingStore(clock)
    recorder = LifecycleRecorder(store)
    jobs = await _jobs(store, clock, 3)

    async def attempt_ends(job: Job) -> None:
        recorder.observe(JobTransition(job.id, JobState.COMPLETED, clock.now(), 1))
        await recorder.flush()

    await asyncio.gather(*(attempt_ends(job) for job in jobs))

    assert store.batches == [[JobState.COMPLETED] * 3]
    assert [(await store.get(job.id)).state for job in jobs] == [JobState.COMPLETED] * 3


async def test_a_transition_observed_during_a_write_goes_in_the_next_one() -> None:
    clock = FrozenClock()
    store = CountingStore(clock)
    recorder = LifecycleRecorder(store)
    first, second = await _jobs(store, clock, 2)
    store.open.clear()
    recorder.observe(JobTransition(first.id, JobState.ACTIVE, clock.now(), 1))
    writing = asyncio.ensure_future(recorder.flush())
    await store.writing.wait()

    recorder.observe(JobTransition(second.id, JobState.ACTIVE, clock.now(), 1))
    next_write = asyncio.ensure_future(recorder.flush())
    store.open.set()
    await asyncio.gather(writing, next_write)

    assert store.batches == [[JobState.ACTIVE], [JobState.ACTIVE]]
    assert (await store.get(second.id)).state is JobState.ACTIVE
