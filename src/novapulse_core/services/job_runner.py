"""Running one attempt of a job on a worker, and recording the lifecycle in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime

import attrs
from opentelemetry import trace

from novapulse_core import context
from novapulse_core.domain.errors import (
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TemporaryFailure,
)
from novapulse_core.domain.jobs import JobState, JobTransition, QueueName, QueuePolicy
from novapulse_core.ports import Clock, JobStore
from novapulse_core.services.tasks import TaskRegistry

PERMANENT_ERRORS: tuple[type[DomainError], ...] = (Invalid, NotFound, Forbidden)
"""Errors a retry cannot cure: the job fails at once and goes to the dead-letter queue."""

MAX_ERROR_MESSAGE = 500

TIME_LIMIT = "time limit"
SHUTDOWN = "shutdown"
"""The messages an attempt is cancelled with: past its time limit, or by a worker's shutdown."""

log = logging.getLogger(__name__)


@attrs.frozen
class Done:
    pass


@attrs.frozen
class RetryLater:
    delay_seconds: float


@attrs.frozen
class GiveUp:
    pass


Outcome = Done | RetryLater | GiveUp


class LifecycleRecorder:
    """Buffers transitions and writes them to the job store in batches.

    One store write per transition per job would dominate a worker's time; a batch every
    `interval_seconds` (or at once when `batch_size` wait) keeps it to a few writes per second.
    `JobRunner` also flushes as each attempt ends (attempts ending together share a write), so
    a record never lags behind the broker's acknowledgement. A store that is down keeps the
    batch for the next round, up to `max_buffered` transitions (the oldest are dropped past
    that, and counted in `dropped`).
    """

    def __init__(
        self,
        store: JobStore,
        *,
        batch_size: int = 500,
        interval_seconds: float = 0.05,
        max_buffered: int = 100_000,
    ) -> None:
        self._store = store
        self._batch_size = batch_size
        self._interval = interval_seconds
        self._max_buffered = max_buffered
        self._buffer: list[JobTransition] = []
        self._full = asyncio.Event()
        self._writing = asyncio.Lock()
        self._next: asyncio.Future[None] | None = None
        self.dropped = 0

    def observe(self, transition: JobTransition) -> None:
        self._buffer.append(transition)
        if len(self._buffer) >= self._batch_size:
            self._full.set()

    async def run(self) -> None:
        """Flush forever (until cancelled); start it on the loop the jobs run on."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._interval)
            self._full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered. Callers in one turn of the loop share one write: it starts
        on the next turn (after any write under way, so batches reach the store in order) and
        takes everything observed until then."""
        if self._next is None:
            self._next = asyncio.ensure_future(self._flush_next())
        await asyncio.shield(self._next)

    async def _flush_next(self) -> None:
        async with self._writing:
            self._next = None  # from here on, callers wait for the write after this one
            await self._flush()

    async def _flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer[: self._batch_size], self._buffer[self._batch_size :]
            try:
                await self._store.record(batch)
            except asyncio.CancelledError:
                self._buffer[:0] = batch
                raise
            except Exception as error:
                # Down, read-only, full: keep the batch for the next round, never lose it here.
                self._buffer[:0] = batch
                excess = len(self._buffer) - self._max_buffered
                if excess > 0:
                    del self._buffer[:excess]
                    self.dropped += excess
                log.warning(
                    "job store refused a batch (%s); %d transitions wait",
                    type(error).__name__,
                    len(self._buffer),
                )
                return


class JobRunner:
    """Runs one attempt: records it, calls the task's handler, decides what happens next."""

    def __init__(
        self,
        tasks: TaskRegistry,
        recorder: LifecycleRecorder,
        clock: Clock,
        policies: Mapping[QueueName, QueuePolicy],
        *,
        spread: Callable[[], float] = random.random,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._tasks = tasks
        self._recorder = recorder
        self._clock = clock
        self._policies = policies
        self._spread = spread
        self._tracer = tracer or trace.get_tracer(__name__)
        self._untraced = isinstance(self._tracer, trace.NoOpTracer)

    async def run(
        self,
        job_id: str,
        task_name: str,
        payload: Mapping[str, object],
        *,
        attempt: int,
        retries: int,
    ) -> Outcome:
        """`attempt` numbers the attempt over the job's life; `retries` counts the retries this
        delivery already had (the policy's budget applies to them).

        Returns once the attempt's transitions are written (or kept for later if the store is
        down): the broker acknowledges the message after that, so a worker killed in between
        leaves a job that is delivered again, never a record stuck at active.

        The attempt is a span `job {task}`, a child of the trace context current when it runs
        (the broker's adapter makes the enqueuing request's current); with a no-op tracer
        (tracing off) no span is made at all."""
        if self._untraced:
            return await self._recorded(job_id, task_name, payload, attempt, retries)
        with self._tracer.start_as_current_span(
            f"job {task_name}",
            kind=trace.SpanKind.CONSUMER,
            attributes={"novapulse.job.id": job_id, "novapulse.job.attempt": attempt},
        ) as span:
            outcome = await self._recorded(job_id, task_name, payload, attempt, retries)
            span.set_attribute("novapulse.job.outcome", type(outcome).__name__)
        return outcome

    async def _recorded(
        self, job_id: str, task_name: str, payload: Mapping[str, object], attempt: int, retries: int
    ) -> Outcome:
        try:
            outcome = await self._attempt(job_id, task_name, payload, attempt, retries)
        except asyncio.CancelledError:
            await self._recorder.flush()
            raise
        try:
            await self._recorder.flush()
        except asyncio.CancelledError:
            # The outcome is known: it stands. The transitions stay buffered (a stopping worker
            # group writes them before it returns).
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                task.uncancel()
        return outcome

    async def _attempt(
        self, job_id: str, task_name: str, payload: Mapping[str, object], attempt: int, retries: int
    ) -> Outcome:
        started = self._clock.now()
        self._record(job_id, JobState.ACTIVE, attempt)
        last = True  # until the task's policy is known
        try:
            task = self._tasks.get(task_name)
            policy = self._policies[task.queue]
            last = retries >= policy.max_retries
            token = context.job_attempt.set(context.JobAttempt(job_id, attempt, last))
            try:
                await task.handler(payload)
            finally:
                context.job_attempt.reset(token)
        except PERMANENT_ERRORS as error:
            self._fail(job_id, attempt, error, started)
            self._record(job_id, JobState.DEAD, attempt, error)
            return GiveUp()
        except asyncio.CancelledError as cancelled:
            current = asyncio.current_task()
            if current is None or not current.cancelling():
                # Something the handler awaited was cancelled, not the attempt: a failure.
                return self._failed(job_id, attempt, cancelled, started, last, policy, retries)
            # The time limit or a shutdown interrupted the attempt. The record says so rather
            # than staying active: past the time limit the broker retries it (dead after the
            # last retry); a shutdown puts its message back on the queue, so it waits again.
            if cancelled.args[:1] == (TIME_LIMIT,):
                interrupted = TimeoutError("the time limit ran out")
                state = JobState.DEAD if last else JobState.RETRYING
            else:
                interrupted = TimeoutError("a shutdown interrupted the attempt")
                state = JobState.RETRYING
            self._fail(job_id, attempt, interrupted, started)
            self._record(job_id, state, attempt, interrupted)
            raise
        except Exception as error:
            return self._failed(job_id, attempt, error, started, last, policy, retries)
        self._record(job_id, JobState.COMPLETED, attempt, duration_ms=self._since(started))
        return Done()

    def _failed(
        self,
        job_id: str,
        attempt: int,
        error: BaseException,
        started: datetime,
        last: bool,
        policy: QueuePolicy,
        retries: int,
    ) -> Outcome:
        self._fail(job_id, attempt, error, started)
        if last:
            self._record(job_id, JobState.DEAD, attempt, error)
            return GiveUp()
        delay = self._retry_delay(policy, retries, error)
        self._record(job_id, JobState.RETRYING, attempt, error, retry_in=delay)
        return RetryLater(delay)

    def let_go(self, job_id: str, attempt: int, *, dead: bool) -> None:
        """Record an attempt that ignored its cancellation and was let go (it never recorded
        its end): failed, then dead or retrying as its message is settled."""
        error = TimeoutError("the attempt ignored its cancellation and was let go")
        self._record(job_id, JobState.FAILED, attempt, error)
        self._record(job_id, JobState.DEAD if dead else JobState.RETRYING, attempt, error)

    def _retry_delay(self, policy: QueuePolicy, retries: int, error: BaseException) -> float:
        """The policy's backoff, or longer when the error says when to come back (a receiver's
        `Retry-After`), capped at the policy's longest backoff so no job is parked for days."""
        delay = policy.backoff.delay(retries + 1, self._spread())
        if isinstance(error, TemporaryFailure) and error.retry_after is not None:
            delay = max(delay, min(error.retry_after, policy.backoff.max_seconds))
        return delay

    def _fail(self, job_id: str, attempt: int, error: BaseException, started: datetime) -> None:
        span = trace.get_current_span()
        span.record_exception(error)
        span.set_status(trace.StatusCode.ERROR, type(error).__name__)
        self._record(job_id, JobState.FAILED, attempt, error, duration_ms=self._since(started))

    def _since(self, started: datetime) -> float:
        return (self._clock.now() - started).total_seconds() * 1000

    def _record(
        self,
        job_id: str,
        state: JobState,
        attempt: int,
        error: BaseException | None = None,
        *,
        duration_ms: float | None = None,
        retry_in: float | None = None,
    ) -> None:
        self._recorder.observe(
            JobTransition(
                job_id=job_id,
                state=state,
                at=self._clock.now(),
                attempt=attempt,
                error_type=type(error).__name__ if error else None,
                error_message=_describe(error) if error else None,
                duration_ms=duration_ms,
                retry_in_seconds=retry_in,
            )
        )


def _describe(error: BaseException) -> str:
    text = error.detail if isinstance(error, DomainError) else str(error)
    return text[:MAX_ERROR_MESSAGE]
