"""OpenTelemetry SDK setup: the tracer provider, the request id on every span, traced stores."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from novapulse_core import context

REQUEST_ID = "novapulse.request_id"
"""The span attribute carrying the request id (`X-Request-ID`) of the work in progress."""


class RequestIdStamp(SpanProcessor):
    """Stamps the request id of the work in progress on every span as it starts: the HTTP
    request's, and in a worker the one carried in the job's message."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        request_id = context.request_id.get()
        if request_id is not None:
            span.set_attribute(REQUEST_ID, request_id)


def build_tracer_provider(
    service_name: str,
    *,
    otlp_traces_url: str | None = None,
    exporters: Sequence[SpanExporter] = (),
) -> TracerProvider:
    """A provider for `service_name` whose spans carry the request id. Spans go to the OTLP/HTTP
    collector at `otlp_traces_url` (in batches) and to each of `exporters` (one by one, e.g. a
    test's `InMemorySpanExporter`); with neither, nothing leaves the process."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(RequestIdStamp())
    if otlp_traces_url is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_traces_url)))
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def install_globally(provider: TracerProvider) -> None:
    """Make `provider` the process's global one (for libraries that trace through the global
    API), unless one was set already: OpenTelemetry allows that once per process. Call it from
    a process's entry point only, never at import."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)


DATABASES = {"mongo": "mongodb", "redis": "redis"}
"""OpenTelemetry's `db.system.name` of the adapter packages that talk to a database."""


def database_system(store: object) -> str | None:
    """The database a store adapter talks to (`db.system.name`), by its adapter package; None
    for the memory adapters, which keep their records in this process."""
    package = type(store).__module__.split(".")
    if len(package) < 2 or package[0] != "novapulse_adapters":
        return None
    return DATABASES.get(package[1])


class TracedStore:
    """Any store port with each of its coroutine methods inside a span `{port}.{method}`: a
    client span naming its database (`db.system.name`) for the MongoDB and Redis adapters, an
    internal one for the memory adapters.

    Store spans join a trace and never start one: a call made outside any span (a background
    flush of job transitions) runs untraced rather than opening a one-span trace of its own.
    Everything else (attributes, test helpers of the memory adapters) passes through."""

    def __init__(self, inner: object, tracer: trace.Tracer, port: str) -> None:
        self._inner = inner
        self._tracer = tracer
        self._port = port
        self._database = database_system(inner)

    @property
    def inner(self) -> object:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(value):
            return value
        traced = self._traced(name, value)
        setattr(self, name, traced)  # built once per method
        return traced

    def _traced(self, method: str, call: Callable[..., Any]) -> Callable[..., Any]:
        span_name = f"{self._port}.{method}"
        attributes = {"novapulse.store": self._port, "code.function.name": method}
        kind = trace.SpanKind.INTERNAL
        if self._database is not None:
            attributes["db.system.name"] = self._database
            kind = trace.SpanKind.CLIENT

        @functools.wraps(call)
        async def traced(*args: Any, **kwargs: Any) -> Any:
            if not trace.get_current_span().get_span_context().is_valid:
                return await call(*args, **kwargs)
            with self._tracer.start_as_current_span(span_name, kind=kind, attributes=attributes):
                return await call(*args, **kwargs)

        return traced
