"""Both signature schemes from one secret, checked independently, and the receiver's verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as LibraryError

from novapulse_core.domain.webhook_signing import (
    SECRET_BYTES,
    SigningKey,
    WebhookVerificationError,
    new_secret,
    signed_headers,
    standard_key,
    verify_webhook,
)

BODY = b'{"company_id":"co-a","data":{"user_id":"u-1"},"id":"evt-1","type":"user.created"}'
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
OLD, NEW = new_secret(), new_secret()
Tamper = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]


def headers_at(at: datetime, *secrets: str, body: bytes = BODY) -> dict[str, str]:
    return signed_headers(
        body=body,
        event_type="user.created",
        webhook_id="ep-1",
        message_id="evt-1",
        timestamp=at,
        secrets=list(secrets),
    )


def test_a_secret_is_whsec_and_256_random_bits() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(standard_key(secret)) == SECRET_BYTES


def test_a_prepared_signing_key_signs_exactly_as_its_secret_and_hides_it() -> None:
    prepared = signed_headers(
        body=BODY,
        event_type="user.created",
        webhook_id="ep-1",
        message_id="evt-1",
        timestamp=NOW,
        secrets=[SigningKey(NEW), SigningKey(OLD)],
    )
    assert prepared == headers_at(NOW, NEW, OLD)
    assert NEW not in repr(SigningKey(NEW))


def test_the_seed_headers_are_exactly_as_the_seed_says() -> None:
    headers = headers_at(NOW, NEW)

    expected = hmac.new(NEW.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers["X-NovaPulse-Signature"] == f"sha256={expected}"
    assert headers["X-NovaPulse-Event"] == "user.created"
    assert headers["X-NovaPulse-Webhook-Id"] == "ep-1"
    assert headers["Content-Type"] == "application/json"
    assert "X-NovaPulse-Signature-Previous" not in headers


def test_the_standard_webhooks_signature_is_recomputed_independently() -> None:
    headers = headers_at(NOW, NEW)

    key = base64.b64decode(NEW.removeprefix("whsec_"))
    timestamp = str(int(NOW.timestamp()))
    digest = hmac.new(key, b"evt-1." + timestamp.encode() + b"." + BODY, hashlib.sha256).digest()
    assert headers["webhook-id"] == "evt-1"
    assert headers["webhook-timestamp"] == timestamp
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_the_standardwebhooks_package_verifies_a_delivery() -> None:
    headers = headers_at(datetime.now(UTC), NEW)

    assert Webhook(NEW).verify(BODY, headers) == {
        "company_id": "co-a",
        "data": {"user_id": "u-1"},
        "id": "evt-1",
        "type": "user.created",
    }
    with pytest.raises(LibraryError):
        Webhook(OLD).verify(BODY, headers)


@pytest.mark.parametrize("holder", [OLD, NEW], ids=["old-secret", "new-secret"])
def test_during_rotation_grace_a_receiver_with_either_secret_verifies(holder: str) -> None:
    headers = headers_at(datetime.now(UTC), NEW, OLD)

    Webhook(holder).verify(BODY, headers)  # the standard scheme, by the package
    assert verify_webhook(BODY, headers, holder).scheme == "standard"
    seed_only = {k: v for k, v in headers.items() if not k.startswith("webhook-")}
    assert verify_webhook(BODY, seed_only, holder, require_timestamp=False).scheme == "novapulse"


def test_during_grace_the_seed_header_keeps_its_form_and_the_old_secret_signs_beside_it() -> None:
    headers = headers_at(NOW, NEW, OLD)

    old = hmac.new(OLD.encode(), BODY, hashlib.sha256).hexdigest()
    new = hmac.new(NEW.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers["X-NovaPulse-Signature"] == f"sha256={new}"
    assert headers["X-NovaPulse-Signature-Previous"] == f"sha256={old}"
    assert len(headers["webhook-signature"].split(" ")) == 2


def test_after_grace_the_old_secret_no_longer_verifies() -> None:
    headers = headers_at(NOW, NEW)

    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, headers, OLD, now=NOW)
    seed_only = {k: v for k, v in headers.items() if not k.startswith("webhook-")}
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(BODY, seed_only, OLD, require_timestamp=False)


def test_a_receiver_holding_both_secrets_verifies_before_and_after_the_switch() -> None:
    for secrets in ([OLD], [NEW, OLD], [NEW]):
        verify_webhook(BODY, headers_at(NOW, *secrets), [NEW, OLD], now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, h: (body + b" ", h),
        lambda body, h: (body.replace(b"u-1", b"u-2"), h),
        lambda body, h: (body, {**h, "webhook-id": "evt-2"}),
        lambda body, h: (body, {**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}),
        lambda body, h: (body, {**h, "webhook-signature": "v1,AAAA"}),
        lambda body, h: (body, {**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}),
        lambda body, h: (body, {**h, "webhook-signature": "v1,not base64!"}),
    ],
    ids=["body-grown", "body-changed", "id", "timestamp", "signature", "version", "garbage"],
)
def test_a_tampered_delivery_fails(tamper: Tamper) -> None:
    body, headers = tamper(BODY, headers_at(NOW, NEW))
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, NEW, now=NOW)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-NovaPulse-Signature": "sha256=" + "0" * 64},
        {"X-NovaPulse-Signature": "sha256=é"},
        {"X-NovaPulse-Signature": ""},
        {},
    ],
    ids=["wrong", "non-ascii", "empty", "none"],
)
def test_a_bad_seed_signature_fails(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, headers, NEW, require_timestamp=False)


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_outside_the_tolerance_fails(offset: timedelta) -> None:
    headers = headers_at(NOW + offset, NEW)
    with pytest.raises(WebhookVerificationError, match="too"):
        verify_webhook(BODY, headers, NEW, now=NOW)
    verify_webhook(BODY, headers, NEW, now=NOW, tolerance=timedelta(minutes=7))


def test_when_the_standard_headers_are_there_they_decide() -> None:
    headers = headers_at(NOW - timedelta(hours=1), NEW)  # a replay: the body signature holds
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(BODY, headers, NEW, now=NOW)


def test_a_body_only_signature_is_refused_unless_the_receiver_opts_out_of_replay_protection() -> (
    None
):
    seed_only = {k: v for k, v in headers_at(NOW, NEW).items() if not k.startswith("webhook-")}
    with pytest.raises(WebhookVerificationError, match="Standard Webhooks"):
        verify_webhook(BODY, seed_only, NEW)
    assert verify_webhook(BODY, seed_only, NEW, require_timestamp=False).scheme == "novapulse"


def test_header_names_match_whatever_their_case() -> None:
    headers = {k.upper(): v for k, v in headers_at(NOW, NEW).items()}
    verified = verify_webhook(BODY, headers, NEW, now=NOW)
    assert verified.message_id == "evt-1"
    assert verified.event_type == "user.created"
    assert verified.timestamp == NOW


@pytest.mark.parametrize(
    "timestamp", ["99999999999999999", "\u00b2", "\uff11\uff12\uff13", "-5", "1e9", ""]
)
def test_a_malformed_timestamp_is_a_verification_error_not_a_crash(timestamp: str) -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": "v1,x"}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(b"{}", headers, "whsec_" + "A" * 44)
