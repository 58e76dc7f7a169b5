"""Bodies of the job dashboard API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from novapulse_core.domain.jobs import Job, JobState, JobTransition, QueueName, QueueThroughput
from novapulse_core.domain.paging import Page
from novapulse_core.services.jobs import QueueStatus


class TransitionOut(msgspec.Struct):
    state: JobState
    at: datetime
    attempt: int
    error_type: str | None
    error_message: str | None
    duration_ms: float | None
    retry_in_seconds: float | None


class JobOut(msgspec.Struct):
    id: str
    queue: QueueName
    task: str
    state: JobState
    attempts: int
    company_id: str | None
    request_id: str | None
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None
    error_type: str | None
    error_message: str | None
    duration_ms: float | None


class JobDetailOut(JobOut):
    payload: dict[str, object]
    transitions: list[TransitionOut]


class JobPage(msgspec.Struct):
    items: list[JobOut]
    next_after: str | None


class BackoffOut(msgspec.Struct):
    kind: str
    base_seconds: float
    max_seconds: float


class DepthOut(msgspec.Struct):
    waiting: int
    delayed: int
    dead: int


class ThroughputOut(msgspec.Struct):
    processed: int
    failed: int
    failure_rate: float
    p50_ms: float | None
    p95_ms: float | None


class QueueStatusOut(msgspec.Struct):
    queue: QueueName
    priority: str
    concurrency: int
    max_retries: int
    backoff: BackoffOut
    depth: DepthOut
    states: dict[str, int]
    last_minute: ThroughputOut
    last_hour: ThroughputOut


class RequeuedOut(msgspec.Struct):
    requeued: int


def _job_fields(job: Job) -> dict[str, object]:
    return {
        "id": job.id,
        "queue": job.queue,
        "task": job.task,
        "state": job.state,
        "attempts": job.attempts,
        "company_id": job.company_id,
        "request_id": job.request_id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "error_type": job.error_type,
        "error_message": job.error_message,
        "duration_ms": job.duration_ms,
    }


def _transition_out(t: JobTransition) -> TransitionOut:
    return TransitionOut(
        t.state, t.at, t.attempt, t.error_type, t.error_message, t.duration_ms, t.retry_in_seconds
    )


def job_out(job: Job) -> JobOut:
    return JobOut(**_job_fields(job))  # type: ignore[arg-type]


def job_detail_out(job: Job) -> JobDetailOut:
    return JobDetailOut(
        **_job_fields(job),  # type: ignore[arg-type]
        payload=dict(job.payload),
        transitions=[_transition_out(t) for t in job.transitions],
    )


def job_page(page: Page[Job]) -> JobPage:
    return JobPage([job_out(j) for j in page.items], page.next_after)


def _throughput_out(t: QueueThroughput) -> ThroughputOut:
    return ThroughputOut(t.processed, t.failed, round(t.failure_rate, 4), t.p50_ms, t.p95_ms)


def queue_statuses_out(statuses: Sequence[QueueStatus]) -> list[QueueStatusOut]:
    return [
        QueueStatusOut(
            queue=s.policy.queue,
            priority=s.policy.priority.name.lower(),
            concurrency=s.policy.concurrency,
            max_retries=s.policy.max_retries,
            backoff=BackoffOut(
                s.policy.backoff.kind.value,
                s.policy.backoff.base_seconds,
                s.policy.backoff.max_seconds,
            ),
            depth=DepthOut(s.depth.waiting, s.depth.delayed, s.depth.dead),
            states={state.value: n for state, n in s.states.items()},
            last_minute=_throughput_out(s.last_minute),
            last_hour=_throughput_out(s.last_hour),
        )
        for s in statuses
    ]
