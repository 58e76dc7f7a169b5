"""Envelope encoders give the same JSON; the system resolver answers from the hosts file."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from novapulse_adapters.http import SystemHostResolver, orjson_envelope
from novapulse_core.domain.errors import Unavailable
from novapulse_core.domain.webhooks import envelope, json_bytes
from novapulse_core.ports.webhooks import EnvelopeEncoder

DATA = {
    "name": "Zoë 🚀",
    "count": 3,
    "ratio": 0.5,
    "tags": ("a", "b"),
    "nested": {"ok": True, "none": None},
    "view": MappingProxyType({"k": "v"}),
    "set": frozenset({"y", "x"}),
}
EXPECTED = {
    "id": "evt-1",
    "type": "user.updated",
    "created_at": "2026-03-01T09:30:15.123Z",
    "company_id": "co-a",
    "data": {**DATA, "tags": ["a", "b"], "view": {"k": "v"}, "set": ["x", "y"]},
}


@pytest.mark.parametrize("encode", [json_bytes, orjson_envelope], ids=["json", "orjson"])
def test_an_encoder_gives_compact_utf8_json_of_the_envelope(encode: EnvelopeEncoder) -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    body = encode(envelope("evt-1", "user.updated", at, "co-a", DATA))

    assert json.loads(body) == EXPECTED
    assert "Zoë 🚀".encode() in body
    assert b", " not in body
    assert b": " not in body


async def test_the_system_resolver_reads_numeric_hosts_and_the_hosts_file() -> None:
    resolver = SystemHostResolver()
    assert await resolver.resolve("127.0.0.1") == ["127.0.0.1"]
    assert "127.0.0.1" in await resolver.resolve("localhost")


async def test_a_name_whose_lookup_hangs_is_unavailable_after_the_timeout() -> None:
    release = threading.Event()

    def hanging(*_: object, **__: object) -> list[object]:
        release.wait(10)
        return []

    resolver = SystemHostResolver(timeout=0.05, threads=1, lookup=hanging)
    try:
        with pytest.raises(Unavailable, match="in time"):
            await resolver.resolve("slow.example")
        with pytest.raises(Unavailable, match="in time"):  # its one thread is still held
            await resolver.resolve("other.example")
    finally:
        release.set()
