"""`X-Request-ID` in and out: accepted when well-formed, generated otherwise, logged with each
line and handed to the core as the correlation id of whatever the request causes."""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from novapulse_core import context

HEADER = "x-request-id"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

access_log = logging.getLogger("novapulse.access")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _WELL_FORMED.match(text) else None
    return None


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        token = context.request_id.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[HEADER] = request_id
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            structlog.contextvars.unbind_contextvars("request_id")
            context.request_id.reset(token)

    return middleware
