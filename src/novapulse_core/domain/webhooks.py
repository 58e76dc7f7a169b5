"""Outgoing webhooks: endpoints, the stable envelope, deliveries and their attempts."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import NoReturn

import attrs

from novapulse_core.domain.errors import Invalid

WEBHOOK_CREATED = "webhook.created"
WEBHOOK_UPDATED = "webhook.updated"
WEBHOOK_DELETED = "webhook.deleted"
WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"  # noqa: S105 (an event type)
WEBHOOK_DISABLED = "webhook.disabled"
WEBHOOK_TEST = "webhook.test"

ALL_EVENTS = "*"
MAX_EVENT_TYPES = 100
MAX_EVENT_TYPE_LENGTH = 100
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@attrs.frozen
class WebhookPolicy:
    """The installation's webhook limits.

    `max_payload_bytes` bounds a serialised envelope. An endpoint whose attempts fail
    `disable_after_failures` times in a row, or keep failing for `disable_after` since the
    first failure of the streak, is disabled. A rotated secret keeps signing for
    `default_grace` unless the rotation says otherwise (at most `max_grace`). A company has at
    most `max_endpoints` endpoints: each one multiplies the deliveries every event of the
    company puts on the webhook queue that all companies share.
    """

    max_payload_bytes: int = 256 * 1024
    max_endpoints: int = 50
    disable_after_failures: int = 1000
    disable_after: timedelta = timedelta(days=5)
    default_grace: timedelta = timedelta(hours=24)
    max_grace: timedelta = timedelta(days=30)


@attrs.frozen
class WebhookEndpoint:
    """Where a company's events go. `event_types` empty means every event.

    The secrets are `SecretBox` ciphertexts, never the secrets: `encrypted_secret` signs every
    delivery; `encrypted_previous_secret` also signs until `previous_secret_expires_at` (the
    grace period of a rotation). `consecutive_failures` and `failing_since` describe the
    current streak of failed attempts (0 and None after a success).
    """

    id: str
    company_id: str
    url: str
    encrypted_secret: str = attrs.field(repr=False)
    created_at: datetime
    updated_at: datetime
    event_types: frozenset[str] = frozenset()
    description: str = ""
    active: bool = True
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    encrypted_previous_secret: str | None = attrs.field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    version: int = 1

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def previous_secret_valid(self, now: datetime) -> bool:
        return (
            self.encrypted_previous_secret is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        )


@attrs.frozen
class CreatedEndpoint:
    """The one time an endpoint's secret leaves the service (besides a rotation)."""

    endpoint: WebhookEndpoint
    secret: str = attrs.field(repr=False)


@attrs.frozen
class RotatedSecret:
    """A new secret, shown once; the previous one still signs until `previous_valid_until`."""

    endpoint: WebhookEndpoint
    secret: str = attrs.field(repr=False)
    previous_valid_until: datetime | None


class DeliveryStatus(enum.StrEnum):
    """`pending` until an attempt succeeds (`succeeded`) or no attempt will follow (`failed`:
    retries spent, the endpoint gone or disabled, the receiver said 410, a refused address)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@attrs.frozen
class WebhookDelivery:
    """One envelope for one endpoint. `payload` holds the exact bytes every attempt sends.

    `message_id` is the envelope's id (the `webhook-id` header): the same on every attempt and
    redelivery, so receivers can de-duplicate on it.
    """

    id: str
    company_id: str
    endpoint_id: str
    message_id: str
    event_type: str
    payload: bytes = attrs.field(repr=False)
    created_at: datetime
    request_id: str | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None


@attrs.frozen
class DeliveryAttempt:
    """One request to a receiver and what came of it. `number` counts from 1 per delivery."""

    id: str
    company_id: str
    endpoint_id: str
    delivery_id: str
    number: int
    at: datetime
    succeeded: bool
    status_code: int | None = None
    latency_ms: float = 0.0
    error: str | None = None
    response_excerpt: str = ""


class FailureKind(enum.StrEnum):
    """Why no response came back."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    REFUSED_ADDRESS = "refused-address"


@attrs.frozen
class TransportResult:
    """What a `WebhookTransport` saw: a response (`status_code`), or a `failure` with `error`.

    `retry_after` is the raw `Retry-After` header (see `parse_retry_after`); the excerpt is the
    start of the response body, decoded leniently and capped by the transport.
    """

    status_code: int | None
    latency_ms: float = 0.0
    response_excerpt: str = ""
    retry_after: str | None = None
    failure: FailureKind | None = None
    error: str | None = None

    @classmethod
    def answered(
        cls,
        status: int,
        *,
        latency_ms: float = 0.0,
        excerpt: str = "",
        retry_after: str | None = None,
    ) -> TransportResult:
        return cls(status, latency_ms, excerpt, retry_after)

    @classmethod
    def failed(cls, kind: FailureKind, error: str, *, latency_ms: float = 0.0) -> TransportResult:
        return cls(None, latency_ms, failure=kind, error=error)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def clean_event_types(raw: Iterable[str]) -> frozenset[str]:
    """Event types as subscribed: `a.b` names; empty, or containing `*`, means every event."""
    types = {item.strip() for item in raw}
    if ALL_EVENTS in types:
        return frozenset()
    if len(types) > MAX_EVENT_TYPES:
        _bad_types(f"at most {MAX_EVENT_TYPES} event types")
    for item in types:
        if len(item) > MAX_EVENT_TYPE_LENGTH or not _EVENT_TYPE.match(item):
            _bad_types(f"{item[:MAX_EVENT_TYPE_LENGTH]!r} is not an event type like user.created")
    return frozenset(types)


def _bad_types(reason: str) -> NoReturn:
    raise Invalid(f"event_types: {reason}", extra={"field": "event_types"})


def rfc3339(at: datetime) -> str:
    """`2026-01-01T09:30:15.123Z`: UTC, milliseconds."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    message_id: str,
    event_type: str,
    created_at: datetime,
    company_id: str,
    data: Mapping[str, object],
) -> dict[str, object]:
    """The stable, documented envelope every delivery carries (before serialisation)."""
    return {
        "id": message_id,
        "type": event_type,
        "created_at": rfc3339(created_at),
        "company_id": company_id,
        "data": dict(data),
    }


def json_bytes(value: Mapping[str, object]) -> bytes:
    """The core's envelope encoder: compact, sorted keys, UTF-8 (adapters may bring a faster
    one; receivers must verify the bytes they got, never a re-serialisation)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=jsonable
    ).encode()


def jsonable(value: object) -> object:
    """What encoders do with values JSON has no type for: mappings become objects, sets
    become sorted arrays; anything else is a `TypeError`."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def parse_retry_after(raw: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date); None when
    absent or unreadable. A date in the past gives 0."""
    if raw is None:
        return None
    value = raw.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is true too
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
