"""AES-256-GCM for short secrets at rest (cryptography), with key ids for rotation."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from novapulse_core.domain.errors import Unavailable

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"
_UNREADABLE = "a stored secret cannot be decrypted with the configured keys"


def derive_key(master: bytes, purpose: str, *, length: int = KEY_BYTES) -> bytes:
    """A key for one `purpose` from a master secret (HKDF-SHA256), so one setting feeds many."""
    if len(master) < KEY_BYTES:
        raise ValueError(f"the master key must be at least {KEY_BYTES} bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode())
    return hkdf.derive(master)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"novapulse-secret-box-key-id" + key).hexdigest()[:8]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AesGcmSecretBox:
    """`SecretBox` as AES-256-GCM: `v1.<key id>.<base64url nonce + ciphertext + tag>`.

    The context is the associated data, so a ciphertext only opens for its owner. New
    ciphertexts use `key`; `previous_keys` still open older ones, so a key can be rotated by
    moving it there (re-encryption of old ciphertexts happens as records are rewritten).
    """

    def __init__(self, key: bytes, *, previous_keys: Sequence[bytes] = ()) -> None:
        for candidate in (key, *previous_keys):
            if len(candidate) != KEY_BYTES:
                raise ValueError(f"secret box keys must be exactly {KEY_BYTES} bytes")
        self._current = _key_id(key)
        self._keys = {_key_id(k): AESGCM(k) for k in (*reversed(previous_keys), key)}

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{VERSION}.{self._current}.{_b64(nonce + sealed)}"

    def decrypt(self, ciphertext: str, *, context: str) -> str:
        version, _, rest = ciphertext.partition(".")
        key_id, _, body = rest.partition(".")
        aead = self._keys.get(key_id)
        if version != VERSION or aead is None:
            raise Unavailable(_UNREADABLE)
        try:
            data = _unb64(body)
            plain = aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], context.encode())
            return plain.decode()
        except (InvalidTag, ValueError):
            raise Unavailable(_UNREADABLE) from None
