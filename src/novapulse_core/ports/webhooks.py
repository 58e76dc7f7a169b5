"""Webhook endpoints and deliveries, the transport that sends them, and host resolution."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import (
    DeliveryAttempt,
    DeliveryStatus,
    TransportResult,
    WebhookDelivery,
    WebhookEndpoint,
)

EnvelopeEncoder = Callable[[Mapping[str, object]], bytes]
"""Serialises an envelope (JSON-safe values only) to UTF-8 JSON bytes, once per event; raises
`TypeError`, `ValueError` or `RecursionError` for data it cannot encode."""


class WebhookEndpointStore(Protocol):
    """Webhook endpoints, scoped by company.

    `add` raises `Conflict` for an existing id. `get` and `delete` raise `NotFound` when the
    endpoint does not exist in that company, even if it exists in another. `update` replaces
    the endpoint whose stored version is `endpoint.version - 1`, raising `Conflict` when it
    differs and `NotFound` when it is gone. `list` returns up to `page.limit + 1` endpoints of
    the company with id greater than `page.after`, ordered by id. `subscribers` returns the
    company's active endpoints whose `event_types` is empty or holds `event_type`, ordered by
    id. `count` is how many endpoints the company has, active or not.

    The health of an endpoint changes atomically, whatever else runs at once, each change
    bumping `version` and `updated_at`: `record_failure` adds one to `consecutive_failures`,
    sets `failing_since` to `at` when it was None, and returns the endpoint after the change;
    `record_success` sets them to 0 and None (and changes nothing when they already are).
    `disable` turns an active endpoint inactive with `reason` and `disabled_at` and returns it;
    it returns None, changing nothing, when the endpoint is already inactive, so of concurrent
    calls exactly one gets the endpoint. The three raise `NotFound` like `get`.
    """

    async def add(self, endpoint: WebhookEndpoint) -> None: ...

    async def get(self, company_id: str, endpoint_id: str) -> WebhookEndpoint: ...

    async def update(self, endpoint: WebhookEndpoint) -> None: ...

    async def delete(self, company_id: str, endpoint_id: str) -> None: ...

    async def list(self, company_id: str, page: PageRequest) -> Sequence[WebhookEndpoint]: ...

    async def subscribers(self, company_id: str, event_type: str) -> Sequence[WebhookEndpoint]: ...

    async def count(self, company_id: str) -> int: ...

    async def record_failure(
        self, company_id: str, endpoint_id: str, at: datetime
    ) -> WebhookEndpoint: ...

    async def record_success(self, company_id: str, endpoint_id: str, at: datetime) -> None: ...

    async def disable(
        self, company_id: str, endpoint_id: str, reason: str, at: datetime
    ) -> WebhookEndpoint | None: ...


class WebhookDeliveryStore(Protocol):
    """Deliveries and their attempts (the delivery log), scoped by company.

    `add` raises `Conflict` for an existing id. `get` raises `NotFound` outside the company.
    `record_attempt` stores the attempt and, on its delivery, sets `status`, adds one to
    `attempts` and sets `last_attempt_at`, `last_status_code` and `last_error` from the
    attempt; it raises `NotFound` when the delivery is gone. `set_status` changes only the
    status (and `last_error` when given) and raises `NotFound` likewise.

    `list` returns up to `page.limit + 1` deliveries of the company, newest first (ids below
    `page.after`), filtered by endpoint and status when given. `attempts` returns up to
    `page.limit + 1` attempts of the company, newest first, filtered by endpoint and delivery
    when given. Deliveries and their attempts may disappear once the retention the adapter was
    built with has passed since the delivery was created.
    """

    async def add(self, delivery: WebhookDelivery) -> None: ...

    async def get(self, company_id: str, delivery_id: str) -> WebhookDelivery: ...

    async def record_attempt(self, attempt: DeliveryAttempt, status: DeliveryStatus) -> None: ...

    async def set_status(
        self,
        company_id: str,
        delivery_id: str,
        status: DeliveryStatus,
        *,
        error: str | None = None,
    ) -> None: ...

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Sequence[WebhookDelivery]: ...

    async def attempts(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        delivery_id: str | None = None,
    ) -> Sequence[DeliveryAttempt]: ...


class WebhookTransport(Protocol):
    """POSTs one signed delivery and reports what happened; never follows a redirect.

    `send` sends `body` with `headers` to `url` and returns the status, the latency, the start
    of the response body (capped by the adapter) and the raw `Retry-After` header. It does not
    raise for the receiver's failures: a timeout, a connection that cannot be made and an
    address the SSRF policy refuses at connect time come back as a result with `failure` and
    `error`. The refusal is checked on the address actually dialled (after resolution), so a
    name that resolves elsewhere on delivery than at creation cannot reach a refused address.
    """

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResult: ...


class HostResolver(Protocol):
    """Resolves a host name to its IP addresses (as strings), for the check at creation.

    Returns an empty sequence when the name does not exist; raises `Unavailable` when the
    lookup cannot be made at the moment.
    """

    async def resolve(self, host: str) -> Sequence[str]: ...
