"""How the loop worker copes when jobs, messages or the broker misbehave: every message ends
acknowledged, retried, dead-lettered or back on its queue, never stranded, and a stop ends."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
import redis
from dramatiq import Message

from novapulse_core.domain.access import Principal, Role
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.jobs import JobState, JobTransition, QueueName
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.worker import WorkerGroup

from .conftest import make_settings
from .job_servers import eventually
from .servers import SHARED_KEYS
from .test_loop_worker import _on_loop, _on_loop_free, _started, _states

ADMIN = Principal(user_id="u", company_id="co", role=Role.ADMIN)


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


def _stop_within(group: WorkerGroup, timeout_seconds: float, **options: Any) -> bool:
    """Stop `group` on a thread of its own; whether it ended (waiting at most 15 s)."""
    stopper = threading.Thread(
        target=group.stop, args=(timeout_seconds,), kwargs=options, daemon=True
    )
    stopper.start()
    stopper.join(15)
    return not stopper.is_alive()


class InnerCancelled:
    """Awaits an inner task that something else cancels (as a client library may on a reset)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.calls += 1
        inner = asyncio.ensure_future(asyncio.sleep(10))
        asyncio.get_running_loop().call_soon(inner.cancel)
        await inner


def test_a_job_whose_awaited_task_is_cancelled_by_something_else_is_retried_then_dead() -> None:
    services, handler = _services(), InnerCancelled()  # report: one retry
    services.tasks().register("test.inner", QueueName.REPORT, handler)
    group = _started(services)
    try:
        job = _on_loop(group, services.jobs().enqueue("test.inner", {}))
        eventually(
            lambda: _states(group, services), lambda s: s == {JobState.DEAD: 1}, "the job dies"
        )
        record = _on_loop(group, services.job_store().get(job.id))
    finally:
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert handler.calls == 2
    assert [(t.state, t.attempt) for t in record.transitions][-3:] == [
        (JobState.ACTIVE, 2),
        (JobState.FAILED, 2),
        (JobState.DEAD, 2),
    ]
    assert record.error_type == "CancelledError"
    assert _on_loop_free(services).dead == 1


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


async def _ignores_cancellation(payload: Mapping[str, object]) -> None:
    while True:  # e.g. a library's retry loop that catches BaseException
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)


def test_a_job_that_ignores_its_cancellation_frees_its_slot_and_is_retried_then_dead() -> None:
    services, done = _services(), []  # report: concurrency 2, one retry

    async def quick(payload: Mapping[str, object]) -> None:
        done.append(payload)

    services.tasks().register("test.stubborn", QueueName.REPORT, _ignores_cancellation)
    services.tasks().register("test.quick", QueueName.REPORT, quick)
    group = _started(services, time_limit_seconds=0.1)
    broker, name = services.broker(), _report_queue(services)
    try:
        for task in ["test.stubborn"] * 2 + ["test.quick"] * 3:
            _on_loop(group, services.jobs().enqueue(task, {}))
        eventually(lambda: len(done), lambda n: n == 3, "the other jobs of the queue run")
        eventually(
            lambda: len(broker.dead_letters_by_queue[name]),
            lambda n: n == 2,
            "the stubborn jobs are retried, then dead",
        )
        eventually(
            lambda: _states(group, services),
            lambda s: s == {JobState.COMPLETED: 3, JobState.DEAD: 2},
            "their records say dead, not active",
        )
    finally:
        assert _stop_within(group, 0.5, cleanup=lambda: composition.stop(services))


class HangsOnce:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.calls += 1
        if self.calls == 1:
            await asyncio.Event().wait()  # until the shutdown cancels it


def test_a_job_cut_short_by_a_shutdown_on_its_last_attempt_waits_again_rather_than_dead() -> None:
    services, handler = _services(NOVAPULSE_QUEUE_REPORT_MAX_RETRIES="0"), HangsOnce()
    services.tasks().register("test.hangs", QueueName.REPORT, handler)
    group = _started(services)
    job = _on_loop(group, services.jobs().enqueue("test.hangs", {}, company_id="co"))
    eventually(lambda: _states(group, services), lambda s: s == {JobState.ACTIVE: 1}, "it runs")
    group.stop(0.2)

    record = asyncio.run(services.job_store().get(job.id))
    assert record.state is JobState.RETRYING
    assert _on_loop_free(services).waiting == 1
    with pytest.raises(Conflict):  # not dead: an operator cannot enqueue it a second time
        asyncio.run(services.jobs().requeue(ADMIN, job.id))
    again = _started(services)
    try:
        _completed(again, services, 1, "the next group completes it", seconds=20)
    finally:
        again.stop(5, cleanup=lambda: composition.stop(services))
    assert handler.calls == 2


def test_a_shutdown_while_a_completed_attempt_is_written_does_not_run_the_job_again() -> None:
    services, calls = _services(), []

    async def quick(payload: Mapping[str, object]) -> None:
        calls.append(payload)

    services.tasks().register("test.quick", QueueName.REPORT, quick)
    store, writing, written = services.job_store(), threading.Event(), threading.Event()
    record = store.record

    async def slow_for_completions(batch: list[JobTransition]) -> None:
        if any(t.state is JobState.COMPLETED for t in batch):
            writing.set()
            await asyncio.to_thread(written.wait)  # a slow database
        await record(batch)

    store.record = slow_for_completions  # type: ignore[method-assign]
    group = _started(services)
    (worker,) = group._workers
    job = _on_loop(group, services.jobs().enqueue("test.quick", {}))
    eventually(writing.is_set, bool, "the completed attempt is being written")
    stopper = threading.Thread(target=group.stop, args=(0.5,))
    stopper.start()  # it cuts the attempt short while its transitions are written
    eventually(lambda: worker._running, lambda running: not running, "the attempt ends")
    written.set()
    stopper.join()

    assert _on_loop_free(services).waiting == 0
    assert asyncio.run(store.get(job.id)).state is JobState.COMPLETED
    assert len(calls) == 1


# On Redis


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


class FailsOnce:
    """A report task whose first call with each payload fails (a transient error)."""

    def __init__(self) -> None:
        self.calls: list[Mapping[str, object]] = []

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.calls.append(payload)
        if self.calls.count(payload) == 1:
            raise RuntimeError("transient")


def _retried_once(**settings: str) -> tuple[composition.Container, FailsOnce]:
    """Services whose `test.fails_once` report jobs fail once, retried after about 1 s."""
    services = _services(**settings, NOVAPULSE_QUEUE_REPORT_BACKOFF_BASE_SECONDS="1")
    task = FailsOnce()
    services.tasks().register("test.fails_once", QueueName.REPORT, task)
    return services, task


class RedisAway:
    """Patches the broker: while `away` is set, delayed consumers' fetches fail as if Redis
    were gone, and so do hand-backs while `requeues_fail` is set (one only, with `once`)."""

    def __init__(self, broker: Any, *, once: bool = False) -> None:
        self.away, self.requeues_fail = threading.Event(), threading.Event()
        self._broker, self._once = broker, once
        self._fetch, self._requeue = broker.do_fetch, broker.do_requeue
        broker.do_fetch, broker.do_requeue = self._fetch_unless_away, self._requeue_unless_away

    def _fetch_unless_away(self, queue_name: str, count: int) -> Any:
        if queue_name.endswith(".DQ") and self.away.is_set():
            raise redis.ConnectionError("Redis is away")
        return self._fetch(queue_name, count)

    def _requeue_unless_away(self, queue_name: str, *message_ids: str) -> Any:
        if self.requeues_fail.is_set():
            if self._once:
                self.requeues_fail.clear()
            raise redis.ConnectionError("Redis is away")
        return self._requeue(queue_name, *message_ids)

    def restore(self) -> None:
        self._broker.do_fetch, self._broker.do_requeue = self._fetch, self._requeue


def _held(group: WorkerGroup) -> Any:
    """The delayed consumer of the report queue's worker."""
    (worker,) = group._workers
    return next(c for name, c in worker.consumers.items() if name.endswith(".DQ"))


def _completed(
    group: WorkerGroup, services: composition.Container, jobs: int, what: str, seconds: float = 15
) -> None:
    """Wait until the report queue's jobs are `jobs` completed ones and nothing else."""
    eventually(
        lambda: _states(group, services),
        lambda s: s == {JobState.COMPLETED: jobs},
        what,
        seconds=seconds,
    )


def _retry_set_aside(group: WorkerGroup, services: composition.Container, away: RedisAway) -> Any:
    """Enqueue a job that fails once, wait until its retry is held, let Redis go away until
    the delayed consumer set it aside, and bring Redis back; the consumer."""
    consumer = _held(group)
    _on_loop(group, services.jobs().enqueue("test.fails_once", {}))
    eventually(consumer.delay_queue.qsize, lambda n: n == 1, "the retry is held")
    away.away.set()
    eventually(lambda: consumer._set_aside, lambda s: len(s) == 1, "set aside")
    away.away.clear()
    return consumer


def test_a_retry_waiting_out_its_backoff_runs_after_its_consumer_lost_redis(
    on_redis: dict[str, str],
) -> None:
    services, task = _retried_once(**on_redis)
    redis_away = RedisAway(services.broker())
    group = _started(services)
    try:
        _on_loop(group, services.jobs().enqueue("test.fails_once", {}))
        held = _held(group).delay_queue
        eventually(held.qsize, lambda n: n == 1, "the retry waits in the delayed consumer")

        redis_away.away.set()  # its next fetch fails, and so would handing the retry back
        redis_away.requeues_fail.set()
        time.sleep(1)
        redis_away.away.clear()  # back before Dramatiq's thread restarts its consumer (3 s)
        redis_away.requeues_fail.clear()
        _completed(group, services, 1, "the retry ran once its time came")
    finally:
        redis_away.restore()
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert len(task.calls) == 2


def test_a_retry_set_aside_in_an_outage_is_not_run_here_once_another_worker_took_it_over(
    on_redis: dict[str, str],
) -> None:
    """In an outage longer than the heartbeat timeout, another worker puts this one's
    unacknowledged messages back and runs them: the copy this worker set aside must not run
    too (a kept in-memory copy did, once due)."""
    services, task = _retried_once(**on_redis)
    broker = services.broker()
    redis_away = RedisAway(broker)
    group = _started(services)
    try:
        _on_loop(group, services.jobs().enqueue("test.fails_once", {}))
        consumer = _held(group)
        held = consumer.delay_queue
        eventually(held.qsize, lambda n: n == 1, "the retry waits in the delayed consumer")
        message_id = held.queue[0].message.options["redis_message_id"]

        redis_away.away.set()
        eventually(held.qsize, lambda n: n == 0, "the consumer lost Redis and set it aside")
        acks = f"{broker.namespace}:__acks__.{broker.broker_id}.{consumer.queue_name}"
        with redis.Redis.from_url(on_redis["NOVAPULSE_REDIS_URL"]) as client:
            assert client.srem(acks, message_id) == 1  # another worker's maintenance took it
        redis_away.away.clear()

        time.sleep(6)  # the restart (3 s), then past the retry's time (at most 1 s)
    finally:
        redis_away.restore()
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert len(task.calls) == 1


def test_a_delayed_retry_survives_one_failed_move_on_the_stub_broker() -> None:
    """The stub consumer cannot hand messages back: the held retry must stay held."""
    services, task = _retried_once()
    broker = services.broker()
    enqueue, refused = broker.enqueue, []

    def once_refused(message: Any, *, delay: int | None = None) -> Any:
        # the delayed consumer moving the due retry to its queue: refused once (a middleware
        # error, say); Dramatiq's thread restarts its consumer
        if delay is None and "retries" in message.options and not refused:
            refused.append(message.message_id)
            raise RuntimeError("refused once")
        return enqueue(message, delay=delay)

    broker.enqueue = once_refused  # type: ignore[method-assign]
    group = _started(services)
    try:
        _on_loop(group, services.jobs().enqueue("test.fails_once", {}))
        eventually(lambda: refused, lambda r: len(r) == 1, "the due retry's move was refused")
        _completed(group, services, 1, "the retry runs after the consumer's restart (3 s)")
    finally:
        broker.enqueue = enqueue  # type: ignore[method-assign]
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert len(task.calls) == 2


def test_every_retry_runs_after_a_flapping_redis(on_redis: dict[str, str]) -> None:
    """Redis answers a fetch of delayed retries, then fails the hand-back of those set aside:
    the batch just fetched must not be dropped (unacknowledged under this living worker,
    nothing would ever hand it back)."""
    services, task = _retried_once(**on_redis)
    redis_away = RedisAway(services.broker(), once=True)
    group = _started(services)
    try:
        consumer = _held(group)
        _on_loop(group, services.jobs().enqueue("test.fails_once", {"n": 0}))
        eventually(lambda: consumer.delay_queue.qsize(), lambda n: n == 1, "held")
        redis_away.away.set()  # job 0's retry is set aside
        eventually(lambda: consumer._set_aside, lambda s: len(s) == 1, "set aside")
        for n in (1, 2):  # their retries wait on the DQ list in Redis meanwhile
            _on_loop(group, services.jobs().enqueue("test.fails_once", {"n": n}))
        eventually(
            lambda: task.calls.count({"n": 1}) + task.calls.count({"n": 2}),
            lambda c: c == 2,
            "1 and 2 ran once",
        )
        redis_away.requeues_fail.set()  # Redis answers the next fetch, fails one hand-back
        redis_away.away.clear()
        _completed(group, services, 3, "every retry ran", seconds=25)
    finally:
        redis_away.restore()
        group.stop(5, cleanup=lambda: composition.stop(services))


def test_retries_fetched_with_one_whose_move_fails_all_run(on_redis: dict[str, str]) -> None:
    """Dramatiq drops a consumer on an error with the messages it fetched and did not hand on
    yet; unacknowledged under this living worker, nothing would hand them back."""
    services, task = _retried_once(**on_redis)
    broker = services.broker()
    fetch, enqueue = broker.do_fetch, broker.enqueue
    hold, refuse = threading.Event(), threading.Event()
    hold.set()
    refused: list[str] = []

    def held_fetch(queue_name: str, count: int) -> Any:
        if queue_name.endswith(".DQ") and hold.is_set():
            return []  # the three retries pile up on the delay queue in Redis
        return fetch(queue_name, count)

    def blip(message: Any, *, delay: int | None = None) -> Any:
        if delay is None and refuse.is_set():  # the delayed consumer moving a due retry
            refuse.clear()
            refused.append(message.message_id)
            raise redis.ConnectionError("Redis blipped")
        return enqueue(message, delay=delay)

    broker.do_fetch, broker.enqueue = held_fetch, blip  # type: ignore[method-assign]
    group = _started(services)
    try:
        for n in range(3):
            _on_loop(group, services.jobs().enqueue("test.fails_once", {"n": n}))
        eventually(lambda: len(task.calls), lambda c: c == 3, "every first attempt failed")
        refuse.set()
        hold.clear()  # one fetch takes all three retries; the first one's move blips
        eventually(lambda: refused, lambda r: len(r) == 1, "a move was refused")
        _completed(group, services, 3, "every retry ran", seconds=20)
    finally:
        broker.do_fetch, broker.enqueue = fetch, enqueue  # type: ignore[method-assign]
        group.stop(5, cleanup=lambda: composition.stop(services))


def test_a_retry_whose_hand_back_answer_was_lost_runs_once(on_redis: dict[str, str]) -> None:
    """The hand-back ran, its answer did not come: the retry is fetched again, held, and must
    not be handed back a second time (it would then run twice)."""
    services, task = _retried_once(**on_redis)
    broker = services.broker()
    requeue = broker.do_requeue
    redis_away = RedisAway(broker)
    lost: list[tuple[str, ...]] = []

    def answer_lost_once(queue_name: str, *message_ids: str) -> Any:
        result = requeue(queue_name, *message_ids)  # Redis runs it...
        if not lost:
            lost.append(message_ids)
            raise redis.TimeoutError("Timeout reading from socket")  # ...its answer is lost
        return result

    broker.do_requeue = answer_lost_once  # type: ignore[method-assign]
    group = _started(services)
    try:
        _retry_set_aside(group, services, redis_away)
        _completed(group, services, 1, "the retry ran")
        time.sleep(3)  # room for a second copy to run
    finally:
        redis_away.restore()
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert lost
    assert len(task.calls) == 2


def test_a_worker_can_still_be_joined_after_an_outage(on_redis: dict[str, str]) -> None:
    """Dramatiq's `Worker.join` waits for the delay queues: messages set aside leave them."""
    services, _ = _retried_once(**on_redis)
    redis_away = RedisAway(services.broker())
    group = _started(services)
    try:
        (worker,) = group._workers
        _retry_set_aside(group, services, redis_away)
        _completed(group, services, 1, "the retry ran")
        joiner = threading.Thread(target=worker.join, daemon=True)
        joiner.start()
        joiner.join(5)
        assert not joiner.is_alive(), "Worker.join hangs"
    finally:
        redis_away.restore()
        group.stop(5, cleanup=lambda: composition.stop(services))


def test_a_retry_held_at_a_stop_on_the_stub_broker_runs_in_the_next_worker() -> None:
    services, task = _services(NOVAPULSE_QUEUE_REPORT_BACKOFF_BASE_SECONDS="3"), FailsOnce()
    services.tasks().register("test.fails_once", QueueName.REPORT, task)
    group = _started(services)
    _on_loop(group, services.jobs().enqueue("test.fails_once", {}))
    eventually(lambda: _held(group).delay_queue.qsize(), lambda n: n == 1, "the retry is held")
    group.stop(1)
    again = _started(services)
    try:
        _completed(again, services, 1, "the next worker runs the retry")
    finally:
        again.stop(5, cleanup=lambda: composition.stop(services))
    assert len(task.calls) == 2


def test_a_refetched_set_aside_retry_still_cached_is_not_handed_back_again(
    on_redis: dict[str, str],
) -> None:
    """A set-aside retry fetched again (its hand-back ran, the answer was lost), still in the
    new consumer's cache behind another message, must not be handed back a second time."""
    services, task = _retried_once(**on_redis)
    broker = services.broker()
    fetch, requeue = broker.do_fetch, broker.do_requeue
    away, hold = threading.Event(), threading.Event()
    lost: list[tuple[str, ...]] = []
    arm_loss = threading.Event()

    def patched_fetch(queue_name: str, count: int) -> Any:
        if queue_name.endswith(".DQ"):
            if away.is_set():
                raise redis.ConnectionError("Redis is away")
            if hold.is_set():
                return []
        return fetch(queue_name, count)

    def patched_requeue(queue_name: str, *ids: str) -> Any:
        result = requeue(queue_name, *ids)  # Redis runs it...
        if arm_loss.is_set() and not lost:
            lost.append(ids)
            hold.clear()  # the next fetch takes [B, A]: as if B's retry had just landed
            raise redis.TimeoutError("Timeout reading from socket")  # ...its answer is lost
        return result

    broker.do_fetch, broker.do_requeue = patched_fetch, patched_requeue  # type: ignore[method-assign]
    group = _started(services)
    try:
        consumer = _held(group)
        _on_loop(group, services.jobs().enqueue("test.fails_once", {"n": "A"}))
        eventually(consumer.delay_queue.qsize, lambda n: n == 1, "A's retry is held")
        away.set()
        eventually(lambda: consumer._set_aside, lambda s: len(s) == 1, "A set aside")
        # B fails once meanwhile: its retry waits on the DQ list in Redis, ahead of A
        _on_loop(group, services.jobs().enqueue("test.fails_once", {"n": "B"}))
        eventually(lambda: task.calls.count({"n": "B"}), lambda c: c == 1, "B failed once")
        hold.set()
        arm_loss.set()
        away.clear()
        eventually(
            lambda: lost, lambda x: len(x) == 1, "A's hand-back ran, answer lost", seconds=15
        )
        _completed(group, services, 2, "both retries ran")
        time.sleep(4)  # room for a second copy of A
    finally:
        broker.do_fetch, broker.do_requeue = fetch, requeue  # type: ignore[method-assign]
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert task.calls.count({"n": "B"}) == 2
    assert task.calls.count({"n": "A"}) == 2, f"A ran {task.calls.count({'n': 'A'})} times"


def test_good_messages_cached_behind_an_undecodable_one_still_run(
    on_redis: dict[str, str],
) -> None:
    """An undecodable message fetched in one batch with good ones must not strand them when
    the consumer is dropped and its cache set aside."""
    services, done = _services(**on_redis), []  # report: concurrency 2 -> prefetch 4

    async def quick(payload: Mapping[str, object]) -> None:
        done.append(payload)

    services.tasks().register("test.quick", QueueName.REPORT, quick)
    broker = services.broker()
    fetch, hold = broker.do_fetch, threading.Event()
    hold.set()

    def held_fetch(queue_name: str, count: int) -> Any:
        if queue_name.endswith(".report") and hold.is_set():
            return []
        return fetch(queue_name, count)

    broker.do_fetch = held_fetch  # type: ignore[method-assign]
    group = _started(services)
    name = _report_queue(services)
    try:
        for n in ("A", "B"):
            _on_loop(group, services.jobs().enqueue("test.quick", {"n": n}))
        key = f"{broker.namespace}:{name}"
        with redis.Redis.from_url(on_redis["NOVAPULSE_REDIS_URL"]) as client:
            a, b = client.lrange(key, 0, -1)
            pipe = client.pipeline(transaction=True)
            pipe.hset(f"{key}.msgs", mapping={"bad1": b"not a message", "bad2": b"{}"})
            pipe.delete(key)
            pipe.rpush(key, "bad1", a, "bad2", b)  # one fetch of 4 takes them all
            pipe.execute()
        hold.clear()
        _completed(group, services, 2, "both good jobs ran")
    finally:
        broker.do_fetch = fetch  # type: ignore[method-assign]
        group.stop(5, cleanup=lambda: composition.stop(services))
    assert sorted(p["n"] for p in done) == ["A", "B"]  # type: ignore[index]


def test_retries_fetched_but_not_handled_at_a_stop_go_back_to_redis(
    on_redis: dict[str, str],
) -> None:
    """A stop that comes while the delayed consumer still holds fetched messages in its cache
    puts them back (Dramatiq's close forgets them: unacknowledged under a broker whose
    heartbeat goes on, nothing would ever hand them back)."""
    services, task = _retried_once(**on_redis)
    broker = services.broker()
    fetch, enqueue = broker.do_fetch, broker.enqueue
    hold, moving, release = threading.Event(), threading.Event(), threading.Event()
    hold.set()

    def held_fetch(queue_name: str, count: int) -> Any:
        if queue_name.endswith(".DQ") and hold.is_set():
            return []  # the three retries pile up on the DQ in Redis
        return fetch(queue_name, count)

    def slow_move(message: Any, *, delay: int | None = None) -> Any:
        if delay is None and "retries" in message.options and not moving.is_set():
            moving.set()
            release.wait(10)  # the first due retry's move is slow: the stop comes meanwhile
        return enqueue(message, delay=delay)

    broker.do_fetch, broker.enqueue = held_fetch, slow_move  # type: ignore[method-assign]
    group = _started(services)
    consumer = _held(group)
    for n in range(3):
        _on_loop(group, services.jobs().enqueue("test.fails_once", {"n": n}))
    eventually(lambda: len(task.calls), lambda c: c == 3, "every first attempt failed")
    time.sleep(2)  # every retry is due by the time it is fetched
    hold.clear()  # one fetch takes all three retries
    eventually(moving.is_set, bool, "the first retry is being moved", seconds=10)
    stopper = threading.Thread(
        target=group.stop, args=(5,), kwargs={"cleanup": lambda: composition.stop(services)}
    )
    stopper.start()
    eventually(lambda: consumer.running, lambda r: not r, "the consumer is told to stop")
    release.set()
    stopper.join(20)
    broker.do_fetch, broker.enqueue = fetch, enqueue  # type: ignore[method-assign]

    acks = f"{broker.namespace}:__acks__.{broker.broker_id}.{consumer.queue_name}"
    with redis.Redis.from_url(on_redis["NOVAPULSE_REDIS_URL"]) as client:
        stranded = client.smembers(acks)
        on_queues = client.llen(f"{broker.namespace}:{consumer.queue_name}")
    assert not stranded
    assert on_queues == 2  # the two not moved yet are back on the delay queue
