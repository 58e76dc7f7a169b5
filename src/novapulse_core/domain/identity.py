"""Companies, users and departments: the tenant model and its validation rules."""

from __future__ import annotations

import enum
import re
from datetime import datetime

import attrs

from novapulse_core.domain.errors import Invalid

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


class Role(enum.StrEnum):
    """A user's role inside its company, strongest first."""

    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"


@attrs.frozen
class Company:
    """A tenant. `mfa_required_roles`: users of these roles must set up MFA to get full access."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    mfa_required_roles: frozenset[Role] = frozenset()


@attrs.frozen
class User:
    """A person in one company. Holds the password hash, never the password.

    `tokens_valid_after`: the user's access and refresh tokens issued before it are void (set
    when the password changes and when the user is deactivated; None when neither happened).
    """

    id: str
    company_id: str
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    updated_at: datetime
    active: bool = True
    version: int = 1
    tokens_valid_after: datetime | None = None


@attrs.frozen
class Department:
    id: str
    company_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    member_ids: tuple[str, ...] = ()
    version: int = 1


def normalise_email(raw: str) -> str:
    """Trim and lower-case an address and check its shape; the result is the unique key."""
    email = raw.strip().lower()
    if not email or len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise Invalid("email is not a valid address", extra={"field": "email"})
    return email


def clean_name(raw: str, *, field: str = "name") -> str:
    name = " ".join(raw.split())
    if not name:
        raise Invalid(f"{field} must not be empty", extra={"field": field})
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            f"{field} must be at most {MAX_NAME_LENGTH} characters", extra={"field": field}
        )
    return name


def clean_description(raw: str) -> str:
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise Invalid(
            f"description must be at most {MAX_DESCRIPTION_LENGTH} characters",
            extra={"field": "description"},
        )
    return text


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters",
            extra={"field": "password"},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters",
            extra={"field": "password"},
        )


def issued_before(issued_at: datetime, user: User) -> bool:
    """Whether a token of `user` issued at `issued_at` is void. JWTs state their issue time in
    whole seconds, so the moment is compared to the second: a token issued within the same
    second, just before the change, still passes."""
    void = user.tokens_valid_after
    return void is not None and issued_at < void.replace(microsecond=0)
