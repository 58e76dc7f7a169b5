"""The `Totp` contract, run against every adapter, RFC 6238's own test vectors first."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from novapulse_core.ports.mfa import Totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
"""The SHA-1 seed of RFC 6238 appendix B, as the base32 an authenticator would be given."""

RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
NOW = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
STEP = timedelta(seconds=30)

TotpFactory = Callable[..., Totp]


@pytest.fixture
def totp(totp_factory: TotpFactory) -> Totp:
    return totp_factory()


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_rfc_6238_sha1_vectors(totp_factory: TotpFactory, unix_time: int, expected: str) -> None:
    totp = totp_factory(digits=8)
    at = datetime.fromtimestamp(unix_time, UTC)

    assert totp.code_at(RFC_SECRET, at) == expected
    assert totp.match(RFC_SECRET, expected, at) == unix_time // 30


def test_codes_have_six_digits_by_default_zeros_included(totp: Totp) -> None:
    secret = totp.new_secret()
    codes = [totp.code_at(secret, NOW + STEP * n) for n in range(200)]

    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert any(code.startswith("0") for code in codes)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_matches_in_its_step_and_one_step_either_side(totp: Totp, offset: int) -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW + STEP * offset)

    step = totp.match(secret, code, NOW)

    assert step == int(NOW.timestamp()) // 30 + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_does_not_match(totp: Totp, offset: int) -> None:
    secret = totp.new_secret()

    assert totp.match(secret, totp.code_at(secret, NOW + STEP * offset), NOW) is None


def test_a_code_of_another_secret_does_not_match(totp: Totp) -> None:
    mine, theirs = totp.new_secret(), totp.new_secret()

    assert totp.match(mine, totp.code_at(theirs, NOW), NOW) is None


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "abcdef", "12 456", "١٢٣٤٥٦", "-12345", "+12345"]
)
def test_a_malformed_code_matches_nothing_and_raises_nothing(totp: Totp, code: str) -> None:
    assert totp.match(totp.new_secret(), code, NOW) is None


def test_new_secrets_are_base32_of_at_least_160_bits_and_never_repeat(totp: Totp) -> None:
    secrets = {totp.new_secret() for _ in range(100)}

    assert len(secrets) == 100
    for secret in secrets:
        assert secret == secret.upper()
        assert "=" not in secret
        assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) * 8 >= 160


@pytest.mark.parametrize("issuer", ["NovaPulse", "Nova Pulse & Co"])
def test_the_provisioning_uri_names_issuer_account_and_secret(totp: Totp, issuer: str) -> None:
    secret = totp.new_secret()

    uri = totp.provisioning_uri(secret, account="alice+mfa@example.com", issuer=issuer)

    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == f"/{issuer}:alice+mfa@example.com"
    assert query["secret"] == [secret]
    assert query["issuer"] == [issuer]
