"""What a handler can tell the job runner: "not before N seconds", and "this is my last try"."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from novapulse_core import context
from novapulse_core.domain.errors import TemporaryFailure
from novapulse_core.domain.jobs import DEFAULT_POLICIES, JobState, QueueName

from .test_jobs import Flaky, Jobs

BACKOFF = DEFAULT_POLICIES[QueueName.EMAIL].backoff


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, BACKOFF.base_seconds / 2),  # no hint: the policy's backoff (spread 0)
        (1.0, BACKOFF.base_seconds / 2),  # sooner than the backoff: the backoff wins
        (120.0, 120.0),  # later: the receiver's word wins
        (10**9, BACKOFF.max_seconds),  # absurd: capped at the longest backoff
    ],
)
async def test_a_temporary_failure_waits_at_least_its_retry_after(
    retry_after: float | None, expected: float
) -> None:
    jobs = Jobs(Flaky(failures=1, error=TemporaryFailure("busy", retry_after=retry_after)))
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")

    await jobs.work_once()

    stored = await jobs.store.get(job.id)
    retrying = [t for t in stored.transitions if t.state is JobState.RETRYING]
    assert [t.retry_in_seconds for t in retrying] == [expected]
    assert stored.state is JobState.COMPLETED


class Observer(Flaky):
    """A handler that always fails, noting the attempt context it ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[context.JobAttempt | None] = []

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.seen.append(context.job_attempt.get())
        raise TemporaryFailure("still down")


async def test_a_handler_knows_its_attempt_and_whether_it_is_the_last() -> None:
    handler = Observer()
    jobs = Jobs(handler)
    job = await jobs.service.enqueue("email.send", {}, company_id="co-a")

    await jobs.work_once()

    retries = DEFAULT_POLICIES[QueueName.EMAIL].max_retries
    assert [(a.job_id, a.attempt, a.last) for a in handler.seen if a] == [
        (job.id, n, n == retries + 1) for n in range(1, retries + 2)
    ]
    assert context.job_attempt.get() is None
    assert (await jobs.store.get(job.id)).state is JobState.DEAD
