"""The worker runner: one loop worker per queue, each running up to the policy's concurrency."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from dramatiq import Broker, Middleware
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread

from novapulse_adapters.dramatiq import (
    JOB_TIME_LIMIT_SECONDS,
    Attempts,
    LoopWorker,
    broker_queue_name,
)
from novapulse_core.domain.jobs import QueueName, QueuePolicy
from novapulse_core.services.job_runner import JobRunner, LifecycleRecorder

log = logging.getLogger("novapulse.worker")

Step = Callable[[], Coroutine[Any, Any, None]]


class _OneWorkerPerQueue(logging.Filter):
    """Each Dramatiq worker adds its own middleware to the broker; with one worker per queue
    Dramatiq warns that the type is added twice. Each copy only feeds its own worker's queues."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "same type twice" not in record.getMessage()


_ONE_WORKER_PER_QUEUE = _OneWorkerPerQueue()


class WorkerGroup:
    """Serves `queues` in this process, highest priority first.

    Each queue gets its own `LoopWorker` (its own consumers, and at most the policy's
    concurrency of jobs in flight), so a backlog on a low-priority queue never holds up a
    high-priority one: that is how the seed's priorities are made real (one Redis queue is
    FIFO; Dramatiq's actor priority only orders messages a worker has already fetched). Every
    job runs as a task on one event loop (the group's own thread, or an embedding app's loop),
    which also flushes the lifecycle recorder. `middleware` (job metrics) is on the broker
    from `start` to `stop`. An attempt running longer than `time_limit_seconds` is cancelled
    and retried (or dead after the last retry).
    """

    def __init__(
        self,
        broker: Broker,
        runner: JobRunner,
        recorder: LifecycleRecorder,
        policies: Mapping[QueueName, QueuePolicy],
        *,
        namespace: str,
        queues: Collection[QueueName] | None = None,
        poll_ms: int = 100,
        middleware: Sequence[Middleware] = (),
        time_limit_seconds: float = JOB_TIME_LIMIT_SECONDS,
    ) -> None:
        chosen = set(queues) if queues else set(policies)
        self._policies = sorted((policies[q] for q in chosen), key=lambda p: p.priority)
        self._broker = broker
        self._runner = runner
        self._recorder = recorder
        self._namespace = namespace
        self._poll_ms = poll_ms
        self._middleware = list(middleware)
        self._time_limit = time_limit_seconds
        self._workers: list[LoopWorker] = []
        self._loop_thread: EventLoopThread | None = None
        self._flushing: Future[None] | None = None

    @property
    def queues(self) -> list[QueueName]:
        return [p.queue for p in self._policies]

    def start(
        self,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        prepare: Step | None = None,
    ) -> None:
        """Start consuming. Jobs run on `loop` when given (an embedding app's running loop, so
        they share its clients), else on a loop thread of the group's own, where `prepare`
        runs first (to open the clients the jobs will use on that loop)."""
        running = get_event_loop_thread()
        # A slot whose loop has ended belongs to a group that is gone (its app never shut down).
        if running is not None and running.loop.is_running():
            raise RuntimeError("a worker group already runs in this process")
        self._loop_thread = _BorrowedLoop(loop) if loop else EventLoopThread(log)
        self._loop_thread.start(timeout=5.0)
        set_event_loop_thread(self._loop_thread)
        if prepare is not None:
            try:
                asyncio.run_coroutine_threadsafe(prepare(), self._loop_thread.loop).result()
            except BaseException:
                self._release_loop()  # or the loop thread keeps the process from exiting
                raise
        self._flushing = asyncio.run_coroutine_threadsafe(
            self._recorder.run(), self._loop_thread.loop
        )
        broker_log = logging.getLogger(f"dramatiq.broker.{type(self._broker).__name__}")
        broker_log.addFilter(_ONE_WORKER_PER_QUEUE)
        for extra in self._middleware:  # e.g. job metrics: on the broker while the group runs
            self._broker.add_middleware(extra)
        for policy in self._policies:
            worker = LoopWorker(
                self._broker,
                Attempts(self._broker, self._runner, policy, time_limit_seconds=self._time_limit),
                self._loop_thread.loop,
                queues={broker_queue_name(self._namespace, policy.queue)},
                concurrency=policy.concurrency,
                worker_timeout=self._poll_ms,
            )
            worker.start()
            self._workers.append(worker)
        log.info(
            "worker started",
            extra={"queues": {p.queue.value: p.concurrency for p in self._policies}},
        )

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the jobs run on (to run other coroutines beside them, e.g. in benchmarks)."""
        if self._loop_thread is None:
            raise RuntimeError("the worker group is not running")
        return self._loop_thread.loop

    def pause(self) -> None:
        """Stop starting jobs for now (fetched ones wait in memory; running ones go on)."""
        for worker in self._workers:
            worker.pause()

    def resume(self) -> None:
        for worker in self._workers:
            worker.resume()

    def stop(
        self,
        timeout_seconds: float,
        *,
        cleanup: Step | None = None,
    ) -> None:
        """Stop taking jobs, let running ones finish (up to the timeout), leave the rest queued,
        and write every recorded transition before returning. Call it off the jobs' loop."""
        stoppers = [
            threading.Thread(target=worker.stop, kwargs={"timeout": int(timeout_seconds * 1000)})
            for worker in self._workers
        ]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        self._workers.clear()
        for extra in self._middleware:
            if extra in self._broker.middleware:
                self._broker.middleware.remove(extra)
        loop_thread, self._loop_thread = self._loop_thread, None
        if loop_thread is None:
            return
        if self._flushing is not None:
            self._flushing.cancel()
        self._loop_thread = loop_thread
        try:
            asyncio.run_coroutine_threadsafe(self._recorder.flush(), loop_thread.loop).result(
                timeout=timeout_seconds
            )
            if cleanup is not None:
                asyncio.run_coroutine_threadsafe(cleanup(), loop_thread.loop).result(
                    timeout=timeout_seconds
                )
        except Exception:
            log.exception("worker shutdown did not finish cleanly")
        finally:
            self._release_loop()
        log.info("worker stopped")

    def _release_loop(self) -> None:
        loop_thread, self._loop_thread = self._loop_thread, None
        if loop_thread is not None:
            loop_thread.stop()  # type: ignore[no-untyped-call]
            loop_thread.join()
        set_event_loop_thread(None)


class _BorrowedLoop(EventLoopThread):
    """Dramatiq's loop-thread interface over a loop that already runs (an embedding app's)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        threading.Thread.__init__(self)  # never started: the loop belongs to its owner
        self.logger = log
        self.interrupt_check_ival = 0.1
        self.loop = loop

    def start(self, *, timeout: float | None = None) -> None:
        if not self.loop.is_running():
            raise RuntimeError("the borrowed event loop is not running")

    def stop(self) -> None:
        """The loop's owner stops it."""

    def join(self, timeout: float | None = None) -> None:
        """Nothing to join: no thread was started."""
