"""Webhook endpoints for a company's admins: CRUD, secret rotation, the delivery log, resends."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.errors import Conflict, Invalid
from novapulse_core.domain.identity import clean_description
from novapulse_core.domain.paging import Page, PageRequest, page_from
from novapulse_core.domain.webhook_signing import new_secret
from novapulse_core.domain.webhooks import (
    WEBHOOK_CREATED,
    WEBHOOK_DELETED,
    WEBHOOK_SECRET_ROTATED,
    WEBHOOK_TEST,
    WEBHOOK_UPDATED,
    CreatedEndpoint,
    DeliveryAttempt,
    DeliveryStatus,
    RotatedSecret,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPolicy,
    clean_event_types,
)
from novapulse_core.ports import Clock, IdGenerator
from novapulse_core.ports.webhooks import WebhookDeliveryStore, WebhookEndpointStore
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.webhook_dispatch import UrlGuard, WebhookDispatcher, WebhookSecrets

SAVE_TRIES = 3
"""Health updates from workers bump an endpoint's version; an admin's change re-reads and
tries again this many times before answering `Conflict`."""


class WebhookService:
    """A company's webhook endpoints (admins only, `webhooks:manage`).

    An endpoint's secret is made here with 256 random bits, stored sealed by the `SecretBox`,
    and returned only by `create` and `rotate_secret`. URLs pass the `UrlGuard` (http(s),
    public addresses only) on creation and on every change of URL.
    """

    def __init__(
        self,
        endpoints: WebhookEndpointStore,
        deliveries: WebhookDeliveryStore,
        guard: UrlGuard,
        secrets: WebhookSecrets,
        dispatcher: WebhookDispatcher,
        ids: IdGenerator,
        clock: Clock,
        announcer: Announcer,
        *,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._guard = guard
        self._secrets = secrets
        self._dispatcher = dispatcher
        self._ids = ids
        self._clock = clock
        self._announcer = announcer
        self._policy = policy or WebhookPolicy()

    async def create(
        self,
        actor: Principal,
        *,
        url: str,
        event_types: Sequence[str] = (),
        description: str = "",
    ) -> CreatedEndpoint:
        """A new active endpoint; `event_types` empty (or `["*"]`) subscribes to every event."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        limit = self._policy.max_endpoints
        if await self._endpoints.count(actor.company_id) >= limit:
            raise Conflict(
                f"the company has {limit} webhook endpoints, the most it may have; "
                "delete one first",
                extra={"limit": limit},
            )
        checked = await self._guard.check(url)
        now = self._clock.now()
        secret = new_secret()
        endpoint = WebhookEndpoint(
            id=self._ids.new_id(),
            company_id=actor.company_id,
            url=checked.url,
            encrypted_secret="",
            created_at=now,
            updated_at=now,
            event_types=clean_event_types(event_types),
            description=clean_description(description),
        )
        endpoint = attrs.evolve(endpoint, encrypted_secret=self._secrets.seal(endpoint, secret))
        await self._endpoints.add(endpoint)
        await self._announcer.announce(
            WEBHOOK_CREATED, endpoint.company_id, endpoint_id=endpoint.id, url=endpoint.url
        )
        return CreatedEndpoint(endpoint, secret)

    async def get(self, actor: Principal, endpoint_id: str) -> WebhookEndpoint:
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        return await self._endpoints.get(actor.company_id, endpoint_id)

    async def list(self, actor: Principal, page: PageRequest) -> Page[WebhookEndpoint]:
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        return page_from(await self._endpoints.list(actor.company_id, page), page)

    async def update(
        self,
        actor: Principal,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> WebhookEndpoint:
        """Change what is given. Enabling an endpoint clears its disabled reason and its
        failure streak; disabling it records the admin as the reason."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        changes: dict[str, Any] = {}
        if url is not None:
            changes["url"] = (await self._guard.check(url)).url
        if event_types is not None:
            changes["event_types"] = clean_event_types(event_types)
        if description is not None:
            changes["description"] = clean_description(description)
        if not changes and active is None:
            return await self._endpoints.get(actor.company_id, endpoint_id)

        def change(current: WebhookEndpoint) -> WebhookEndpoint:
            return attrs.evolve(current, **changes, **self._activation(current, active))

        updated = await self._save(actor.company_id, endpoint_id, change)
        self._secrets.forget(endpoint_id)
        fields = sorted([*changes, *([] if active is None else ["active"])])
        await self._announcer.announce(
            WEBHOOK_UPDATED, updated.company_id, endpoint_id=updated.id, fields=fields
        )
        return updated

    async def delete(self, actor: Principal, endpoint_id: str) -> None:
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        await self._endpoints.delete(actor.company_id, endpoint_id)
        self._secrets.forget(endpoint_id)
        await self._announcer.announce(WEBHOOK_DELETED, actor.company_id, endpoint_id=endpoint_id)

    async def rotate_secret(
        self, actor: Principal, endpoint_id: str, *, grace: timedelta | None = None
    ) -> RotatedSecret:
        """A new secret, returned this once. The current one keeps signing alongside it for
        `grace` (the policy's default when None; 0 retires it at once), so receivers can move
        to the new one without missing a delivery. A rotation during a grace period retires
        the secret that was already previous."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        grace = self._policy.default_grace if grace is None else grace
        if not timedelta(0) <= grace <= self._policy.max_grace:
            raise Invalid(
                f"grace must be between 0 and {int(self._policy.max_grace.total_seconds())} "
                "seconds",
                extra={"field": "grace"},
            )
        secret = new_secret()
        now = self._clock.now()

        def rotate(current: WebhookEndpoint) -> WebhookEndpoint:
            keep = grace > timedelta(0)
            return attrs.evolve(
                current,
                encrypted_secret=self._secrets.seal(current, secret),
                encrypted_previous_secret=current.encrypted_secret if keep else None,
                previous_secret_expires_at=now + grace if keep else None,
            )

        rotated = await self._save(actor.company_id, endpoint_id, rotate)
        self._secrets.forget(endpoint_id)
        await self._announcer.announce(
            WEBHOOK_SECRET_ROTATED, rotated.company_id, endpoint_id=rotated.id
        )
        return RotatedSecret(rotated, secret, rotated.previous_secret_expires_at)

    async def deliveries(
        self,
        actor: Principal,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Page[WebhookDelivery]:
        """The company's deliveries, newest first; one endpoint's when `endpoint_id` is given."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        if endpoint_id is not None:
            await self._endpoints.get(actor.company_id, endpoint_id)
        rows = await self._deliveries.list(
            actor.company_id, page, endpoint_id=endpoint_id, status=status
        )
        return page_from(rows, page)

    async def delivery(self, actor: Principal, delivery_id: str) -> WebhookDelivery:
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        return await self._deliveries.get(actor.company_id, delivery_id)

    async def attempts(
        self,
        actor: Principal,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        delivery_id: str | None = None,
    ) -> Page[DeliveryAttempt]:
        """The delivery log, newest first: an endpoint's attempts, or one delivery's."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        if endpoint_id is not None:
            await self._endpoints.get(actor.company_id, endpoint_id)
        if delivery_id is not None:
            await self._deliveries.get(actor.company_id, delivery_id)
        rows = await self._deliveries.attempts(
            actor.company_id, page, endpoint_id=endpoint_id, delivery_id=delivery_id
        )
        return page_from(rows, page)

    async def redeliver(self, actor: Principal, delivery_id: str) -> WebhookDelivery:
        """Send a finished delivery again: the same bytes and `webhook-id`, new attempts."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        delivery = await self._deliveries.get(actor.company_id, delivery_id)
        if delivery.status is DeliveryStatus.PENDING:
            raise Conflict("this delivery is still being attempted")
        await self._active_endpoint(actor, delivery.endpoint_id)
        await self._deliveries.set_status(delivery.company_id, delivery.id, DeliveryStatus.PENDING)
        pending = attrs.evolve(delivery, status=DeliveryStatus.PENDING)
        await self._dispatcher.enqueue(pending)
        return pending

    async def send_test(
        self, actor: Principal, endpoint_id: str, *, data: Mapping[str, object] | None = None
    ) -> WebhookDelivery:
        """Queue a `webhook.test` envelope to one endpoint (signed like any delivery).

        `data` (JSON-safe) replaces the default test data; over the payload limit it is
        `Invalid`."""
        authorize(actor, Permission.MANAGE_WEBHOOKS)
        endpoint = await self._active_endpoint(actor, endpoint_id)
        message_id = self._ids.new_id()
        body = self._dispatcher.encode(
            message_id,
            WEBHOOK_TEST,
            self._clock.now(),
            endpoint.company_id,
            data if data is not None else {"endpoint_id": endpoint.id, "test": True},
        )
        return await self._dispatcher.dispatch(
            endpoint, message_id=message_id, event_type=WEBHOOK_TEST, body=body, request_id=None
        )

    async def _active_endpoint(self, actor: Principal, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await self._endpoints.get(actor.company_id, endpoint_id)
        if not endpoint.active:
            raise Conflict("the endpoint is disabled; enable it first")
        return endpoint

    def _activation(self, current: WebhookEndpoint, active: bool | None) -> dict[str, Any]:
        if active is None or active == current.active:
            return {}
        if active:
            return {
                "active": True,
                "disabled_reason": None,
                "disabled_at": None,
                "consecutive_failures": 0,
                "failing_since": None,
            }
        return {
            "active": False,
            "disabled_reason": "disabled by an administrator",
            "disabled_at": self._clock.now(),
        }

    async def _save(
        self,
        company_id: str,
        endpoint_id: str,
        change: Callable[[WebhookEndpoint], WebhookEndpoint],
    ) -> WebhookEndpoint:
        """Read, change and write back, re-reading when a worker's health update got between."""
        for tries_left in reversed(range(SAVE_TRIES)):
            current = await self._endpoints.get(company_id, endpoint_id)
            updated = attrs.evolve(
                change(current), updated_at=self._clock.now(), version=current.version + 1
            )
            try:
                await self._endpoints.update(updated)
            except Conflict:
                if not tries_left:
                    raise
                continue
            return updated
        raise AssertionError("unreachable")  # pragma: no cover
