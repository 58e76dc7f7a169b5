"""Background jobs: the queue policy table (seed, "Queue Types") and the job lifecycle."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import datetime

import attrs


class QueueName(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    WORKFLOW = "workflow"
    REPORT = "report"


class Priority(enum.IntEnum):
    """Lower runs first."""

    HIGH = 0
    MEDIUM = 1
    LOW = 2


class BackoffKind(enum.StrEnum):
    EXPONENTIAL = "exponential"
    FIXED = "fixed"


@attrs.frozen
class Backoff:
    """Delay before retry number `attempt` (1 for the first retry).

    Exponential doubles from `base_seconds` up to `max_seconds`, with "equal jitter": half the
    delay is fixed, half is spread by `spread` in [0, 1), so retries of many jobs failing
    together do not arrive together. Fixed is always `base_seconds`.
    """

    kind: BackoffKind
    base_seconds: float
    max_seconds: float

    def delay(self, attempt: int, spread: float) -> float:
        if self.kind is BackoffKind.FIXED:
            return self.base_seconds
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** max(attempt - 1, 0))
        return ceiling / 2 + ceiling / 2 * spread


@attrs.frozen
class QueuePolicy:
    queue: QueueName
    priority: Priority
    concurrency: int
    max_retries: int
    backoff: Backoff


def _policy(
    queue: QueueName, priority: Priority, concurrency: int, retries: int, kind: BackoffKind
) -> QueuePolicy:
    return QueuePolicy(queue, priority, concurrency, retries, Backoff(kind, 10.0, 3600.0))


DEFAULT_POLICIES: Mapping[QueueName, QueuePolicy] = {
    p.queue: p
    for p in (
        _policy(QueueName.EMAIL, Priority.HIGH, 5, 5, BackoffKind.EXPONENTIAL),
        _policy(QueueName.WEBHOOK, Priority.MEDIUM, 10, 3, BackoffKind.EXPONENTIAL),
        _policy(QueueName.WORKFLOW, Priority.MEDIUM, 3, 3, BackoffKind.EXPONENTIAL),
        _policy(QueueName.REPORT, Priority.LOW, 2, 2, BackoffKind.FIXED),
    )
}


class JobState(enum.StrEnum):
    """The seed's lifecycle: waiting -> active -> completed, or active -> failed -> retrying ->
    waiting (delayed) -> active ..., and after the last allowed attempt failed -> dead."""

    WAITING = "waiting"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRYING = "retrying"
    DEAD = "dead"


FINISHED = frozenset({JobState.COMPLETED, JobState.DEAD})


@attrs.frozen
class JobTransition:
    """One step of one job, as a worker or the service observed it."""

    job_id: str
    state: JobState
    at: datetime
    attempt: int
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float | None = None
    retry_in_seconds: float | None = None


@attrs.frozen
class Job:
    """A unit of background work and its history. `task` names the handler that runs it."""

    id: str
    queue: QueueName
    task: str
    payload: Mapping[str, object]
    created_at: datetime
    company_id: str | None = None
    request_id: str | None = None
    state: JobState = JobState.WAITING
    attempts: int = 0
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float | None = None
    transitions: tuple[JobTransition, ...] = ()


MAX_PAYLOAD_DEPTH = 32
_INT64 = range(-(2**63), 2**63)


def payload_problem(value: object, depth: int = 0) -> str | None:
    """Why `value` cannot be a job's payload, or None: a payload is JSON that every store and
    the broker keep as it is, so objects are dicts with string keys free of NUL (BSON's rule),
    arrays are lists or tuples, integers fit in 64 bits (MongoDB's widest), numbers are finite
    (JSON has no NaN), and nesting stays within 32 levels."""
    if value is None or isinstance(value, str | bool):
        return None
    if isinstance(value, int):
        return None if value in _INT64 else f"the integer {value} does not fit in 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is not a JSON number"
    if depth >= MAX_PAYLOAD_DEPTH:
        return f"it nests deeper than {MAX_PAYLOAD_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"the key {key!r} is not a string"
            if "\0" in key:
                return f"the key {key!r} holds a NUL character"
            if (problem := payload_problem(item, depth + 1)) is not None:
                return problem
        return None
    if isinstance(value, list | tuple):
        for item in value:
            if (problem := payload_problem(item, depth + 1)) is not None:
                return problem
        return None
    return f"a {type(value).__name__} is not JSON"


def apply(job: Job, transition: JobTransition) -> Job:
    """The job after `transition`: the single rule every job store follows."""
    failed = transition.state in (JobState.FAILED, JobState.DEAD)
    return attrs.evolve(
        job,
        state=transition.state,
        attempts=max(job.attempts, transition.attempt),
        updated_at=transition.at,
        finished_at=transition.at if transition.state in FINISHED else None,
        error_type=transition.error_type if failed else job.error_type,
        error_message=transition.error_message if failed else job.error_message,
        duration_ms=transition.duration_ms
        if transition.duration_ms is not None
        else job.duration_ms,
        transitions=(*job.transitions, transition),
    )


@attrs.frozen
class QueueDepth:
    """Messages on the broker for one queue, by where they sit."""

    waiting: int
    delayed: int
    dead: int


@attrs.frozen
class QueueThroughput:
    """Finished attempts in a window: completions, failures and processing times."""

    processed: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def failure_rate(self) -> float:
        total = self.processed + self.failed
        return self.failed / total if total else 0.0
