"""Dict-backed webhook endpoints and delivery log: the reference stores, safe across threads."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from novapulse_core.ports.system import Clock


class InMemoryWebhookEndpointStore:
    """`WebhookEndpointStore` in a dict keyed by id (the company checked on every read),
    under one lock: workers record health while the API edits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, WebhookEndpoint] = {}

    async def add(self, endpoint: WebhookEndpoint) -> None:
        with self._lock:
            if endpoint.id in self._endpoints:
                raise Conflict("an endpoint with this id exists")
            self._endpoints[endpoint.id] = endpoint

    async def get(self, company_id: str, endpoint_id: str) -> WebhookEndpoint:
        with self._lock:
            return self._stored(company_id, endpoint_id)

    async def update(self, endpoint: WebhookEndpoint) -> None:
        with self._lock:
            stored = self._stored(endpoint.company_id, endpoint.id)
            if stored.version != endpoint.version - 1:
                raise Conflict("the endpoint was changed by someone else; read it again")
            self._endpoints[endpoint.id] = endpoint

    async def delete(self, company_id: str, endpoint_id: str) -> None:
        with self._lock:
            self._stored(company_id, endpoint_id)
            del self._endpoints[endpoint_id]

    async def list(self, company_id: str, page: PageRequest) -> Sequence[WebhookEndpoint]:
        with self._lock:
            rows = [
                e
                for e in self._endpoints.values()
                if e.company_id == company_id and (page.after is None or e.id > page.after)
            ]
        rows.sort(key=lambda e: e.id)
        return rows[: page.limit + 1]

    async def subscribers(self, company_id: str, event_type: str) -> Sequence[WebhookEndpoint]:
        with self._lock:
            rows = [
                e
                for e in self._endpoints.values()
                if e.company_id == company_id and e.active and e.subscribes_to(event_type)
            ]
        rows.sort(key=lambda e: e.id)
        return rows

    async def count(self, company_id: str) -> int:
        with self._lock:
            return sum(e.company_id == company_id for e in self._endpoints.values())

    async def record_failure(
        self, company_id: str, endpoint_id: str, at: datetime
    ) -> WebhookEndpoint:
        with self._lock:
            stored = self._stored(company_id, endpoint_id)
            return self._put(
                stored,
                at,
                consecutive_failures=stored.consecutive_failures + 1,
                failing_since=stored.failing_since or at,
            )

    async def record_success(self, company_id: str, endpoint_id: str, at: datetime) -> None:
        with self._lock:
            stored = self._stored(company_id, endpoint_id)
            if stored.consecutive_failures or stored.failing_since is not None:
                self._put(stored, at, consecutive_failures=0, failing_since=None)

    async def disable(
        self, company_id: str, endpoint_id: str, reason: str, at: datetime
    ) -> WebhookEndpoint | None:
        with self._lock:
            stored = self._stored(company_id, endpoint_id)
            if not stored.active:
                return None
            return self._put(stored, at, active=False, disabled_reason=reason, disabled_at=at)

    def _put(self, stored: WebhookEndpoint, at: datetime, **changes: Any) -> WebhookEndpoint:
        changed = attrs.evolve(stored, **changes, updated_at=at, version=stored.version + 1)
        self._endpoints[stored.id] = changed
        return changed

    def _stored(self, company_id: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None or endpoint.company_id != company_id:
            raise NotFound("no such webhook endpoint")
        return endpoint


class InMemoryWebhookDeliveryStore:
    """`WebhookDeliveryStore` in dicts under one lock: a worker thread writes while the API
    reads. Deliveries (and their attempts) are dropped lazily, at the next call, once
    `retention` has passed since their `created_at` by `clock`."""

    def __init__(self, clock: Clock, retention: timedelta) -> None:
        self._clock = clock
        self._retention = retention
        self._lock = threading.Lock()
        self._deliveries: dict[str, WebhookDelivery] = {}
        self._attempts: dict[str, list[DeliveryAttempt]] = {}
        self._created: list[tuple[datetime, str]] = []  # heap of (created_at, id)

    async def add(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._drop_expired()
            if delivery.id in self._deliveries:
                raise Conflict("a delivery with this id exists")
            self._deliveries[delivery.id] = delivery
            self._attempts[delivery.id] = []
            heapq.heappush(self._created, (delivery.created_at, delivery.id))

    async def get(self, company_id: str, delivery_id: str) -> WebhookDelivery:
        with self._lock:
            self._drop_expired()
            return self._stored(company_id, delivery_id)

    async def record_attempt(self, attempt: DeliveryAttempt, status: DeliveryStatus) -> None:
        with self._lock:
            self._drop_expired()
            stored = self._stored(attempt.company_id, attempt.delivery_id)
            self._attempts[stored.id].append(attempt)
            self._deliveries[stored.id] = attrs.evolve(
                stored,
                status=status,
                attempts=stored.attempts + 1,
                last_attempt_at=attempt.at,
                last_status_code=attempt.status_code,
                last_error=attempt.error,
            )

    async def set_status(
        self,
        company_id: str,
        delivery_id: str,
        status: DeliveryStatus,
        *,
        error: str | None = None,
    ) -> None:
        with self._lock:
            self._drop_expired()
            stored = self._stored(company_id, delivery_id)
            changed = attrs.evolve(stored, status=status)
            if error is not None:
                changed = attrs.evolve(changed, last_error=error)
            self._deliveries[delivery_id] = changed

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Sequence[WebhookDelivery]:
        with self._lock:
            self._drop_expired()
            rows = [
                d
                for d in self._deliveries.values()
                if d.company_id == company_id
                and (page.after is None or d.id < page.after)
                and (endpoint_id is None or d.endpoint_id == endpoint_id)
                and (status is None or d.status is status)
            ]
        rows.sort(key=lambda d: d.id, reverse=True)
        return rows[: page.limit + 1]

    async def attempts(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        delivery_id: str | None = None,
    ) -> Sequence[DeliveryAttempt]:
        with self._lock:
            self._drop_expired()
            if delivery_id is not None:
                pool = list(self._attempts.get(delivery_id, ()))
            else:
                pool = [a for attempts in self._attempts.values() for a in attempts]
            rows = [
                a
                for a in pool
                if a.company_id == company_id
                and (page.after is None or a.id < page.after)
                and (endpoint_id is None or a.endpoint_id == endpoint_id)
            ]
        rows.sort(key=lambda a: a.id, reverse=True)
        return rows[: page.limit + 1]

    def _stored(self, company_id: str, delivery_id: str) -> WebhookDelivery:
        delivery = self._deliveries.get(delivery_id)
        if delivery is None or delivery.company_id != company_id:
            raise NotFound("no such webhook delivery")
        return delivery

    def _drop_expired(self) -> None:
        horizon = self._clock.now() - self._retention
        while self._created and self._created[0][0] <= horizon:
            _, delivery_id = heapq.heappop(self._created)
            self._deliveries.pop(delivery_id, None)
            self._attempts.pop(delivery_id, None)
