"""Refresh-token families in MongoDB: one document per token, first use marked atomically.

A TTL index on `gc_at` (the token's `expires_at` plus `gc_grace`) only collects garbage: the
store judges expiry by its injected clock, so a token is gone at `expires_at` whatever the
server's TTL monitor (which runs about once a minute) has done.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from beanie import Document, UpdateResponse
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from novapulse_adapters.mongo.errors import DuplicateRule, translated
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.sessions import RefreshToken
from novapulse_core.ports.system import Clock

__all__ = ["DEFAULT_GC_GRACE", "BeanieRefreshTokenStore", "RefreshTokenDocument"]

DEFAULT_GC_GRACE = timedelta(days=1)
"""How long past its expiry a token document stays before the TTL monitor removes it."""

_DUPLICATES: Mapping[str, DuplicateRule] = {
    "_id": ("a refresh token with this digest exists", None)
}


def _utc(moment: datetime) -> datetime:
    """Aware UTC, whatever the driver returned (naive datetimes from Mongo are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class RefreshTokenDocument(Document):
    """One refresh token by digest; MongoDB keeps milliseconds of its times."""

    id: str  # type: ignore[assignment]  # the token digest
    family_id: str
    company_id: str
    user_id: str
    amr: list[str]
    issued_at: datetime
    expires_at: datetime
    session_expires_at: datetime
    used_at: datetime | None = None
    gc_at: datetime

    class Settings:
        name = "refresh_tokens"
        indexes = [
            IndexModel([("family_id", ASCENDING)], name="family"),
            IndexModel([("company_id", ASCENDING), ("user_id", ASCENDING)], name="company_user"),
            IndexModel([("gc_at", ASCENDING)], name="gc_at_ttl", expireAfterSeconds=0),
        ]

    @classmethod
    def from_entity(cls, token: RefreshToken, gc_grace: timedelta) -> RefreshTokenDocument:
        return cls(
            id=token.token_digest,
            family_id=token.family_id,
            company_id=token.company_id,
            user_id=token.user_id,
            amr=list(token.amr),
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            session_expires_at=token.session_expires_at,
            used_at=token.used_at,
            gc_at=token.expires_at + gc_grace,
        )

    def to_entity(self) -> RefreshToken:
        return RefreshToken(
            token_digest=self.id,
            family_id=self.family_id,
            user_id=self.user_id,
            company_id=self.company_id,
            amr=tuple(self.amr),
            issued_at=_utc(self.issued_at),
            expires_at=_utc(self.expires_at),
            session_expires_at=_utc(self.session_expires_at),
            used_at=None if self.used_at is None else _utc(self.used_at),
        )


class BeanieRefreshTokenStore:
    """`RefreshTokenStore` on `refresh_tokens` (needs `MongoConnection.open()` first).

    `use` is one `find_one_and_update` conditioned on `used_at` being null (returning the
    document as it was), so of concurrent uses exactly one sees the token unused; a reuse
    reads once more. Revocations are one `delete_many` on an indexed field.
    """

    def __init__(self, clock: Clock, *, gc_grace: timedelta = DEFAULT_GC_GRACE) -> None:
        self._clock = clock
        self._gc_grace = gc_grace

    async def add(self, token: RefreshToken) -> None:
        document = RefreshTokenDocument.from_entity(token, self._gc_grace)
        with translated(_DUPLICATES):
            try:
                await document.insert()
                return
            except DuplicateKeyError:
                # A token past its expiry by our clock is gone, whatever the TTL monitor did.
                stale = {"_id": token.token_digest, "expires_at": {"$lte": self._clock.now()}}
                replaced = await RefreshTokenDocument.get_pymongo_collection().replace_one(
                    stale, document.model_dump(by_alias=True)
                )
        if not replaced.matched_count:
            raise Conflict("a refresh token with this digest exists")

    async def use(self, digest: str, at: datetime) -> RefreshToken | None:
        live = {"_id": digest, "expires_at": {"$gt": self._clock.now()}}
        with translated(_DUPLICATES):
            before = await RefreshTokenDocument.find_one({**live, "used_at": None}).update(
                {"$set": {"used_at": at}}, response_type=UpdateResponse.OLD_DOCUMENT
            )
            if before is None:
                before = await RefreshTokenDocument.find_one(live)
        if not isinstance(before, RefreshTokenDocument):
            return None
        return before.to_entity()

    async def revoke_family(self, family_id: str) -> None:
        with translated(_DUPLICATES):
            await RefreshTokenDocument.find({"family_id": family_id}).delete()

    async def revoke_user(self, company_id: str, user_id: str) -> None:
        with translated(_DUPLICATES):
            await RefreshTokenDocument.find({"company_id": company_id, "user_id": user_id}).delete()
