"""Domain events: the one way the core says that something happened."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

COMPANY_CREATED = "company.created"
COMPANY_UPDATED = "company.updated"
USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_ROLE_CHANGED = "user.role_changed"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an event type, not a password
DEPARTMENT_CREATED = "department.created"
DEPARTMENT_UPDATED = "department.updated"
DEPARTMENT_DELETED = "department.deleted"
DEPARTMENT_MEMBER_ADDED = "department.member_added"
DEPARTMENT_MEMBER_REMOVED = "department.member_removed"
MFA_ENABLED = "mfa.enabled"
MFA_DISABLED = "mfa.disabled"
MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated"
SESSION_REFRESH_REUSED = "session.refresh_token_reused"


@attrs.frozen
class DomainEvent:
    """A fact about one company. `data` holds only JSON-safe values and never a secret."""

    id: str
    type: str
    company_id: str
    occurred_at: datetime
    data: Mapping[str, object]
    request_id: str | None = None
