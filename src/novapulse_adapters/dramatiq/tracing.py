"""Trace context in job messages: the attempts of a job join the trace that enqueued it."""

from __future__ import annotations

import threading
from typing import Any

from dramatiq import Broker, Middleware
from opentelemetry import context as otel_context
from opentelemetry import propagate

from novapulse_core import context

TRACE_CONTEXT = "trace_context"
"""The message option holding the W3C trace context (`traceparent`, `tracestate`, baggage)."""


class TraceContext(Middleware):
    """Injects the current trace context into a message's options when it is enqueued, and
    makes it (and the message's request id) current while a worker processes the message.

    The context is attached on the worker thread before the actor runs and detached after it:
    an async actor's coroutine is handed to the event loop thread by `run_coroutine_threadsafe`,
    which runs it in a copy of the worker thread's context (the same way Dramatiq's
    `CurrentMessage` reaches it), so the attempt's spans see the enqueuing request as parent
    while the loop's other tasks are untouched. Retries and delayed messages are enqueued again
    with their original context kept: every attempt's parent is the request that enqueued the
    job. With no tracer provider installed, nothing is injected (the context is invalid).
    """

    def __init__(self) -> None:
        self._attached = threading.local()

    def before_enqueue(self, broker: Broker, message: Any, delay: int) -> None:
        if TRACE_CONTEXT in message.options:
            return
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier:
            message.options[TRACE_CONTEXT] = carrier

    def before_process_message(self, broker: Broker, message: Any) -> None:
        carrier = message.options.get(TRACE_CONTEXT) or {}
        self._attached.tokens = (
            otel_context.attach(propagate.extract(carrier)),
            context.request_id.set(message.options.get("request_id")),
        )

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
        tokens = getattr(self._attached, "tokens", None)
        if tokens is None:
            return
        self._attached.tokens = None
        trace_token, request_token = tokens
        context.request_id.reset(request_token)
        otel_context.detach(trace_token)
