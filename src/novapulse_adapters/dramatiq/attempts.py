"""One attempt of a job message on the event loop, and the verdict the broker then acts on."""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import dramatiq
from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import SkipMessage

from novapulse_core.domain.jobs import QueuePolicy
from novapulse_core.services.job_runner import (
    SHUTDOWN,
    TIME_LIMIT,
    Done,
    GiveUp,
    JobRunner,
    Outcome,
    RetryLater,
)

log = logging.getLogger(__name__)

JOB_TIME_LIMIT_SECONDS = 15 * 60.0

CANCEL_GRACE_SECONDS = 1.0
"""How long a cancelled job (time limit, shutdown) is waited for before it is let go."""


class JobGivenUp(Exception):
    """What the broker's middleware sees after the runner decided a job is dead (its message
    goes to the dead-letter queue, no retry)."""


class Verdict(enum.Enum):
    ACK = "ack"
    """Done: acknowledge the message."""
    RETRY = "retry"
    """Enqueue the message again after a delay (its `retries` option counted up), then ack."""
    DEAD = "dead"
    """Reject the message: it goes to the dead-letter queue."""
    REQUEUE = "requeue"
    """The attempt was cut short by a shutdown: put the message back on its queue as it was."""


Settlement = tuple[MessageProxy, Verdict, int]
"""A finished message, what to do with it, and the retry delay in milliseconds."""


class Attempts:
    """Runs job messages of one queue on the event loop, as Dramatiq's worker threads did.

    The broker's middleware hooks run around each attempt inside the attempt's own task (so
    the trace context and request id they make current belong to that attempt alone). The
    runner decides: done, retry later (its delay), or give up (dead letter). An attempt that
    overruns `time_limit_seconds` is cancelled and, like a failure of the runner itself,
    retried on the policy's backoff until the policy's retries are spent, then dead.
    """

    def __init__(
        self,
        broker: Broker,
        runner: JobRunner,
        policy: QueuePolicy,
        *,
        time_limit_seconds: float = JOB_TIME_LIMIT_SECONDS,
        spread: Callable[[], float] = random.random,
    ) -> None:
        self._broker = broker
        self._runner = runner
        self._policy = policy
        self._time_limit = time_limit_seconds
        self._spread = spread
        self._deadlines: dict[asyncio.Future[Outcome], tuple[float, asyncio.Future[None]]] = {}
        self._overrun: set[asyncio.Future[Outcome]] = set()
        self._let_go_runners: set[asyncio.Future[Outcome]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    async def run(self, message: MessageProxy) -> Settlement:
        """The verdict on `message`; `CancelledError` when the attempt was cancelled from
        outside (a shutdown), after the middleware heard of it.

        The runner runs in a task of its own, so that a job that ignores its cancellation is
        let go `CANCEL_GRACE_SECONDS` after its deadline (or after a shutdown cancelled it): its
        slot is freed and its message settled as a failed attempt; the job is left running."""
        broker = self._broker
        try:
            broker.emit_before("process_message", message)
        except SkipMessage:  # e.g. past its age limit; the middleware failed it
            broker.emit_after("skip_message", message)
            return message, Verdict.DEAD if message.failed else Verdict.ACK, 0
        retries: int = message.options.get("retries", 0)
        job_id, task, payload, offset = _job_arguments(message)
        number = offset + retries + 1
        runner = asyncio.ensure_future(
            self._runner.run(job_id, task, payload, attempt=number, retries=retries)
        )
        try:
            try:
                await self._watch(runner)
            except asyncio.CancelledError as cancelled:  # a shutdown cancels the attempt
                runner.cancel(SHUTDOWN)
                await asyncio.wait({runner}, timeout=CANCEL_GRACE_SECONDS)
                if not runner.done() or runner.cancelled():
                    if not runner.done():  # back on the queue: it waits again
                        self._let_go(runner, job_id, number, dead=False)
                    broker.emit_after("process_message", message, exception=cancelled)
                    raise
                # The outcome was known before the shutdown came (e.g. while it was written).
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
            timed_out = runner in self._overrun
        finally:
            self._deadlines.pop(runner, None)
            self._overrun.discard(runner)
        if not runner.done():  # past its deadline and the grace, it ignores its cancellation
            self._let_go(runner, job_id, number, dead=retries >= self._policy.max_retries)
            return self._broke(message, retries, TimeoutError("the time limit ran out"))
        if runner.cancelled():
            if timed_out:
                return self._broke(message, retries, TimeoutError("the time limit ran out"))
            error: BaseException | None = RuntimeError("the attempt was cancelled from within")
        else:
            error = runner.exception()
        if error is not None:
            if not isinstance(error, Exception):
                raise error
            log.error("job %s: the runner failed", job_id, exc_info=error)
            return self._broke(message, retries, error)
        outcome = runner.result()
        if type(outcome) is Done:
            broker.emit_after("process_message", message, result=None)
            return message, Verdict.ACK, 0
        if isinstance(outcome, RetryLater):
            delay_ms = int(outcome.delay_seconds * 1000)
            broker.emit_after("process_message", message, exception=dramatiq.Retry(delay=delay_ms))
            return self._failed(message, Verdict.RETRY, delay_ms)
        assert isinstance(outcome, GiveUp)
        broker.emit_after("process_message", message, exception=JobGivenUp(job_id))
        return self._failed(message, Verdict.DEAD, 0)

    def _let_go(
        self, runner: asyncio.Future[Outcome], job_id: str, attempt: int, *, dead: bool
    ) -> None:
        """Stop waiting for a job that ignores its cancellation; keep it referenced until it
        ends (a task nobody references may be collected mid-run)."""
        log.error("job %s ignores its cancellation: its slot is freed, it is left running", job_id)
        self._runner.let_go(job_id, attempt, dead=dead)
        self._let_go_runners.add(runner)
        runner.add_done_callback(self._let_go_runners.discard)

    def _broke(self, message: MessageProxy, retries: int, error: Exception) -> Settlement:
        """The time limit ran out or the runner itself failed: retry on the policy's backoff
        while retries are left (as the runner recorded it), else dead."""
        self._broker.emit_after("process_message", message, exception=error)
        if retries >= self._policy.max_retries:
            return self._failed(message, Verdict.DEAD, 0)
        delay = self._policy.backoff.delay(retries + 1, self._spread())
        return self._failed(message, Verdict.RETRY, int(delay * 1000))

    def _watch(self, runner: asyncio.Future[Outcome]) -> asyncio.Future[None]:
        """Give `runner` its deadline; what is returned ends when the runner ends, or when the
        watchdog lets it go. One watchdog per queue checks the deadlines (a timer per attempt
        would cost more than the attempt's own bookkeeping)."""
        loop = runner.get_loop()
        ended: asyncio.Future[None] = loop.create_future()
        runner.add_done_callback(partial(_end, ended))
        self._deadlines[runner] = (loop.time() + self._time_limit, ended)
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = loop.create_task(self._enforce_deadlines())
        return ended

    def close(self) -> None:
        """Stop the watchdog (on the loop, once no attempt runs)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    async def _enforce_deadlines(self) -> None:
        loop = asyncio.get_running_loop()
        tick = min(1.0, self._time_limit / 10)
        while self._deadlines:
            await asyncio.sleep(tick)
            now = loop.time()
            for runner, (deadline, ended) in list(self._deadlines.items()):
                if deadline > now:
                    continue
                if runner not in self._overrun:
                    self._overrun.add(runner)
                    runner.cancel(TIME_LIMIT)
                elif deadline + CANCEL_GRACE_SECONDS <= now and not ended.done():
                    ended.set_result(None)  # it ignores the cancellation: let it go

    def _failed(self, message: MessageProxy, verdict: Verdict, delay_ms: int) -> Settlement:
        """Count the retry on the message, as Dramatiq's Retries middleware does."""
        message.options["retries"] = message.options.get("retries", 0) + 1
        if verdict is Verdict.DEAD:
            message.fail()
        return message, verdict, delay_ms


def _end(ended: asyncio.Future[None], _: object) -> None:
    if not ended.done():
        ended.set_result(None)


def _job_arguments(message: MessageProxy) -> tuple[str, str, dict[str, Any], int]:
    """`(job_id, task, payload, attempt_offset)` as `DramatiqJobQueue` enqueues them."""
    job_id, task, payload, *rest = message.args
    offset = rest[0] if rest else message.kwargs.get("attempt_offset", 0)
    return job_id, task, payload, offset
