"""Enqueueing jobs, the queue dashboard, and requeueing dead jobs."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import timedelta

import attrs

from novapulse_core import context
from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.errors import Conflict, Invalid, NotFound, Unavailable
from novapulse_core.domain.jobs import (
    Job,
    JobState,
    JobTransition,
    QueueDepth,
    QueueName,
    QueuePolicy,
    QueueThroughput,
    payload_problem,
)
from novapulse_core.domain.paging import Page, PageRequest, page_from
from novapulse_core.ports import Clock, IdGenerator, JobQueue, JobStore
from novapulse_core.services.tasks import TaskRegistry

_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)


@attrs.frozen
class QueueStatus:
    policy: QueuePolicy
    depth: QueueDepth
    states: Mapping[JobState, int]
    last_minute: QueueThroughput
    last_hour: QueueThroughput


class JobService:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        tasks: TaskRegistry,
        ids: IdGenerator,
        clock: Clock,
        policies: Mapping[QueueName, QueuePolicy],
    ) -> None:
        self._store = store
        self._queue = queue
        self._tasks = tasks
        self._ids = ids
        self._clock = clock
        self._policies = policies

    async def enqueue(
        self, task: str, payload: Mapping[str, object], *, company_id: str | None = None
    ) -> Job:
        """Record the job as waiting, then hand it to the broker.

        A payload that is not JSON every store keeps (see `payload_problem`) is `Invalid`. A
        broker that cannot be reached leaves the record dead with the reason, so nothing is
        lost: it can be requeued once the broker is back. The caller gets `Unavailable`. So
        does a store that did not answer the add, which may have stored the record all the
        same (its answer was lost): if the store answers again at once, such a record is left
        dead too, not waiting for a message that never comes.
        """
        queue = self._tasks.get(task).queue
        data = dict(payload)
        problem = payload_problem(data)
        if problem is not None:
            raise Invalid(
                f"the job's payload cannot be queued: {problem}", extra={"field": "payload"}
            )
        now = self._clock.now()
        job_id = self._ids.new_id()
        job = Job(
            id=job_id,
            queue=queue,
            task=task,
            payload=data,
            created_at=now,
            updated_at=now,
            company_id=company_id,
            request_id=context.request_id.get(),
            transitions=(JobTransition(job_id, JobState.WAITING, now, 0),),
        )
        try:
            await self._store.add(job)
        except Unavailable as error:
            with contextlib.suppress(Unavailable):
                await self._store.record(
                    self._undeliverable(job, error, cause="the job store did not answer")
                )
            raise
        try:
            await self._queue.enqueue(job)
        except Unavailable as error:
            await self._store.record(self._undeliverable(job, error))
            raise
        return job

    async def get(self, actor: Principal, job_id: str) -> Job:
        authorize(actor, Permission.MANAGE_JOBS)
        job = await self._store.get(job_id)
        if job.company_id != actor.company_id:
            raise NotFound("no such job")
        return job

    async def list(
        self,
        actor: Principal,
        page: PageRequest,
        *,
        queue: QueueName | None = None,
        state: JobState | None = None,
    ) -> Page[Job]:
        authorize(actor, Permission.MANAGE_JOBS)
        rows = await self._store.list(page, queue=queue, state=state, company_id=actor.company_id)
        return page_from(rows, page)

    async def status(self, actor: Principal) -> Sequence[QueueStatus]:
        """Every queue's policy and depth on the broker (the installation's: the queues are
        shared), and the states and throughput of the caller's company's jobs on it (another
        company's activity is none of its business)."""
        authorize(actor, Permission.MANAGE_JOBS)
        now, company = self._clock.now(), actor.company_id
        statuses = []
        for name, policy in self._policies.items():
            statuses.append(
                QueueStatus(
                    policy=policy,
                    depth=await self._queue.depth(name),
                    states=await self._store.counts(name, company_id=company),
                    last_minute=await self._store.throughput(
                        name, now - _MINUTE, company_id=company
                    ),
                    last_hour=await self._store.throughput(name, now - _HOUR, company_id=company),
                )
            )
        return statuses

    async def requeue(self, actor: Principal, job_id: str) -> Job:
        """Send a dead job back to its queue; its attempt numbers carry on from where they were.

        The record turns waiting only if it is still dead: of two concurrent requeues one wins
        and enqueues, the other gets `Conflict`, so the job is never enqueued twice."""
        job = await self.get(actor, job_id)
        if not await self._claim_requeue(job):
            current = (await self._store.get(job.id)).state
            raise Conflict(f"only dead jobs can be requeued; this one is {current.value}")
        await self._send_back(job.queue, [job])
        return await self._store.get(job.id)

    async def requeue_dead(self, actor: Principal, queue: QueueName) -> int:
        """Requeue every dead job of the caller's company on `queue`; returns how many this call
        requeued (one requeued meanwhile by another caller is not counted twice)."""
        authorize(actor, Permission.MANAGE_JOBS)
        dead: list[Job] = []
        page = PageRequest(limit=200)
        while True:
            rows = await self._store.list(
                page, queue=queue, state=JobState.DEAD, company_id=actor.company_id
            )
            dead.extend(rows[: page.limit])
            if len(rows) <= page.limit:
                break
            page = PageRequest(limit=page.limit, after=rows[page.limit - 1].id)
        won = [job for job in dead if await self._claim_requeue(job)]  # not meanwhile by others
        await self._send_back(queue, won)
        return len(won)

    async def _claim_requeue(self, job: Job) -> bool:
        """Turn the dead job's record waiting, if it is still dead (one of racing callers wins)."""
        waiting = JobTransition(job.id, JobState.WAITING, self._clock.now(), job.attempts)
        return job.state is JobState.DEAD and await self._store.record_if_dead(waiting)

    async def _send_back(self, queue: QueueName, jobs: Sequence[Job]) -> None:
        """Take the jobs' dead letters off the broker in one pass, then enqueue each. From the
        first job the broker cannot take, the jobs are recorded dead again (requeueable once the
        broker is back) and `Unavailable` is raised."""
        sent = 0
        try:
            if jobs:
                await self._queue.discard_dead(queue, [job.id for job in jobs])
            for job in jobs:
                await self._queue.enqueue(job, attempt_offset=job.attempts)
                sent += 1
        except Unavailable as error:
            for job in jobs[sent:]:
                await self._store.record(self._undeliverable(job, error))
            raise

    def _undeliverable(
        self, job: Job, error: Unavailable, *, cause: str = "the broker could not be reached"
    ) -> Sequence[JobTransition]:
        now = self._clock.now()
        reason = f"{cause}: {error.detail}"
        return [
            JobTransition(job.id, state, now, job.attempts, "Unavailable", reason)
            for state in (JobState.FAILED, JobState.DEAD)
        ]
