"""Request and response bodies of the API, and the mapping from core entities to them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from novapulse_core.domain.identity import (
    MAX_DESCRIPTION_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Company,
    Department,
    Role,
    User,
)
from novapulse_core.domain.paging import Page
from novapulse_core.domain.stats import CompanyStats

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema


def _documented(**rules: object) -> dict[str, Any]:
    """Domain rules shown in the OpenAPI document only: the core checks them (422, not 400)."""
    return {"extra": rules}


# Python's whitespace (str.isspace), spelled out: JSON Schema's `\s` is ECMAScript's, which differs.
_SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_NOT_BLANK = f"[^{_SPACE}]"
_EMAIL_SHAPE = f"^[{_SPACE}]*[^@{_SPACE}]+@[^@{_SPACE}.]+(\\.[^@{_SPACE}.]+)+[{_SPACE}]*$"

Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=MAX_NAME_LENGTH, extra_json_schema=_documented(pattern=_NOT_BLANK)
    ),
]
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=MAX_EMAIL_LENGTH,
        extra_json_schema=_documented(pattern=_EMAIL_SHAPE),
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        extra_json_schema=_documented(min_length=MIN_PASSWORD_LENGTH),
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION_LENGTH)]


class ClosedStructSchemaPlugin(OpenAPISchemaPlugin):
    """Document bodies that refuse unknown fields as `additionalProperties: false`."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return (
            not field_definition.is_union
            and field_definition.is_subclass_of(msgspec.Struct)
            and field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        fallback = next(
            plugin
            for plugin in schema_creator.plugins
            if plugin is not self
            and isinstance(plugin, OpenAPISchemaPlugin)
            and plugin.is_plugin_supported_field(field_definition)
        )
        schema = fallback.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


class Signup(msgspec.Struct, forbid_unknown_fields=True):
    company_name: Name
    owner_email: Email
    owner_name: Name
    owner_password: NewPassword


class Login(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class CompanyPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    name: Name
    password: NewPassword
    role: Role = Role.MEMBER


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    email: Email | None = None


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class NewDepartment(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    description: Description = ""


class DepartmentPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    description: Description | None = None


class CompanyOut(msgspec.Struct):
    id: str
    name: str
    mfa_required_roles: list[Role]
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
    return CompanyOut(
        id=company.id,
        name=company.name,
        mfa_required_roles=sorted(company.mfa_required_roles),
        created_at=company.created_at,
        updated_at=company.updated_at,
    )


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


STATS_VIEWS = 1024
"""Companies whose last stats answer is kept, see `stats_out`."""

_stats_views: dict[str, tuple[CompanyStats, StatsOut]] = {}


def stats_out(stats: CompanyStats) -> StatsOut:
    """The answer of `GET /company/stats`. A cache hit hands out the very same `CompanyStats`
    while its entry is unchanged, so the answer made for that object is given again."""
    known = _stats_views.get(stats.company_id)
    if known is not None and known[0] is stats:
        return known[1]
    view = _stats_view(stats)
    if stats.company_id not in _stats_views and len(_stats_views) >= STATS_VIEWS:
        del _stats_views[next(iter(_stats_views))]
    _stats_views[stats.company_id] = (stats, view)
    return view


def _stats_view(stats: CompanyStats) -> StatsOut:
    return StatsOut(
        company_id=stats.company_id,
        active_users=stats.active_users,
        active_users_by_role={role.value: stats.active_users_by_role.get(role, 0) for role in Role},
        deactivated_users=stats.deactivated_users,
        departments=[
            DepartmentSizeOut(d.department_id, d.name, d.members) for d in stats.departments
        ],
    )
