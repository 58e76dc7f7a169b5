"""Cryptographic adapters: Argon2id passwords, JWT access tokens, TOTP and the secret box."""

from novapulse_adapters.crypto.jwt_tokens import JwtTokenIssuer
from novapulse_adapters.crypto.passwords import Argon2PasswordHasher
from novapulse_adapters.crypto.secret_box import AesGcmSecretBox, derive_key
from novapulse_adapters.crypto.totp import PyOtpTotp

__all__ = ["AesGcmSecretBox", "Argon2PasswordHasher", "JwtTokenIssuer", "PyOtpTotp", "derive_key"]
