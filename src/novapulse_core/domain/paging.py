"""Keyset pagination: pages are ordered by id, which the id generator makes time-ordered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import attrs

from novapulse_core.domain.errors import Invalid

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@attrs.frozen
class PageRequest:
    """`after` is the last id of the previous page (None for the first page)."""

    limit: int = DEFAULT_PAGE_SIZE
    after: str | None = None

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise Invalid(f"limit must be between 1 and {MAX_PAGE_SIZE}", extra={"field": "limit"})


@attrs.frozen
class Page(Generic[T]):
    items: Sequence[T]
    next_after: str | None


def page_from(rows: Sequence[T], request: PageRequest, key: str = "id") -> Page[T]:
    """Build a page from up to `limit + 1` rows fetched by a store (the extra row means more)."""
    items = rows[: request.limit]
    more = len(rows) > request.limit
    return Page(items=items, next_after=str(getattr(items[-1], key)) if more else None)
