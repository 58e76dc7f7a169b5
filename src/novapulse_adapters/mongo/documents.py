"""Beanie documents of the tenant model, their indexes, and the one mapping to core entities."""

from __future__ import annotations

from datetime import UTC, datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel

from novapulse_adapters.mongo.jobs import JobDocument
from novapulse_adapters.mongo.mfa import MfaDocument
from novapulse_adapters.mongo.sessions import RefreshTokenDocument
from novapulse_adapters.mongo.webhooks import (
    DeliveryAttemptDocument,
    WebhookDeliveryDocument,
    WebhookEndpointDocument,
)
from novapulse_core.domain.identity import Company, Department, Role, User

__all__ = [
    "DOCUMENT_MODELS",
    "CompanyDocument",
    "DepartmentDocument",
    "OwnerChangeClaimDocument",
    "UserDocument",
    "name_key",
]


def name_key(name: str) -> str:
    """The key department names are unique and sorted by: the case-folded name."""
    return name.casefold()


def as_utc(moment: datetime) -> datetime:
    """Aware UTC, whatever the driver returned (naive datetimes from Mongo are UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class CompanyDocument(Document):
    id: str  # type: ignore[assignment]  # plain string ids, not ObjectId
    name: str
    created_at: datetime
    updated_at: datetime
    version: int
    mfa_required_roles: list[str] = []  # absent from documents written before it existed

    class Settings:
        name = "companies"
        indexes = [IndexModel([("created_at", ASCENDING)], name="created_at")]

    @classmethod
    def from_entity(cls, company: Company) -> CompanyDocument:
        return cls(
            id=company.id,
            name=company.name,
            created_at=company.created_at,
            updated_at=company.updated_at,
            version=company.version,
            mfa_required_roles=sorted(role.value for role in company.mfa_required_roles),
        )

    def to_entity(self) -> Company:
        return Company(
            id=self.id,
            name=self.name,
            created_at=as_utc(self.created_at),
            updated_at=as_utc(self.updated_at),
            version=self.version,
            mfa_required_roles=frozenset(Role(role) for role in self.mfa_required_roles),
        )


class UserDocument(Document):
    id: str  # type: ignore[assignment]
    company_id: str
    email: str
    name: str
    role: str
    password_hash: str
    created_at: datetime
    updated_at: datetime
    active: bool
    version: int
    tokens_valid_after: datetime | None = None  # absent from documents written before it existed

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", ASCENDING)], name="email_unique", unique=True),
            IndexModel([("company_id", ASCENDING), ("role", ASCENDING)], name="company_role"),
            IndexModel([("company_id", ASCENDING), ("_id", ASCENDING)], name="company_id_keyset"),
            IndexModel([("created_at", ASCENDING)], name="created_at"),
            IndexModel([("updated_at", ASCENDING)], name="updated_at"),
        ]

    @classmethod
    def from_entity(cls, user: User) -> UserDocument:
        return cls(
            id=user.id,
            company_id=user.company_id,
            email=user.email,
            name=user.name,
            role=user.role.value,
            password_hash=user.password_hash,
            created_at=user.created_at,
            updated_at=user.updated_at,
            active=user.active,
            version=user.version,
            tokens_valid_after=user.tokens_valid_after,
        )

    def to_entity(self) -> User:
        return User(
            id=self.id,
            company_id=self.company_id,
            email=self.email,
            name=self.name,
            role=Role(self.role),
            password_hash=self.password_hash,
            created_at=as_utc(self.created_at),
            updated_at=as_utc(self.updated_at),
            active=self.active,
            version=self.version,
            tokens_valid_after=(
                None if self.tokens_valid_after is None else as_utc(self.tokens_valid_after)
            ),
        )


class DepartmentDocument(Document):
    id: str  # type: ignore[assignment]
    company_id: str
    name: str
    name_key: str
    description: str
    member_ids: list[str]
    created_at: datetime
    updated_at: datetime
    version: int

    class Settings:
        name = "departments"
        indexes = [
            IndexModel(
                [("company_id", ASCENDING), ("name_key", ASCENDING)],
                name="company_name_unique",
                unique=True,
            ),
            IndexModel([("company_id", ASCENDING), ("_id", ASCENDING)], name="company_id_keyset"),
        ]

    @classmethod
    def from_entity(cls, department: Department) -> DepartmentDocument:
        return cls(
            id=department.id,
            company_id=department.company_id,
            name=department.name,
            name_key=name_key(department.name),
            description=department.description,
            member_ids=list(department.member_ids),
            created_at=department.created_at,
            updated_at=department.updated_at,
            version=department.version,
        )

    def to_entity(self) -> Department:
        return Department(
            id=self.id,
            company_id=self.company_id,
            name=self.name,
            description=self.description,
            member_ids=tuple(self.member_ids),
            created_at=as_utc(self.created_at),
            updated_at=as_utc(self.updated_at),
            version=self.version,
        )


class OwnerChangeClaimDocument(Document):
    """Who is changing a company's owners, and until when (`CompanyStore.claim_owner_change`)."""

    id: str  # type: ignore[assignment]  # the company's id
    holder: str
    until: datetime

    class Settings:
        name = "owner_change_claims"


DOCUMENT_MODELS: tuple[type[Document], ...] = (
    CompanyDocument,
    OwnerChangeClaimDocument,
    UserDocument,
    DepartmentDocument,
    JobDocument,
    MfaDocument,
    RefreshTokenDocument,
    WebhookEndpointDocument,
    WebhookDeliveryDocument,
    DeliveryAttemptDocument,
)
"""Every document class `init_beanie` must bind, in one list for the connection."""
