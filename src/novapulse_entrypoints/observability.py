"""Wiring the metrics into a container: the metered rate limiter, cache and webhook transport,
job metrics, queue stats.

Imported by the API app and by `novapulse worker` only, never by the CLI module itself: the
`serve` command must set `PROMETHEUS_MULTIPROC_DIR` before anything imports prometheus-client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from dependency_injector import providers
from dramatiq import Middleware
from prometheus_client.metrics_core import Metric

from novapulse_adapters.telemetry import (
    JobMetrics,
    MeteredRateLimiter,
    Metrics,
    MetricsExporter,
    QueueStats,
)
from novapulse_entrypoints.container import Container
from novapulse_entrypoints.settings import Settings, SettingsError


def exporter_for(settings: Settings) -> MetricsExporter:
    """This process's metrics: on files shared with the other API processes when
    `PROMETHEUS_MULTIPROC_DIR` is set, else on a registry of its own."""
    return MetricsExporter(multiprocess_dir=settings.metrics_multiprocess_dir)


def meter_rate_limiter(container: Container, metrics: Metrics) -> None:
    """Count the rate limiter's decisions and fail-opens: every service the container builds
    from now on gets the limiter wrapped in a `MeteredRateLimiter`."""
    limiter = container.rate_limiter()
    if isinstance(limiter, MeteredRateLimiter):
        return
    container.rate_limiter.override(providers.Object(MeteredRateLimiter(limiter, metrics)))


def meter_cache(container: Container, metrics: Metrics) -> None:
    """Count the cache's hits and misses: the cache-aside built from now on reads through a
    `MeteredCache`."""
    from novapulse_adapters.telemetry.cache import MeteredCache

    cache = container.cache()
    if isinstance(cache, MeteredCache):
        return
    container.cache.override(providers.Object(MeteredCache(cache, metrics)))


def meter_webhooks(container: Container, metrics: Metrics) -> None:
    """Count webhook delivery attempts by outcome, with their latency (the container's transport
    is metered from the start; this gives it its meter). Nothing to do without aiohttp."""
    with contextlib.suppress(SettingsError):
        container.webhook_transport().meter = metrics


def job_middleware(settings: Settings, metrics: Metrics) -> list[Middleware]:
    """What a worker group adds to the broker while it runs: the job attempt metrics."""
    return [JobMetrics(metrics, settings.queue_namespace)]


class QueueStatsScrape:
    """The queue depths of a scrape, from the container's broker and job store (built at the
    first scrape, when the app has started them)."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._stats: QueueStats | None = None

    async def __call__(self) -> Sequence[Metric]:
        if self._stats is None:
            self._stats = QueueStats(
                self._container.job_queue(),
                self._container.job_store(),
                self._container.settings().queue_policies,
            )
        return await self._stats.collect()
