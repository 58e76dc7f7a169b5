"""`current_request()`: what a handler without parameters reads its request from."""

from __future__ import annotations

import asyncio

import pytest

from novapulse_entrypoints.api.deps import ApiRequest, current_request


def a_scope(path: str) -> dict[str, object]:
    return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}


async def test_requests_handled_at_once_each_read_their_own() -> None:
    async def handle(path: str) -> str:
        ApiRequest(a_scope(path))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # the other requests are made meanwhile
        return str(current_request().scope["path"])

    paths = [f"/api/v1/users/u{n}" for n in range(20)]
    assert await asyncio.gather(*(handle(path) for path in paths)) == paths


def test_outside_a_request_it_says_what_it_is_for() -> None:
    async def outside() -> ApiRequest:
        return current_request()

    with pytest.raises(RuntimeError, match="only for API route handlers"):
        asyncio.run(outside())
