"""Departments of a company and their members."""

from __future__ import annotations

from typing import Any

import attrs

from novapulse_core.domain import events
from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.errors import NotFound
from novapulse_core.domain.identity import Department, User, clean_description, clean_name
from novapulse_core.domain.paging import Page, PageRequest, page_from
from novapulse_core.ports import Clock, DepartmentStore, IdGenerator, UserStore
from novapulse_core.services.announcer import Announcer


class DepartmentService:
    def __init__(
        self,
        departments: DepartmentStore,
        users: UserStore,
        ids: IdGenerator,
        clock: Clock,
        announcer: Announcer,
    ) -> None:
        self._departments = departments
        self._users = users
        self._ids = ids
        self._clock = clock
        self._announcer = announcer

    async def create(self, actor: Principal, *, name: str, description: str = "") -> Department:
        authorize(actor, Permission.MANAGE_DEPARTMENTS)
        now = self._clock.now()
        department = Department(
            id=self._ids.new_id(),
            company_id=actor.company_id,
            name=clean_name(name),
            description=clean_description(description),
            created_at=now,
            updated_at=now,
        )
        await self._departments.add(department)
        await self._announcer.announce(
            events.DEPARTMENT_CREATED,
            department.company_id,
            department_id=department.id,
            name=department.name,
        )
        return department

    async def get(self, actor: Principal, department_id: str) -> Department:
        authorize(actor, Permission.READ_DEPARTMENTS)
        return await self._departments.get(actor.company_id, department_id)

    async def list(self, actor: Principal, page: PageRequest) -> Page[Department]:
        authorize(actor, Permission.READ_DEPARTMENTS)
        return page_from(await self._departments.list(actor.company_id, page), page)

    async def update(
        self,
        actor: Principal,
        department_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Department:
        authorize(actor, Permission.MANAGE_DEPARTMENTS)
        current = await self._departments.get(actor.company_id, department_id)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if description is not None:
            changes["description"] = clean_description(description)
        if not changes:
            return current
        updated = await self._save(current, **changes)
        await self._announcer.announce(
            events.DEPARTMENT_UPDATED,
            updated.company_id,
            department_id=updated.id,
            fields=sorted(changes),
        )
        return updated

    async def delete(self, actor: Principal, department_id: str) -> None:
        authorize(actor, Permission.MANAGE_DEPARTMENTS)
        await self._departments.delete(actor.company_id, department_id)
        await self._announcer.announce(
            events.DEPARTMENT_DELETED, actor.company_id, department_id=department_id
        )

    async def add_member(self, actor: Principal, department_id: str, user_id: str) -> Department:
        authorize(actor, Permission.MANAGE_DEPARTMENTS)
        department = await self._departments.get(actor.company_id, department_id)
        await self._users.get(actor.company_id, user_id)
        if user_id in department.member_ids:
            return department
        updated = await self._save(department, member_ids=(*department.member_ids, user_id))
        await self._announcer.announce(
            events.DEPARTMENT_MEMBER_ADDED,
            updated.company_id,
            department_id=updated.id,
            user_id=user_id,
        )
        return updated

    async def remove_member(self, actor: Principal, department_id: str, user_id: str) -> Department:
        authorize(actor, Permission.MANAGE_DEPARTMENTS)
        department = await self._departments.get(actor.company_id, department_id)
        if user_id not in department.member_ids:
            raise NotFound("the user is not a member of this department")
        remaining = tuple(m for m in department.member_ids if m != user_id)
        updated = await self._save(department, member_ids=remaining)
        await self._announcer.announce(
            events.DEPARTMENT_MEMBER_REMOVED,
            updated.company_id,
            department_id=updated.id,
            user_id=user_id,
        )
        return updated

    async def members(self, actor: Principal, department_id: str, page: PageRequest) -> Page[User]:
        """Members ordered by user id, paged the same way as every other listing."""
        authorize(actor, Permission.READ_DEPARTMENTS)
        authorize(actor, Permission.READ_USERS)
        department = await self._departments.get(actor.company_id, department_id)
        ids = sorted(m for m in department.member_ids if page.after is None or m > page.after)
        users = await self._users.get_many(actor.company_id, ids[: page.limit + 1])
        return page_from(users, page)

    async def _save(self, department: Department, **changes: Any) -> Department:
        updated = attrs.evolve(
            department, **changes, updated_at=self._clock.now(), version=department.version + 1
        )
        await self._departments.update(updated)
        return updated
