"""Queue depth per queue and state, asked of the broker and the job store at scrape time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from novapulse_core.domain.jobs import JobState, QueueDepth, QueueName
from novapulse_core.ports import JobQueue, JobStore

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 3.0
"""A scrape answers within this even when the broker or the store hangs (Prometheus' default
scrape timeout is 10 s)."""


class QueueStats:
    """Reads the backlog when Prometheus scrapes, rather than a gauge refreshed in the background.

    The numbers live in the broker and the job store, shared by every process: a scrape asks
    once and reports once, whichever API process answers, so the figures are never multiplied
    by the number of processes and never older than the scrape. A background gauge would ask
    in every process on a timer, whether anyone scrapes or not, and lag by up to its period.

    `novapulse_queue_depth{queue, state}` counts the broker's messages (waiting, delayed for a
    retry, dead-lettered); `novapulse_job_records{queue, state}` counts job records by lifecycle
    state (finished ones until their retention ends). When either cannot be read in time,
    `novapulse_queue_stats_up` is 0 and the depths are left out of that scrape.
    """

    def __init__(
        self,
        queue: JobQueue,
        store: JobStore,
        queues: Iterable[QueueName],
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._queue = queue
        self._store = store
        self._queues = list(queues)
        self._timeout = timeout_seconds
        self._up = True

    async def collect(self) -> list[Metric]:
        up = GaugeMetricFamily(
            "novapulse_queue_stats_up",
            "1 when this scrape could read the queue depths from the broker and the job store.",
        )
        try:
            async with asyncio.timeout(self._timeout):
                depths = await asyncio.gather(*(self._queue.depth(q) for q in self._queues))
                records = await asyncio.gather(*(self._store.counts(q) for q in self._queues))
        except Exception as error:
            self._report(False, error)
            up.add_metric([], 0)
            return [up]
        self._report(True)
        up.add_metric([], 1)
        return [
            _depth_family(dict(zip(self._queues, depths, strict=True))),
            _records_family(dict(zip(self._queues, records, strict=True))),
            up,
        ]

    def _report(self, up: bool, error: Exception | None = None) -> None:
        """Log when the depths stop and start being readable, not at every scrape."""
        if up and not self._up:
            log.info("queue depths readable again")
        elif not up and self._up:
            log.warning("queue depths unreadable: %s", type(error).__name__, exc_info=error)
        self._up = up


def _depth_family(depths: Mapping[QueueName, QueueDepth]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "novapulse_queue_depth",
        "Messages on the broker by queue and state (waiting, delayed, dead).",
        labels=["queue", "state"],
    )
    for queue, depth in depths.items():
        family.add_metric([queue.value, "waiting"], depth.waiting)
        family.add_metric([queue.value, "delayed"], depth.delayed)
        family.add_metric([queue.value, "dead"], depth.dead)
    return family


def _records_family(records: Mapping[QueueName, Mapping[JobState, int]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "novapulse_job_records",
        "Job records by queue and lifecycle state (finished ones until their retention ends).",
        labels=["queue", "state"],
    )
    for queue, counts in records.items():
        for state in JobState:
            family.add_metric([queue.value, state.value], counts.get(state, 0))
    return family
