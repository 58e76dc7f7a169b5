"""Building the broker: Redis when a URL is configured, the in-process stub otherwise."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import dramatiq
from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Middleware

from novapulse_adapters.dramatiq.encoding import OrjsonEncoder
from novapulse_adapters.dramatiq.tracing import TraceContext
from novapulse_core.domain.jobs import QueueName


def broker_queue_name(namespace: str, queue: QueueName) -> str:
    """`nova.email` and so on. (The seed writes `nova:email`; Dramatiq allows no colon.)"""
    return f"{namespace}.{queue.value}"


def _middleware() -> list[Middleware]:
    """Jobs run on an event loop (`LoopWorker`), which does what Dramatiq's Retries, TimeLimit
    and ShutdownNotifications did on worker threads (they interrupt threads, and a retry's
    enqueue would block the loop on Redis); no job uses callbacks or pipelines."""
    return [
        TraceContext(),  # first: its context is current for every other hook of an attempt
        AgeLimit(),
    ]


def build_broker(
    redis_url: str | None,
    *,
    heartbeat_timeout_ms: int = 60_000,
    maintenance_chance: int = 1000,
    stub_dead_letters: int = 10_000,
    sentinels: Sequence[tuple[str, int]] = (),
) -> Broker:
    """A Redis broker on `redis_url`, or the stub broker (in-process queues) when it is None.

    A worker that dies holding messages is noticed after `heartbeat_timeout_ms`; on average one
    fetch in `maintenance_chance` looks for such messages and puts them back on their queue.
    The stub broker keeps the newest `stub_dead_letters` dead letters of each queue (Dramatiq's
    keeps them all, for ever); a dead job whose letter went is still requeued from its record.

    With `sentinels`, the broker's client asks them where the primary named by `redis_url`'s
    host is, and again after a failover (see `redis_client`).

    Dramatiq's message encoder is process-wide: this makes it `OrjsonEncoder` (the same JSON
    as Dramatiq's default, so messages either wrote are read by both).
    """
    dramatiq.set_encoder(OrjsonEncoder())
    if redis_url is None:
        broker = StubBroker(middleware=_middleware())
        broker.dead_letters_by_queue = defaultdict(lambda: _Newest(stub_dead_letters))
        return broker
    from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker

    connection: dict[str, Any] = {"url": redis_url}
    if sentinels:
        from redis.sentinel import Sentinel

        from novapulse_adapters.redis.client import primary

        name, login = primary(redis_url)
        sentinel = Sentinel(list(sentinels))  # type: ignore[no-untyped-call]
        connection = {"client": sentinel.master_for(name, **login)}  # type: ignore[no-untyped-call]
    return RedisBroker(  # type: ignore[no-untyped-call]
        **connection,
        middleware=_middleware(),
        heartbeat_timeout=heartbeat_timeout_ms,
        # Dramatiq counts the chance in millionths of its commands, not as "one in N".
        maintenance_chance=max(1, MAINTENANCE_SCALE // maintenance_chance),
    )


class _Newest(list[Any]):
    """A list that keeps its newest `size` items: appending past it drops the oldest."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size

    def append(self, item: Any) -> None:
        super().append(item)
        if len(self) > self._size:
            del self[0]
