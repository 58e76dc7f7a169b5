"""A `SecretBox` that does NOT encrypt: for tests and core-only embedders, never for real data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from novapulse_core.domain.errors import Unavailable

PREFIX = "insecure-v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


class InsecureSecretBox:
    """Reversible encoding with an integrity check, honest about hiding nothing.

    The ciphertext is `insecure-v1.<nonce>.<base64 plaintext>.<check>`: anyone who reads it
    reads the secret. It keeps the rest of the `SecretBox` contract (context binding, tamper
    detection, a new ciphertext per call) so services behave as on the real box. The check is
    an unkeyed hash: it catches mistakes, not attackers. Use `AesGcmSecretBox` (crypto extra).
    """

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = secrets.token_hex(8)
        body = _b64(plaintext.encode())
        return f"{PREFIX}.{nonce}.{body}.{self._check(nonce, body, context)}"

    def decrypt(self, ciphertext: str, *, context: str) -> str:
        parts = ciphertext.split(".")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise Unavailable("a stored secret cannot be read by this secret box")
        _, nonce, body, check = parts
        if not hmac.compare_digest(check, self._check(nonce, body, context)):
            raise Unavailable("a stored secret cannot be read by this secret box")
        return base64.urlsafe_b64decode(body).decode()

    @staticmethod
    def _check(nonce: str, body: str, context: str) -> str:
        return hashlib.sha256(f"{nonce}|{body}|{context}".encode()).hexdigest()[:32]
