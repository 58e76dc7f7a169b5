"""`JobQueue` on a Dramatiq broker: messages carry the job id as their message id."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from typing import Any

from dramatiq import Broker, Message
from dramatiq.brokers.stub import StubBroker

from novapulse_adapters.dramatiq.broker import broker_queue_name
from novapulse_core import context
from novapulse_core.domain.errors import Unavailable
from novapulse_core.domain.jobs import Job, QueueDepth, QueueName


class DramatiqJobQueue:
    def __init__(self, broker: Broker, *, namespace: str) -> None:
        self._broker = broker
        self._namespace = namespace
        self._stub = isinstance(broker, StubBroker)

    def _name(self, queue: QueueName) -> str:
        return broker_queue_name(self._namespace, queue)

    async def enqueue(self, job: Job, *, attempt_offset: int = 0) -> None:
        name = self._name(job.queue)
        message: Message[Any] = Message(
            queue_name=name,
            actor_name=name,
            args=(job.id, job.task, dict(job.payload), attempt_offset),
            kwargs={},
            options={"request_id": job.request_id or context.request_id.get()},
            message_id=job.id,
        )
        await self._call(self._broker.enqueue, message)

    async def depth(self, queue: QueueName) -> QueueDepth:
        name = self._name(queue)
        if self._stub:
            broker: StubBroker = self._broker  # type: ignore[assignment]
            return QueueDepth(
                waiting=broker.queues[name].qsize() if name in broker.queues else 0,
                delayed=broker.queues[f"{name}.DQ"].qsize() if f"{name}.DQ" in broker.queues else 0,
                dead=len(broker.dead_letters_by_queue.get(name, [])),
            )
        depth: QueueDepth = await self._call(self._redis_depth, name)
        return depth

    async def discard_dead(self, queue: QueueName, job_ids: Collection[str]) -> None:
        name, wanted = self._name(queue), set(job_ids)
        if not wanted:
            return
        if self._stub:
            broker: StubBroker = self._broker  # type: ignore[assignment]
            letters = broker.dead_letters_by_queue.get(name, [])
            letters[:] = [m for m in letters if m.message_id not in wanted]
            return
        await self._call(self._redis_discard_dead, name, wanted)

    def _redis_depth(self, name: str) -> QueueDepth:
        client, ns = self._redis()
        with client.pipeline(transaction=False) as pipe:
            pipe.llen(f"{ns}:{name}")
            pipe.llen(f"{ns}:{name}.DQ")
            pipe.zcard(f"{ns}:{name}.XQ")
            waiting, delayed, dead = pipe.execute()
        return QueueDepth(waiting=int(waiting), delayed=int(delayed), dead=int(dead))

    def _redis_discard_dead(self, name: str, wanted: set[str]) -> None:
        # The Redis broker files each enqueued copy under a fresh `redis_message_id`, not under
        # the message id (the job id): find the jobs' dead letters by their payload, one pass.
        client, ns = self._redis()
        dead = f"{ns}:{name}.XQ"
        letters = [
            redis_id for redis_id, data in client.hscan_iter(f"{dead}.msgs") if _among(data, wanted)
        ]
        if not letters:
            return
        with client.pipeline(transaction=True) as pipe:
            pipe.zrem(dead, *letters)
            pipe.hdel(f"{dead}.msgs", *letters)
            pipe.execute()

    def _redis(self) -> tuple[Any, str]:
        return self._broker.client, self._broker.namespace  # type: ignore[attr-defined]

    async def _call(self, fn: Any, *args: Any) -> Any:
        """Broker calls block (redis-py); run them off the event loop and translate failures."""
        if self._stub:
            return fn(*args)
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            return await asyncio.to_thread(fn, *args)
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise Unavailable("the job broker (Redis) cannot be reached") from error


_MESSAGE_ID = re.compile(rb'"message_id":"([^"]+)"')


def _among(data: bytes, wanted: set[str]) -> bool:
    """Whether a dead letter is the message of one of the `wanted` jobs. Its own id is the last
    `message_id` key of its JSON (Dramatiq writes it after the payload, which may hold keys of
    that name too); only a letter that looks wanted is decoded whole, to be sure."""
    ids = _MESSAGE_ID.findall(data)
    return bool(ids) and ids[-1].decode() in wanted and Message.decode(data).message_id in wanted
