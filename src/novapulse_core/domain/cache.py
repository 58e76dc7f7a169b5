"""The seed's cache entries as data: their keys, their lifetimes and their byte encodings.

Values are JSON bytes carrying a format version `v`: an entry this code cannot read (another
release's, or damaged) decodes with `ValueError`, which the cache treats as a miss. A user's
cached profile never holds the password hash: it is a read model, never a source for login.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import attrs

from novapulse_core.domain.identity import Role, User
from novapulse_core.domain.stats import CompanyStats, DepartmentSize

T = TypeVar("T")

STATS_TTL = timedelta(seconds=60)
PROFILE_TTL = timedelta(minutes=5)
MEMBERS_TTL = timedelta(minutes=5)
FORMAT = 1
REDACTED = ""
"""The `password_hash` of a `User` read from the cache: no hash is ever cached."""


@attrs.frozen
class CacheKeys:
    """The seed's keys, `cache:company:{id}:stats` and friends, under a configurable prefix."""

    prefix: str = "cache"

    def company_stats(self, company_id: str) -> str:
        return f"{self.prefix}:company:{company_id}:stats"

    def user_profile(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}:profile"

    def department_members(self, department_id: str) -> str:
        return f"{self.prefix}:department:{department_id}:members"


@attrs.frozen
class Codec(Generic[T]):
    """Turns a value into cache bytes and back; `decode` raises `ValueError` on bytes it
    cannot read."""

    dump: Callable[[T], Any]
    load: Callable[[Any], T]

    def encode(self, value: T) -> bytes:
        return json.dumps({"v": FORMAT, "d": self.dump(value)}, separators=(",", ":")).encode()

    def decode(self, raw: bytes) -> T:
        try:
            body = json.loads(raw)
            if body["v"] != FORMAT:
                raise ValueError(f"cache entry format {body['v']!r}, expected {FORMAT}")
            return self.load(body["d"])
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
            raise ValueError("unreadable cache entry") from error


@attrs.frozen
class MemberList:
    """A department's members, ordered by user id, as `cache:department:{id}:members` holds."""

    company_id: str
    department_id: str
    members: tuple[User, ...]


def _dump_stats(stats: CompanyStats) -> Any:
    return {
        "company_id": stats.company_id,
        "active": {role.value: n for role, n in stats.active_users_by_role.items()},
        "deactivated": stats.deactivated_users,
        "departments": [[d.department_id, d.name, d.members] for d in stats.departments],
    }


def _load_stats(data: Mapping[str, Any]) -> CompanyStats:
    return CompanyStats(
        company_id=str(data["company_id"]),
        active_users_by_role={Role(role): int(n) for role, n in data["active"].items()},
        deactivated_users=int(data["deactivated"]),
        departments=tuple(
            DepartmentSize(department_id=str(i), name=str(name), members=int(n))
            for i, name, n in data["departments"]
        ),
    )


def _dump_user(user: User) -> Any:
    return {
        "id": user.id,
        "company_id": user.company_id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "active": user.active,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
        "version": user.version,
    }


def _load_user(data: Mapping[str, Any]) -> User:
    return User(
        id=str(data["id"]),
        company_id=str(data["company_id"]),
        email=str(data["email"]),
        name=str(data["name"]),
        role=Role(data["role"]),
        password_hash=REDACTED,
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        active=bool(data["active"]),
        version=int(data["version"]),
    )


def _dump_members(members: MemberList) -> Any:
    return {
        "company_id": members.company_id,
        "department_id": members.department_id,
        "members": [_dump_user(user) for user in members.members],
    }


def _load_members(data: Mapping[str, Any]) -> MemberList:
    users: Sequence[Mapping[str, Any]] = data["members"]
    return MemberList(
        company_id=str(data["company_id"]),
        department_id=str(data["department_id"]),
        members=tuple(_load_user(user) for user in users),
    )


STATS = Codec[CompanyStats](_dump_stats, _load_stats)
PROFILE = Codec[User](_dump_user, _load_user)
MEMBERS = Codec[MemberList](_dump_members, _load_members)
