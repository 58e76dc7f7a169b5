"""Trace context in job messages: the attempts of a job join the trace that enqueued it."""

from __future__ import annotations

import contextvars
from typing import Any

from dramatiq import Broker, Middleware
from opentelemetry import context as otel_context
from opentelemetry import propagate

from novapulse_core import context

TRACE_CONTEXT = "trace_context"
"""The message option holding the W3C trace context (`traceparent`, `tracestate`, baggage)."""

_Tokens = tuple[object | None, contextvars.Token[str | None]]
_attached: contextvars.ContextVar[_Tokens | None] = contextvars.ContextVar(
    "novapulse_trace_tokens", default=None
)


class TraceContext(Middleware):
    """Injects the current trace context into a message's options when it is enqueued, and
    makes it (and the message's request id) current while a worker processes the message.

    Each attempt runs in an asyncio task of its own (`LoopWorker`), and the hooks run inside
    it, so what they make current belongs to that attempt alone: its spans see the enqueuing
    request as parent while the loop's other tasks are untouched. Retries and delayed messages
    are enqueued again with their original context kept: every attempt's parent is the request
    that enqueued the job. With no tracer provider installed, nothing is injected (the context
    is invalid) and nothing is attached.
    """

    def before_enqueue(self, broker: Broker, message: Any, delay: int) -> None:
        if TRACE_CONTEXT in message.options:
            return
        current = otel_context.get_current()
        if not current:  # no span, no baggage: nothing to carry (the common case untraced)
            return
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier:
            message.options[TRACE_CONTEXT] = carrier

    def before_process_message(self, broker: Broker, message: Any) -> None:
        carrier = message.options.get(TRACE_CONTEXT)
        trace_token = otel_context.attach(propagate.extract(carrier)) if carrier else None
        _attached.set((trace_token, context.request_id.set(message.options.get("request_id"))))

    def after_process_message(
        self,
        broker: Broker,
        message: Any,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        self._detach()

    def after_skip_message(self, broker: Broker, message: Any) -> None:
        self._detach()

    def _detach(self) -> None:
        tokens = _attached.get()
        if tokens is None:
            return
        _attached.set(None)
        trace_token, request_token = tokens
        context.request_id.reset(request_token)
        if trace_token is not None:
            otel_context.detach(trace_token)  # type: ignore[arg-type]
