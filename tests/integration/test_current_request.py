"""`current_request()` over the wired app: the request it hands a handler is gone once the app
has answered, even for a client that runs the app in its own task."""

from __future__ import annotations

import httpx
import pytest

from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.api.deps import current_request

from .conftest import make_settings


async def test_an_answered_request_is_not_left_to_the_task_that_ran_the_app() -> None:
    transport = httpx.ASGITransport(app=create_app(make_settings()))  # runs it in this task
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200

    with pytest.raises(RuntimeError, match="only for API route handlers"):
        current_request()
