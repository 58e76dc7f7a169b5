"""Dict-backed job records: the reference `JobStore`, safe to share between threads."""

from __future__ import annotations

import heapq
import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.jobs import (
    FINISHED,
    Job,
    JobState,
    JobTransition,
    QueueName,
    QueueThroughput,
    apply,
)
from novapulse_core.domain.paging import PageRequest
from novapulse_core.ports.system import Clock

__all__ = ["ATTEMPT_STATES", "InMemoryJobStore", "percentile", "throughput_of"]

ATTEMPT_STATES = frozenset({JobState.COMPLETED, JobState.FAILED})
"""The transitions that end an attempt, which `throughput` counts."""


def percentile(ordered: Sequence[float], share: float) -> float:
    """The `share` (0 to 1) percentile of sorted values, interpolated linearly between ranks."""
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def throughput_of(attempts: Iterable[tuple[JobState, float | None]]) -> QueueThroughput:
    """Summarise finished attempts given as (state, duration): every job store reports this way."""
    states: Counter[JobState] = Counter()
    durations: list[float] = []
    for state, duration in attempts:
        states[state] += 1
        if duration is not None:
            durations.append(duration)
    durations.sort()
    return QueueThroughput(
        processed=states[JobState.COMPLETED],
        failed=states[JobState.FAILED],
        p50_ms=percentile(durations, 0.50) if durations else None,
        p95_ms=percentile(durations, 0.95) if durations else None,
    )


class InMemoryJobStore:
    """`JobStore` in a dict, guarded by a lock: a worker thread writes while the API reads.

    Finished jobs are dropped lazily, at the next call, once `retention` has passed since
    their `finished_at` by `clock`.
    """

    def __init__(self, clock: Clock, retention: timedelta) -> None:
        self._clock = clock
        self._retention = retention
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._tally: Counter[tuple[QueueName, JobState]] = Counter()
        """Jobs by queue and state, kept as they change: `counts` reads it, not every job."""
        self._company_tally: Counter[tuple[str | None, QueueName, JobState]] = Counter()
        """The same by company too, for `counts` of one company."""
        self._finishing: list[tuple[datetime, str]] = []  # heap of (finished_at, id)

    async def add(self, job: Job) -> None:
        with self._lock:
            self._drop_expired()
            if job.id in self._jobs:
                raise Conflict("a job with this id exists")
            self._put(job)

    async def record(self, transitions: Sequence[JobTransition]) -> None:
        with self._lock:
            self._drop_expired()
            for transition in transitions:
                job = self._jobs.get(transition.job_id)
                if job is not None:
                    self._put(apply(job, transition))

    async def record_if_dead(self, transition: JobTransition) -> bool:
        with self._lock:
            self._drop_expired()
            job = self._jobs.get(transition.job_id)
            if job is None or job.state is not JobState.DEAD:
                return False
            self._put(apply(job, transition))
            return True

    async def get(self, job_id: str) -> Job:
        with self._lock:
            self._drop_expired()
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound("no such job")
        return job

    async def list(
        self,
        page: PageRequest,
        *,
        queue: QueueName | None = None,
        state: JobState | None = None,
        company_id: str | None = None,
    ) -> Sequence[Job]:
        with self._lock:
            self._drop_expired()
            rows = [
                job
                for job in self._jobs.values()
                if (page.after is None or job.id < page.after)
                and (queue is None or job.queue == queue)
                and (state is None or job.state == state)
                and (company_id is None or job.company_id == company_id)
            ]
        rows.sort(key=lambda job: job.id, reverse=True)
        return rows[: page.limit + 1]

    async def counts(
        self, queue: QueueName, *, company_id: str | None = None
    ) -> Mapping[JobState, int]:
        with self._lock:
            self._drop_expired()
            if company_id is None:
                return {state: self._tally[queue, state] for state in JobState}
            return {state: self._company_tally[company_id, queue, state] for state in JobState}

    async def throughput(
        self, queue: QueueName, since: datetime, *, company_id: str | None = None
    ) -> QueueThroughput:
        with self._lock:
            self._drop_expired()
            attempts = [
                (transition.state, transition.duration_ms)
                for job in self._jobs.values()
                if job.queue == queue and (company_id is None or job.company_id == company_id)
                for transition in job.transitions
                if transition.state in ATTEMPT_STATES and transition.at >= since
            ]
        return throughput_of(attempts)

    def _put(self, job: Job) -> None:
        before = self._jobs.get(job.id)
        if before is not None:
            self._tally[before.queue, before.state] -= 1
            self._company_tally[before.company_id, before.queue, before.state] -= 1
        self._tally[job.queue, job.state] += 1
        self._company_tally[job.company_id, job.queue, job.state] += 1
        self._jobs[job.id] = job
        if job.state in FINISHED and job.finished_at is not None:
            heapq.heappush(self._finishing, (job.finished_at, job.id))

    def _drop_expired(self) -> None:
        """Forget finished jobs past retention; heap entries of since-changed jobs are stale."""
        horizon = self._clock.now() - self._retention
        while self._finishing and self._finishing[0][0] <= horizon:
            finished_at, job_id = heapq.heappop(self._finishing)
            job = self._jobs.get(job_id)
            if job is not None and job.finished_at == finished_at and job.state in FINISHED:
                del self._jobs[job_id]
                self._tally[job.queue, job.state] -= 1
                self._company_tally[job.company_id, job.queue, job.state] -= 1
