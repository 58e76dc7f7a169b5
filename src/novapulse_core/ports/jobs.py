"""The job broker and the job records (the seed's "MongoDB (Logs)")."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from novapulse_core.domain.jobs import (
    Job,
    JobState,
    JobTransition,
    QueueDepth,
    QueueName,
    QueueThroughput,
)
from novapulse_core.domain.paging import PageRequest


class JobQueue(Protocol):
    """Hands jobs to workers through a broker, at least once.

    `enqueue` puts a message for the job on its queue, carrying `attempt_offset` (attempts the
    job already had before this message, so numbering continues after a requeue); it raises
    `Unavailable` when the broker cannot be reached. `depth` counts the queue's messages that
    wait, wait for a delayed retry, or sit in the dead-letter queue. `discard_dead` removes the
    messages of the jobs among `job_ids` from the dead-letter queue, in one pass over it (it is
    the whole installation's), and ignores ids it does not hold.
    """

    async def enqueue(self, job: Job, *, attempt_offset: int = 0) -> None: ...

    async def depth(self, queue: QueueName) -> QueueDepth: ...

    async def discard_dead(self, queue: QueueName, job_ids: Collection[str]) -> None: ...


class JobStore(Protocol):
    """Job records and their transitions, shared by the API and every worker process.

    `add` stores a new job and raises `Conflict` for an existing id. `record` applies
    transitions in the order given with `novapulse_core.domain.jobs.apply`, skipping ids it
    does not hold (a record may have expired). `record_if_dead` applies one transition only
    while its job is dead, atomically, and says whether it did: of two concurrent requeues of
    one dead job exactly one wins. `get` raises `NotFound`. `list` returns up to
    `page.limit + 1` jobs, newest first (ids below `page.after`), filtered by queue, state and
    company when given. `counts` gives every state of the queue, zeros included. `throughput`
    counts the attempts that completed and failed at or after `since`, with the 50th and 95th
    percentile of their durations (None when there is none). Both count one company's jobs
    when `company_id` is given, every job otherwise. Finished jobs (completed or dead)
    may disappear once the retention the adapter was built with has passed since they finished.
    """

    async def add(self, job: Job) -> None: ...

    async def record(self, transitions: Sequence[JobTransition]) -> None: ...

    async def record_if_dead(self, transition: JobTransition) -> bool: ...

    async def get(self, job_id: str) -> Job: ...

    async def list(
        self,
        page: PageRequest,
        *,
        queue: QueueName | None = None,
        state: JobState | None = None,
        company_id: str | None = None,
    ) -> Sequence[Job]: ...

    async def counts(
        self, queue: QueueName, *, company_id: str | None = None
    ) -> Mapping[JobState, int]: ...

    async def throughput(
        self, queue: QueueName, since: datetime, *, company_id: str | None = None
    ) -> QueueThroughput: ...
