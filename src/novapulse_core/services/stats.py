"""Company statistics: active users by role and members by department."""

from __future__ import annotations

from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.stats import CompanyStats
from novapulse_core.ports import DepartmentStore, UserStore


class StatsService:
    def __init__(self, users: UserStore, departments: DepartmentStore) -> None:
        self._users = users
        self._departments = departments

    async def company_stats(self, actor: Principal) -> CompanyStats:
        authorize(actor, Permission.READ_STATS)
        return await self.compute(actor.company_id)

    async def compute(self, company_id: str) -> CompanyStats:
        """The figures themselves, with no access check: the cache fills itself from here."""
        active = await self._users.count_by_role(company_id, active=True)
        inactive = await self._users.count_by_role(company_id, active=False)
        return CompanyStats(
            company_id=company_id,
            active_users_by_role=dict(active),
            deactivated_users=sum(inactive.values()),
            departments=tuple(await self._departments.sizes(company_id)),
        )
