"""`GET /metrics`: the Prometheus scrape (the counting is `api.middleware`'s)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client.metrics_core import Metric

from novapulse_adapters.telemetry import MEDIA_TYPE, MetricsExporter
from novapulse_core.domain.errors import Unauthenticated

ScrapeExtras = Callable[[], Awaitable[Sequence[Metric]]]


def metrics_route(
    exporter: MetricsExporter, extras: ScrapeExtras, token: str | None = None
) -> HTTPRouteHandler:
    """The scrape endpoint: the exporter's metrics and `extras`, asked for at each scrape; with
    `token`, only for a scrape that sends it as `Authorization: Bearer <token>` (401 else)."""
    expected = None if token is None else token.encode()

    @get(
        "/metrics",
        operation_id="metrics",
        include_in_schema=False,
        media_type=MEDIA_TYPE,
    )
    async def scrape(request: Request[Any, Any, Any]) -> Response[bytes]:
        if expected is not None and not _sends(request, expected):
            raise Unauthenticated("send the metrics token as 'Authorization: Bearer <token>'")
        body = exporter.render(await extras())
        return Response(body, media_type=MEDIA_TYPE)

    return scrape


def _sends(request: Request[Any, Any, Any], token: bytes) -> bool:
    """Whether the request's first `Authorization` header is `Bearer <token>` (the scheme in
    any case, the token compared in constant time)."""
    for name, value in request.scope["headers"]:
        if name.lower() == b"authorization":
            scheme, _, sent = value.partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(sent.strip(), token)
    return False
