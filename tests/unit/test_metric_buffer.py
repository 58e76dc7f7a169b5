"""Metric updates are buffered and reach the Prometheus series in batches, unchanged."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from novapulse_adapters.telemetry.buffer import FlushFirst, MetricBuffer
from novapulse_adapters.telemetry.metrics import HTTP_BUCKETS, Metrics

LATENCIES = [0.0, 0.001, 0.005, 0.0051, 0.3, 0.75, 1.0, 9.99, 10.0, 42.0, 0.02, 0.02]


def _histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "latency_seconds", "latency", ["route"], buckets=HTTP_BUCKETS, registry=registry
    )


def test_a_flushed_histogram_renders_exactly_as_one_observed_directly() -> None:
    direct, buffered = CollectorRegistry(), CollectorRegistry()
    buffer = MetricBuffer()
    buffered.register(FlushFirst(buffer))
    observed, pending = _histogram(direct).labels("/a"), _histogram(buffered).labels("/a")

    for latency in LATENCIES:
        observed.observe(latency)
        buffer.observe(pending, HTTP_BUCKETS, latency)

    assert _without_created(generate_latest(buffered)) == _without_created(generate_latest(direct))


def _without_created(text: bytes) -> list[bytes]:
    """The exposition without the `_created` timestamps (when each series was made)."""
    return [line for line in text.splitlines() if b"_created" not in line]


def test_counters_and_gauges_add_up_at_the_flush() -> None:
    registry = CollectorRegistry()
    counter = Counter("things", "things", registry=registry)
    gauge = Gauge("in_flight", "in flight", registry=registry)
    buffer = MetricBuffer()

    buffer.add(counter)
    buffer.add(counter, 2)
    buffer.add(gauge)
    buffer.add(gauge)
    buffer.add(gauge, -1)

    buffer.flush()
    assert registry.get_sample_value("things_total") == 3
    assert registry.get_sample_value("in_flight") == 1


def test_reading_the_registry_flushes_the_metrics_first() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)

    metrics.http_request_started()
    metrics.http_request("GET", "/api/v1/users", 200, 0.004)
    metrics.rate_limit_decision("route:user", allowed=True)

    labels = {"method": "GET", "route": "/api/v1/users"}
    assert (
        registry.get_sample_value("novapulse_http_requests_total", {**labels, "status": "200"}) == 1
    )
    assert registry.get_sample_value("novapulse_http_request_duration_seconds_count", labels) == 1
    assert registry.get_sample_value("novapulse_http_requests_in_flight") == 0
    decision = {"policy": "route:user", "decision": "allowed"}
    assert registry.get_sample_value("novapulse_rate_limit_decisions_total", decision) == 1


def test_no_update_is_lost_when_threads_record_while_another_flushes() -> None:
    registry = CollectorRegistry()
    counter = Counter("things", "things", registry=registry)
    buffer = MetricBuffer()
    per_thread, threads = 20_000, 4

    def record() -> None:
        for _ in range(per_thread):
            buffer.add(counter)

    def flush_meanwhile(done: threading.Event) -> None:
        while not done.is_set():
            buffer.flush()

    done = threading.Event()
    flusher = threading.Thread(target=flush_meanwhile, args=(done,))
    flusher.start()
    recorders = [threading.Thread(target=record) for _ in range(threads)]
    for thread in recorders:
        thread.start()
    for thread in recorders:
        thread.join()
    done.set()
    flusher.join()
    buffer.flush()

    assert registry.get_sample_value("things_total") == per_thread * threads


class _BlockingSeries:
    """A series whose update waits until released, as a slow write (or a thread switch) would."""

    def __init__(self) -> None:
        self.entered, self.released = threading.Event(), threading.Event()

    def inc(self, amount: float) -> None:
        self.entered.set()
        assert self.released.wait(10)


def test_a_collection_during_another_flush_waits_for_it_and_sees_every_earlier_update() -> None:
    registry = CollectorRegistry()
    buffer = MetricBuffer()
    registry.register(FlushFirst(buffer))
    counter = Counter("things", "things", registry=registry)
    slow = _BlockingSeries()
    buffer.add(slow)  # type: ignore[arg-type]
    buffer.add(counter)
    seen: list[float | None] = []

    background = threading.Thread(target=buffer.flush)  # as the once-a-second flusher does
    background.start()
    assert slow.entered.wait(10)
    scrape = threading.Thread(target=lambda: seen.append(registry.get_sample_value("things_total")))
    scrape.start()
    scrape.join(0.2)
    slow.released.set()
    background.join()
    scrape.join()

    assert seen == [1.0]


def test_an_update_that_cannot_be_written_costs_the_others_nothing() -> None:
    registry = CollectorRegistry()
    first, last = (Counter(name, name, registry=registry) for name in ("first", "last"))

    class Broken:
        def inc(self, amount: float) -> None:
            raise OSError("no space left on device")

    buffer = MetricBuffer()
    buffer.add(first)
    buffer.add(Broken())  # type: ignore[arg-type]
    buffer.add(last)
    buffer.flush()

    assert registry.get_sample_value("first_total") == 1
    assert registry.get_sample_value("last_total") == 1
