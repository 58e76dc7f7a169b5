"""RFC 6238 one-time passwords with PyOTP."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from novapulse_core.domain.mfa import TOTP_DRIFT_STEPS, TOTP_STEP, totp_step

SECRET_LENGTH = 32  # base32 characters: 160 bits


class PyOtpTotp:
    """`Totp` on `pyotp.TOTP`, SHA-1 and 30-second steps as authenticator apps expect.

    Codes are generated per step from our own step arithmetic (not pyotp's `verify`, which
    reads the wall clock) and compared with `hmac.compare_digest`.
    """

    def __init__(self, *, digits: int = 6) -> None:
        if digits not in (6, 7, 8):
            raise ValueError("digits must be 6, 7 or 8")
        self._digits = digits
        self._interval = int(TOTP_STEP.total_seconds())

    def new_secret(self) -> str:
        return pyotp.random_base32(SECRET_LENGTH)

    def provisioning_uri(self, secret: str, *, account: str, issuer: str) -> str:
        return self._totp(secret).provisioning_uri(name=account, issuer_name=issuer)

    def code_at(self, secret: str, at: datetime) -> str:
        return self._totp(secret).generate_otp(totp_step(at))

    def match(self, secret: str, code: str, at: datetime) -> int | None:
        if len(code) != self._digits or not code.isascii() or not code.isdigit():
            return None
        totp = self._totp(secret)
        current = totp_step(at)
        found = None
        for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
            # Every candidate is computed and compared: the time taken says nothing of a match.
            if hmac.compare_digest(totp.generate_otp(step), code):
                found = step
        return found

    def _totp(self, secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(secret, digits=self._digits, interval=self._interval)
