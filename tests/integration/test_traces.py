"""One trace from an API request through the job it enqueued to the webhook delivery it caused."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from dramatiq import Message
from litestar.testing import TestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from novapulse_adapters.dramatiq import build_broker
from novapulse_adapters.dramatiq.tracing import TRACE_CONTEXT
from novapulse_adapters.telemetry.tracing import REQUEST_ID, TracedStore, build_tracer_provider
from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.container import build_container

from .conftest import PASSWORD, make_settings, sign_up
from .servers import free_port
from .test_webhooks_http import Receiver, eventually, subscribe

REQUEST = "trace-me-0001"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


@pytest.fixture
def traced_client(spans: InMemorySpanExporter) -> Iterator[TestClient[Any]]:
    provider = build_tracer_provider("novapulse-api", exporters=[spans])
    settings = make_settings(NOVAPULSE_WEBHOOK_ALLOW_LIST="127.0.0.1/32")
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        yield client
    provider.shutdown()


def finished(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def test_a_request_its_job_and_the_webhook_delivery_share_one_trace(
    traced_client: TestClient[Any], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    owner = sign_up(traced_client, "Acme")
    subscribe(traced_client, owner, receiver.url, "user.created")
    response = traced_client.post(
        "/api/v1/users",
        json={"email": "dana@acme.example", "name": "dana", "password": PASSWORD, "role": "member"},
        headers={**owner.headers, "X-Request-ID": REQUEST},
    )
    assert response.status_code == 201, response.text
    eventually(lambda: len(finished(spans, "job webhook.deliver")) == 1)

    (server,) = [
        s
        for s in finished(spans, "POST /api/v1/users")
        if s.attributes and s.attributes.get(REQUEST_ID) == REQUEST
    ]
    (job,) = finished(spans, "job webhook.deliver")
    (delivery,) = [s for s in finished(spans, "POST") if s.kind is SpanKind.CLIENT]
    assert server.kind is SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/v1/users"
    assert server.resource.attributes["service.name"] == "novapulse-api"
    assert server.parent is None
    assert job.kind is SpanKind.CONSUMER
    assert parent_of(job) == server.context.span_id
    assert delivery.attributes is not None
    assert delivery.attributes["http.response.status_code"] == 200
    receiving = urlsplit(receiver.url)
    assert delivery.attributes["server.address"] == receiving.hostname
    assert delivery.attributes["server.port"] == receiving.port
    assert not any(receiving.path in str(v) for v in delivery.attributes.values())
    assert parent_of(delivery) == job.context.span_id

    trace_id = server.context.trace_id
    in_trace = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    assert {job, delivery} <= set(in_trace)
    assert all(s.attributes and s.attributes.get(REQUEST_ID) == REQUEST for s in in_trace)
    by_id = {s.context.span_id: s for s in in_trace}
    assert all(s is server or parent_of(s) in by_id for s in in_trace)  # no orphans
    store_calls = {(s.name, parent_of(s)) for s in in_trace}
    assert ("UserStore.add", server.context.span_id) in store_calls
    assert ("WebhookDeliveryStore.get", job.context.span_id) in store_calls
    assert ("WebhookDeliveryStore.record_attempt", job.context.span_id) in store_calls


def test_an_unmatched_route_is_named_by_its_method_only(
    traced_client: TestClient[Any], spans: InMemorySpanExporter
) -> None:
    assert traced_client.get("/api/v1/no-such/4711").status_code == 404
    names = {s.name for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER}
    assert names == {"GET"}


def test_a_query_string_never_reaches_a_server_span(
    traced_client: TestClient[Any], spans: InMemorySpanExporter
) -> None:
    """Clients put tokens in query strings (and a form sent early, passwords)."""
    traced_client.get("/api/v1/no-such/4711?access_token=s3cr3t-in-query")
    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    attributes = dict(server.attributes or {})
    assert attributes["http.url"].endswith("/api/v1/no-such/4711")
    assert not any("s3cr3t" in str(value) for value in attributes.values())


CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_PARENT = f"00-{CLIENT_TRACE}-b7ad6b7169203331-00"  # and "not sampled"


def test_a_request_starts_its_own_trace_whatever_trace_context_it_sends(
    traced_client: TestClient[Any], spans: InMemorySpanExporter
) -> None:
    traced_client.get("/api/v1/no-such/4711", headers={"traceparent": CLIENT_PARENT})

    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.parent is None
    assert f"{server.context.trace_id:032x}" != CLIENT_TRACE


def test_trusted_trace_context_is_adopted(spans: InMemorySpanExporter) -> None:
    provider = build_tracer_provider("novapulse-api", exporters=[spans])
    settings = make_settings(NOVAPULSE_TRUST_TRACE_CONTEXT="true")
    sampled = CLIENT_PARENT.removesuffix("-00") + "-01"
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        client.get("/api/v1/no-such/4711", headers={"traceparent": sampled})

    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert f"{server.context.trace_id:032x}" == CLIENT_TRACE


class Collector:
    """A stand-in OTLP/HTTP collector on 127.0.0.1 that keeps every export it receives."""

    def __init__(self) -> None:
        self.exports: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.exports.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return None

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def span_names(self) -> set[str]:
        return {
            span.name
            for export in self.exports
            for resource in export.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        }

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    served = Collector()
    yield served
    served.close()


def test_spans_are_exported_over_otlp_when_an_endpoint_is_configured(
    collector: Collector,
) -> None:
    settings = make_settings(NOVAPULSE_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.port}")
    assert settings.otlp_traces_url == f"http://127.0.0.1:{collector.port}/v1/traces"
    with TestClient(create_app(settings)) as client:
        sign_up(client, "Acme")
    assert "POST /api/v1/companies" in collector.span_names()  # flushed as the app stopped
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # nothing global


def test_nothing_is_traced_or_exported_without_an_endpoint() -> None:
    settings = make_settings()
    assert settings.otlp_traces_url is None
    services = build_container(settings)
    app = create_app(settings, services)
    assert not [p for p in app.plugins if type(p).__name__ == "OpenTelemetryPlugin"]
    with TestClient(app) as client:
        sign_up(client, "Acme")
        assert not services.tracer().start_span("probe").is_recording()
        assert not isinstance(services.user_store(), TracedStore)
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_a_retry_keeps_the_context_of_the_request_that_enqueued_the_job() -> None:
    broker = build_broker(None)
    broker.declare_queue("q")
    message: Message[Any] = Message(queue_name="q", actor_name="a", args=(), kwargs={}, options={})
    tracer = build_tracer_provider("novapulse-api").get_tracer("test")
    with tracer.start_as_current_span("request") as request:
        broker.enqueue(message)
    carrier = dict(message.options[TRACE_CONTEXT])
    assert f"{request.get_span_context().trace_id:032x}" in carrier["traceparent"]
    with tracer.start_as_current_span("an attempt that failed"):
        broker.enqueue(message)  # what Dramatiq's Retries does
    assert message.options[TRACE_CONTEXT] == carrier


def test_the_standard_otel_variables_configure_the_endpoint() -> None:
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}
    assert make_settings(**base).otlp_traces_url == "http://collector:4318/v1/traces"
    traces = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/t", **base}
    assert make_settings(**traces).otlp_traces_url == "http://c:4318/t"
    assert make_settings(**base, OTEL_SDK_DISABLED="true").otlp_traces_url is None
