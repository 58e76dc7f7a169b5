"""MFA records in MongoDB: one document per user, recovery codes embedded, used atomically."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from beanie import Document
from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel

from novapulse_adapters.mongo.errors import DuplicateRule, translated
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.mfa import MfaRecord, RecoveryCode

__all__ = ["BeanieMfaStore", "MfaDocument", "RecoveryCodeDocument"]

_TAKEN: DuplicateRule = ("this user already has an MFA record", None)
_DUPLICATES: Mapping[str, DuplicateRule] = {"_id": _TAKEN, "company_id": _TAKEN, "user_id": _TAKEN}
_INDEXES = {"company_user_unique": "user_id"}


def _utc(moment: datetime) -> datetime:
    """Aware UTC, whatever the driver returned (naive datetimes from Mongo are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


class RecoveryCodeDocument(BaseModel):
    """One embedded recovery code: its keyed digest and when it was used (null while unused)."""

    digest: str
    used_at: datetime | None = None


class MfaDocument(Document):
    """A user's TOTP factor; `(company_id, user_id)` is unique. MongoDB keeps milliseconds."""

    company_id: str
    user_id: str
    encrypted_secret: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = None
    recovery_codes: list[RecoveryCodeDocument] = []
    version: int

    class Settings:
        name = "mfa"
        indexes = [
            IndexModel(
                [("company_id", ASCENDING), ("user_id", ASCENDING)],
                name="company_user_unique",
                unique=True,
            ),
        ]

    @classmethod
    def from_entity(cls, record: MfaRecord) -> MfaDocument:
        return cls(**_fields(record))

    def to_entity(self) -> MfaRecord:
        return MfaRecord(
            company_id=self.company_id,
            user_id=self.user_id,
            encrypted_secret=self.encrypted_secret,
            created_at=_utc(self.created_at),
            updated_at=_utc(self.updated_at),
            confirmed_at=_utc_or_none(self.confirmed_at),
            recovery_codes=tuple(
                RecoveryCode(digest=code.digest, used_at=_utc_or_none(code.used_at))
                for code in self.recovery_codes
            ),
            version=self.version,
        )


def _fields(record: MfaRecord) -> dict[str, Any]:
    """The document's fields (all but `_id`), as `$set` writes them."""
    return {
        "company_id": record.company_id,
        "user_id": record.user_id,
        "encrypted_secret": record.encrypted_secret,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "confirmed_at": record.confirmed_at,
        "recovery_codes": [
            {"digest": code.digest, "used_at": code.used_at} for code in record.recovery_codes
        ],
        "version": record.version,
    }


class BeanieMfaStore:
    """`MfaStore` on the `mfa` collection (needs `MongoConnection.open()` first).

    Every method is one round trip but a refused `update`, which reads once more to tell a
    stale version from a missing record. `use_recovery_code` is one conditional update of the
    matching unused code (positional `$`), so of concurrent uses exactly one matches.
    """

    async def get(self, company_id: str, user_id: str) -> MfaRecord | None:
        with translated(_DUPLICATES, _INDEXES):
            document = await MfaDocument.find_one({"company_id": company_id, "user_id": user_id})
        return None if document is None else document.to_entity()

    async def add(self, record: MfaRecord) -> None:
        with translated(_DUPLICATES, _INDEXES):
            await MfaDocument.from_entity(record).insert()

    async def update(self, record: MfaRecord) -> None:
        scope = {"company_id": record.company_id, "user_id": record.user_id}
        collection = MfaDocument.get_pymongo_collection()
        with translated(_DUPLICATES, _INDEXES):
            result = await collection.update_one(
                {**scope, "version": record.version - 1}, {"$set": _fields(record)}
            )
            if result.matched_count:
                return
            exists = await collection.count_documents(scope, limit=1)
        if exists:
            raise Conflict("the MFA record was changed by someone else; read it again")
        raise NotFound("no MFA record for this user")

    async def delete(self, company_id: str, user_id: str) -> None:
        collection = MfaDocument.get_pymongo_collection()
        with translated(_DUPLICATES, _INDEXES):
            result = await collection.delete_one({"company_id": company_id, "user_id": user_id})
        if result.deleted_count == 0:
            raise NotFound("no MFA record for this user")

    async def use_recovery_code(
        self, company_id: str, user_id: str, digest: str, at: datetime
    ) -> bool:
        unused = {"$elemMatch": {"digest": digest, "used_at": None}}
        scope = {
            "company_id": company_id,
            "user_id": user_id,
            "confirmed_at": {"$ne": None},
            "recovery_codes": unused,
        }
        change = {
            "$set": {"recovery_codes.$.used_at": at, "updated_at": at},
            "$inc": {"version": 1},
        }
        collection = MfaDocument.get_pymongo_collection()
        with translated(_DUPLICATES, _INDEXES):
            result = await collection.update_one(scope, change)
        return bool(result.modified_count)
