"""Log lines written while a request is served carry its id; each request leaves one access
line (method, path, status, duration) at INFO, rendered directly in the JSON format and
written in batches, to the same bytes the structured formatter would write."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import select
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from novapulse_core import context
from novapulse_entrypoints.api.app import create_app
from novapulse_entrypoints.logs import FLUSH_SECONDS, access_lines, logging_config
from novapulse_entrypoints.settings import Settings

from .conftest import sign_up


class Writes(io.StringIO):
    """A stream that remembers each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def info() -> Iterator[None]:
    logger = logging.getLogger("novapulse.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)


@pytest.fixture
def stream(info: None) -> Iterator[Writes]:
    """Where the access lines go, as `configure_logging` in the JSON format directs them."""
    stream = Writes()
    access_lines.direct(stream)
    try:
        yield stream
    finally:
        access_lines.direct(None)


@pytest.fixture
def formatted(info: None) -> Iterator[io.StringIO]:
    """The `novapulse.access` lines as the structured configuration's formatter renders them."""
    spec = dict(logging_config("INFO", "json")["formatters"]["structured"])
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(spec.pop("()")(**spec))
    logger = logging.getLogger("novapulse.access")
    logger.addHandler(handler)
    try:
        yield handler.stream
    finally:
        logger.removeHandler(handler)


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def test_each_request_leaves_one_access_line_with_its_request_id(
    client: TestClient[Any], stream: Writes
) -> None:
    owner = sign_up(client, "Acme")
    access_lines.flush()
    stream.seek(0)
    stream.truncate()
    answer = client.get("/api/v1/company/stats", headers={**owner.headers, "X-Request-ID": "req-7"})
    missing = client.get("/api/v1/no/such/route")
    access_lines.flush()

    lines = _lines(stream.getvalue())
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/api/v1/company/stats", 200),
        ("GET", "/api/v1/no/such/route", 404),
    ]
    assert lines[0]["request_id"] == answer.headers["x-request-id"] == "req-7"
    assert lines[1]["request_id"] == missing.headers["x-request-id"]
    assert all(line["event"] == "request" and line["duration_ms"] >= 0 for line in lines)
    assert all(line["level"] == "info" and line["logger"] == "novapulse.access" for line in lines)


def test_an_access_line_is_what_the_structured_formatter_writes_but_for_the_time(
    stream: Writes, formatted: io.StringIO
) -> None:
    token = context.request_id.set("req-8")
    try:
        access_lines.write("GET", '/odd "path"\\é\n', 404, 0.0123456)
        access_lines.flush()
        access_lines.direct(None)
        access_lines.write("GET", '/odd "path"\\é\n', 404, 0.0123456)
    finally:
        context.request_id.reset(token)

    stamp = re.compile(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"')
    direct, through_logging = stream.getvalue(), formatted.getvalue()
    assert stamp.search(direct)
    assert stamp.search(through_logging)
    assert stamp.sub("", direct) == stamp.sub("", through_logging)
    assert list(_lines(direct)[0]) == [
        "event",
        "request_id",
        "level",
        "logger",
        "method",
        "path",
        "status",
        "duration_ms",
        "timestamp",
    ]


def test_access_lines_wait_in_a_buffer_until_the_event_loop_writes_them(stream: Writes) -> None:
    async def serve_one() -> tuple[str, str]:
        access_lines.write("GET", "/a", 200, 0.001)
        before = stream.getvalue()
        await asyncio.sleep(FLUSH_SECONDS * 2)
        return before, stream.getvalue()

    before, after = asyncio.run(serve_one())

    assert before == ""
    assert [line["path"] for line in _lines(after)] == ["/a"]


def test_a_batch_of_access_lines_is_written_in_whole_lines_that_a_pipe_keeps_whole(
    stream: Writes,
) -> None:
    async def serve_many() -> None:
        for number in range(100):
            access_lines.write("GET", f"/items/{number}", 200, 0.001)
        access_lines.flush()

    asyncio.run(serve_many())

    assert len(stream.writes) > 1
    assert all(len(text) <= select.PIPE_BUF and text.endswith("\n") for text in stream.writes)
    assert [line["path"] for line in _lines(stream.getvalue())] == [
        f"/items/{number}" for number in range(100)
    ]


def test_the_apps_shutdown_writes_the_access_lines_still_buffered(
    settings: Settings, stream: Writes
) -> None:
    with TestClient(create_app(settings)) as client:
        client.get("/api/v1/health/live")

    assert [line["path"] for line in _lines(stream.getvalue())] == ["/api/v1/health/live"]
