"""The `webhook.deliver` task: one signed attempt, its record, and what the outcome means."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from opentelemetry import trace

from novapulse_core import context
from novapulse_core.domain.errors import Invalid, NotFound, TemporaryFailure
from novapulse_core.domain.webhook_signing import signed_headers
from novapulse_core.domain.webhooks import (
    WEBHOOK_DISABLED,
    DeliveryAttempt,
    DeliveryStatus,
    FailureKind,
    TransportResult,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPolicy,
    parse_retry_after,
    rfc3339,
)
from novapulse_core.ports import Clock, IdGenerator
from novapulse_core.ports.webhooks import (
    WebhookDeliveryStore,
    WebhookEndpointStore,
    WebhookTransport,
)
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.webhook_dispatch import WebhookSecrets

GONE = 410
MAX_ERROR_LENGTH = 500


class WebhookDeliverer:
    """Handler of `webhook.deliver` (idempotent: a delivery that succeeded is not sent again).

    2xx: the delivery succeeded and the endpoint's failure streak ends. 410: the endpoint is
    disabled and the job dies (no retry). An address refused at connect time: the job dies.
    Anything else (another status, a timeout, a connection error) raises `TemporaryFailure`
    carrying the receiver's `Retry-After`, so the job runner retries on the webhook queue's
    backoff; after the last retry the delivery is failed and its job dead-lettered. Each
    failure extends the endpoint's streak; a streak past the policy's count or duration
    disables the endpoint and announces `webhook.disabled`.
    """

    def __init__(
        self,
        endpoints: WebhookEndpointStore,
        deliveries: WebhookDeliveryStore,
        transport: WebhookTransport,
        secrets: WebhookSecrets,
        announcer: Announcer,
        ids: IdGenerator,
        clock: Clock,
        *,
        policy: WebhookPolicy | None = None,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._transport = transport
        self._secrets = secrets
        self._announcer = announcer
        self._ids = ids
        self._clock = clock
        self._policy = policy or WebhookPolicy()
        self._tracer = tracer or trace.get_tracer(__name__)
        self._untraced = isinstance(self._tracer, trace.NoOpTracer)

    async def deliver(self, payload: Mapping[str, object]) -> None:
        company_id, delivery_id = payload.get("company_id"), payload.get("delivery_id")
        if not isinstance(company_id, str) or not isinstance(delivery_id, str):
            raise Invalid("a webhook job needs a company_id and a delivery_id")
        delivery = await self._deliveries.get(company_id, delivery_id)
        if delivery.status is DeliveryStatus.SUCCEEDED:
            return
        token = context.request_id.set(delivery.request_id)
        try:
            endpoint = await self._usable_endpoint(delivery)
            await self._attempt(delivery, endpoint)
        finally:
            context.request_id.reset(token)

    async def _usable_endpoint(self, delivery: WebhookDelivery) -> WebhookEndpoint:
        try:
            endpoint = await self._endpoints.get(delivery.company_id, delivery.endpoint_id)
        except NotFound:
            await self._give_up(delivery, "the endpoint was deleted")
            raise
        if not endpoint.active:
            await self._give_up(delivery, "the endpoint is disabled")
            raise NotFound("the endpoint is disabled")
        return endpoint

    async def _attempt(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
        now = self._clock.now()
        headers = signed_headers(
            body=delivery.payload,
            event_type=delivery.event_type,
            webhook_id=endpoint.id,
            message_id=delivery.message_id,
            timestamp=now,
            secrets=self._secrets.signing_keys(endpoint, now),
        )
        result = await self._send(delivery, endpoint, headers)
        if result.succeeded:
            await self._record(delivery, result, now, DeliveryStatus.SUCCEEDED)
            if endpoint.consecutive_failures or endpoint.failing_since is not None:
                await self._endpoints.record_success(endpoint.company_id, endpoint.id, now)
            return
        error = describe(result)
        if result.status_code == GONE:
            await self._record(delivery, result, now, DeliveryStatus.FAILED)
            await self._disable(endpoint, "the receiver answered 410 Gone", now)
            raise NotFound(f"{error}; the endpoint is disabled")
        disabled = await self._count_failure(endpoint, now)
        if result.failure is FailureKind.REFUSED_ADDRESS or disabled is not None:
            await self._record(delivery, result, now, DeliveryStatus.FAILED)
            if disabled is not None:
                raise NotFound(f"{error}; the endpoint is disabled: {disabled}")
            raise Invalid(error)
        attempt = context.job_attempt.get()
        last = attempt is not None and attempt.last
        await self._record(
            delivery, result, now, DeliveryStatus.FAILED if last else DeliveryStatus.PENDING
        )
        raise TemporaryFailure(error, retry_after=parse_retry_after(result.retry_after, now))

    async def _send(
        self, delivery: WebhookDelivery, endpoint: WebhookEndpoint, headers: Mapping[str, str]
    ) -> TransportResult:
        """One POST to the receiver, as a client span (no trace header goes out to it; no span
        with a no-op tracer)."""
        if self._untraced:
            return await self._transport.send(endpoint.url, delivery.payload, headers)
        with self._tracer.start_as_current_span(
            "POST",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                **_receiver(endpoint.url),
                "novapulse.webhook.endpoint_id": endpoint.id,
                "novapulse.webhook.delivery_id": delivery.id,
                "novapulse.webhook.event_type": delivery.event_type,
            },
        ) as span:
            result = await self._transport.send(endpoint.url, delivery.payload, headers)
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
            if not result.succeeded:
                span.set_status(trace.StatusCode.ERROR, describe(result))
        return result

    async def _record(
        self,
        delivery: WebhookDelivery,
        result: TransportResult,
        at: datetime,
        status: DeliveryStatus,
    ) -> None:
        attempt = DeliveryAttempt(
            id=self._ids.new_id(),
            company_id=delivery.company_id,
            endpoint_id=delivery.endpoint_id,
            delivery_id=delivery.id,
            number=delivery.attempts + 1,
            at=at,
            succeeded=result.succeeded,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=None if result.succeeded else describe(result),
            response_excerpt=result.response_excerpt,
        )
        await self._deliveries.record_attempt(attempt, status)

    async def _count_failure(self, endpoint: WebhookEndpoint, now: datetime) -> str | None:
        """Extend the streak; the reason the endpoint got disabled, or None."""
        streak = await self._endpoints.record_failure(endpoint.company_id, endpoint.id, now)
        reason = None
        if streak.consecutive_failures >= self._policy.disable_after_failures:
            reason = f"{streak.consecutive_failures} attempts in a row failed"
        elif (
            streak.failing_since is not None
            and now - streak.failing_since >= self._policy.disable_after
        ):
            reason = f"every attempt since {rfc3339(streak.failing_since)} failed"
        if reason is not None:
            await self._disable(streak, reason, now)
        return reason

    async def _disable(self, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
        disabled = await self._endpoints.disable(endpoint.company_id, endpoint.id, reason, now)
        if disabled is not None:  # this worker turned it off: announce it once
            await self._announcer.announce(
                WEBHOOK_DISABLED,
                disabled.company_id,
                endpoint_id=disabled.id,
                url=disabled.url,
                reason=reason,
            )

    async def _give_up(self, delivery: WebhookDelivery, reason: str) -> None:
        await self._deliveries.set_status(
            delivery.company_id, delivery.id, DeliveryStatus.FAILED, error=reason
        )


def _receiver(url: str) -> dict[str, str | int]:
    """Where a delivery goes, for its span: scheme, host and port only. Receivers put tokens in
    the path too (`/services/T0/B0/<token>`), and whoever reads traces must not get them."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {"url.scheme": parts.scheme, "server.address": parts.hostname or "", "server.port": port}


def describe(result: TransportResult) -> str:
    """One sentence for the delivery log and the job's error."""
    if result.failure is not None:
        text = f"{result.failure.value}: {result.error or 'no detail'}"
    elif result.status_code is not None and 300 <= result.status_code < 400:
        text = f"the receiver answered {result.status_code} (redirects are not followed)"
    else:
        text = f"the receiver answered {result.status_code}"
    return text[:MAX_ERROR_LENGTH]
