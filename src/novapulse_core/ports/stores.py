"""Stores of the tenant model. Every tenant-owned read or write names its company."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from novapulse_core.domain.identity import Company, Department, Role, User
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.stats import DepartmentSize


class CompanyStore(Protocol):
    """Companies by id.

    `add` raises `Conflict` for an existing id. `get` raises `NotFound`. `update` replaces the
    record whose version is `company.version - 1` and raises `Conflict` when the stored version
    differs (someone else changed it) or `NotFound` when it is gone.

    `claim_owner_change` gives `holder` the company's owner-change claim until `until`, when no
    claim is held or the one held ran out at or before `now`, and answers whether it did, in one
    atomic step: of racing claimants exactly one gets it. `release_owner_change` ends `holder`'s
    claim (one held by another holder is left alone). Removing an owner holds the claim from
    counting the owners to saving the change, so two removals in one company take turns.
    """

    async def add(self, company: Company) -> None: ...

    async def get(self, company_id: str) -> Company: ...

    async def update(self, company: Company) -> None: ...

    async def claim_owner_change(
        self, company_id: str, holder: str, *, now: datetime, until: datetime
    ) -> bool: ...

    async def release_owner_change(self, company_id: str, holder: str) -> None: ...


class UserStore(Protocol):
    """Users, scoped by company; the email is unique across all companies.

    `add` raises `Conflict` when the email (already normalised) is taken. `get` raises `NotFound`
    when the user does not exist in that company, even if it exists in another. `update` has the
    same optimistic version rule as `CompanyStore.update` and raises `Conflict` on a taken email.
    `list` returns up to `page.limit + 1` users of the company with id greater than `page.after`,
    ordered by id, optionally filtered by role and active flag. `get_many` returns the users of
    the company among `user_ids`, once each, ordered by id, silently skipping ids it does not
    hold. `count_by_role` counts the company's users with the given active flag, by role; every
    role is present, with 0 where it has no user.
    """

    async def add(self, user: User) -> None: ...

    async def get(self, company_id: str, user_id: str) -> User: ...

    async def find_by_email(self, email: str) -> User | None: ...

    async def update(self, user: User) -> None: ...

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        role: Role | None = None,
        active: bool | None = None,
    ) -> Sequence[User]: ...

    async def get_many(self, company_id: str, user_ids: Sequence[str]) -> Sequence[User]: ...

    async def count_by_role(
        self, company_id: str, *, active: bool = True
    ) -> Mapping[Role, int]: ...


class DepartmentStore(Protocol):
    """Departments, scoped by company; names are unique within a company, case-insensitively.

    `add` and `update` raise `Conflict` on a taken name; `update` follows the optimistic version
    rule of `CompanyStore.update`. `get` and `delete` raise `NotFound` outside the company.
    `list` pages like `UserStore.list`. `sizes` gives every department of the company with its
    member count, ordered by case-folded name, then id.
    """

    async def add(self, department: Department) -> None: ...

    async def get(self, company_id: str, department_id: str) -> Department: ...

    async def update(self, department: Department) -> None: ...

    async def delete(self, company_id: str, department_id: str) -> None: ...

    async def list(self, company_id: str, page: PageRequest) -> Sequence[Department]: ...

    async def sizes(self, company_id: str) -> Sequence[DepartmentSize]: ...
