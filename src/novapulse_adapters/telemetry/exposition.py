"""One process's metrics and their scrape: a registry of its own, or prometheus-client's
multiprocess mode when several processes serve one port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    start_http_server,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from novapulse_adapters.telemetry.buffer import FlushFirst
from novapulse_adapters.telemetry.metrics import Metrics

MEDIA_TYPE = "text/plain; version=0.0.4"
"""The classic Prometheus text format, which `generate_latest` writes and every Prometheus
reads (servers add `; charset=utf-8`)."""


class MetricsExporter:
    """Owns a process's `metrics` and renders what a scrape of this process returns.

    Without `multiprocess_dir` the metrics live on a registry of this exporter's own (never the
    global one), with the process, platform and GC collectors beside them: two exporters in one
    process (two apps in a test run) never mix their counts. With it, prometheus-client's
    multiprocess mode is on (`PROMETHEUS_MULTIPROC_DIR` must have been set before
    prometheus-client was first imported): every process writes its values to files there and
    each scrape, whichever process answers it, adds up the files of all of them. The
    `process_*` metrics are then absent (prometheus-client cannot aggregate them).
    """

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        # `*_created` series double the text and no query here uses them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._multiprocess_dir = multiprocess_dir
        self._registry = CollectorRegistry(auto_describe=True)
        if multiprocess_dir is None:
            ProcessCollector(registry=self._registry)
            PlatformCollector(registry=self._registry)
            GCCollector(registry=self._registry)
            self.metrics = Metrics(self._registry)
        else:
            _require_multiprocess_mode(multiprocess_dir)
            self.metrics = Metrics(None)
            # this process's pending updates reach its files before a scrape reads them all
            self._registry.register(FlushFirst(self.metrics.buffer))
            MultiProcessCollector(self._registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]

    def render(self, extra: Sequence[Metric] = ()) -> bytes:
        """The scrape's body: this process's (or every process's) metrics, then `extra` (values
        asked of shared backends at scrape time, reported once whichever process answers)."""
        return generate_latest(_Scrape(self._registry, extra))

    def serve(self, port: int, host: str) -> MetricsServer:
        """Serve `GET /metrics` on a thread of its own (for processes without an HTTP API)."""
        server, thread = start_http_server(port, addr=host, registry=self._registry)
        return MetricsServer(server, thread)

    def close(self) -> None:
        """The process stops: in multiprocess mode its live gauges (in-flight requests, API
        processes) leave the sums; its counters stay, as counters must."""
        self.metrics.flush()
        if self._multiprocess_dir is not None:
            mark_process_dead(os.getpid(), self._multiprocess_dir)  # type: ignore[no-untyped-call]


class MetricsServer:
    """The worker's metrics endpoint; `close` stops it and frees the port."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.port = int(server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Scrape(Collector):
    """A collector over the exporter's registry and the metrics gathered for this scrape."""

    def __init__(self, registry: CollectorRegistry, extra: Iterable[Metric]) -> None:
        self._registry = registry
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        yield from self._extra


def _require_multiprocess_mode(directory: str) -> None:
    if values.ValueClass is values.MutexValue:
        raise RuntimeError(
            "PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is first imported "
            "(this process imported it earlier, so its metrics would not reach the files)"
        )
    if not os.path.isdir(directory):
        raise RuntimeError(f"PROMETHEUS_MULTIPROC_DIR {directory!r} is not a directory")
