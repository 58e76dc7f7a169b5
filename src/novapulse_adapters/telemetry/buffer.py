"""Metric updates kept in plain Python and moved into prometheus-client's series in batches.

prometheus-client takes a lock and runs a few checks on every `inc` and `observe`: about a
microsecond each, and a request records seven of them. Here a request adds to a dict under one
uncontended lock, and `flush` adds the sums to the series: before every collection of the
registry (a scrape, a test reading a sample), at least every `FLUSH_SECONDS` from a background
thread (so in multiprocess mode a process's files are at most that far behind), and when the
process exits normally. A process that dies abruptly loses at most that last second.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

FLUSH_SECONDS = 1.0

log = logging.getLogger("novapulse")


class MetricBuffer:
    """Pending counter increments, gauge moves and histogram observations, by series."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applying = threading.Lock()
        """Held by a flush from taking the pending updates until they are all in the series."""
        self._added: dict[Counter | Gauge, float] = {}
        self._observed: dict[Histogram, _Observations] = {}
        _flusher.watch(self)

    def add(self, series: Counter | Gauge, amount: float = 1.0) -> None:
        """Add `amount` to a counter (not negative) or a gauge (either sign)."""
        with self._lock:
            self._added[series] = self._added.get(series, 0.0) + amount

    def count(self, series: Iterable[Counter]) -> None:
        """Add one to each counter, under one lock."""
        with self._lock:
            added = self._added
            for counter in series:
                added[counter] = added.get(counter, 0.0) + 1.0

    def observe(
        self,
        series: Histogram,
        bounds: Sequence[float],
        value: float,
        also: Iterable[tuple[Counter | Gauge, float]] = (),
    ) -> None:
        """One observation of `series`, whose bucket upper bounds are `bounds` (ascending,
        without +Inf, as given to the histogram); and each (series, amount) of `also` added,
        under the same lock."""
        with self._lock:
            self._add_each(also)
            pending = self._observed.get(series)
            if pending is None:
                pending = self._observed[series] = _Observations(len(bounds) + 1)
            pending.total += value
            pending.buckets[bisect.bisect_left(bounds, value)] += 1

    def _add_each(self, additions: Iterable[tuple[Counter | Gauge, float]]) -> None:
        """The additions into the pending sums; the caller holds the lock."""
        added = self._added
        for series, amount in additions:
            added[series] = added.get(series, 0.0) + amount

    def drop_pending(self) -> None:
        self._lock, self._applying = threading.Lock(), threading.Lock()
        self._added, self._observed = {}, {}

    def flush(self) -> None:
        """Add what is pending to the series. A flush that finds another one under way waits
        for it, so when any flush returns, every update made before it is in the series. An
        update that cannot be written (a multiprocess file on a full disk) is logged; the
        others are still written."""
        with self._applying:
            with self._lock:
                added, self._added = self._added, {}
                observed, self._observed = self._observed, {}
            failures = 0
            for series, amount in added.items():
                try:
                    series.inc(amount)
                except Exception:  # one series must not cost the others their update
                    failures += 1
            for histogram, pending in observed.items():
                try:
                    _add_to_histogram(histogram, pending)
                except Exception:
                    failures += 1
        if failures:
            log.error("metrics: %d buffered updates could not be written", failures)


class FlushFirst(Collector):
    """Registered on a registry before the metrics it buffers: collecting it flushes them, so
    what the registry yields next includes every update made so far. Yields nothing."""

    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer

    def collect(self) -> Iterator[Metric]:
        self._buffer.flush()
        return iter(())


class _Observations:
    __slots__ = ("buckets", "total")

    def __init__(self, buckets: int) -> None:
        self.total = 0.0
        self.buckets = [0] * buckets


def _add_to_histogram(histogram: Any, pending: _Observations) -> None:
    """`pending` into one histogram series, as that many `observe` calls would.

    prometheus-client has no public way to add several observations at once, so this writes
    the series' sum and bucket values (`_sum`, `_buckets`: the same objects `observe` writes,
    cumulated at exposition). tests/unit/test_metric_buffer.py renders a flushed histogram
    against one observed directly, so a release that changes them fails there."""
    histogram._sum.inc(pending.total)
    for value, count in zip(histogram._buckets, pending.buckets, strict=True):
        if count:
            value.inc(count)


class _Flusher:
    """One daemon thread per process flushing every live buffer every `FLUSH_SECONDS`."""

    def __init__(self) -> None:
        self._buffers: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget_thread)
        atexit.register(self.flush_all)

    def watch(self, buffer: MetricBuffer) -> None:
        with self._lock:
            self._buffers.add(buffer)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="novapulse-metrics-flush", daemon=True
                )
                self._thread.start()

    def flush_all(self) -> None:
        with self._lock:
            buffers = list(self._buffers)
        for buffer in buffers:
            buffer.flush()

    def _run(self) -> None:
        wake = threading.Event()
        while not wake.wait(FLUSH_SECONDS):
            try:
                self.flush_all()
            except Exception:  # the thread must outlive any one flush
                log.exception("metrics: a periodic flush failed")

    def _forget_thread(self) -> None:
        """In a forked child the thread is gone (the next buffer starts a new one), and what the
        parent had pending is the parent's to flush. A buffer made before the fork is flushed
        in the child at collection and exit only (the API and workers make theirs after)."""
        self._lock = threading.Lock()
        self._thread = None
        for buffer in list(self._buffers):
            buffer.drop_pending()


_flusher = _Flusher()
