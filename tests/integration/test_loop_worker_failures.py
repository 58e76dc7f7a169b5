"""How the loop worker copes when jobs, messages or the broker misbehave: every message ends
acknowledged, retried, dead-lettered or back on its queue, never stranded, and a stop ends."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import redis
from dramatiq import Message

from novapulse_core.domain.jobs import JobState, QueueName
from novapulse_entrypoints import container as composition
from support.redis_server import RedisServerUnavailable, private_redis_server

from .conftest import make_settings
from .job_servers import eventually
from .servers import SHARED_KEYS
from .test_loop_worker import _on_loop, _started, _states


def _services(**overrides: str) -> composition.Container:
    """Report: concurrency 2, one retry (unless overridden), backoff 10 ms."""
    settings = {
        "NOVAPULSE_QUEUE_REPORT_CONCURRENCY": "2",
        "NOVAPULSE_QUEUE_REPORT_MAX_RETRIES": "1",
        "NOVAPULSE_QUEUE_REPORT_BACKOFF_BASE_SECONDS": "0.01",
    }
    return composition.build_container(make_settings(**{**settings, **overrides}))


def _report_queue(services: composition.Container) -> str:
    (name,) = [q for q in services.broker().queues if q.endswith(".report")]
    return name


def test_a_message_that_cannot_even_start_an_attempt_is_dead_lettered() -> None:
    services = _services()
    group = _started(services)
    broker, name = services.broker(), _report_queue(services)
    try:
        # Not (job_id, task, payload[, offset]): e.g. sent by hand, or by another release.
        broker.enqueue(
            Message(queue_name=name, actor_name=name, args=("j1",), kwargs={}, options={})
        )
        eventually(
            lambda: len(broker.dead_letters_by_queue[name]), lambda n: n == 1, "dead-lettered"
        )
        eventually(lambda: broker.queues[name].unfinished_tasks, lambda n: n == 0, "acknowledged")
    finally:
        group.stop(5, cleanup=lambda: composition.stop(services))


class EndTogether:
    """Its calls wait for each other and end in the same turn of the loop."""

    def __init__(self, together: int) -> None:
        self.together = together
        self.calls = 0
        self.all_in: asyncio.Event | None = None

    async def __call__(self, payload: Mapping[str, object]) -> None:
        if self.all_in is None:
            self.all_in = asyncio.Event()
        self.calls += 1
        if self.calls == self.together:
            self.all_in.set()
        await self.all_in.wait()


def test_a_settlement_that_fails_does_not_drop_the_others_finished_with_it() -> None:
    services, handler = _services(), EndTogether(2)  # report: concurrency 2
    services.tasks().register("test.together", QueueName.REPORT, handler)
    group = _started(services)
    (worker,) = group._workers
    settle, settled = worker.settle, []

    def first_fails(settlement: Any) -> None:
        settled.append(settlement)
        if len(settled) == 1:
            raise RuntimeError("e.g. a middleware's before_ack raised")
        settle(settlement)

    worker.settle = first_fails  # type: ignore[method-assign]
    try:
        for _ in range(2):
            _on_loop(group, services.jobs().enqueue("test.together", {}))
        eventually(lambda: len(settled), lambda n: n == 2, "both finished messages are settled")
    finally:
        worker.settle = settle  # type: ignore[method-assign]
        group.stop(5, cleanup=lambda: composition.stop(services))


# On Redis


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    try:
        with private_redis_server() as port:
            yield port
    except RedisServerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))


@pytest.fixture
def on_redis(redis_port: int) -> dict[str, str]:
    with redis.Redis(host="127.0.0.1", port=redis_port) as client:
        client.flushall()
    return {"NOVAPULSE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", **SHARED_KEYS}


def test_a_retry_the_broker_could_not_enqueue_is_enqueued_once_redis_answers_again(
    on_redis: dict[str, str],
) -> None:
    services, calls = _services(**on_redis), []  # report: concurrency 2 (prefetch 4), 1 retry

    async def failing(payload: Mapping[str, object]) -> None:
        calls.append(payload)
        raise RuntimeError("transient")

    services.tasks().register("test.fails", QueueName.REPORT, failing)
    broker, refused = services.broker(), []
    enqueue = broker.enqueue

    def flaky(message: Any, *, delay: int | None = None) -> Any:
        if delay is not None and blipping.is_set():
            refused.append(message.message_id)
            raise redis.ConnectionError("Redis blipped")
        return enqueue(message, delay=delay)

    blipping = threading.Event()
    blipping.set()
    broker.enqueue = flaky  # type: ignore[method-assign]
    group = _started(services)
    try:
        for i in range(4):
            _on_loop(group, services.jobs().enqueue("test.fails", {"n": i}))
        eventually(
            lambda: (len(calls), len(refused)),
            lambda seen: seen[0] == 4 and seen[1] >= 2,
            "every job ran once; a retry was refused",
        )
        blipping.clear()
        eventually(
            lambda: _states(group, services),
            lambda s: s == {JobState.DEAD: 4},
            "every job is retried, then dead",
        )
    finally:
        broker.enqueue = enqueue  # type: ignore[method-assign]
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert len(calls) == 8


def test_a_stop_ends_while_redis_cannot_settle_a_finished_job(on_redis: dict[str, str]) -> None:
    services, release = _services(**on_redis), threading.Event()

    async def waits(payload: Mapping[str, object]) -> None:
        await asyncio.to_thread(release.wait)

    services.tasks().register("test.waits", QueueName.REPORT, waits)
    group = _started(services)
    _on_loop(group, services.jobs().enqueue("test.waits", {}))
    eventually(lambda: _states(group, services), lambda s: s == {JobState.ACTIVE: 1}, "it runs")
    broker = services.broker()
    do_ack = broker.do_ack

    def down(*args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("down")

    broker.do_ack = down  # type: ignore[method-assign]
    try:
        stopper = threading.Thread(target=group.stop, args=(1,), daemon=True)
        stopper.start()
        release.set()  # the job ends during the stop; its acknowledgement cannot be made
        stopper.join(15)
        assert not stopper.is_alive(), "the stop never ends"
    finally:
        broker.do_ack = do_ack  # type: ignore[method-assign]
