"""Company statistics, as the seed's `cache:company:{id}:stats` entry holds them."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from novapulse_core.domain.identity import Role


@attrs.frozen
class DepartmentSize:
    department_id: str
    name: str
    members: int


@attrs.frozen
class CompanyStats:
    company_id: str
    active_users_by_role: Mapping[Role, int]
    deactivated_users: int
    departments: tuple[DepartmentSize, ...]

    @property
    def active_users(self) -> int:
        return sum(self.active_users_by_role.values())
