"""RFC 6238 on the standard library alone: the reference `Totp`, and the one for embedders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

from novapulse_core.domain.mfa import TOTP_DRIFT_STEPS, TOTP_STEP, totp_step

SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for HMAC-SHA1


def _key(secret: str) -> bytes:
    padded = secret.strip().upper() + "=" * (-len(secret.strip()) % 8)
    return base64.b32decode(padded)


def hotp(key: bytes, counter: int, digits: int) -> str:
    """RFC 4226 HOTP: dynamic truncation of HMAC-SHA1 over the 8-byte big-endian counter."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


class StdlibTotp:
    """`Totp` with hmac and hashlib. Secure (it is plain RFC 6238), merely not a library."""

    def __init__(self, *, digits: int = 6) -> None:
        if digits not in (6, 7, 8):
            raise ValueError("digits must be 6, 7 or 8")
        self._digits = digits

    def new_secret(self) -> str:
        return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")

    def provisioning_uri(self, secret: str, *, account: str, issuer: str) -> str:
        label = quote(f"{issuer}:{account}", safe=":@")
        query = {"secret": secret, "issuer": issuer, "algorithm": "SHA1"}
        query |= {"digits": str(self._digits), "period": str(int(TOTP_STEP.total_seconds()))}
        return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"

    def code_at(self, secret: str, at: datetime) -> str:
        return hotp(_key(secret), totp_step(at), self._digits)

    def match(self, secret: str, code: str, at: datetime) -> int | None:
        if len(code) != self._digits or not code.isascii() or not code.isdigit():
            return None
        key = _key(secret)
        current = totp_step(at)
        found = None
        for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
            # Every candidate is computed and compared: the time taken says nothing of a match.
            if hmac.compare_digest(hotp(key, step, self._digits), code):
                found = step
        return found
