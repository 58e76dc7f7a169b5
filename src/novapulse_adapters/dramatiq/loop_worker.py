"""A Dramatiq worker whose jobs run as tasks on an event loop instead of on worker threads."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Collection
from typing import Any

import redis
from dramatiq import Broker, Message, Worker
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import current_millis, iter_queue, join_all, q_name
from dramatiq.errors import BrokerError, DecodeError
from dramatiq.worker import ConsumerThread

from novapulse_adapters.dramatiq.attempts import Attempts, Settlement, Verdict

log = logging.getLogger(__name__)

CONSUMER_STOP_MS = 5_000
"""How long a stop waits at least for the consumers (they notice within one poll)."""

SETTLER_STOP_SECONDS = 1.0
"""How long a stop waits at least for the settler (a finished message settles within it, unless
the broker cannot be reached)."""

SETTLE_RETRY_SECONDS = 1.0
"""How long the settler waits before it enqueues a retry again after a connection error."""

STUB_PREFETCH = 10_000
"""The stub broker's queues live in this process anyway: fetching far ahead costs nothing and
spares a thread wake-up per acknowledgement (its consumer waits for a prefetch slot)."""


class LoopWorker(Worker):
    """Dramatiq's `Worker` with its consumer threads (prefetch, delayed messages, heartbeats,
    requeue on stop) but no worker threads: a feeder thread moves fetched messages to `loop`
    in batches (one wake-up of the loop per batch), where each runs as a task, at most
    `concurrency` at a time; the others wait on the loop (the consumers fetch at most twice
    `concurrency` ahead) and start as running ones end, without a thread in between.

    Finished messages are acknowledged, rejected or enqueued again for a retry in batches,
    once per loop iteration: inline on the loop with the stub broker (those calls never
    block), on a settler thread with a broker whose calls block (Redis), so the loop never
    waits for the network. `stop` lets running tasks finish within its timeout and cancels
    the rest (their messages go back on the queue), settles every finished message, then
    stops the consumers, which put fetched but unstarted messages back.
    """

    def __init__(
        self,
        broker: Broker,
        attempts: Attempts,
        loop: asyncio.AbstractEventLoop,
        *,
        queues: Collection[str],
        concurrency: int,
        worker_timeout: int = 100,
    ) -> None:
        super().__init__(
            broker, queues=set(queues), worker_timeout=worker_timeout, worker_threads=concurrency
        )
        self._stub = isinstance(broker, StubBroker)
        if self._stub:
            self.queue_prefetch = STUB_PREFETCH
        self._attempts = attempts
        self._loop = loop
        self._concurrency = concurrency
        self._handed: list[MessageProxy] = []
        self._handed_lock = threading.Lock()
        self._wake_scheduled = False
        # The loop's own state, touched only on the loop:
        self._waiting: deque[MessageProxy] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._finished: list[Settlement] = []
        self._closing = False
        self._paused = False
        self._feeder = _Feeder(self, worker_timeout / 1000)
        self._settler = None if self._stub else _Settler(self)

    def start(self) -> None:
        super().start()  # boots the middleware and consumers; _add_worker adds no thread
        self._feeder.start()
        if self._settler is not None:
            self._settler.start()

    def _add_worker(self) -> None:
        """No worker threads: the feeder and the loop do their work."""

    def _add_consumer(self, queue_name: str, *, delay: bool = False) -> None:
        """Dramatiq's, with consumer threads that keep their delayed messages (see
        `_KeepingConsumer`)."""
        if queue_name in self.consumers or (
            self.consumer_whitelist and q_name(queue_name) not in self.consumer_whitelist
        ):
            return
        consumer = self.consumers[queue_name] = _KeepingConsumer(
            broker=self.broker,
            queue_name=queue_name,
            prefetch=self.delay_prefetch if delay else self.queue_prefetch,
            work_queue=self.work_queue,
            worker_timeout=self.worker_timeout,
        )
        consumer.start()

    def pause(self) -> None:
        """Stop starting jobs (fetched ones wait); running ones go on."""
        super().pause()
        self._feeder.pause()
        self._feeder.paused_event.wait()
        self._paused = True

    def resume(self) -> None:
        super().resume()
        self._paused = False
        self._feeder.resume()
        self._wake()

    def stop(self, timeout: int = 600_000) -> None:
        """Call it off the loop: it waits for the loop to finish (or cancel) the jobs."""
        started = time.monotonic()
        self._feeder.stop()
        self._feeder.join()
        drain = asyncio.run_coroutine_threadsafe(self._drain(timeout / 1000), self._loop)
        try:
            drain.result(timeout=timeout / 1000 + 5)
        except Exception:
            log.exception("jobs on the loop did not wind down")
        if self._settler is not None:
            self._settler.finish()
            left = max(0, timeout - int((time.monotonic() - started) * 1000))
            self._settler.join(max(left / 1000, SETTLER_STOP_SECONDS))
            if self._settler.is_alive():  # the broker is unreachable: give up on the rest
                self._settler.give_up.set()
                log.warning(
                    "%d finished job messages are left unsettled (the broker cannot be "
                    "reached); they are delivered again after the heartbeat timeout",
                    self.work_queue.unfinished_tasks,
                )
        left = max(0, timeout - int((time.monotonic() - started) * 1000))
        if self._stub:
            self._stop_consumers(max(left, CONSUMER_STOP_MS))
            self._return_to_stub()
        super().stop(max(left, CONSUMER_STOP_MS))
        self.broker.middleware[:] = [
            m for m in self.broker.middleware if getattr(m, "worker", None) is not self
        ]

    def _stop_consumers(self, timeout_ms: int) -> None:
        for consumer in self.consumers.values():
            consumer.stop()
        join_all(self.consumers.values(), timeout_ms)  # type: ignore[no-untyped-call]

    def _return_to_stub(self) -> None:
        """The stub consumer cannot requeue: put fetched, unstarted messages back on their
        queue ourselves (and acknowledge the fetched copies), the delayed ones held by the
        delay queues' consumers too (eta kept)."""
        for item in iter_queue(self.work_queue):  # type: ignore[no-untyped-call]
            self._put_back(item.message)
            self.work_queue.task_done()
        for consumer in self.consumers.values():
            for item in iter_queue(consumer.delay_queue):  # type: ignore[no-untyped-call]
                self._put_back(item.message)
                consumer.delay_queue.task_done()

    def _put_back(self, message: MessageProxy) -> None:
        consumer = self.consumers[message.queue_name]
        if not self._stub:
            consumer.requeue_messages([message])
            return
        broker: StubBroker = self.broker  # type: ignore[assignment]
        broker.queues[message.queue_name].put(message.encode())
        consumer.post_process_message(message)  # the fetched copy

    def hand_over(self, messages: list[MessageProxy]) -> None:
        """From the feeder: queue `messages` for the loop; wake it unless a wake-up is due."""
        self._wake(messages)

    def _wake(self, messages: list[MessageProxy] | None = None) -> None:
        with self._handed_lock:
            if messages:
                self._handed.extend(messages)
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        self._loop.call_soon_threadsafe(self._take_handed)

    # On the loop

    def _take_handed(self) -> None:
        with self._handed_lock:
            handed, self._handed = self._handed, []
            self._wake_scheduled = False
        self._waiting.extend(handed)
        self._start_waiting()

    def _start_waiting(self) -> None:
        if self._closing:  # fetched, never started: the consumers requeue them on stop
            while self._waiting:
                self.work_queue.put(_unstarted(self._waiting.popleft()))
                self.work_queue.task_done()
            return
        if self._paused:
            return
        waiting, running = self._waiting, self._running
        room = self._concurrency - len(running)
        while room > 0 and waiting:
            room -= 1
            task = self._loop.create_task(self._process(waiting.popleft()))
            running.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._waiting:
            self._start_waiting()

    async def _process(self, message: MessageProxy) -> None:
        try:
            settlement = await self._attempts.run(message)
        except asyncio.CancelledError:
            settlement = (message, Verdict.REQUEUE, 0)  # a shutdown: it goes back on its queue
        except Exception:
            log.exception("job message %s could not be processed; it is dead", message.message_id)
            message.fail()
            settlement = (message, Verdict.DEAD, 0)
        finished = self._finished
        finished.append(settlement)
        if len(finished) == 1:
            self._loop.call_soon(self._settle_finished)

    def _settle_finished(self) -> None:
        finished, self._finished = self._finished, []
        if self._settler is not None:
            self._settler.put(finished)
            return
        for settlement in finished:
            try:
                self.settle(settlement)
            except Exception:
                log.exception("a finished job message could not be settled")

    async def _drain(self, seconds: float) -> None:
        self._closing = True
        self._take_handed()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=seconds)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d jobs cut short by the shutdown go back on the queue", len(late))
                await asyncio.wait(late)
        self._attempts.close()
        self._settle_finished()

    # Settling a finished message with the broker (on the loop, or on the settler thread)

    def settle(self, settlement: Settlement) -> None:
        message, verdict, delay_ms = settlement
        consumer = self.consumers[message.queue_name]
        try:
            if verdict is Verdict.REQUEUE:
                self._put_back(message)
                return
            if verdict is Verdict.RETRY:
                message.options["requeue_timestamp"] = int(time.time() * 1000)
                if not self._enqueue_retry(message, delay_ms):
                    return  # unacknowledged, it is delivered again once this worker is gone
            consumer.post_process_message(message)
        finally:
            self.work_queue.task_done()

    def _enqueue_retry(self, message: MessageProxy, delay_ms: int) -> bool:
        """Enqueue the retry of `message`; on a connection error, again and again (as Dramatiq
        retries an acknowledgement) until it works or a stop gives up on it (False)."""
        while True:
            try:
                self.broker.enqueue(message, delay=delay_ms)  # type: ignore[arg-type]
                return True
            except (BrokerError, redis.ConnectionError, redis.TimeoutError) as error:
                settler = self._settler
                log.warning(
                    "a retry of job %s could not be enqueued (%s); trying again in %s s",
                    message.message_id,
                    error,
                    SETTLE_RETRY_SECONDS,
                )
                if settler is None or settler.give_up.wait(SETTLE_RETRY_SECONDS):
                    return False


def _unstarted(message: MessageProxy) -> Any:
    from dramatiq.worker import _WorkQueueItem

    return _WorkQueueItem(0, message)


class _KeepingConsumer(ConsumerThread):
    """Dramatiq's consumer thread, except that it never drops the delayed messages it holds.

    On a broker connection error Dramatiq's thread empties its delay queue and closes its
    consumer, which hands the delayed messages back to the broker: with the broker down that
    raises redis-py's error, which Dramatiq does not catch there, and the thread dies (a
    Redis restart ended every worker's delayed retries: none ran again while the worker
    lived, since they stay unacknowledged under it in Redis, where no other worker takes
    them). On any error Dramatiq also drops the consumer with the messages it fetched but did
    not hand on yet (its cache), unacknowledged under this worker as well. Here, on Redis,
    both are set aside instead and handed back to their queue (eta kept) once Redis answers;
    Redis takes back only those still unacknowledged under this worker, so one that another
    worker took over meanwhile (this one's heartbeat lapsed in a long outage) does not run
    twice, and one this consumer fetched again meanwhile (a hand-back whose answer was lost
    ran after all) is struck from the set-aside. A hand-back that fails is tried again on the
    next pass, without abandoning the messages just fetched. On the stub broker, whose
    consumer cannot hand anything back, the held messages stay held (a stop of the worker
    puts them back). A delayed message whose move to its queue failed stays delayed."""

    def __init__(self, **options: Any) -> None:
        self._delayed: queue.PriorityQueue[Any] | None = None
        self._set_aside: list[MessageProxy] = []
        super().__init__(**options)
        self._hands_back = not isinstance(self.broker, StubBroker)

    @property
    def delay_queue(self) -> queue.PriorityQueue[Any]:
        assert self._delayed is not None
        return self._delayed

    @delay_queue.setter
    def delay_queue(self, fresh: queue.PriorityQueue[Any]) -> None:
        if self._delayed is not None:  # Dramatiq's reset after a connection error
            self._set_aside_held()
            return
        self._delayed = fresh

    def close(self) -> None:
        """On a stop, the delayed messages held and the messages fetched but not handed on go
        back to the broker (Dramatiq's close forgets the latter; if the broker cannot be
        reached they wait for this worker's heartbeat to lapse); on a restart after an error,
        they are set aside (see the class)."""
        try:
            if not self.running:  # a stop: hand back what is held and what was fetched
                self._set_aside_held()
                if self._set_aside and self.consumer is not None:
                    self.consumer.requeue(self._set_aside)
                super().close()
                return
            self._set_aside_held()
            if self.consumer is not None:
                self.consumer.close()
        except Exception as error:
            self.logger.warning("the consumer of %s closed with %r", self.queue_name, error)

    def _set_aside_held(self) -> None:
        """On Redis: the delayed messages held and those fetched but not handed on yet."""
        if not self._hands_back:
            return
        for item in iter_queue(self.delay_queue):  # type: ignore[no-untyped-call]
            self._set_aside.append(item.message)
            self.delay_queue.task_done()
        cache: list[bytes | None] = getattr(self.consumer, "message_cache", [])
        fetched, cache[:] = list(cache), []
        for data in fetched:
            message = _decoded(data)
            if message is not None:
                self._set_aside.append(MessageProxy(message))

    def handle_message(self, message: MessageProxy) -> None:
        if self._set_aside:  # fetched again: it is held now, not to be handed back
            fetched = _redis_id(message)
            self._set_aside = [m for m in self._set_aside if _redis_id(m) != fetched]
        super().handle_message(message)

    def handle_delayed_messages(self) -> None:
        """Hand back what was set aside; then move each delayed message whose time has come
        to its queue and acknowledge it (Dramatiq's order); one the broker refused stays."""
        if self._set_aside and self.consumer is not None:
            cached = getattr(self.consumer, "message_cache", [])
            if cached:  # fetched again, not handled yet: held now, not to be handed back
                again = {_redis_id(_decoded(data)) for data in cached}
                self._set_aside = [m for m in self._set_aside if _redis_id(m) not in again]
            try:
                self.consumer.requeue(self._set_aside)
            except redis.RedisError as error:  # Redis flaps: try again on the next pass
                self.logger.warning("delayed messages not handed back yet: %s", error)
                return
            self._set_aside.clear()
        delayed = self.delay_queue
        for item in iter_queue(delayed):  # type: ignore[no-untyped-call]
            message = item.message
            if item.priority > current_millis():
                delayed.put(item)
                delayed.task_done()
                return
            due = message.copy(queue_name=q_name(message.queue_name))
            del due.options["eta"]
            try:
                self.broker.enqueue(due)
            except BaseException:
                delayed.put(item)
                delayed.task_done()
                raise
            self.post_process_message(message)
            delayed.task_done()


def _decoded(data: bytes | None) -> Message[Any] | None:
    """A fetched message, or None for an empty or undecodable one (logged: it stays where it
    is, unacknowledged, rather than stop the others)."""
    if not data:
        return None
    try:
        return Message.decode(data)
    except DecodeError:
        log.warning("a fetched job message cannot be decoded; left unacknowledged")
        return None


def _redis_id(message: Message[Any] | MessageProxy | None) -> object:
    return None if message is None else message.options.get("redis_message_id")


class _Feeder(threading.Thread):
    """Takes the fetched messages off the work queue, all that are there at once, and hands
    them to the loop."""

    def __init__(self, worker: LoopWorker, timeout: float) -> None:
        super().__init__(daemon=True, name="novapulse-feeder")
        self._worker = worker
        self._timeout = timeout
        self._running = True
        self._paused = False
        self.paused_event = threading.Event()

    def run(self) -> None:
        worker, work = self._worker, self._worker.work_queue
        while self._running:
            if self._paused:
                self.paused_event.set()
                time.sleep(self._timeout)
                continue
            try:
                batch = [work.get(timeout=self._timeout).message]
            except queue.Empty:
                continue
            while True:
                try:
                    batch.append(work.get_nowait().message)
                except queue.Empty:
                    break
            worker.hand_over(batch)

    def pause(self) -> None:
        self._paused = True
        self.paused_event.clear()

    def resume(self) -> None:
        self._paused = False
        self.paused_event.clear()

    def stop(self) -> None:
        self._running = False


class _Settler(threading.Thread):
    """Acknowledges, rejects and re-enqueues finished messages off the loop, in the order
    they finished (each of these is a blocking call to the broker)."""

    def __init__(self, worker: LoopWorker) -> None:
        super().__init__(daemon=True, name="novapulse-settler")
        self._worker = worker
        self._finished: queue.SimpleQueue[list[Settlement] | None] = queue.SimpleQueue()
        self.give_up = threading.Event()
        """Set by a stop that waited long enough: settlements that cannot be made are left."""

    def put(self, settlements: list[Settlement]) -> None:
        self._finished.put(settlements)

    def finish(self) -> None:
        """Settle what is queued, then end."""
        self._finished.put(None)

    def run(self) -> None:
        while (settlements := self._finished.get()) is not None:
            for settlement in settlements:
                try:
                    self._worker.settle(settlement)
                except Exception:
                    log.exception("a finished job message could not be settled")
