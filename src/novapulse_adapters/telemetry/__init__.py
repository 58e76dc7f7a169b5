"""Prometheus metrics: the metric objects, their scrape, and the wrappers that record them."""

from novapulse_adapters.telemetry.exposition import MEDIA_TYPE, MetricsExporter, MetricsServer
from novapulse_adapters.telemetry.jobs import JobMetrics
from novapulse_adapters.telemetry.limiter import MeteredRateLimiter, policy_of
from novapulse_adapters.telemetry.metrics import (
    UNMATCHED_ROUTE,
    JobOutcome,
    Metrics,
    WebhookOutcome,
)
from novapulse_adapters.telemetry.queues import QueueStats

__all__ = [
    "MEDIA_TYPE",
    "UNMATCHED_ROUTE",
    "JobMetrics",
    "JobOutcome",
    "MeteredRateLimiter",
    "Metrics",
    "MetricsExporter",
    "MetricsServer",
    "QueueStats",
    "WebhookOutcome",
    "policy_of",
]
