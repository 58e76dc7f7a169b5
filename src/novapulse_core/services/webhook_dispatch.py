"""From an event to queued deliveries: URL checks, sealed secrets, encoding once, fan-out."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NoReturn

from novapulse_core import context
from novapulse_core.domain.addresses import AddressPolicy, WebhookUrl, parse_webhook_url
from novapulse_core.domain.errors import Invalid, Unavailable
from novapulse_core.domain.events import DomainEvent
from novapulse_core.domain.webhook_signing import SigningKey
from novapulse_core.domain.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPolicy,
    envelope,
    json_bytes,
)
from novapulse_core.ports import Clock, IdGenerator, SecretBox
from novapulse_core.ports.webhooks import (
    EnvelopeEncoder,
    HostResolver,
    WebhookDeliveryStore,
    WebhookEndpointStore,
)
from novapulse_core.services.jobs import JobService

DELIVER_WEBHOOK = "webhook.deliver"
"""The task that makes one attempt of one delivery; its payload is `company_id`, `delivery_id`."""

_PUBLIC_ONLY = "webhooks go only to public addresses"


class UrlGuard:
    """Checks a webhook URL before it is saved: its shape, then every address of its host."""

    def __init__(self, resolver: HostResolver, policy: AddressPolicy) -> None:
        self._resolver = resolver
        self._policy = policy

    async def check(self, raw: str) -> WebhookUrl:
        """The parsed URL; `Invalid` (field `url`) saying why it may not be used."""
        url = parse_webhook_url(raw)
        reason = self._policy.host_refusal(url.host)
        if reason is not None:
            _refuse(f"url: {url.host} is {reason}; {_PUBLIC_ONLY}")
        literal = url.literal
        if literal is not None:
            addresses: Sequence[str] = [str(literal)]
        else:
            addresses = await self._resolver.resolve(url.host)
        if not addresses:
            _refuse(f"url: the host {url.host} does not resolve")
        for raw_address in addresses:
            address = ipaddress.ip_address(raw_address.split("%", 1)[0])
            reason = self._policy.refusal(url.host, address)
            if reason is not None:
                # The address itself is not shown: a tenant must not map internal names with it.
                shown = url.host if literal is not None else f"{url.host} resolves to"
                _refuse(f"url: {shown} {reason}; {_PUBLIC_ONLY}")
        return url


def _refuse(reason: str) -> NoReturn:
    raise Invalid(reason, extra={"field": "url"})


class WebhookSecrets:
    """Seals endpoint secrets in the `SecretBox`, bound to their endpoint, and opens them.

    Workers sign with `signing_keys`, which decrypts an endpoint's secrets once and keeps the
    keys while its ciphertexts stay the same: a rotation (or any new ciphertext, whichever
    process wrote it) is a cache miss, and `forget` drops an endpoint at once. At most
    `cached_endpoints` endpoints are kept (the oldest entry goes first)."""

    def __init__(self, box: SecretBox, *, cached_endpoints: int = 10_000) -> None:
        self._box = box
        self._limit = cached_endpoints
        self._keys: dict[str, tuple[str, str | None, SigningKey, SigningKey | None]] = {}

    def seal(self, endpoint: WebhookEndpoint, secret: str) -> str:
        return self._box.encrypt(secret, context=_context(endpoint))

    def signing(self, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
        """The secrets that sign at `now`: the current one, then the previous during grace."""
        secrets = [self._box.decrypt(endpoint.encrypted_secret, context=_context(endpoint))]
        previous = endpoint.encrypted_previous_secret
        if previous is not None and endpoint.previous_secret_valid(now):
            secrets.append(self._box.decrypt(previous, context=_context(endpoint)))
        return secrets

    def signing_keys(self, endpoint: WebhookEndpoint, now: datetime) -> list[SigningKey]:
        """`signing`'s secrets, ready to sign, from the cache when the ciphertexts match."""
        sealed, sealed_previous = endpoint.encrypted_secret, endpoint.encrypted_previous_secret
        cached = self._keys.get(endpoint.id)
        if cached is None or cached[0] != sealed or cached[1] != sealed_previous:
            cached = (sealed, sealed_previous, *self._open(endpoint))
            if endpoint.id not in self._keys and len(self._keys) >= self._limit:
                del self._keys[next(iter(self._keys))]
            self._keys[endpoint.id] = cached
        current, previous = cached[2], cached[3]
        if previous is not None and endpoint.previous_secret_valid(now):
            return [current, previous]
        return [current]

    def forget(self, endpoint_id: str) -> None:
        self._keys.pop(endpoint_id, None)

    def _open(self, endpoint: WebhookEndpoint) -> tuple[SigningKey, SigningKey | None]:
        current = self._box.decrypt(endpoint.encrypted_secret, context=_context(endpoint))
        previous = endpoint.encrypted_previous_secret
        if previous is None:
            return SigningKey(current), None
        return SigningKey(current), SigningKey(
            self._box.decrypt(previous, context=_context(endpoint))
        )


def _context(endpoint: WebhookEndpoint) -> str:
    return f"webhook-secret:{endpoint.company_id}:{endpoint.id}"


class WebhookDispatcher:
    """Serialises an envelope once, checks its size, stores a delivery and queues it."""

    def __init__(
        self,
        deliveries: WebhookDeliveryStore,
        jobs: JobService,
        ids: IdGenerator,
        clock: Clock,
        *,
        encoder: EnvelopeEncoder = json_bytes,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._jobs = jobs
        self._ids = ids
        self._clock = clock
        self._encode = encoder
        self._policy = policy or WebhookPolicy()

    def encode(
        self,
        message_id: str,
        event_type: str,
        created_at: datetime,
        company_id: str,
        data: Mapping[str, object],
    ) -> bytes:
        """The envelope's bytes; `Invalid` when `data` cannot be encoded (an integer beyond 64
        bits, nesting deeper than the encoder goes) or the bytes exceed the payload limit."""
        try:
            body = self._encode(envelope(message_id, event_type, created_at, company_id, data))
        except (TypeError, ValueError, RecursionError) as error:
            raise Invalid(
                f"the webhook data cannot be sent as JSON: {error}", extra={"field": "data"}
            ) from None
        limit = self._policy.max_payload_bytes
        if len(body) > limit:
            raise Invalid(
                f"the webhook payload is {len(body)} bytes; the limit is {limit} bytes",
                extra={"field": "data", "limit": limit},
            )
        return body

    async def dispatch(
        self,
        endpoint: WebhookEndpoint,
        *,
        message_id: str,
        event_type: str,
        body: bytes,
        request_id: str | None,
    ) -> WebhookDelivery:
        delivery = WebhookDelivery(
            id=self._ids.new_id(),
            company_id=endpoint.company_id,
            endpoint_id=endpoint.id,
            message_id=message_id,
            event_type=event_type,
            payload=body,
            created_at=self._clock.now(),
            request_id=request_id,
        )
        await self._deliveries.add(delivery)
        await self.enqueue(delivery)
        return delivery

    async def enqueue(self, delivery: WebhookDelivery) -> None:
        """Queue one attempt run of `delivery`, carrying the request id that caused it.

        A broker that cannot be reached leaves the delivery failed (its dead job can be
        requeued, or the delivery redelivered) and raises `Unavailable`."""
        token = context.request_id.set(delivery.request_id or context.request_id.get())
        try:
            await self._jobs.enqueue(
                DELIVER_WEBHOOK,
                {"company_id": delivery.company_id, "delivery_id": delivery.id},
                company_id=delivery.company_id,
            )
        except Unavailable as error:
            await self._deliveries.set_status(
                delivery.company_id, delivery.id, DeliveryStatus.FAILED, error=error.detail
            )
            raise
        finally:
            context.request_id.reset(token)


class WebhookFanOut:
    """Subscriber: each domain event becomes one delivery per active endpoint of its company
    that subscribes to its type, all sharing the bytes serialised once for the event."""

    def __init__(self, endpoints: WebhookEndpointStore, dispatcher: WebhookDispatcher) -> None:
        self._endpoints = endpoints
        self._dispatcher = dispatcher

    async def __call__(self, event: DomainEvent) -> None:
        endpoints = await self._endpoints.subscribers(event.company_id, event.type)
        if not endpoints:
            return
        body = self._dispatcher.encode(
            event.id, event.type, event.occurred_at, event.company_id, event.data
        )
        failure: Unavailable | None = None
        for endpoint in endpoints:
            try:
                await self._dispatcher.dispatch(
                    endpoint,
                    message_id=event.id,
                    event_type=event.type,
                    body=body,
                    request_id=event.request_id,
                )
            except Unavailable as error:  # the others still get theirs
                failure = failure or error
        if failure is not None:
            raise failure
