"""Domain errors: the only exceptions services raise; entry points map them by `code`."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error the core raises on purpose.

    `code` is stable and machine-readable (the API turns it into a problem type); `detail` is a
    sentence safe to show a client: it never carries a secret or a stack trace.
    """

    code = "error"

    def __init__(self, detail: str, *, extra: Mapping[str, object] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: Mapping[str, object] = dict(extra or {})


class NotFound(DomainError):
    """The record does not exist, or exists in another tenant (the two are indistinguishable)."""

    code = "not-found"


class Conflict(DomainError):
    """The request clashes with the current state: a duplicate, a stale version, a last owner."""

    code = "conflict"


class Invalid(DomainError):
    """The input breaks a domain rule (format, length, allowed values)."""

    code = "invalid"


class Unauthenticated(DomainError):
    """Credentials or token missing, wrong, expired or revoked. Says nothing about which."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The principal is known but its role does not allow the action."""

    code = "forbidden"


class RateLimited(DomainError):
    """Too many attempts; `retry_after` seconds until the next one may succeed."""

    code = "rate-limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A backend the action needs cannot be reached; nothing was changed."""

    code = "unavailable"


class TemporaryFailure(Unavailable):
    """A job's work failed for now and may succeed later; `retry_after` is the soonest, in
    seconds, that the other side said a retry may help (None: it did not say). The job runner
    waits at least that long (up to its policy's longest backoff) before the next attempt."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        extra = {} if retry_after is None else {"retry_after": retry_after}
        super().__init__(detail, extra=extra)
        self.retry_after = retry_after
