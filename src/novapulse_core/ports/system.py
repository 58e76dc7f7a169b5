"""Time and identity: the two sources of non-determinism every service goes through."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime. Never goes backwards within a process.

    The production clock tells whole milliseconds: MongoDB keeps no finer time, so a record
    reads back from every store as it was written and as the API answered when it made it.
    """

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Makes new ids: unique, URL-safe strings whose lexical order follows creation order."""

    def new_id(self) -> str: ...
