"""The correlation id of the work in progress, carried into events, jobs and logs."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("novapulse_request_id", default=None)
