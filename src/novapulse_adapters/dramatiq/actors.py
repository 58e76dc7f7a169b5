"""One Dramatiq actor per queue: what routes a job's messages to its queue, with its priority."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dramatiq
from dramatiq import Broker

from novapulse_adapters.dramatiq.broker import broker_queue_name
from novapulse_core.domain.jobs import QueueName, QueuePolicy
from novapulse_core.services.job_runner import JobRunner, Outcome


def register_actors(
    broker: Broker,
    runner: JobRunner,
    policies: Mapping[QueueName, QueuePolicy],
    namespace: str,
) -> dict[QueueName, dramatiq.Actor[Any, Any]]:
    """Declare the four queues' actors on `broker` (no global broker is touched).

    A `LoopWorker` runs their messages through `Attempts` (retries, dead letters, time limit);
    calling an actor directly runs one first attempt and returns the runner's outcome."""
    return {queue: _actor(broker, runner, policy, namespace) for queue, policy in policies.items()}


def _actor(
    broker: Broker, runner: JobRunner, policy: QueuePolicy, namespace: str
) -> dramatiq.Actor[Any, Any]:
    name = broker_queue_name(namespace, policy.queue)

    async def run_job(
        job_id: str, task: str, payload: dict[str, object], attempt_offset: int = 0
    ) -> Outcome:
        return await runner.run(job_id, task, payload, attempt=attempt_offset + 1, retries=0)

    declare = dramatiq.actor(
        actor_name=name, queue_name=name, broker=broker, priority=int(policy.priority)
    )
    return declare(run_job)
