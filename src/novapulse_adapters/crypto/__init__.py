"""Cryptographic adapters: Argon2id password hashing and JWT access tokens."""

from novapulse_adapters.crypto.jwt_tokens import JwtTokenIssuer
from novapulse_adapters.crypto.passwords import Argon2PasswordHasher

__all__ = ["Argon2PasswordHasher", "JwtTokenIssuer"]
