"""Who may do what: the principal and the role-to-permission table the services enforce."""

from __future__ import annotations

import enum
from typing import NamedTuple

from novapulse_core.domain.errors import Forbidden
from novapulse_core.domain.identity import Role


class Permission(enum.StrEnum):
    READ_COMPANY = "company:read"
    UPDATE_COMPANY = "company:update"
    READ_USERS = "users:read"
    MANAGE_USERS = "users:manage"
    ASSIGN_ROLES = "roles:assign"
    READ_DEPARTMENTS = "departments:read"
    MANAGE_DEPARTMENTS = "departments:manage"
    READ_STATS = "stats:read"
    MANAGE_JOBS = "jobs:manage"
    MANAGE_WEBHOOKS = "webhooks:manage"


_EVERYONE = frozenset({Permission.READ_COMPANY, Permission.READ_USERS, Permission.READ_DEPARTMENTS})
_MANAGER = _EVERYONE | {Permission.MANAGE_DEPARTMENTS, Permission.READ_STATS}
_ADMIN = _MANAGER | {
    Permission.UPDATE_COMPANY,
    Permission.MANAGE_USERS,
    Permission.ASSIGN_ROLES,
    Permission.MANAGE_JOBS,
    Permission.MANAGE_WEBHOOKS,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ADMIN,
    Role.ADMIN: _ADMIN,
    Role.MANAGER: _MANAGER,
    Role.MEMBER: _EVERYONE,
}


class Principal(NamedTuple):
    """The authenticated caller. Its company is the only tenant it can touch.

    A named tuple, not an attrs class: every authenticated request makes one, and a frozen
    attrs instance costs twice as much to build."""

    user_id: str
    company_id: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def authorize(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise Forbidden(f"role {principal.role.value} may not {permission.value}")
