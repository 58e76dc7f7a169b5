"""One typed, frozen settings object, read from `NOVAPULSE_*` environment variables."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

PREFIX = "NOVAPULSE_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and what it expects."""


@attrs.frozen
class Settings:
    mongo_url: str | None = None
    """MongoDB connection URL. Unset: companies, users and departments live in process memory."""

    mongo_database: str = "novapulse"
    """Database name used on the MongoDB server."""

    mongo_timeout_ms: int = 2000
    """How long a MongoDB operation waits for a reachable server before failing `unavailable`."""

    jwt_secret: str = attrs.field(default="", repr=False)
    """HMAC key of access tokens (at least 32 bytes). Required once MongoDB is configured, so every
    API node verifies every other node's tokens; on the embedded default a random key is made."""

    jwt_secret_generated: bool = False
    """True when `jwt_secret` was generated at start-up (tokens die with the process)."""

    jwt_algorithm: str = "HS256"
    """HS256, HS384 or HS512. Tokens signed with any other algorithm are refused."""

    jwt_issuer: str = "novapulse"
    """The `iss` claim written into and required of access tokens."""

    jwt_audience: str = "novapulse-api"
    """The `aud` claim written into and required of access tokens."""

    access_token_ttl_seconds: int = 900
    """Lifetime of an access token."""

    argon2_time_cost: int = 3
    """Argon2id iterations. Raising it re-hashes each password at its owner's next login."""

    argon2_memory_kib: int = 65536
    """Argon2id memory per hash, in KiB."""

    argon2_parallelism: int = 4
    """Argon2id lanes."""

    signup_enabled: bool = True
    """Whether `POST /api/v1/companies` lets anyone create a company with its first owner."""

    max_body_bytes: int = 1_048_576
    """Largest request body accepted; larger ones get 413."""

    log_level: str = "INFO"
    """Python logging level name."""

    log_format: str = "json"
    """`json` (one object per line) or `console` (human-readable)."""

    @property
    def embedded(self) -> bool:
        """True when nothing is persisted: every store is in process memory."""
        return self.mongo_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raise SettingsError on a bad value."""
        read = _Reader(environ)
        mongo_url = read("MONGO_URL", str, None)
        secret = read("JWT_SECRET", str, None)
        if secret is None and mongo_url is not None:
            raise SettingsError(
                f"{PREFIX}JWT_SECRET is required when {PREFIX}MONGO_URL is set "
                "(every API node must share it); generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if secret is not None and len(secret.encode()) < 32:
            raise SettingsError(f"{PREFIX}JWT_SECRET must be at least 32 bytes long")
        log_format = read("LOG_FORMAT", str, "json")
        if log_format not in ("json", "console"):
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be json or console, not {log_format!r}")
        algorithm = read("JWT_ALGORITHM", str, "HS256")
        if algorithm not in ("HS256", "HS384", "HS512"):
            raise SettingsError(f"{PREFIX}JWT_ALGORITHM must be HS256, HS384 or HS512")
        return cls(
            mongo_url=mongo_url,
            mongo_database=read("MONGO_DATABASE", str, "novapulse"),
            mongo_timeout_ms=read("MONGO_TIMEOUT_MS", _positive_int, 2000),
            jwt_secret=secret or secrets.token_urlsafe(48),
            jwt_secret_generated=secret is None,
            jwt_algorithm=algorithm,
            jwt_issuer=read("JWT_ISSUER", str, "novapulse"),
            jwt_audience=read("JWT_AUDIENCE", str, "novapulse-api"),
            access_token_ttl_seconds=read("ACCESS_TOKEN_TTL_SECONDS", _positive_int, 900),
            argon2_time_cost=read("ARGON2_TIME_COST", _positive_int, 3),
            argon2_memory_kib=read("ARGON2_MEMORY_KIB", _positive_int, 65536),
            argon2_parallelism=read("ARGON2_PARALLELISM", _positive_int, 4),
            signup_enabled=read("SIGNUP_ENABLED", _boolean, True),
            max_body_bytes=read("MAX_BODY_BYTES", _positive_int, 1_048_576),
            log_level=read("LOG_LEVEL", _log_level, "INFO"),
            log_format=log_format,
        )


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __call__(self, name: str, parse: Callable[[str], T], default: Any) -> Any:
        raw = self._environ.get(PREFIX + name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as error:
            raise SettingsError(f"{PREFIX}{name}: {error}") from None


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"expected a number above 0, got {value}")
    return value


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return level
