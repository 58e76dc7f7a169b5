"""Rate-limit decisions and the attempt budgets that slow down password and code guessing."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import attrs


class RateDecision(NamedTuple):
    """The answer to one hit: may it pass, how many more fit the window, and when to retry.

    A named tuple, not an attrs class: a request makes one per budget it spends, and a frozen
    attrs instance costs three times as much to build.

    `retry_after` is whole seconds (rounded up, at least 1) when refused, 0 when allowed.
    """

    allowed: bool
    remaining: int
    retry_after: int = 0


@attrs.frozen
class AttemptLimits:
    """Failed attempts allowed within `window` before further attempts are refused."""

    password_per_account: int = 5
    """Wrong passwords per email address (known or not: unknown emails are counted alike)."""

    code_per_account: int = 5
    """Wrong TOTP or recovery codes per user."""

    per_client: int = 50
    """Failures of either kind per client address (generous: offices share addresses)."""

    window: timedelta = timedelta(minutes=15)
    """The sliding window the failures are counted in; a lock lifts as old failures leave it."""
