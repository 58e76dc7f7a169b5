"""`GET /metrics`: the Prometheus scrape (the counting is `api.middleware`'s)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client.metrics_core import Metric

from novapulse_adapters.telemetry import MEDIA_TYPE, MetricsExporter

ScrapeExtras = Callable[[], Awaitable[Sequence[Metric]]]


def metrics_route(exporter: MetricsExporter, extras: ScrapeExtras) -> HTTPRouteHandler:
    """The scrape endpoint: the exporter's metrics and `extras`, asked for at each scrape."""

    @get(
        "/metrics",
        operation_id="metrics",
        include_in_schema=False,
        media_type=MEDIA_TYPE,
    )
    async def scrape() -> Response[bytes]:
        body = exporter.render(await extras())
        return Response(body, media_type=MEDIA_TYPE)

    return scrape
