"""The correlation id of the work in progress, and the job attempt a handler runs in."""

from __future__ import annotations

from contextvars import ContextVar

import attrs

request_id: ContextVar[str | None] = ContextVar("novapulse_request_id", default=None)


@attrs.frozen
class JobAttempt:
    """Set by the job runner around a handler: `last` is True when no retry follows a
    failure of this attempt (the policy's retries are spent), so the handler can record it."""

    job_id: str
    attempt: int
    last: bool


job_attempt: ContextVar[JobAttempt | None] = ContextVar("novapulse_job_attempt", default=None)
