"""`/metrics` of the wired app: HTTP requests by route template, latency, requests in flight,
queue depths read at scrape time, login limits, and job attempts counted by a worker group."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from litestar.testing import TestClient

from novapulse_adapters.telemetry import JobMetrics, MetricsExporter
from novapulse_core.domain.errors import Invalid
from novapulse_core.domain.jobs import JobState, QueueName
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.observability import job_middleware
from support.metrics import Scrape

from .conftest import Account, add_user, make_settings, sign_up
from .job_servers import eventually
from .test_webhooks_http import Receiver

REQUESTS = "novapulse_http_requests_total"
LATENCY = "novapulse_http_request_duration_seconds"
DELIVERIES = "novapulse_webhook_deliveries_total"


def scrape(client: TestClient[Any]) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)


@pytest.fixture
def acme(client: TestClient[Any]) -> Account:
    return sign_up(client, "Acme")


def test_metrics_are_served_in_the_prometheus_text_format(client: TestClient[Any]) -> None:
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    seen = Scrape.parse(response.text)
    assert {"novapulse_http_requests", "novapulse_queue_depth", "process_cpu_seconds"} <= set(
        seen.families
    )
    assert "/metrics" not in client.get("/schema/openapi.json").json()["paths"]


def test_requests_are_counted_by_route_template_method_and_status_never_by_raw_path(
    client: TestClient[Any], acme: Account
) -> None:
    member = add_user(client, acme, "bo@acme.example", "member")
    before = scrape(client)

    for user_id in (acme.user_id, member.user_id, "no-such-user"):
        client.get(f"/api/v1/users/{user_id}", headers=acme.headers)
    client.get(f"/api/v1/nowhere/{acme.user_id}")
    after = scrape(client)

    route = "/api/v1/users/{user_id}"
    for labels, count in [
        ({"method": "GET", "route": route, "status": "200"}, 2),
        ({"method": "GET", "route": route, "status": "404"}, 1),
        ({"method": "GET", "route": "<unmatched>", "status": "404"}, 1),
    ]:
        assert after.value(REQUESTS, **labels) - before.value(REQUESTS, **labels) == count
    routes = {s.labels["route"] for s in after.matching(REQUESTS)}
    assert not [r for r in routes if acme.user_id in r or member.user_id in r], routes


def test_latency_is_a_histogram_with_the_buckets_of_p50_p95_and_p99(
    client: TestClient[Any],
) -> None:
    labels = {"method": "GET", "route": "/api/v1/health/live"}
    before = scrape(client)

    for _ in range(5):
        client.get("/api/v1/health/live")
    after = scrape(client)

    count = f"{LATENCY}_count"
    assert after.value(count, **labels) - before.value(count, **labels) == 5
    buckets = {s.labels["le"]: s.value for s in after.matching(f"{LATENCY}_bucket", **labels)}
    assert {"0.05", "0.1", "0.5", "1.0", "2.5", "+Inf"} <= set(buckets)
    assert buckets["+Inf"] == after.value(count, **labels)
    assert after.value(f"{LATENCY}_sum", **labels) > before.value(f"{LATENCY}_sum", **labels)


def test_requests_in_flight_count_the_scrape_itself_and_nothing_left_over(
    client: TestClient[Any],
) -> None:
    for _ in range(3):
        client.get("/api/v1/health/live")
        client.get("/api/v1/nowhere")

    assert scrape(client).value("novapulse_http_requests_in_flight") == 1
    assert scrape(client).value("novapulse_api_processes") == 1


def test_each_app_counts_from_zero_on_a_registry_of_its_own() -> None:
    for _ in range(2):
        with TestClient(create_app(make_settings())) as client:
            client.get("/api/v1/health/live")
            assert scrape(client).total(REQUESTS, route="/api/v1/health/live") == 1


def test_job_records_are_read_at_scrape_time_from_the_store(
    client: TestClient[Any], acme: Account
) -> None:
    completed = {"queue": "email", "state": "completed"}
    before = scrape(client).value("novapulse_job_records", **completed)

    add_user(client, acme, "cy@acme.example", "member")  # a welcome email job

    eventually(
        lambda: scrape(client).value("novapulse_job_records", **completed),
        lambda value: value == before + 1,
        "the welcome email job counted as completed",
    )
    seen = scrape(client)
    assert seen.value("novapulse_queue_stats_up") == 1
    assert seen.value("novapulse_queue_depth", queue="email", state="waiting") == 0
    assert seen.total("novapulse_jobs_processed_total", queue="email") >= 2  # embedded workers


def test_login_limits_count_their_decisions_by_policy(
    client: TestClient[Any], acme: Account
) -> None:
    before = scrape(client)
    wrong = {"email": acme.email, "password": "not the password"}

    assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
    after = scrape(client)

    name = "novapulse_rate_limit_decisions_total"
    for policy in ("auth:password", "auth:client"):
        labels = {"policy": policy, "decision": "allowed"}
        assert after.value(name, **labels) > before.value(name, **labels)
    assert after.total("novapulse_rate_limit_fail_open_total") == 0


# Job attempts on an in-process worker group (the stub broker)


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, payload: Mapping[str, object]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("try again")


async def _refuse(payload: Mapping[str, object]) -> None:
    raise Invalid("this job can never succeed")


@pytest.fixture
def worker_services() -> composition.Container:
    settings = make_settings(
        NOVAPULSE_QUEUE_REPORT_BACKOFF_BASE_SECONDS="0.01",
        NOVAPULSE_QUEUE_REPORT_MAX_RETRIES="2",
    )
    return composition.build_container(settings)


def test_a_worker_counts_each_attempt_by_queue_and_outcome_with_its_duration(
    worker_services: composition.Container,
) -> None:
    services, exporter = worker_services, MetricsExporter()
    services.tasks().register("test.flaky", QueueName.REPORT, Flaky(failures=1))
    services.tasks().register("test.refused", QueueName.REPORT, _refuse)
    settings = services.settings()
    group = services.worker_group(middleware=job_middleware(settings, exporter.metrics))
    group.start(prepare=lambda: composition.start(services))
    try:
        for task in ("test.flaky", "test.refused"):
            asyncio.run_coroutine_threadsafe(services.jobs().enqueue(task, {}), group.loop).result()

        def finished() -> Mapping[JobState, int]:
            counts = services.job_store().counts(QueueName.REPORT)
            return asyncio.run_coroutine_threadsafe(counts, group.loop).result()

        eventually(
            finished,
            lambda c: c[JobState.COMPLETED] == 1 and c[JobState.DEAD] == 1,
            "one job completed after a retry, one dead at once",
        )
    finally:
        group.stop(5, cleanup=lambda: composition.stop(services))

    seen = Scrape.parse(exporter.render().decode())
    assert seen.value("novapulse_jobs_processed_total", queue="report") == 3
    assert seen.value("novapulse_jobs_failed_total", queue="report", outcome="retry") == 1
    assert seen.value("novapulse_jobs_failed_total", queue="report", outcome="dead") == 1
    assert seen.value("novapulse_jobs_failed_total", queue="report", outcome="error") == 0
    assert seen.value("novapulse_job_duration_seconds_count", queue="report") == 3
    assert seen.value("novapulse_jobs_processed_total", queue="email") == 0
    assert not [m for m in services.broker().middleware if isinstance(m, JobMetrics)]


def test_a_webhook_delivery_is_counted_by_outcome_with_its_latency() -> None:
    receiver = Receiver()
    settings = make_settings(NOVAPULSE_WEBHOOK_ALLOW_LIST="127.0.0.1/32")
    try:
        with TestClient(create_app(settings)) as client:
            owner = sign_up(client, "Acme")
            created = client.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "event_types": ["user.created"]},
                headers=owner.headers,
            )
            assert created.status_code == 201, created.text
            add_user(client, owner, "dana@acme.example", "member")
            seen = eventually(
                lambda: scrape(client),
                lambda s: s.value(DELIVERIES, outcome="delivered") == 1,
                "the delivery is counted",
            )
    finally:
        receiver.close()
    assert seen.value("novapulse_webhook_delivery_duration_seconds_count", outcome="delivered") == 1
    assert seen.value(DELIVERIES, outcome="rejected") == 0
    assert len(receiver.received) == 1


METRICS_TOKEN = "a-scrape-token-of-some-length"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token-of-some-length", 401),
        (f"Basic {METRICS_TOKEN}", 401),
        (f"Bearer {METRICS_TOKEN}x", 401),
        (f"Bearer {METRICS_TOKEN}", 200),
        (f"bearer {METRICS_TOKEN}", 200),
    ],
)
def test_with_a_metrics_token_only_a_scrape_that_sends_it_is_answered(
    authorization: str | None, status: int
) -> None:
    settings = make_settings(NOVAPULSE_METRICS_TOKEN=METRICS_TOKEN)
    headers = {} if authorization is None else {"Authorization": authorization}
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "novapulse_http_requests" not in response.text
    else:
        assert "novapulse_http_requests" in response.text
