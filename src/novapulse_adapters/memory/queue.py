"""A job queue that only remembers: the reference `JobQueue` and a test double for services."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from novapulse_core.domain.errors import Unavailable
from novapulse_core.domain.jobs import Job, QueueDepth, QueueName


@attrs.frozen
class Enqueued:
    job: Job
    attempt_offset: int


class InMemoryJobQueue:
    """Keeps what was enqueued in `waiting` (nothing runs it). Tests move messages with
    `take`, `kill` (to the dead letters) and make the broker fail with `fail_next`."""

    def __init__(self) -> None:
        self.waiting: list[Enqueued] = []
        self.dead: list[Enqueued] = []
        self._failures = 0

    def fail_next(self, count: int = 1) -> None:
        self._failures += count

    async def enqueue(self, job: Job, *, attempt_offset: int = 0) -> None:
        if self._failures:
            self._failures -= 1
            raise Unavailable("the in-memory broker was told to fail")
        self.waiting.append(Enqueued(job, attempt_offset))

    async def depth(self, queue: QueueName) -> QueueDepth:
        return QueueDepth(
            waiting=sum(1 for e in self.waiting if e.job.queue is queue),
            delayed=0,
            dead=sum(1 for e in self.dead if e.job.queue is queue),
        )

    async def discard_dead(self, queue: QueueName, job_ids: Collection[str]) -> None:
        if self._failures:
            self._failures -= 1
            raise Unavailable("the in-memory broker was told to fail")
        wanted = set(job_ids)
        self.dead = [e for e in self.dead if not (e.job.queue is queue and e.job.id in wanted)]

    def take(self) -> Enqueued:
        """The oldest waiting message, removed (as a worker would fetch it)."""
        return self.waiting.pop(0)

    def kill(self, message: Enqueued) -> None:
        """Put a taken message in the dead letters (as the broker does when a job gives up)."""
        self.dead.append(message)
