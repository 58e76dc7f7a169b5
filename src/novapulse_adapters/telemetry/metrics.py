"""Every NovaPulse Prometheus metric, and the small calls that record them."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from novapulse_adapters.telemetry.buffer import FlushFirst, MetricBuffer
from novapulse_core.domain.jobs import QueueName

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
"""Request latency buckets: fine below 100 ms (p50), and a boundary at the 1 s alert (p95)."""

JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
"""Job attempt buckets, up to the actors' 15-minute time limit."""

WEBHOOK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Webhook delivery buckets: a receiver's answer, up to a generous timeout."""


class JobOutcome(enum.StrEnum):
    """How a job attempt ended, as the broker acts on it."""

    COMPLETED = "completed"
    RETRY = "retry"
    """Failed; another attempt is scheduled."""
    DEAD = "dead"
    """Failed for good (permanent error or retries used up): dead-lettered."""
    ERROR = "error"
    """The runner itself failed (not the task): Dramatiq's backstop retries the message."""


class WebhookOutcome(enum.StrEnum):
    """How one webhook delivery attempt ended."""

    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    REJECTED = "rejected"
    """The receiver answered, but not 2xx."""
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    """No connection (DNS, refused, TLS)."""
    BLOCKED = "blocked"
    """The SSRF guard refused the address; nothing was sent."""


UNMATCHED_ROUTE = "<unmatched>"
"""The `route` label of requests that matched no route (404, 405): never the raw path."""


class Metrics:
    """One process's metric objects, registered on `registry` (None: on no registry, as in
    prometheus-client's multiprocess mode, where the values go to files and a scrape reads
    them all). The methods are the API the rest of the code calls; label values are strings
    from small sets (a route template, a queue, a policy name), never ids or raw paths.

    The methods' updates go through a `MetricBuffer`: collecting `registry` flushes it first,
    and so does `flush` (in multiprocess mode, call it before reading the files)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.buffer = MetricBuffer()
        if registry is not None:  # first, so that a collection flushes before it reads
            registry.register(FlushFirst(self.buffer))
        self.http_requests = Counter(
            "novapulse_http_requests",
            "HTTP requests finished, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "novapulse_http_request_duration_seconds",
            "HTTP request latency (first byte in to last byte out), by method and route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.http_in_flight = Gauge(
            "novapulse_http_requests_in_flight",
            "HTTP requests being served now (summed over this node's live API processes).",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.api_processes = Gauge(
            "novapulse_api_processes",
            "API processes serving on this node (live ones).",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.jobs_processed = Counter(
            "novapulse_jobs_processed",
            "Job attempts finished in this process, whatever their outcome, by queue.",
            ["queue"],
            registry=registry,
        )
        self.jobs_failed = Counter(
            "novapulse_jobs_failed",
            "Job attempts that failed, by queue and outcome (retry, dead, error).",
            ["queue", "outcome"],
            registry=registry,
        )
        self.job_duration = Histogram(
            "novapulse_job_duration_seconds",
            "Duration of job attempts (handler and lifecycle write), by queue.",
            ["queue"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.rate_limit_decisions = Counter(
            "novapulse_rate_limit_decisions",
            "Rate limiter answers, by policy and decision (allowed, refused).",
            ["policy", "decision"],
            registry=registry,
        )
        self.rate_limit_fail_open = Counter(
            "novapulse_rate_limit_fail_open",
            "Rate limit checks let through because the limiter could not be reached, by policy.",
            ["policy"],
            registry=registry,
        )
        self.cache_lookups = Counter(
            "novapulse_cache_lookups",
            "Cache reads, by cache and result (hit, miss).",
            ["cache", "result"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "novapulse_webhook_deliveries",
            "Webhook delivery attempts, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.webhook_duration = Histogram(
            "novapulse_webhook_delivery_duration_seconds",
            "Webhook delivery attempt latency, by outcome.",
            ["outcome"],
            buckets=WEBHOOK_BUCKETS,
            registry=registry,
        )
        self._http_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._children: dict[tuple[Counter, str, str], Counter] = {}
        self._initialise_known_series()

    def _initialise_known_series(self) -> None:
        """Series whose labels are known up front start at zero, so that `rate()` and the
        dashboards see them before the first event."""
        for queue in QueueName:
            self.jobs_processed.labels(queue=queue.value)
            self.job_duration.labels(queue=queue.value)
            for outcome in (JobOutcome.RETRY, JobOutcome.DEAD, JobOutcome.ERROR):
                self.jobs_failed.labels(queue=queue.value, outcome=outcome.value)
        for webhook in WebhookOutcome:
            self.webhook_deliveries.labels(outcome=webhook.value)

    def flush(self) -> None:
        self.buffer.flush()

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One finished request (after `http_request_started`); `route` is the template
        (`/api/v1/users/{user_id}`)."""
        key = (method, route, status)
        series = self._http_series.get(key)
        if series is None:  # first time: resolving labels costs more than the counting
            series = (
                self.http_requests.labels(method=method, route=route, status=str(status)),
                self.http_duration.labels(method=method, route=route),
            )
            self._http_series[key] = series
        self.buffer.observe(
            series[1], HTTP_BUCKETS, seconds, also=((series[0], 1.0), (self.http_in_flight, -1.0))
        )

    def http_request_started(self) -> None:
        """A request came in; `http_request` counts it out."""
        self.buffer.add(self.http_in_flight)

    def job_attempt(self, queue: str, outcome: JobOutcome, seconds: float) -> None:
        """One finished job attempt on `queue` (a `QueueName` value)."""
        counted: list[tuple[Counter | Gauge, float]] = [
            (self.jobs_processed.labels(queue=queue), 1.0)
        ]
        if outcome is not JobOutcome.COMPLETED:
            counted.append((self.jobs_failed.labels(queue=queue, outcome=outcome.value), 1.0))
        self.buffer.observe(self.job_duration.labels(queue=queue), JOB_BUCKETS, seconds, counted)

    def rate_limit_decision(self, policy: str, *, allowed: bool) -> None:
        """One answer of the rate limiter under `policy` (`login`, `user`, `auth:password`...)."""
        self.rate_limit_answers(((policy, allowed),))

    def rate_limit_answers(self, answers: Iterable[tuple[str, bool]]) -> None:
        """Several answers of the rate limiter at once, (policy, allowed) each."""
        self.count([self.rate_limit_outcomes(policy)[allowed] for policy, allowed in answers])

    def rate_limit_outcomes(self, policy: str) -> tuple[Counter, Counter]:
        """`policy`'s (refused, allowed) decision series, indexed by `allowed`: for a caller
        that resolves them once and counts its answers with `count`."""
        return (
            self._child(self.rate_limit_decisions, policy, "refused"),
            self._child(self.rate_limit_decisions, policy, "allowed"),
        )

    def count(self, series: Iterable[Counter]) -> None:
        """Add one to each counter series, under one lock."""
        self.buffer.count(series)

    def rate_limit_failed_open(self, policy: str) -> None:
        """A check let through because the limiter's backend could not be reached."""
        self.rate_limit_fail_open.labels(policy=policy).inc()

    def cache_lookup(self, cache: str, *, hit: bool) -> None:
        """One cache read: `cache` names the kind of entry (`company_stats`, `user_profile`)."""
        self.count((self.cache_outcomes(cache)[hit],))

    def cache_outcomes(self, cache: str) -> tuple[Counter, Counter]:
        """`cache`'s (miss, hit) lookup series, indexed by `hit`: for a caller that resolves
        them once and counts its reads with `count`."""
        return (
            self._child(self.cache_lookups, cache, "miss"),
            self._child(self.cache_lookups, cache, "hit"),
        )

    def _child(self, counter: Counter, first: str, second: str) -> Counter:
        """`counter`'s series of these two label values, resolved once: on the request path,
        resolving labels costs more than the counting."""
        key = (counter, first, second)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(first, second)
        return child

    def webhook_delivery(self, outcome: WebhookOutcome | str, seconds: float) -> None:
        """One webhook delivery attempt and how long it took (`outcome` a `WebhookOutcome`
        or its value)."""
        label = WebhookOutcome(outcome).value
        self.buffer.observe(
            self.webhook_duration.labels(outcome=label),
            WEBHOOK_BUCKETS,
            seconds,
            also=((self.webhook_deliveries.labels(outcome=label), 1.0),),
        )
