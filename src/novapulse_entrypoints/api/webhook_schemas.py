"""Bodies of the webhook API. Secrets appear only in the answers to create and rotate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from novapulse_core.domain.paging import Page
from novapulse_core.domain.webhooks import (
    CreatedEndpoint,
    DeliveryAttempt,
    DeliveryStatus,
    RotatedSecret,
    WebhookDelivery,
    WebhookEndpoint,
)

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Description = Annotated[str, msgspec.Meta(max_length=500)]


class NewEndpoint(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    event_types: list[EventType] = []
    description: Description = ""


class EndpointPatch(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | None = None
    event_types: list[EventType] | None = None
    description: Description | None = None
    active: bool | None = None


class Rotation(msgspec.Struct, forbid_unknown_fields=True):
    """How long the previous secret keeps signing (0: retire it at once; at most 30 days)."""

    grace_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 24 * 3600)]


class TestEvent(msgspec.Struct, forbid_unknown_fields=True):
    data: dict[str, Any] | None = None


class EndpointOut(msgspec.Struct):
    id: str
    url: str
    event_types: list[str]
    description: str
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class CreatedEndpointOut(msgspec.Struct):
    """`secret` is shown this once: keep it to verify deliveries."""

    endpoint: EndpointOut
    secret: str


class RotatedSecretOut(msgspec.Struct):
    """The new `secret`, shown this once; the old one still signs until `previous_valid_until`."""

    endpoint: EndpointOut
    secret: str
    previous_valid_until: datetime | None


class EndpointPage(msgspec.Struct):
    items: list[EndpointOut]
    next_after: str | None


class DeliveryOut(msgspec.Struct):
    id: str
    endpoint_id: str
    message_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    request_id: str | None
    payload: str


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryOut]
    next_after: str | None


class AttemptOut(msgspec.Struct):
    id: str
    delivery_id: str
    endpoint_id: str
    number: int
    at: datetime
    succeeded: bool
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str


class AttemptPage(msgspec.Struct):
    items: list[AttemptOut]
    next_after: str | None


def endpoint_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        url=e.url,
        event_types=sorted(e.event_types),
        description=e.description,
        active=e.active,
        disabled_reason=e.disabled_reason,
        disabled_at=e.disabled_at,
        previous_secret_expires_at=e.previous_secret_expires_at,
        consecutive_failures=e.consecutive_failures,
        failing_since=e.failing_since,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def created_out(created: CreatedEndpoint) -> CreatedEndpointOut:
    return CreatedEndpointOut(endpoint_out(created.endpoint), created.secret)


def rotated_out(rotated: RotatedSecret) -> RotatedSecretOut:
    return RotatedSecretOut(
        endpoint_out(rotated.endpoint), rotated.secret, rotated.previous_valid_until
    )


def endpoint_page(page: Page[WebhookEndpoint]) -> EndpointPage:
    return EndpointPage([endpoint_out(e) for e in page.items], page.next_after)


def delivery_out(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
        message_id=d.message_id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        created_at=d.created_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        request_id=d.request_id,
        payload=d.payload.decode("utf-8", errors="replace"),
    )


def delivery_page(page: Page[WebhookDelivery]) -> DeliveryPage:
    return DeliveryPage([delivery_out(d) for d in page.items], page.next_after)


def attempt_page(page: Page[DeliveryAttempt]) -> AttemptPage:
    return AttemptPage(
        [
            AttemptOut(
                id=a.id,
                delivery_id=a.delivery_id,
                endpoint_id=a.endpoint_id,
                number=a.number,
                at=a.at,
                succeeded=a.succeeded,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
                response_excerpt=a.response_excerpt,
            )
            for a in page.items
        ],
        page.next_after,
    )
