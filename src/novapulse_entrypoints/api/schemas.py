"""Request and response bodies of the API, and the mapping from core entities to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from novapulse_core.domain.auth import Authenticated
from novapulse_core.domain.identity import (
    MAX_DESCRIPTION_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    Company,
    Department,
    Role,
    User,
)
from novapulse_core.domain.paging import Page
from novapulse_core.domain.stats import CompanyStats

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=MAX_EMAIL_LENGTH)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION_LENGTH)]


class Signup(msgspec.Struct, forbid_unknown_fields=True):
    company_name: Name
    owner_email: Email
    owner_name: Name
    owner_password: Password


class Login(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class CompanyPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    name: Name
    password: Password
    role: Role = Role.MEMBER


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    email: Email | None = None


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class NewDepartment(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    description: Description = ""


class DepartmentPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    description: Description | None = None


class CompanyOut(msgspec.Struct):
    id: str
    name: str
    created_at: datetime
    updated_at: datetime


class UserOut(msgspec.Struct):
    id: str
    company_id: str
    email: str
    name: str
    role: Role
    active: bool
    created_at: datetime
    updated_at: datetime


class DepartmentOut(msgspec.Struct):
    id: str
    company_id: str
    name: str
    description: str
    member_count: int
    created_at: datetime
    updated_at: datetime


class UserPage(msgspec.Struct):
    items: list[UserOut]
    next_after: str | None


class DepartmentPage(msgspec.Struct):
    items: list[DepartmentOut]
    next_after: str | None


class SignupOut(msgspec.Struct):
    company: CompanyOut
    owner: UserOut


class TokenOut(msgspec.Struct):
    status: str
    access_token: str
    token_type: str
    expires_at: datetime
    user: UserOut


class DepartmentSizeOut(msgspec.Struct):
    department_id: str
    name: str
    members: int


class StatsOut(msgspec.Struct):
    company_id: str
    active_users: int
    active_users_by_role: dict[str, int]
    deactivated_users: int
    departments: list[DepartmentSizeOut]


def company_out(company: Company) -> CompanyOut:
    return CompanyOut(company.id, company.name, company.created_at, company.updated_at)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        company_id=user.company_id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def department_out(department: Department) -> DepartmentOut:
    return DepartmentOut(
        id=department.id,
        company_id=department.company_id,
        name=department.name,
        description=department.description,
        member_count=len(department.member_ids),
        created_at=department.created_at,
        updated_at=department.updated_at,
    )


def user_page(page: Page[User]) -> UserPage:
    return UserPage([user_out(u) for u in page.items], page.next_after)


def department_page(page: Page[Department]) -> DepartmentPage:
    return DepartmentPage([department_out(d) for d in page.items], page.next_after)


def token_out(outcome: Authenticated) -> TokenOut:
    return TokenOut(
        status="authenticated",
        access_token=outcome.access_token,
        token_type="Bearer",  # noqa: S106 (the scheme name, not a secret)
        expires_at=outcome.expires_at,
        user=user_out(outcome.user),
    )


def stats_out(stats: CompanyStats) -> StatsOut:
    return StatsOut(
        company_id=stats.company_id,
        active_users=stats.active_users,
        active_users_by_role={role.value: stats.active_users_by_role.get(role, 0) for role in Role},
        deactivated_users=stats.deactivated_users,
        departments=[
            DepartmentSizeOut(d.department_id, d.name, d.members) for d in stats.departments
        ],
    )
