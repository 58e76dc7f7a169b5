"""Job messages are JSON written and read by orjson, interchangeable with Dramatiq's own."""

from __future__ import annotations

import math

import dramatiq
import pytest
from dramatiq.encoder import JSONEncoder
from dramatiq.errors import DecodeError

from novapulse_adapters.dramatiq.broker import build_broker
from novapulse_adapters.dramatiq.encoding import OrjsonEncoder

MESSAGE = {
    "queue_name": "nova.webhook",
    "actor_name": "novapulse.job",
    "args": [
        "job-1",
        "webhook.deliver",
        {"company_id": "c-1", "note": "é ✓ \u0000", "n": 2**63 - 1},
    ],
    "kwargs": {},
    "options": {"retries": 2, "traceparent": "00-ab-cd-01", "eta": 1_790_000_000_000},
    "message_id": "0f6b1c3e-4f8a-4d2b-9a51-3e1f0c2d7b6a",
    "message_timestamp": 1_790_000_000_000,
}


def test_a_message_reads_back_the_same_through_either_encoder() -> None:
    ours, dramatiqs = OrjsonEncoder(), JSONEncoder()

    assert ours.decode(ours.encode(MESSAGE)) == MESSAGE
    assert dramatiqs.decode(ours.encode(MESSAGE)) == MESSAGE
    assert ours.decode(dramatiqs.encode(MESSAGE)) == MESSAGE


def test_a_message_dramatiqs_encoder_wrote_with_nan_is_still_read() -> None:
    written = JSONEncoder().encode({**MESSAGE, "options": {"ratio": float("nan")}})

    assert math.isnan(OrjsonEncoder().decode(written)["options"]["ratio"])  # type: ignore[index]


def test_what_orjson_cannot_write_goes_through_dramatiqs_encoder() -> None:
    odd = {**MESSAGE, "options": {"big": 2**70}}

    assert OrjsonEncoder().encode(odd) == JSONEncoder().encode(odd)


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), -float("inf")])
def test_a_number_json_has_no_form_for_is_kept_not_written_as_null(odd: float) -> None:
    """A job recorded before payloads were checked may carry one; requeued, it must run as it
    was (orjson would write `null`)."""
    message = {**MESSAGE, "args": ["job-1", "report.build", {"threshold": odd, "note": None}]}

    decoded = OrjsonEncoder().decode(OrjsonEncoder().encode(message))

    threshold = decoded["args"][2]["threshold"]  # type: ignore[index]
    assert threshold == odd or (math.isnan(threshold) and math.isnan(odd))


def test_bytes_that_are_not_json_are_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        OrjsonEncoder().decode(b"\x00not json")


def test_building_the_broker_installs_the_encoder() -> None:
    before = dramatiq.get_encoder()
    try:
        build_broker(None)
        assert isinstance(dramatiq.get_encoder(), OrjsonEncoder)
    finally:
        dramatiq.set_encoder(before)
