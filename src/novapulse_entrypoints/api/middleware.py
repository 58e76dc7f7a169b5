"""The one ASGI middleware around the app: request id, route rate limits, metrics and the
access log line, in a single pass over each request (one wrapper of `send`, one read of the
headers), outside Litestar so that unknown routes and refusals get all four too."""

from __future__ import annotations

import logging
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from novapulse_adapters.telemetry import UNMATCHED_ROUTE, Metrics
from novapulse_core import context
from novapulse_entrypoints.api import request_id
from novapulse_entrypoints.api.deps import CURRENT_REQUEST
from novapulse_entrypoints.api.rate_limits import PASS, RouteLimits, too_many
from novapulse_entrypoints.logs import access_lines

TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
"""W3C trace context a client may send: by default it is dropped before the tracing sees it,
so a client can neither pick a request's trace, nor keep it from being sampled, nor hand
baggage to the jobs it causes."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted under their own name; any other is counted as `OTHER` (a client cannot
create label values at will)."""

access_log = access_lines.logger


def api_middleware(
    app: ASGIApp,
    metrics: Metrics,
    limits: RouteLimits | None,
    *,
    trust_trace_context: bool = False,
) -> ASGIApp:
    """Wrap `app`: every HTTP answer carries `X-Request-ID` (and the RateLimit headers when
    `limits` are on), is counted and timed by method, route template and status, and logged
    on `novapulse.access` at INFO (see `logs.AccessLines`: the line is buffered).

    The route template is the one Litestar's router leaves in the scope (`path_template`); a
    request that matched no route (or was refused before routing) is counted under
    `<unmatched>`, never its raw path. Trace context headers are dropped unless
    `trust_trace_context` (the API sits behind services that trace and are trusted)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = authorization = None
        foreign_trace = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = authorization or value  # the first, as the handlers read it
            elif name == request_id.HEADER:
                incoming = value
            elif name in TRACE_HEADERS:
                foreign_trace = not trust_trace_context
        if foreign_trace:
            scope["headers"] = [h for h in scope["headers"] if h[0] not in TRACE_HEADERS]
        rid = request_id.request_id(incoming)
        token = context.request_id.set(rid)
        handled = CURRENT_REQUEST.set(None)
        extra = [(request_id.HEADER, rid.encode())]
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        metrics.http_request_started()
        try:
            verdict = PASS if limits is None else await limits.check(scope, authorization)
            extra.extend(verdict.headers)
            if verdict.retry_after is None:
                await app(scope, receive, send_with_headers)
            else:
                await too_many(scope, send_with_headers, verdict)
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            metrics.http_request(method, _route(scope), status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_lines.write(scope["method"], scope["path"], status, seconds)
            CURRENT_REQUEST.reset(handled)
            context.request_id.reset(token)

    return middleware


def _route(scope: Scope) -> str:
    if "route_handler" not in scope:
        return UNMATCHED_ROUTE
    return scope.get("path_template") or UNMATCHED_ROUTE
