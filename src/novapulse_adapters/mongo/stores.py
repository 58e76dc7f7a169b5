"""MongoDB stores (Beanie) for companies, users and departments, matching the memory reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from beanie import SortDirection
from beanie.exceptions import DocumentNotFound
from pymongo.errors import DuplicateKeyError

from novapulse_adapters.mongo.analytics import DEFAULT_ANALYTICS_READS, aggregate, read_preference
from novapulse_adapters.mongo.documents import (
    CompanyDocument,
    DepartmentDocument,
    OwnerChangeClaimDocument,
    UserDocument,
)
from novapulse_adapters.mongo.errors import DuplicateRule, translated
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.identity import Company, Department, Role, User
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.stats import DepartmentSize

__all__ = ["BeanieCompanyStore", "BeanieDepartmentStore", "BeanieUserStore"]

_BY_ID = [("_id", SortDirection.ASCENDING)]

_COMPANY_DUPLICATES: Mapping[str, DuplicateRule] = {"_id": ("a company with this id exists", None)}
_USER_DUPLICATES: Mapping[str, DuplicateRule] = {
    "_id": ("a user with this id exists", None),
    "email": ("a user with this email exists", "email"),
}
_USER_INDEXES = {"email_unique": "email"}
_DEPARTMENT_DUPLICATES: Mapping[str, DuplicateRule] = {
    "_id": ("a department with this id exists", None),
    "name_key": ("a department with this name exists", "name"),
}
_DEPARTMENT_INDEXES = {"company_name_unique": "name_key"}


def _keyset(scope: dict[str, Any], page: PageRequest) -> dict[str, Any]:
    """The filter of one keyset page: the scope, and ids after the previous page's last id."""
    return scope if page.after is None else {**scope, "_id": {"$gt": page.after}}


async def _replace_versioned(
    document: CompanyDocument | UserDocument | DepartmentDocument,
    scope: dict[str, Any],
    version: int,
    what: str,
) -> None:
    """Replace the record in `scope` whose version is `version - 1`; tell stale from gone."""
    model = type(document)
    try:
        await model.find_one({**scope, "version": version - 1}).replace_one(document)
    except DocumentNotFound:
        if await model.find(scope).exists():
            raise Conflict(f"the {what} was changed by someone else; read it again") from None
        raise NotFound(f"no such {what}") from None


class BeanieCompanyStore:
    """`CompanyStore` on the `companies` collection (needs `MongoConnection.open()` first)."""

    async def add(self, company: Company) -> None:
        with translated(_COMPANY_DUPLICATES):
            await CompanyDocument.from_entity(company).insert()

    async def get(self, company_id: str) -> Company:
        with translated(_COMPANY_DUPLICATES):
            document = await CompanyDocument.find_one({"_id": company_id})
        if document is None:
            raise NotFound("no such company")
        return document.to_entity()

    async def update(self, company: Company) -> None:
        document = CompanyDocument.from_entity(company)
        with translated(_COMPANY_DUPLICATES):
            await _replace_versioned(document, {"_id": company.id}, company.version, "company")

    async def claim_owner_change(
        self, company_id: str, holder: str, *, now: datetime, until: datetime
    ) -> bool:
        """One upsert on the claim's document: it matches only a claim that ran out, and when
        a standing claim keeps it from matching, the insert it turns into collides on `_id`."""
        claims = OwnerChangeClaimDocument.get_pymongo_collection()
        with translated(_COMPANY_DUPLICATES):
            try:
                await claims.update_one(
                    {"_id": company_id, "until": {"$lte": now}},
                    {"$set": {"holder": holder, "until": until}},
                    upsert=True,
                )
            except DuplicateKeyError:
                return False
        return True

    async def release_owner_change(self, company_id: str, holder: str) -> None:
        claims = OwnerChangeClaimDocument.get_pymongo_collection()
        with translated(_COMPANY_DUPLICATES):
            await claims.delete_one({"_id": company_id, "holder": holder})


class BeanieUserStore:
    """`UserStore` on the `users` collection; a unique index keeps emails unique. Every read
    is the primary's: counting by role also guards the company's last active owner, which
    must see the latest writes (a secondary would let two removals leave no owner)."""

    async def add(self, user: User) -> None:
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            await UserDocument.from_entity(user).insert()

    async def get(self, company_id: str, user_id: str) -> User:
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            document = await UserDocument.find_one({"_id": user_id, "company_id": company_id})
        if document is None:
            raise NotFound("no such user")
        return document.to_entity()

    async def find_by_email(self, email: str) -> User | None:
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            document = await UserDocument.find_one({"email": email})
        return None if document is None else document.to_entity()

    async def update(self, user: User) -> None:
        scope = {"_id": user.id, "company_id": user.company_id}
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            await _replace_versioned(UserDocument.from_entity(user), scope, user.version, "user")

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        role: Role | None = None,
        active: bool | None = None,
    ) -> Sequence[User]:
        scope: dict[str, Any] = {"company_id": company_id}
        if role is not None:
            scope["role"] = role.value
        if active is not None:
            scope["active"] = active
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            query = UserDocument.find(_keyset(scope, page)).sort(_BY_ID).limit(page.limit + 1)
            documents = await query.to_list()
        return [document.to_entity() for document in documents]

    async def get_many(self, company_id: str, user_ids: Sequence[str]) -> Sequence[User]:
        if not user_ids:
            return []
        scope = {"company_id": company_id, "_id": {"$in": sorted(set(user_ids))}}
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            documents = await UserDocument.find(scope).sort(_BY_ID).to_list()
        return [document.to_entity() for document in documents]

    async def count_by_role(self, company_id: str, *, active: bool = True) -> Mapping[Role, int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"company_id": company_id, "active": active}},
            {"$group": {"_id": "$role", "count": {"$sum": 1}}},
        ]
        with translated(_USER_DUPLICATES, _USER_INDEXES):
            rows = await UserDocument.aggregate(pipeline).to_list()
        counts = {Role(row["_id"]): int(row["count"]) for row in rows}
        return {role: counts.get(role, 0) for role in Role}


class BeanieDepartmentStore:
    """`DepartmentStore` on `departments`; a unique (company_id, name_key) index keeps names.
    Department sizes are read where `analytics_reads` says (see `analytics`)."""

    def __init__(self, *, analytics_reads: str = DEFAULT_ANALYTICS_READS) -> None:
        self._analytics = read_preference(analytics_reads)

    async def add(self, department: Department) -> None:
        with translated(_DEPARTMENT_DUPLICATES, _DEPARTMENT_INDEXES):
            await DepartmentDocument.from_entity(department).insert()

    async def get(self, company_id: str, department_id: str) -> Department:
        with translated(_DEPARTMENT_DUPLICATES, _DEPARTMENT_INDEXES):
            document = await DepartmentDocument.find_one(
                {"_id": department_id, "company_id": company_id}
            )
        if document is None:
            raise NotFound("no such department")
        return document.to_entity()

    async def update(self, department: Department) -> None:
        scope = {"_id": department.id, "company_id": department.company_id}
        document = DepartmentDocument.from_entity(department)
        with translated(_DEPARTMENT_DUPLICATES, _DEPARTMENT_INDEXES):
            await _replace_versioned(document, scope, department.version, "department")

    async def delete(self, company_id: str, department_id: str) -> None:
        scope = {"_id": department_id, "company_id": company_id}
        with translated(_DEPARTMENT_DUPLICATES, _DEPARTMENT_INDEXES):
            result = await DepartmentDocument.find_one(scope).delete()
        if result is None or result.deleted_count == 0:
            raise NotFound("no such department")

    async def list(self, company_id: str, page: PageRequest) -> Sequence[Department]:
        scope = _keyset({"company_id": company_id}, page)
        with translated(_DEPARTMENT_DUPLICATES, _DEPARTMENT_INDEXES):
            query = DepartmentDocument.find(scope).sort(_BY_ID).limit(page.limit + 1)
            documents = await query.to_list()
        return [document.to_entity() for document in documents]

    async def sizes(self, company_id: str) -> Sequence[DepartmentSize]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"company_id": company_id}},
            {"$project": {"name": 1, "name_key": 1, "members": {"$size": "$member_ids"}}},
            {"$sort": {"name_key": 1, "_id": 1}},
        ]
        with translated(_DEPARTMENT_DUPLICATES, _DEPARTMENT_INDEXES):
            rows = await aggregate(DepartmentDocument, pipeline, self._analytics)
        return [
            DepartmentSize(department_id=row["_id"], name=row["name"], members=int(row["members"]))
            for row in rows
        ]
