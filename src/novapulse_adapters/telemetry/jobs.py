"""Job attempt metrics, observed where attempts finish: a Dramatiq middleware on the worker."""

from __future__ import annotations

import contextvars
import time
from typing import Any

from dramatiq import Broker, Middleware, Retry
from dramatiq.common import q_name

from novapulse_adapters.dramatiq import JobGivenUp
from novapulse_adapters.telemetry.metrics import JobOutcome, Metrics


class JobMetrics(Middleware):
    """Counts every job attempt a worker of this process finishes, its outcome and duration.

    It sits around the attempt, so it sees the outcome the broker acts on: nothing raised is
    a completed attempt, `Retry` one that will be retried, `JobGivenUp` a dead one, anything
    else a failure of the runner itself (or the time limit). Each attempt runs in a task of
    its own and the hooks run inside it, so the start time is kept in a context variable.
    """

    def __init__(self, metrics: Metrics, namespace: str) -> None:
        self._metrics = metrics
        self._prefix = f"{namespace}."
        self._started: contextvars.ContextVar[float | None] = contextvars.ContextVar(
            f"novapulse_job_started_{id(self)}", default=None
        )

    @property
    def metrics(self) -> Metrics:
        """Where the attempts are counted (the worker group's webhook deliveries go there too)."""
        return self._metrics

    def before_process_message(self, broker: Broker, message: Any) -> None:
        self._started.set(time.perf_counter())

    def after_process_message(
        self,
        broker: Broker,
        message: Any,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.get()
        if started is None:
            return
        self._started.set(None)
        seconds = time.perf_counter() - started
        self._metrics.job_attempt(self._queue(message.queue_name), _outcome(exception), seconds)

    def after_skip_message(self, broker: Broker, message: Any) -> None:
        self._started.set(None)

    def _queue(self, broker_queue: str) -> str:
        """`nova.email` (or its delay queue) -> `email`."""
        name = q_name(broker_queue)
        return name.removeprefix(self._prefix)


def _outcome(exception: BaseException | None) -> JobOutcome:
    if exception is None:
        return JobOutcome.COMPLETED
    if isinstance(exception, Retry):
        return JobOutcome.RETRY
    if isinstance(exception, JobGivenUp):
        return JobOutcome.DEAD
    return JobOutcome.ERROR
