"""Log lines written while a request is served carry its id; each request leaves one access
line (method, path, status, duration) at INFO."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from novapulse_entrypoints.logs import logging_config

from .conftest import sign_up


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """The `novapulse.access` lines as the structured configuration renders them."""
    spec = dict(logging_config("INFO", "json")["formatters"]["structured"])
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(spec.pop("()")(**spec))
    logger = logging.getLogger("novapulse.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_each_request_leaves_one_access_line_with_its_request_id(
    client: TestClient[Any], access_lines: io.StringIO
) -> None:
    owner = sign_up(client, "Acme")
    access_lines.seek(0)
    access_lines.truncate()
    answer = client.get("/api/v1/company/stats", headers={**owner.headers, "X-Request-ID": "req-7"})
    missing = client.get("/api/v1/no/such/route")

    lines = [json.loads(line) for line in access_lines.getvalue().splitlines() if line]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/api/v1/company/stats", 200),
        ("GET", "/api/v1/no/such/route", 404),
    ]
    assert lines[0]["request_id"] == answer.headers["x-request-id"] == "req-7"
    assert lines[1]["request_id"] == missing.headers["x-request-id"]
    assert all(line["event"] == "request" and line["duration_ms"] >= 0 for line in lines)
