"""Dict-backed stores: the reference behaviour every other store adapter must match."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.identity import Company, Department, Role, User
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.stats import DepartmentSize


def _check_version(stored: object, new_version: int, what: str) -> None:
    if getattr(stored, "version", None) != new_version - 1:
        raise Conflict(f"the {what} was changed by someone else; read it again")


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


RowT = TypeVar("RowT", bound=_Identified)


def _page(rows: Iterable[RowT], page: PageRequest) -> list[RowT]:
    after = [row for row in rows if page.after is None or row.id > page.after]
    return sorted(after, key=lambda row: row.id)[: page.limit + 1]


class InMemoryCompanyStore:
    def __init__(self) -> None:
        self._companies: dict[str, Company] = {}
        self._owner_claims: dict[str, tuple[str, datetime]] = {}

    async def add(self, company: Company) -> None:
        if company.id in self._companies:
            raise Conflict("a company with this id exists")
        self._companies[company.id] = company

    async def get(self, company_id: str) -> Company:
        try:
            return self._companies[company_id]
        except KeyError:
            raise NotFound("no such company") from None

    async def update(self, company: Company) -> None:
        _check_version(await self.get(company.id), company.version, "company")
        self._companies[company.id] = company

    async def claim_owner_change(
        self, company_id: str, holder: str, *, now: datetime, until: datetime
    ) -> bool:
        held = self._owner_claims.get(company_id)
        if held is not None and held[1] > now:
            return False
        self._owner_claims[company_id] = (holder, until)
        return True

    async def release_owner_change(self, company_id: str, holder: str) -> None:
        held = self._owner_claims.get(company_id)
        if held is not None and held[0] == holder:
            del self._owner_claims[company_id]


class InMemoryUserStore:
    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._by_email: dict[str, str] = {}

    async def add(self, user: User) -> None:
        if user.email in self._by_email:
            raise Conflict("a user with this email exists", extra={"field": "email"})
        if user.id in self._users:
            raise Conflict("a user with this id exists")
        self._users[user.id] = user
        self._by_email[user.email] = user.id

    async def get(self, company_id: str, user_id: str) -> User:
        user = self._users.get(user_id)
        if user is None or user.company_id != company_id:
            raise NotFound("no such user")
        return user

    async def find_by_email(self, email: str) -> User | None:
        user_id = self._by_email.get(email)
        return None if user_id is None else self._users[user_id]

    async def update(self, user: User) -> None:
        stored = await self.get(user.company_id, user.id)
        _check_version(stored, user.version, "user")
        owner_of_email = self._by_email.get(user.email)
        if owner_of_email not in (None, user.id):
            raise Conflict("a user with this email exists", extra={"field": "email"})
        del self._by_email[stored.email]
        self._by_email[user.email] = user.id
        self._users[user.id] = user

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        role: Role | None = None,
        active: bool | None = None,
    ) -> Sequence[User]:
        rows = [
            u
            for u in self._users.values()
            if u.company_id == company_id
            and (role is None or u.role == role)
            and (active is None or u.active == active)
        ]
        return _page(rows, page)

    async def get_many(self, company_id: str, user_ids: Sequence[str]) -> Sequence[User]:
        found = [self._users[i] for i in set(user_ids) if i in self._users]
        return sorted((u for u in found if u.company_id == company_id), key=lambda u: u.id)

    async def count_by_role(self, company_id: str, *, active: bool = True) -> Mapping[Role, int]:
        counts = Counter(
            u.role
            for u in self._users.values()
            if u.company_id == company_id and u.active == active
        )
        return {role: counts[role] for role in Role}


class InMemoryDepartmentStore:
    def __init__(self) -> None:
        self._departments: dict[str, Department] = {}

    async def add(self, department: Department) -> None:
        self._check_name_free(department)
        if department.id in self._departments:
            raise Conflict("a department with this id exists")
        self._departments[department.id] = department

    async def get(self, company_id: str, department_id: str) -> Department:
        department = self._departments.get(department_id)
        if department is None or department.company_id != company_id:
            raise NotFound("no such department")
        return department

    async def update(self, department: Department) -> None:
        stored = await self.get(department.company_id, department.id)
        _check_version(stored, department.version, "department")
        self._check_name_free(department)
        self._departments[department.id] = department

    async def delete(self, company_id: str, department_id: str) -> None:
        await self.get(company_id, department_id)
        del self._departments[department_id]

    async def list(self, company_id: str, page: PageRequest) -> Sequence[Department]:
        rows = [d for d in self._departments.values() if d.company_id == company_id]
        return _page(rows, page)

    async def sizes(self, company_id: str) -> Sequence[DepartmentSize]:
        mine = [d for d in self._departments.values() if d.company_id == company_id]
        return [
            DepartmentSize(department_id=d.id, name=d.name, members=len(d.member_ids))
            for d in sorted(mine, key=lambda d: (d.name.casefold(), d.id))
        ]

    def _check_name_free(self, department: Department) -> None:
        key = department.name.casefold()
        for other in self._departments.values():
            if (
                other.company_id == department.company_id
                and other.id != department.id
                and other.name.casefold() == key
            ):
                raise Conflict("a department with this name exists", extra={"field": "name"})
