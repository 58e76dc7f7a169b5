"""Query parameters shared by every paginated listing."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from novapulse_core.domain.paging import MAX_PAGE_SIZE, PageRequest

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Items per page")]
After = Annotated[
    str | None, Parameter(max_length=64, description="`next_after` of the previous page")
]
RecordId = Annotated[str, Parameter(min_length=1, max_length=64)]


def page_request(limit: int, after: str | None) -> PageRequest:
    return PageRequest(limit=limit, after=after)
