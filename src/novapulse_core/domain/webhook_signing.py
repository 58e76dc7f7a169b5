"""Signing webhook deliveries two ways from one secret, and verifying them on the receiving side.

Every delivery carries both schemes, computed over the exact bytes sent:

- The seed's: `X-NovaPulse-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, keyed with the
  secret string exactly as shown (`whsec_...`, UTF-8), plus `X-NovaPulse-Event` (the event
  type) and `X-NovaPulse-Webhook-Id` (the endpoint's id). It covers the body only, so a
  captured delivery can be replayed.
- Standard Webhooks (standardwebhooks.com): `webhook-id` (the envelope id, the same on every
  retry), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature:
  v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, where the key is the base64 after
  `whsec_`. Any Standard Webhooks library verifies it, de-duplicates on the id and refuses
  old timestamps: prefer it.

During a rotation's grace period the previous secret signs too: `webhook-signature` lists
both signatures (space-separated, as the standard allows) and the seed scheme adds
`X-NovaPulse-Signature-Previous: sha256=<hex>` made with the previous secret, leaving
`X-NovaPulse-Signature` in its exact seed form (made with the new secret). A receiver holding
either secret verifies: `verify_webhook` checks both headers of the seed scheme.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as random_secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32

SIGNATURE = "X-NovaPulse-Signature"
PREVIOUS_SIGNATURE = "X-NovaPulse-Signature-Previous"
EVENT = "X-NovaPulse-Event"
WEBHOOK_ID = "X-NovaPulse-Webhook-Id"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
_UNIX_SECONDS = re.compile(r"[0-9]{1,11}")  # ASCII digits only, and before the year 5138
STANDARD_SIGNATURE = "webhook-signature"

DEFAULT_TOLERANCE = timedelta(minutes=5)


class WebhookVerificationError(ValueError):
    """The delivery is not authentic, or too old or too new: do not process it."""


@attrs.frozen
class VerifiedWebhook:
    """What `verify_webhook` vouches for. `scheme` is `standard` or `novapulse`;
    `message_id` and `timestamp` come with the Standard Webhooks scheme only."""

    scheme: str
    event_type: str | None
    message_id: str | None = None
    timestamp: datetime | None = None


def new_secret() -> str:
    """A fresh endpoint secret: `whsec_` and the base64 of 32 random bytes (256 bits)."""
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode()


def standard_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks scheme: the bytes after `whsec_`, base64-decoded."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not whsec_<base64>") from None
    if not key:
        raise WebhookVerificationError("the secret is empty")
    return key


def body_signature(secret: str, body: bytes) -> str:
    """The seed's header value: `sha256=<hex>` of HMAC-SHA256 keyed by the secret string."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks signature: `v1,<base64>` over `id.timestamp.body`."""
    digest = hmac.new(standard_key(secret), _signed_content(message_id, timestamp, body), "sha256")
    return "v1," + base64.b64encode(digest.digest()).decode()


class SigningKey:
    """One endpoint secret made ready to sign: both schemes' HMAC keys are set up once, and
    each signature copies them (the key schedule is not redone per delivery). Its repr shows
    no secret."""

    __slots__ = ("_body", "_standard")

    def __init__(self, secret: str) -> None:
        self._body = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self._standard = hmac.new(standard_key(secret), digestmod=hashlib.sha256)

    def body_signature(self, body: bytes) -> str:
        mac = self._body.copy()
        mac.update(body)
        return "sha256=" + mac.hexdigest()

    def standard_signature(self, signed_prefix: bytes, body: bytes) -> str:
        """`signed_prefix` is `id.timestamp.` as bytes (see `standard_signature`)."""
        mac = self._standard.copy()
        mac.update(signed_prefix)
        mac.update(body)
        return "v1," + base64.b64encode(mac.digest()).decode()

    def __repr__(self) -> str:
        return "SigningKey(<hidden>)"


def signed_headers(
    *,
    body: bytes,
    event_type: str,
    webhook_id: str,
    message_id: str,
    timestamp: datetime,
    secrets: Sequence[str | SigningKey],
) -> dict[str, str]:
    """Every header of a delivery attempt, signing with `secrets` (current first, then the
    previous one during a grace period)."""
    if not secrets:
        raise ValueError("a delivery needs at least one secret")
    keys = [s if isinstance(s, SigningKey) else SigningKey(s) for s in secrets]
    unix = int(timestamp.timestamp())
    prefix = f"{message_id}.{unix}.".encode()
    headers = {
        "Content-Type": "application/json",
        EVENT: event_type,
        WEBHOOK_ID: webhook_id,
        SIGNATURE: keys[0].body_signature(body),
        STANDARD_ID: message_id,
        STANDARD_TIMESTAMP: str(unix),
        STANDARD_SIGNATURE: " ".join(key.standard_signature(prefix, body) for key in keys),
    }
    if len(keys) > 1:
        headers[PREVIOUS_SIGNATURE] = keys[1].body_signature(body)
    return headers


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: str | Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
    require_timestamp: bool = True,
) -> VerifiedWebhook:
    """Check a received delivery against one secret or several (during a rotation, both).

    `body` must be the raw bytes received, before any parsing. Header names are matched
    case-insensitively. The Standard Webhooks headers decide: a timestamp further than
    `tolerance` from `now` fails, so a captured delivery cannot be replayed later. A delivery
    without them is refused, since a replayer could strip them; only with
    `require_timestamp=False` (a receiver that knows its sender signs the seed's way only) is
    the seed's body-only signature accepted instead, and then a captured delivery verifies
    again whenever it is replayed. Comparisons take constant time. Raises
    `WebhookVerificationError`; returns what was verified.
    """
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("verify_webhook needs at least one secret")
    found = {name.lower(): value for name, value in headers.items()}
    event_type = found.get(EVENT.lower())
    if STANDARD_SIGNATURE in found:
        return _verify_standard(body, found, keys, tolerance, now or datetime.now(UTC), event_type)
    if require_timestamp:
        raise WebhookVerificationError("the Standard Webhooks headers are missing")
    sent = [found.get(SIGNATURE.lower()), found.get(PREVIOUS_SIGNATURE.lower())]
    candidates = [value.strip().encode() for value in sent if value]
    if not candidates:
        raise WebhookVerificationError("no signature header")
    if _any_match(candidates, [body_signature(key, body).encode() for key in keys]):
        return VerifiedWebhook(scheme="novapulse", event_type=event_type)
    raise WebhookVerificationError("no signature matches")


def _verify_standard(
    body: bytes,
    found: Mapping[str, str],
    keys: Sequence[str],
    tolerance: timedelta,
    now: datetime,
    event_type: str | None,
) -> VerifiedWebhook:
    message_id = found.get(STANDARD_ID, "")
    raw_timestamp = found.get(STANDARD_TIMESTAMP, "").strip()
    if not message_id or not _UNIX_SECONDS.fullmatch(raw_timestamp):
        raise WebhookVerificationError("webhook-id or webhook-timestamp is missing or malformed")
    sent_at = datetime.fromtimestamp(int(raw_timestamp), UTC)
    if sent_at < now - tolerance:
        raise WebhookVerificationError("the timestamp is too old")
    if sent_at > now + tolerance:
        raise WebhookVerificationError("the timestamp is too new")
    content = _signed_content(message_id, int(raw_timestamp), body)
    expected = [hmac.new(standard_key(key), content, "sha256").digest() for key in keys]
    candidates = []
    for part in found[STANDARD_SIGNATURE].split():
        version, _, encoded = part.partition(",")
        if version == "v1":
            try:
                candidates.append(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError):
                continue
    if _any_match(candidates, expected):
        return VerifiedWebhook("standard", event_type, message_id, sent_at)
    raise WebhookVerificationError("no signature matches")


def _signed_content(message_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode() + body


def _any_match(candidates: Sequence[bytes], expected: Sequence[bytes]) -> bool:
    """Compare every pair in constant time each, without stopping at the first match."""
    matched = False
    for candidate in candidates:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate, wanted)
    return matched
