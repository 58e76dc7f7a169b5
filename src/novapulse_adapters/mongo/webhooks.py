"""Webhook endpoints and the delivery log in MongoDB; every health change is one conditional update.

Retention: TTL indexes on the deliveries' `created_at` and the attempts' `delivery_created_at`
remove a delivery and its attempts `retention` after the delivery was created. As for jobs, they
come from the settings, so `BeanieWebhookDeliveryStore.ensure_retention_index()` creates them (or
changes their expiry in place with `collMod`) before the store's first write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import Document, SortDirection, UpdateResponse
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from novapulse_adapters.mongo.errors import DuplicateRule, translated
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "DELIVERY_RETENTION_INDEX",
    "BeanieWebhookDeliveryStore",
    "BeanieWebhookEndpointStore",
    "DeliveryAttemptDocument",
    "WebhookDeliveryDocument",
    "WebhookEndpointDocument",
]

DELIVERY_RETENTION_INDEX = "retention_ttl"
"""The name of the TTL index `BeanieWebhookDeliveryStore` keeps on both of its collections."""

_ENDPOINT_DUPLICATES: Mapping[str, DuplicateRule] = {
    "_id": ("an endpoint with this id exists", None)
}
_DELIVERY_DUPLICATES: Mapping[str, DuplicateRule] = {
    "_id": ("a delivery with this id exists", None)
}
_ATTEMPT_DUPLICATES: Mapping[str, DuplicateRule] = {"_id": ("an attempt with this id exists", None)}
_BY_ID = [("_id", SortDirection.ASCENDING)]
_NEWEST_FIRST = [("_id", SortDirection.DESCENDING)]
_INDEX_OPTIONS_CONFLICT = (85, 86)  # IndexOptionsConflict, IndexKeySpecsConflict


def _utc(moment: datetime | None) -> datetime | None:
    """Aware UTC, whatever the driver returned (naive datetimes from Mongo are UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _at(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class WebhookEndpointDocument(Document):
    id: str  # type: ignore[assignment]  # plain string ids, not ObjectId
    company_id: str
    url: str
    encrypted_secret: str
    created_at: datetime
    updated_at: datetime
    event_types: list[str]
    description: str
    active: bool
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    encrypted_previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    version: int

    class Settings:
        name = "webhook_endpoints"
        indexes = [
            IndexModel([("company_id", ASCENDING), ("_id", ASCENDING)], name="company_id_keyset"),
        ]

    @classmethod
    def from_entity(cls, endpoint: WebhookEndpoint) -> WebhookEndpointDocument:
        fields = {
            name: getattr(endpoint, name)
            for name in cls.model_fields
            if name not in ("id", "revision_id", "event_types")
        }
        return cls(id=endpoint.id, event_types=sorted(endpoint.event_types), **fields)

    def to_entity(self) -> WebhookEndpoint:
        return WebhookEndpoint(
            id=self.id,
            company_id=self.company_id,
            url=self.url,
            encrypted_secret=self.encrypted_secret,
            created_at=_at(self.created_at),
            updated_at=_at(self.updated_at),
            event_types=frozenset(self.event_types),
            description=self.description,
            active=self.active,
            disabled_reason=self.disabled_reason,
            disabled_at=_utc(self.disabled_at),
            encrypted_previous_secret=self.encrypted_previous_secret,
            previous_secret_expires_at=_utc(self.previous_secret_expires_at),
            consecutive_failures=self.consecutive_failures,
            failing_since=_utc(self.failing_since),
            version=self.version,
        )


class BeanieWebhookEndpointStore:
    """`WebhookEndpointStore` on `webhook_endpoints` (needs `MongoConnection.open()` first).

    Each health change is one update conditioned on the state it changes (`active` true, the
    streak open or not, the version), so concurrent changes from any process all take effect
    once, and of concurrent `disable`s exactly one matches.
    """

    async def add(self, endpoint: WebhookEndpoint) -> None:
        with translated(_ENDPOINT_DUPLICATES):
            await WebhookEndpointDocument.from_entity(endpoint).insert()

    async def get(self, company_id: str, endpoint_id: str) -> WebhookEndpoint:
        with translated(_ENDPOINT_DUPLICATES):
            document = await WebhookEndpointDocument.find_one(_scope(company_id, endpoint_id))
        if document is None:
            raise NotFound("no such webhook endpoint")
        return document.to_entity()

    async def update(self, endpoint: WebhookEndpoint) -> None:
        scope = _scope(endpoint.company_id, endpoint.id)
        document = WebhookEndpointDocument.from_entity(endpoint).model_dump(by_alias=True)
        collection = WebhookEndpointDocument.get_pymongo_collection()
        with translated(_ENDPOINT_DUPLICATES):
            result = await collection.replace_one(
                {**scope, "version": endpoint.version - 1}, document
            )
            if result.matched_count:
                return
            await self._existing(scope)
        raise Conflict("the endpoint was changed by someone else; read it again")

    async def delete(self, company_id: str, endpoint_id: str) -> None:
        with translated(_ENDPOINT_DUPLICATES):
            collection = WebhookEndpointDocument.get_pymongo_collection()
            result = await collection.delete_one(_scope(company_id, endpoint_id))
        if not result.deleted_count:
            raise NotFound("no such webhook endpoint")

    async def list(self, company_id: str, page: PageRequest) -> Sequence[WebhookEndpoint]:
        scope: dict[str, Any] = {"company_id": company_id}
        if page.after is not None:
            scope["_id"] = {"$gt": page.after}
        with translated(_ENDPOINT_DUPLICATES):
            query = WebhookEndpointDocument.find(scope).sort(_BY_ID).limit(page.limit + 1)
            documents = await query.to_list()
        return [document.to_entity() for document in documents]

    async def subscribers(self, company_id: str, event_type: str) -> Sequence[WebhookEndpoint]:
        scope = {
            "company_id": company_id,
            "active": True,
            "$or": [{"event_types": {"$size": 0}}, {"event_types": event_type}],
        }
        with translated(_ENDPOINT_DUPLICATES):
            documents = await WebhookEndpointDocument.find(scope).sort(_BY_ID).to_list()
        return [document.to_entity() for document in documents]

    async def count(self, company_id: str) -> int:
        with translated(_ENDPOINT_DUPLICATES):
            return await WebhookEndpointDocument.find({"company_id": company_id}).count()

    async def record_failure(
        self, company_id: str, endpoint_id: str, at: datetime
    ) -> WebhookEndpoint:
        scope = _scope(company_id, endpoint_id)
        bump = {"$inc": {"consecutive_failures": 1, "version": 1}}
        while True:  # each branch is atomic; a success in between only sends us round again
            first = {**bump, "$set": {"updated_at": at, "failing_since": at}}
            changed = await self._change({**scope, "failing_since": None}, first)
            if changed is None:
                ongoing = {**scope, "failing_since": {"$ne": None}}
                changed = await self._change(ongoing, {**bump, "$set": {"updated_at": at}})
            if changed is not None:
                return changed
            await self._existing(scope)

    async def record_success(self, company_id: str, endpoint_id: str, at: datetime) -> None:
        scope = _scope(company_id, endpoint_id)
        failing = {
            **scope,
            "$or": [{"consecutive_failures": {"$ne": 0}}, {"failing_since": {"$ne": None}}],
        }
        reset = {
            "$set": {"consecutive_failures": 0, "failing_since": None, "updated_at": at},
            "$inc": {"version": 1},
        }
        if await self._change(failing, reset) is None:
            await self._existing(scope)

    async def disable(
        self, company_id: str, endpoint_id: str, reason: str, at: datetime
    ) -> WebhookEndpoint | None:
        scope = _scope(company_id, endpoint_id)
        change = {
            "$set": {
                "active": False,
                "disabled_reason": reason,
                "disabled_at": at,
                "updated_at": at,
            },
            "$inc": {"version": 1},
        }
        disabled = await self._change({**scope, "active": True}, change)
        if disabled is None:
            await self._existing(scope)
        return disabled

    async def _change(
        self, where: dict[str, Any], change: dict[str, Any]
    ) -> WebhookEndpoint | None:
        with translated(_ENDPOINT_DUPLICATES):
            after = await WebhookEndpointDocument.find_one(where).update(
                change, response_type=UpdateResponse.NEW_DOCUMENT
            )
        return after.to_entity() if isinstance(after, WebhookEndpointDocument) else None

    async def _existing(self, scope: dict[str, Any]) -> None:
        with translated(_ENDPOINT_DUPLICATES):
            found = await WebhookEndpointDocument.find(scope).exists()
        if not found:
            raise NotFound("no such webhook endpoint")


def _scope(company_id: str, record_id: str) -> dict[str, Any]:
    return {"_id": record_id, "company_id": company_id}


class WebhookDeliveryDocument(Document):
    id: str  # type: ignore[assignment]  # time-ordered ids: _id order is age order
    company_id: str
    endpoint_id: str
    message_id: str
    event_type: str
    payload: bytes
    created_at: datetime
    request_id: str | None = None
    status: str
    attempts: int
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            IndexModel([("company_id", ASCENDING), ("_id", DESCENDING)], name="company_id"),
            IndexModel(
                [("company_id", ASCENDING), ("endpoint_id", ASCENDING), ("_id", DESCENDING)],
                name="company_endpoint_id",
            ),
            IndexModel(
                [("company_id", ASCENDING), ("status", ASCENDING), ("_id", DESCENDING)],
                name="company_status_id",
            ),
        ]

    @classmethod
    def from_entity(cls, delivery: WebhookDelivery) -> WebhookDeliveryDocument:
        fields = {
            name: getattr(delivery, name) for name in cls.model_fields if name != "revision_id"
        }
        return cls(**{**fields, "status": delivery.status.value})

    def to_entity(self) -> WebhookDelivery:
        return WebhookDelivery(
            id=self.id,
            company_id=self.company_id,
            endpoint_id=self.endpoint_id,
            message_id=self.message_id,
            event_type=self.event_type,
            payload=bytes(self.payload),
            created_at=_at(self.created_at),
            request_id=self.request_id,
            status=DeliveryStatus(self.status),
            attempts=self.attempts,
            last_attempt_at=_utc(self.last_attempt_at),
            last_status_code=self.last_status_code,
            last_error=self.last_error,
        )


class DeliveryAttemptDocument(Document):
    id: str  # type: ignore[assignment]
    company_id: str
    endpoint_id: str
    delivery_id: str
    delivery_created_at: datetime  # what the retention TTL index counts from
    number: int
    at: datetime
    succeeded: bool
    status_code: int | None = None
    latency_ms: float = 0.0
    error: str | None = None
    response_excerpt: str = ""

    class Settings:
        name = "webhook_attempts"
        indexes = [
            IndexModel([("company_id", ASCENDING), ("_id", DESCENDING)], name="company_id"),
            IndexModel(
                [("company_id", ASCENDING), ("endpoint_id", ASCENDING), ("_id", DESCENDING)],
                name="company_endpoint_id",
            ),
            IndexModel([("delivery_id", ASCENDING), ("_id", DESCENDING)], name="delivery_id"),
        ]

    @classmethod
    def from_entity(
        cls, attempt: DeliveryAttempt, delivery_created_at: datetime
    ) -> DeliveryAttemptDocument:
        fields = {
            name: getattr(attempt, name)
            for name in cls.model_fields
            if name not in ("revision_id", "delivery_created_at")
        }
        return cls(**fields, delivery_created_at=delivery_created_at)

    def to_entity(self) -> DeliveryAttempt:
        fields = self.model_dump(exclude={"revision_id", "delivery_created_at"})
        return DeliveryAttempt(**{**fields, "at": _at(self.at)})


async def _ensure_ttl(collection: AsyncCollection[Any], field: str, seconds: int) -> None:
    """Create the TTL index on `field`, or set its expiry in place if the retention changed."""
    try:
        await collection.create_index(
            [(field, ASCENDING)], name=DELIVERY_RETENTION_INDEX, expireAfterSeconds=seconds
        )
    except OperationFailure as error:
        if error.code not in _INDEX_OPTIONS_CONFLICT:
            raise
        change = {"name": DELIVERY_RETENTION_INDEX, "expireAfterSeconds": seconds}
        await collection.database.command({"collMod": collection.name, "index": change})


class BeanieWebhookDeliveryStore:
    """`WebhookDeliveryStore` on `webhook_deliveries` and `webhook_attempts`.

    `record_attempt` updates the delivery with one conditional update (`$inc`, so concurrent
    attempts all count), then inserts the attempt: without transactions, a crash between the
    two leaves an attempt counted whose record is missing, never an attempt of another company.
    """

    def __init__(self, retention: timedelta) -> None:
        self._ttl_seconds = int(retention.total_seconds())
        self._retention_ready = False

    async def ensure_retention_index(self) -> None:
        """Create both TTL indexes, or set their expiry if the retention changed."""
        with translated(_DELIVERY_DUPLICATES):
            deliveries = WebhookDeliveryDocument.get_pymongo_collection()
            await _ensure_ttl(deliveries, "created_at", self._ttl_seconds)
            attempts = DeliveryAttemptDocument.get_pymongo_collection()
            await _ensure_ttl(attempts, "delivery_created_at", self._ttl_seconds)
        self._retention_ready = True

    async def add(self, delivery: WebhookDelivery) -> None:
        if not self._retention_ready:
            await self.ensure_retention_index()
        with translated(_DELIVERY_DUPLICATES):
            await WebhookDeliveryDocument.from_entity(delivery).insert()

    async def get(self, company_id: str, delivery_id: str) -> WebhookDelivery:
        with translated(_DELIVERY_DUPLICATES):
            document = await WebhookDeliveryDocument.find_one(_scope(company_id, delivery_id))
        if document is None:
            raise NotFound("no such webhook delivery")
        return document.to_entity()

    async def record_attempt(self, attempt: DeliveryAttempt, status: DeliveryStatus) -> None:
        if not self._retention_ready:
            await self.ensure_retention_index()
        summary = {
            "status": status.value,
            "last_attempt_at": attempt.at,
            "last_status_code": attempt.status_code,
            "last_error": attempt.error,
        }
        where = _scope(attempt.company_id, attempt.delivery_id)
        with translated(_DELIVERY_DUPLICATES):
            delivery = await WebhookDeliveryDocument.find_one(where).update(
                {"$set": summary, "$inc": {"attempts": 1}},
                response_type=UpdateResponse.NEW_DOCUMENT,
            )
        if not isinstance(delivery, WebhookDeliveryDocument):
            raise NotFound("no such webhook delivery")
        with translated(_ATTEMPT_DUPLICATES):
            await DeliveryAttemptDocument.from_entity(attempt, delivery.created_at).insert()

    async def set_status(
        self,
        company_id: str,
        delivery_id: str,
        status: DeliveryStatus,
        *,
        error: str | None = None,
    ) -> None:
        change: dict[str, Any] = {"status": status.value}
        if error is not None:
            change["last_error"] = error
        collection = WebhookDeliveryDocument.get_pymongo_collection()
        with translated(_DELIVERY_DUPLICATES):
            result = await collection.update_one(_scope(company_id, delivery_id), {"$set": change})
        if not result.matched_count:
            raise NotFound("no such webhook delivery")

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Sequence[WebhookDelivery]:
        scope = _newest_first_scope(company_id, page, endpoint_id=endpoint_id)
        if status is not None:
            scope["status"] = status.value
        with translated(_DELIVERY_DUPLICATES):
            query = WebhookDeliveryDocument.find(scope).sort(_NEWEST_FIRST)
            documents = await query.limit(page.limit + 1).to_list()
        return [document.to_entity() for document in documents]

    async def attempts(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        delivery_id: str | None = None,
    ) -> Sequence[DeliveryAttempt]:
        scope = _newest_first_scope(company_id, page, endpoint_id=endpoint_id)
        if delivery_id is not None:
            scope["delivery_id"] = delivery_id
        with translated(_ATTEMPT_DUPLICATES):
            query = DeliveryAttemptDocument.find(scope).sort(_NEWEST_FIRST)
            documents = await query.limit(page.limit + 1).to_list()
        return [document.to_entity() for document in documents]


def _newest_first_scope(
    company_id: str, page: PageRequest, *, endpoint_id: str | None
) -> dict[str, Any]:
    scope: dict[str, Any] = {"company_id": company_id}
    if endpoint_id is not None:
        scope["endpoint_id"] = endpoint_id
    if page.after is not None:
        scope["_id"] = {"$lt": page.after}
    return scope
