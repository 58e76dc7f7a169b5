"""Time and identity: the two sources of non-determinism every service goes through."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime. Never goes backwards within a process."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Makes new ids: unique, URL-safe strings whose lexical order follows creation order."""

    def new_id(self) -> str: ...
