"""`GET /metrics`, and the ASGI middleware that counts and times every HTTP request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client.metrics_core import Metric

from novapulse_adapters.telemetry import MEDIA_TYPE, UNMATCHED_ROUTE, Metrics, MetricsExporter

ScrapeExtras = Callable[[], Awaitable[Sequence[Metric]]]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted under their own name; any other is counted as `OTHER` (a client cannot
create label values at will)."""


def metrics_middleware(app: ASGIApp, metrics: Metrics) -> ASGIApp:
    """Count and time each HTTP request by method, route template and status.

    Wraps the whole ASGI app (outside the request id), so 404s and errors are counted too. The
    route template is the one Litestar's router leaves in the scope (`path_template`); a
    request that matched no route is counted under `<unmatched>`, never its raw path."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.http_in_flight.inc()
        try:
            await app(scope, receive, send_and_watch)
        finally:
            metrics.http_in_flight.dec()
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = _route(scope)
            metrics.http_request(method, route, status, time.perf_counter() - started)

    return middleware


def _route(scope: Scope) -> str:
    if "route_handler" not in scope:
        return UNMATCHED_ROUTE
    return scope.get("path_template") or UNMATCHED_ROUTE


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
