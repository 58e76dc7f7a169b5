"""HTTP server spans: Litestar's OpenTelemetry plugin, spans named by route template."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.plugins import InitPlugin
from litestar.types import Scope
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Span

from novapulse_entrypoints.tracing import Tracing

HTTP_ROUTE = "http.route"
UNTRACED = ["^/metrics", "^/api/v1/health/"]
"""Scrapes and probes: frequent, and worth no trace."""


def tracing_plugins(tracing: Tracing | None) -> list[InitPlugin]:
    """The plugin that opens a server span per request (none when tracing is off)."""
    if tracing is None:
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    config = OpenTelemetryConfig(
        tracer_provider=tracing.provider,
        scope_span_details_extractor=_method_only,
        exclude=UNTRACED,
        exclude_spans=["receive", "send"],
        server_request_hook_handler=_url_without_query,
    )
    return [OpenTelemetryPlugin(config)]


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The span's name until routing knows the template (and for unknown routes): the method,
    as the semantic conventions say, never the raw path (unbounded cardinality)."""
    return str(scope.get("method") or "HTTP"), {}


def _url_without_query(span: Span, scope: dict[str, Any]) -> None:
    """The server span's `http.url` without the query string: clients put tokens there."""
    if span.is_recording() and scope.get("query_string") and isinstance(span, ReadableSpan):
        url = (span.attributes or {}).get("http.url")
        if isinstance(url, str):
            span.set_attribute("http.url", url.partition("?")[0])


def name_span_by_route(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: the server span becomes `METHOD {route template}`."""
    template = request.scope.get("path_template")
    span = trace.get_current_span()
    if template and span.is_recording():
        span.update_name(f"{request.method} {template}")
        span.set_attribute(HTTP_ROUTE, template)
