"""The `SecretBox` contract on every adapter, then what only the AES-GCM box promises."""

from __future__ import annotations

import base64

import pytest

from novapulse_adapters.crypto import AesGcmSecretBox, derive_key
from novapulse_adapters.memory import InsecureSecretBox
from novapulse_core.domain.errors import Unavailable
from novapulse_core.ports.mfa import SecretBox

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CONTEXT = "mfa-totp:co-1:user-1"


@pytest.mark.parametrize("plaintext", [SECRET, "", "ünïcødé ✓", "x" * 1000])
def test_what_is_encrypted_decrypts_with_the_same_context(
    secret_box: SecretBox, plaintext: str
) -> None:
    sealed = secret_box.encrypt(plaintext, context=CONTEXT)

    assert sealed.isascii()
    assert sealed.isprintable()
    assert secret_box.decrypt(sealed, context=CONTEXT) == plaintext


def test_encrypting_twice_gives_two_ciphertexts(secret_box: SecretBox) -> None:
    first = secret_box.encrypt(SECRET, context=CONTEXT)
    second = secret_box.encrypt(SECRET, context=CONTEXT)

    assert first != second


def test_a_ciphertext_does_not_open_under_another_context(secret_box: SecretBox) -> None:
    sealed = secret_box.encrypt(SECRET, context=CONTEXT)

    with pytest.raises(Unavailable):
        secret_box.decrypt(sealed, context="mfa-totp:co-1:user-2")


def test_a_changed_ciphertext_does_not_open(secret_box: SecretBox) -> None:
    sealed = secret_box.encrypt(SECRET, context=CONTEXT)
    middle = len(sealed) // 2
    changed = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]

    with pytest.raises(Unavailable):
        secret_box.decrypt(changed, context=CONTEXT)
    with pytest.raises(Unavailable):
        secret_box.decrypt(sealed[:-4], context=CONTEXT)


@pytest.mark.parametrize("garbage", ["", "v1", "v1..", "not a ciphertext", "a.b.c.d.e"])
def test_garbage_does_not_open(secret_box: SecretBox, garbage: str) -> None:
    with pytest.raises(Unavailable):
        secret_box.decrypt(garbage, context=CONTEXT)


KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_aes_gcm_hides_the_plaintext() -> None:
    sealed = AesGcmSecretBox(KEY).encrypt(SECRET, context=CONTEXT)

    assert SECRET not in sealed
    assert base64.urlsafe_b64encode(SECRET.encode()).decode()[:20] not in sealed


def test_aes_gcm_does_not_open_with_another_key() -> None:
    sealed = AesGcmSecretBox(KEY).encrypt(SECRET, context=CONTEXT)

    with pytest.raises(Unavailable):
        AesGcmSecretBox(OTHER_KEY).decrypt(sealed, context=CONTEXT)


def test_aes_gcm_opens_old_ciphertexts_with_a_previous_key_and_seals_with_the_new() -> None:
    old = AesGcmSecretBox(KEY).encrypt(SECRET, context=CONTEXT)
    rotated = AesGcmSecretBox(OTHER_KEY, previous_keys=[KEY])

    fresh = rotated.encrypt(SECRET, context=CONTEXT)

    assert rotated.decrypt(old, context=CONTEXT) == SECRET
    assert AesGcmSecretBox(OTHER_KEY).decrypt(fresh, context=CONTEXT) == SECRET
    with pytest.raises(Unavailable):
        AesGcmSecretBox(KEY).decrypt(fresh, context=CONTEXT)


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_aes_gcm_wants_a_256_bit_key(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        AesGcmSecretBox(b"k" * length)


def test_derived_keys_are_stable_per_purpose_and_differ_between_purposes() -> None:
    master = b"m" * 32

    assert derive_key(master, "mfa-secret-box") == derive_key(master, "mfa-secret-box")
    assert derive_key(master, "mfa-secret-box") != derive_key(master, "mfa-recovery-codes")
    assert len(derive_key(master, "mfa-secret-box")) == 32
    with pytest.raises(ValueError, match="at least 32 bytes"):
        derive_key(b"short", "mfa-secret-box")


def test_the_insecure_box_says_what_it_is_and_hides_nothing() -> None:
    sealed = InsecureSecretBox().encrypt(SECRET, context=CONTEXT)

    assert sealed.startswith("insecure-")
    assert base64.urlsafe_b64encode(SECRET.encode()).decode() in sealed
