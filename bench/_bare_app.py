"""The reference of bench/api.py: a bare Litestar handler answering a small JSON object."""

from __future__ import annotations

from litestar import Litestar, get


@get("/bare", sync_to_thread=False)
def bare() -> dict[str, object]:
    return {"company_id": "0" * 32, "active_users": 2, "departments": []}


app = Litestar(route_handlers=[bare], logging_config=None)
