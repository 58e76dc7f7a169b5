"""Users of a company: adding, reading, listing, profile edits, roles and deactivation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import attrs

from novapulse_core.domain import events
from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.errors import Conflict, Forbidden
from novapulse_core.domain.identity import (
    Role,
    User,
    check_password_strength,
    clean_name,
    normalise_email,
)
from novapulse_core.domain.paging import Page, PageRequest, page_from
from novapulse_core.ports import Clock, CompanyStore, IdGenerator, PasswordHasher, UserStore
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.offload import off_loop

OWNER_CHANGE_CLAIM = timedelta(seconds=30)
"""How long a removal of an owner may hold its company's owner-change claim (a process that
dies holding it blocks the company's owner removals no longer than this)."""
OWNER_CHANGE_TRIES = 50
OWNER_CHANGE_PAUSE = 0.05
"""A removal waits for another one under way in the same company by trying to claim again,
this many times, this many seconds apart, before it answers `Conflict`."""


class UserService:
    def __init__(
        self,
        users: UserStore,
        companies: CompanyStore,
        hasher: PasswordHasher,
        ids: IdGenerator,
        clock: Clock,
        announcer: Announcer,
    ) -> None:
        self._users = users
        self._companies = companies
        self._hasher = hasher
        self._ids = ids
        self._clock = clock
        self._announcer = announcer

    async def add(
        self, actor: Principal, *, email: str, name: str, role: Role, password: str
    ) -> User:
        authorize(actor, Permission.MANAGE_USERS)
        if role is Role.OWNER:
            _require_owner(actor, "only an owner may add an owner")
        check_password_strength(password)
        now = self._clock.now()
        user = User(
            id=self._ids.new_id(),
            company_id=actor.company_id,
            email=normalise_email(email),
            name=clean_name(name),
            role=role,
            password_hash=await off_loop(self._hasher.hash, password),
            created_at=now,
            updated_at=now,
        )
        await self._users.add(user)
        await self._announcer.announce(
            events.USER_CREATED, user.company_id, user_id=user.id, email=user.email, role=role.value
        )
        return user

    async def get(self, actor: Principal, user_id: str) -> User:
        authorize(actor, Permission.READ_USERS)
        return await self._users.get(actor.company_id, user_id)

    async def list(
        self,
        actor: Principal,
        page: PageRequest,
        *,
        role: Role | None = None,
        active: bool | None = None,
    ) -> Page[User]:
        authorize(actor, Permission.READ_USERS)
        rows = await self._users.list(actor.company_id, page, role=role, active=active)
        return page_from(rows, page)

    async def update_profile(
        self, actor: Principal, user_id: str, *, name: str | None = None, email: str | None = None
    ) -> User:
        """A user edits its own profile; managing users edit others (an owner's: owners only)."""
        target = await self._users.get(actor.company_id, user_id)
        if target.id != actor.user_id:
            authorize(actor, Permission.MANAGE_USERS)
            if target.role is Role.OWNER:
                _require_owner(actor, "only an owner may edit an owner")
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if email is not None:
            changes["email"] = normalise_email(email)
        if not changes:
            return target
        updated = await self._save(target, **changes)
        await self._announcer.announce(
            events.USER_UPDATED, updated.company_id, user_id=updated.id, fields=sorted(changes)
        )
        return updated

    async def change_role(self, actor: Principal, user_id: str, role: Role) -> User:
        authorize(actor, Permission.ASSIGN_ROLES)
        target = await self._users.get(actor.company_id, user_id)
        if Role.OWNER in (role, target.role):
            _require_owner(actor, "only an owner may grant or take the owner role")
        if target.role == role:
            return target
        if target.role is Role.OWNER:
            updated = await self._remove_owner(target, role=role)
        else:
            updated = await self._save(target, role=role)
        await self._announcer.announce(
            events.USER_ROLE_CHANGED,
            updated.company_id,
            user_id=updated.id,
            old_role=target.role.value,
            new_role=role.value,
        )
        return updated

    async def deactivate(self, actor: Principal, user_id: str) -> User:
        authorize(actor, Permission.MANAGE_USERS)
        target = await self._users.get(actor.company_id, user_id)
        if target.id == actor.user_id:
            raise Conflict("a user cannot deactivate itself")
        if target.role is Role.OWNER:
            _require_owner(actor, "only an owner may deactivate an owner")
        if not target.active:
            return target
        void = self._clock.now()  # its tokens die with the deactivation, reactivated or not
        if target.role is Role.OWNER:
            updated = await self._remove_owner(target, active=False, tokens_valid_after=void)
        else:
            updated = await self._save(target, active=False, tokens_valid_after=void)
        await self._announcer.announce(
            events.USER_DEACTIVATED, updated.company_id, user_id=updated.id
        )
        return updated

    async def reactivate(self, actor: Principal, user_id: str) -> User:
        authorize(actor, Permission.MANAGE_USERS)
        target = await self._users.get(actor.company_id, user_id)
        if target.role is Role.OWNER:
            _require_owner(actor, "only an owner may reactivate an owner")
        if target.active:
            return target
        updated = await self._save(target, active=True)
        await self._announcer.announce(
            events.USER_REACTIVATED, updated.company_id, user_id=updated.id
        )
        return updated

    async def members(self, actor: Principal, user_ids: Sequence[str]) -> Sequence[User]:
        authorize(actor, Permission.READ_USERS)
        return await self._users.get_many(actor.company_id, user_ids)

    async def _remove_owner(self, owner: User, **changes: Any) -> User:
        """Save `changes` that take `owner` out of the company's active owners, unless it is the
        last one. The count and the save happen under the company's owner-change claim, so two
        owners removing each other at once cannot leave the company without one."""
        holder = self._ids.new_id()
        await self._claim_owner_change(owner.company_id, holder)
        try:
            counts = await self._users.count_by_role(owner.company_id, active=True)
            if owner.active and counts.get(Role.OWNER, 0) <= 1:
                raise Conflict("a company must keep at least one active owner")
            return await self._save(owner, **changes)
        finally:
            await self._companies.release_owner_change(owner.company_id, holder)

    async def _claim_owner_change(self, company_id: str, holder: str) -> None:
        for _ in range(OWNER_CHANGE_TRIES):
            now = self._clock.now()
            if await self._companies.claim_owner_change(
                company_id, holder, now=now, until=now + OWNER_CHANGE_CLAIM
            ):
                return
            await asyncio.sleep(OWNER_CHANGE_PAUSE)
        raise Conflict("another change of the company's owners is under way; try again")

    async def _save(self, user: User, **changes: Any) -> User:
        updated = attrs.evolve(
            user, **changes, updated_at=self._clock.now(), version=user.version + 1
        )
        await self._users.update(updated)
        return updated


def _require_owner(actor: Principal, reason: str) -> None:
    if actor.role is not Role.OWNER:
        raise Forbidden(reason)
