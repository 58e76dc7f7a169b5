"""One Dramatiq actor per queue, each running attempts through the core's JobRunner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dramatiq
from dramatiq import Broker
from dramatiq.middleware import CurrentMessage

from novapulse_adapters.dramatiq.broker import broker_queue_name
from novapulse_core.domain.jobs import QueueName, QueuePolicy
from novapulse_core.services.job_runner import GiveUp, JobRunner, RetryLater

JOB_TIME_LIMIT_MS = 15 * 60 * 1000


class JobGivenUp(Exception):
    """Raised after the runner decided a job is dead; listed in `throws` so Dramatiq
    dead-letters the message at once instead of retrying it."""


def register_actors(
    broker: Broker,
    runner: JobRunner,
    policies: Mapping[QueueName, QueuePolicy],
    namespace: str,
) -> dict[QueueName, dramatiq.Actor[Any, Any]]:
    """Declare the four queues' actors on `broker` (no global broker is touched)."""
    return {queue: _actor(broker, runner, policy, namespace) for queue, policy in policies.items()}


def _actor(
    broker: Broker, runner: JobRunner, policy: QueuePolicy, namespace: str
) -> dramatiq.Actor[Any, Any]:
    name = broker_queue_name(namespace, policy.queue)

    async def run_job(
        job_id: str, task: str, payload: dict[str, object], attempt_offset: int = 0
    ) -> None:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0)) if message else 0
        outcome = await runner.run(
            job_id, task, payload, attempt=attempt_offset + retries + 1, retries=retries
        )
        if isinstance(outcome, RetryLater):
            raise dramatiq.Retry(delay=int(outcome.delay_seconds * 1000))
        if isinstance(outcome, GiveUp):
            raise JobGivenUp(job_id)

    declare = dramatiq.actor(
        actor_name=name,
        queue_name=name,
        broker=broker,
        priority=int(policy.priority),
        # The runner decides; Dramatiq's own count agrees with it, so an attempt cut short by the
        # time limit is retried, or dead-lettered after the last retry, as the record says.
        max_retries=policy.max_retries,
        throws=(JobGivenUp,),
        time_limit=JOB_TIME_LIMIT_MS,
    )
    return declare(run_job)
