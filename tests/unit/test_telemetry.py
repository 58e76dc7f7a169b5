"""The metric wrappers and collectors on memory adapters: what they count, and what they say
when a backend is down."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta

import pytest

from novapulse_adapters.memory import FrozenClock, SequentialIds
from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.limits import InMemoryRateLimiter
from novapulse_adapters.memory.queue import InMemoryJobQueue
from novapulse_adapters.telemetry import (
    JobOutcome,
    MeteredRateLimiter,
    MetricsExporter,
    QueueStats,
    WebhookOutcome,
    policy_of,
)
from novapulse_core.domain.errors import RateLimited, Unavailable
from novapulse_core.domain.jobs import DEFAULT_POLICIES, JobState, QueueDepth, QueueName
from novapulse_core.domain.limits import AttemptLimits, RateDecision
from novapulse_core.services.attempts import Attempts, Proof
from novapulse_core.services.jobs import JobService
from novapulse_core.services.tasks import TaskRegistry
from support.metrics import Scrape

WINDOW = timedelta(minutes=15)


class DownLimiter:
    """A limiter whose backend cannot be reached."""

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        raise Unavailable("redis is down")

    async def peek(self, key: str, limit: int, window: timedelta) -> RateDecision:
        raise Unavailable("redis is down")

    async def hit_all(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        raise Unavailable("redis is down")

    async def reset(self, key: str) -> None:
        raise Unavailable("redis is down")

    async def undo(self, key: str) -> None:
        raise Unavailable("redis is down")


def scrape(exporter: MetricsExporter) -> Scrape:
    return Scrape.parse(exporter.render().decode())


def test_a_policy_is_the_first_two_parts_of_a_key_so_no_account_reaches_a_label() -> None:
    assert policy_of("auth:password:ann@example.com") == "auth:password"
    assert policy_of("auth:client:10.0.0.1") == "auth:client"
    assert policy_of("auth:code:u:1") == "auth:code"
    assert policy_of("login") == "login"


async def test_the_metered_limiter_counts_each_answer_by_policy_and_decision() -> None:
    exporter = MetricsExporter()
    limiter = MeteredRateLimiter(InMemoryRateLimiter(FrozenClock()), exporter.metrics)

    await limiter.hit("auth:password:ann@example.com", 1, WINDOW)
    await limiter.hit("auth:password:ann@example.com", 1, WINDOW)
    await limiter.peek("auth:client:10.0.0.1", 5, WINDOW)

    seen = scrape(exporter)
    name = "novapulse_rate_limit_decisions_total"
    assert seen.value(name, policy="auth:password", decision="allowed") == 1
    assert seen.value(name, policy="auth:password", decision="refused") == 1
    assert seen.value(name, policy="auth:client", decision="allowed") == 1
    assert not any("ann@" in str(s.labels) for s in seen.samples)


async def test_every_fail_open_of_the_login_limits_is_counted_per_budget() -> None:
    exporter = MetricsExporter()
    attempts = Attempts(MeteredRateLimiter(DownLimiter(), exporter.metrics), AttemptLimits())

    await attempts.begin(Proof.PASSWORD, "ann@example.com", "10.0.0.1")  # let through
    await attempts.succeeded(Proof.CODE, "u-1", None)

    seen = scrape(exporter)
    assert attempts.failed_open == 2  # the core counts the attempts it let through
    assert seen.value("novapulse_rate_limit_fail_open_total", policy="auth:password") == 1
    assert seen.value("novapulse_rate_limit_fail_open_total", policy="auth:client") == 1
    assert seen.value("novapulse_rate_limit_fail_open_total", policy="auth:code") == 1
    assert seen.total("novapulse_rate_limit_decisions_total") == 0


async def test_the_metered_limiter_counts_each_budget_of_a_hit_all() -> None:
    exporter = MetricsExporter()
    limiter = MeteredRateLimiter(InMemoryRateLimiter(FrozenClock()), exporter.metrics)
    budgets = [("route:user:u-1", 1, WINDOW), ("route:company:c-1", 5, WINDOW)]

    await limiter.hit_all(budgets)
    await limiter.hit_all(budgets)  # refused by the user's budget: the company's is not asked

    seen = scrape(exporter)
    name = "novapulse_rate_limit_decisions_total"
    assert seen.value(name, policy="route:user", decision="allowed") == 1
    assert seen.value(name, policy="route:user", decision="refused") == 1
    assert seen.value(name, policy="route:company", decision="allowed") == 1


async def test_a_hit_all_on_a_limiter_that_cannot_be_reached_counts_a_fail_open_per_budget() -> (
    None
):
    exporter = MetricsExporter()
    limiter = MeteredRateLimiter(DownLimiter(), exporter.metrics)

    with pytest.raises(Unavailable):
        await limiter.hit_all([("route:user:u-1", 1, WINDOW), ("route:company:c-1", 5, WINDOW)])

    seen = scrape(exporter)
    assert seen.value("novapulse_rate_limit_fail_open_total", policy="route:user") == 1
    assert seen.value("novapulse_rate_limit_fail_open_total", policy="route:company") == 1


async def test_a_refusal_still_reaches_the_caller_through_the_metered_limiter() -> None:
    exporter = MetricsExporter()
    limiter = MeteredRateLimiter(InMemoryRateLimiter(FrozenClock()), exporter.metrics)
    attempts = Attempts(limiter, AttemptLimits(password_per_account=1))
    await attempts.begin(Proof.PASSWORD, "ann@example.com", None)

    with pytest.raises(RateLimited):
        await attempts.begin(Proof.PASSWORD, "ann@example.com", None)

    refused = scrape(exporter).value(
        "novapulse_rate_limit_decisions_total", policy="auth:password", decision="refused"
    )
    assert refused == 1


def test_the_api_for_later_code_records_cache_webhook_and_job_figures() -> None:
    exporter = MetricsExporter()
    metrics = exporter.metrics
    metrics.cache_lookup("user_profile", hit=True)
    metrics.cache_lookup("user_profile", hit=False)
    metrics.webhook_delivery(WebhookOutcome.TIMEOUT, 10.0)
    metrics.job_attempt("email", JobOutcome.DEAD, 0.2)

    seen = scrape(exporter)
    assert seen.value("novapulse_cache_lookups_total", cache="user_profile", result="hit") == 1
    assert seen.value("novapulse_cache_lookups_total", cache="user_profile", result="miss") == 1
    assert seen.value("novapulse_webhook_deliveries_total", outcome="timeout") == 1
    assert seen.value("novapulse_webhook_deliveries_total", outcome="delivered") == 0
    assert seen.value("novapulse_webhook_delivery_duration_seconds_count", outcome="timeout") == 1
    assert seen.value("novapulse_jobs_processed_total", queue="email") == 1
    assert seen.value("novapulse_jobs_failed_total", queue="email", outcome="dead") == 1


def test_two_exporters_in_one_process_never_share_counts() -> None:
    first, second = MetricsExporter(), MetricsExporter()
    first.metrics.http_request("GET", "/metrics", 200, 0.001)

    assert scrape(first).total("novapulse_http_requests_total") == 1
    assert scrape(second).total("novapulse_http_requests_total") == 0


async def _noop(payload: Mapping[str, object]) -> None:
    return None


async def test_queue_stats_read_the_broker_and_the_store_at_each_scrape() -> None:
    clock = FrozenClock()
    queue, store = InMemoryJobQueue(), InMemoryJobStore(clock, retention=timedelta(days=1))
    tasks = TaskRegistry()
    tasks.register("report.build", QueueName.REPORT, _noop)
    jobs = JobService(store, queue, tasks, SequentialIds(), clock, DEFAULT_POLICIES)
    stats = QueueStats(queue, store, DEFAULT_POLICIES)
    for n in range(3):
        await jobs.enqueue("report.build", {"n": n})
    queue.kill(queue.take())

    seen = Scrape.parse(MetricsExporter().render(await stats.collect()).decode())

    assert seen.value("novapulse_queue_depth", queue="report", state="waiting") == 2
    assert seen.value("novapulse_queue_depth", queue="report", state="dead") == 1
    assert seen.value("novapulse_queue_depth", queue="email", state="waiting") == 0
    assert seen.value("novapulse_job_records", queue="report", state=JobState.WAITING) == 3
    assert seen.value("novapulse_queue_stats_up") == 1


class DownStore(InMemoryJobStore):
    async def counts(self, queue: QueueName) -> Mapping[JobState, int]:
        raise Unavailable("mongo is down")


async def test_a_store_that_is_down_leaves_the_depths_out_and_says_so() -> None:
    clock = FrozenClock()
    stats = QueueStats(InMemoryJobQueue(), DownStore(clock, timedelta(days=1)), DEFAULT_POLICIES)

    families = await stats.collect()

    assert [f.name for f in families] == ["novapulse_queue_stats_up"]
    assert families[0].samples[0].value == 0


class HangingQueue(InMemoryJobQueue):
    async def depth(self, queue: QueueName) -> QueueDepth:
        await asyncio.Event().wait()  # a broker that never answers
        raise AssertionError("unreachable")


async def test_a_broker_that_hangs_cannot_hold_up_a_scrape() -> None:
    store = InMemoryJobStore(FrozenClock(), timedelta(days=1))
    stats = QueueStats(HangingQueue(), store, DEFAULT_POLICIES, timeout_seconds=0.05)

    families = await stats.collect()

    assert [(f.name, f.samples[0].value) for f in families] == [("novapulse_queue_stats_up", 0)]
