"""One typed, frozen settings object, read from `NOVAPULSE_*` environment variables."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import attrs

from novapulse_core.domain.jobs import DEFAULT_POLICIES, Backoff, QueueName, QueuePolicy

T = TypeVar("T")

MIN_METRICS_TOKEN_LENGTH = 16
PREFIX = "NOVAPULSE_"

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess directory (read by prometheus-client itself at import)."""


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
    """HS256, HS384, HS512 (shared secret) or EdDSA, RS256 (private key, public keys at
    `/.well-known/jwks.json`). Tokens signed with any other algorithm are refused."""

    jwt_private_key_pem: bytes | None = attrs.field(default=None, repr=False)
    """The PEM private key of EdDSA / RS256 (from `NOVAPULSE_JWT_PRIVATE_KEY_FILE`)."""

    jwt_issuer: str = "novapulse"
    """The `iss` claim written into and required of access tokens."""

    jwt_audience: str = "novapulse-api"
    """The `aud` claim written into and required of access tokens."""

    access_token_ttl_seconds: int = 900
    """Lifetime of an access token."""

    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    """Lifetime of an unused refresh token; every refresh rotates it."""

    session_max_age_seconds: int = 30 * 24 * 3600
    """Absolute lifetime of a session (a refresh-token family), however often it rotates."""

    mfa_challenge_ttl_seconds: int = 300
    """How long a login's MFA challenge token stays usable."""

    mfa_enrollment_token_ttl_seconds: int = 600
    """How long the enrol-only token of a user whose role requires MFA stays usable."""

    mfa_issuer: str = "NovaPulse"
    """Issuer shown by authenticator apps (the `otpauth://` URI's issuer)."""

    mfa_key: bytes = attrs.field(default=b"", repr=False)
    """Master key (base64, at least 32 bytes) that encrypts TOTP secrets and keys recovery-code
    hashes. Required once MongoDB is configured; on the embedded default a random one is made."""

    mfa_previous_keys: tuple[bytes, ...] = attrs.field(default=(), repr=False)
    """Earlier master keys, still accepted for reading, so `mfa_key` can be rotated."""

    login_failures_per_account: int = 5
    """Wrong passwords allowed per email within the window before logins are refused (429)."""

    code_failures_per_account: int = 5
    """Wrong MFA or recovery codes allowed per user within the window."""

    login_failures_per_client: int = 50
    """Failures of either kind allowed per client address within the window."""

    login_failure_window_seconds: int = 900
    """The sliding window of those counts; a lock lifts as old failures leave it."""

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

    mongo_analytics_reads: str = "secondaryPreferred"
    """Where MongoDB aggregations read (the department sizes of the company stats, the job
    dashboard's counts and throughput): a read preference name; the seed sends analytics to
    the read replicas."""

    redis_url: str | None = None
    """Redis URL. Set: the job broker is Redis and `novapulse worker` processes serve it (and
    job records live in Redis unless MongoDB is configured). Unset: in-process queues."""

    redis_sentinels: tuple[tuple[str, int], ...] = ()
    """Redis Sentinels (host, port) that watch the Redis primary and its replicas. Set: every
    Redis client asks them where the primary is (and again after a failover), and the host of
    `redis_url` is the name of the primary they watch (`redis://:password@mymaster/0`)."""

    redis_timeout_ms: int = 1000
    """How long NovaPulse's Redis client waits for a connection and for each reply (the job
    broker's own client keeps Dramatiq's settings)."""

    embedded_workers: bool = True
    """Without Redis, whether the API process runs the four queues itself (off: jobs wait)."""

    queue_namespace: str = "nova"
    """Prefix of the broker's queue names (`nova.email`, ...) and of NovaPulse's Redis keys."""

    queue_policies: Mapping[QueueName, QueuePolicy] = DEFAULT_POLICIES
    """The seed's queue table, each number overridable (see `NOVAPULSE_QUEUE_<NAME>_*`)."""

    job_retention_seconds: int = 7 * 24 * 3600
    """How long records of finished jobs are kept."""

    worker_shutdown_seconds: int = 30
    """On SIGTERM a worker finishes in-flight jobs for at most this long."""

    worker_heartbeat_timeout_ms: int = 60_000
    """A worker silent this long is presumed dead; its unfinished jobs are delivered again."""

    worker_maintenance_chance: int = 1000
    """One fetch in this many looks for jobs of dead workers."""

    rate_limits_enabled: bool = True
    """Whether requests are limited per route group (below). Login failures are limited anyway."""

    rate_limit_anonymous: tuple[int, int] = (60, 60)
    """Requests per window (seconds) per client address on anonymous routes: `60/60`."""

    rate_limit_login: tuple[int, int] = (20, 60)
    """Requests per window per client address on login, MFA verify and refresh."""

    rate_limit_user: tuple[int, int] = (600, 60)
    """Requests per window per authenticated user."""

    rate_limit_company: tuple[int, int] = (3000, 60)
    """Requests per window per company, all its users together."""

    metrics_token: str | None = attrs.field(default=None, repr=False)
    """When set, `GET /metrics` answers only a scrape that sends it as a bearer token."""
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """Proxies whose `X-Forwarded-For` entries name the client (see `api.clients`)."""
    webhook_allow_list: tuple[str, ...] = ()
    """Hosts or CIDRs webhook URLs may reach although they are not public (development and
    tests only; empty by default, so loopback and private networks are refused)."""

    webhook_connect_timeout_seconds: float = 5.0
    """Connect timeout of a webhook delivery."""

    webhook_read_timeout_seconds: float = 15.0
    """Read timeout of a webhook delivery."""

    webhook_total_timeout_seconds: float = 30.0
    """Whole-request timeout of a webhook delivery."""

    webhook_max_response_bytes: int = 2048
    """How much of a receiver's answer is read and kept in the delivery log."""

    webhook_pool_size: int = 100
    """Concurrent connections of a process's webhook client."""

    webhook_max_payload_bytes: int = 256 * 1024
    """Largest webhook body; a larger event or test payload is refused (422)."""

    webhook_max_endpoints: int = 50
    """Endpoints a company may have; creating one more is refused (409)."""

    webhook_disable_after_failures: int = 1000
    """Consecutive failed attempts after which an endpoint is disabled."""

    webhook_disable_after_seconds: int = 5 * 24 * 3600
    """How long an endpoint may keep failing before it is disabled."""

    webhook_retention_seconds: int = 7 * 24 * 3600
    """How long deliveries and their attempts are kept."""

    smtp_host: str | None = None
    """SMTP server. Unset: emails go to an in-memory outbox (and are logged, not sent)."""

    smtp_port: int = 587
    """SMTP port."""

    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    """`starttls`, `tls` (implicit TLS, usually port 465) or `none`."""

    smtp_username: str | None = None
    """SMTP AUTH user (with `smtp_password`)."""

    smtp_password: str | None = attrs.field(default=None, repr=False)
    """SMTP AUTH password."""

    smtp_sender: str = "NovaPulse <no-reply@novapulse.invalid>"
    """The From header of every email."""

    smtp_timeout_seconds: int = 10
    """Connect and command timeout of SMTP."""

    worker_metrics_port: int | None = None
    """Port of the `/metrics` endpoint of `novapulse worker` (its job attempts, durations and
    process metrics). Unset: the worker serves no metrics."""

    worker_metrics_host: str = "127.0.0.1"
    """Address the worker's metrics endpoint binds (`0.0.0.0` for a Prometheus elsewhere)."""

    metrics_multiprocess_dir: str | None = None
    """`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's own variable, no NOVAPULSE_ prefix): when
    set, each API process writes its metrics to files there and a scrape of any of them adds up
    all. `novapulse serve --workers N` (N above 1) makes a fresh one and removes it on exit."""

    otlp_traces_url: str | None = None
    """Where spans go (OTLP over HTTP): `NOVAPULSE_OTLP_ENDPOINT` or OpenTelemetry's own
    `OTEL_EXPORTER_OTLP_ENDPOINT` (a collector's base URL, `/v1/traces` appended), or
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is). Unset, or `OTEL_SDK_DISABLED=true`:
    no tracing, nothing exported."""

    trust_trace_context: bool = False
    """`NOVAPULSE_TRUST_TRACE_CONTEXT`: adopt the W3C trace context (`traceparent`, `tracestate`,
    `baggage`) a request brings. Off: a request starts a trace of its own, whatever it sends."""

    log_level: str = "INFO"
    """Python logging level name."""

    log_format: str = "json"
    """`json` (one object per line) or `console` (human-readable)."""

    gc_threshold: int = 10_000
    """Allocations between collections of the young generation in `novapulse serve` and
    `novapulse worker` processes (see `collector.pace_collector`); 0 keeps Python's 700."""

    @property
    def embedded(self) -> bool:
        """True when nothing is persisted: every store is in process memory."""
        return self.mongo_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raise SettingsError on a bad value."""
        read = _Reader(environ)
        mongo_url = read("MONGO_URL", _mongo_url, None)
        # With MongoDB or Redis, state outlives this process and other processes read it: keys
        # that sign tokens and seal secrets must come from the environment, the same for all.
        redis_url = read("REDIS_URL", _redis_url, None)
        sentinels = tuple(read("REDIS_SENTINELS", _sentinels, []))
        if sentinels:
            _check_sentinel_url(redis_url)
        shared = mongo_url is not None or redis_url is not None
        signing = _signing(read, persistent=shared)
        mfa_key = read("MFA_KEY", _key, None)
        if mfa_key is None and shared:
            raise SettingsError(
                f"{PREFIX}MFA_KEY is required when {PREFIX}MONGO_URL or {PREFIX}REDIS_URL is set "
                "(it encrypts stored TOTP and webhook secrets); generate one with: "
                "python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"
            )
        log_format = read("LOG_FORMAT", str, "json")
        if log_format not in ("json", "console"):
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be json or console, not {log_format!r}")
        return cls(
            **signing,
            mongo_url=mongo_url,
            mongo_database=read("MONGO_DATABASE", _mongo_database, "novapulse"),
            mongo_analytics_reads=read(
                "MONGO_ANALYTICS_READS", _read_preference, "secondaryPreferred"
            ),
            mongo_timeout_ms=read("MONGO_TIMEOUT_MS", _positive_int, 2000),
            jwt_issuer=read("JWT_ISSUER", str, "novapulse"),
            jwt_audience=read("JWT_AUDIENCE", str, "novapulse-api"),
            access_token_ttl_seconds=read("ACCESS_TOKEN_TTL_SECONDS", _positive_int, 900),
            refresh_token_ttl_seconds=read("REFRESH_TOKEN_TTL_SECONDS", _positive_int, 14 * 86400),
            session_max_age_seconds=read("SESSION_MAX_AGE_SECONDS", _positive_int, 30 * 86400),
            mfa_challenge_ttl_seconds=read("MFA_CHALLENGE_TTL_SECONDS", _positive_int, 300),
            mfa_enrollment_token_ttl_seconds=read(
                "MFA_ENROLLMENT_TOKEN_TTL_SECONDS", _positive_int, 600
            ),
            mfa_issuer=read("MFA_ISSUER", str, "NovaPulse"),
            mfa_key=mfa_key or secrets.token_bytes(32),
            mfa_previous_keys=tuple(read("MFA_PREVIOUS_KEYS", _keys, [])),
            login_failures_per_account=read("LOGIN_FAILURES_PER_ACCOUNT", _positive_int, 5),
            code_failures_per_account=read("CODE_FAILURES_PER_ACCOUNT", _positive_int, 5),
            login_failures_per_client=read("LOGIN_FAILURES_PER_CLIENT", _positive_int, 50),
            login_failure_window_seconds=read("LOGIN_FAILURE_WINDOW_SECONDS", _positive_int, 900),
            **_argon2(read),
            signup_enabled=read("SIGNUP_ENABLED", _boolean, True),
            max_body_bytes=read("MAX_BODY_BYTES", _positive_int, 1_048_576),
            redis_url=redis_url,
            redis_sentinels=sentinels,
            redis_timeout_ms=read("REDIS_TIMEOUT_MS", _positive_int, 1000),
            embedded_workers=read("EMBEDDED_WORKERS", _boolean, True),
            queue_namespace=read("QUEUE_NAMESPACE", _queue_namespace, "nova"),
            queue_policies=_queue_policies(read),
            job_retention_seconds=read("JOB_RETENTION_SECONDS", _positive_int, 7 * 24 * 3600),
            worker_shutdown_seconds=read("WORKER_SHUTDOWN_SECONDS", _positive_int, 30),
            worker_heartbeat_timeout_ms=read("WORKER_HEARTBEAT_TIMEOUT_MS", _positive_int, 60_000),
            worker_maintenance_chance=read("WORKER_MAINTENANCE_CHANCE", _positive_int, 1000),
            rate_limits_enabled=read("RATE_LIMITS_ENABLED", _boolean, True),
            rate_limit_anonymous=read("RATE_LIMIT_ANONYMOUS", _budget, (60, 60)),
            rate_limit_login=read("RATE_LIMIT_LOGIN", _budget, (20, 60)),
            rate_limit_user=read("RATE_LIMIT_USER", _budget, (600, 60)),
            rate_limit_company=read("RATE_LIMIT_COMPANY", _budget, (3000, 60)),
            trusted_proxies=tuple(read("TRUSTED_PROXIES", _networks, [])),
            metrics_token=read("METRICS_TOKEN", _metrics_token, None),
            **_webhook_settings(read),
            smtp_host=read("SMTP_HOST", str, None),
            smtp_port=read("SMTP_PORT", _positive_int, 587),
            smtp_security=read("SMTP_SECURITY", _smtp_security, "starttls"),
            smtp_username=read("SMTP_USERNAME", str, None),
            smtp_password=read("SMTP_PASSWORD", str, None),
            smtp_sender=read("SMTP_SENDER", str, "NovaPulse <no-reply@novapulse.invalid>"),
            smtp_timeout_seconds=read("SMTP_TIMEOUT_SECONDS", _positive_int, 10),
            worker_metrics_port=read("WORKER_METRICS_PORT", _port, None),
            worker_metrics_host=read("WORKER_METRICS_HOST", str, "127.0.0.1"),
            metrics_multiprocess_dir=environ.get(MULTIPROCESS_DIR_VARIABLE) or None,
            otlp_traces_url=_otlp_traces_url(read("OTLP_ENDPOINT", str, None), environ),
            trust_trace_context=read("TRUST_TRACE_CONTEXT", _boolean, False),
            log_level=read("LOG_LEVEL", _log_level, "INFO"),
            log_format=log_format,
            gc_threshold=read("GC_THRESHOLD", _non_negative_int, 10_000),
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


def _redis_url(raw: str) -> str:
    """A URL redis-py can connect with: redis://, rediss:// or unix://, a numeric port."""
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL, not {parts.scheme!r}")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("the URL's port is not a number") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError("the URL names no host")
    return raw


def _sentinels(raw: str) -> list[tuple[str, int]]:
    """Comma-separated `host:port` of Redis Sentinels (an IPv6 host in brackets)."""
    sentinels = []
    for number, word in enumerate(_words(raw), start=1):
        if "@" in word:
            raise ValueError(f"entry {number}: Sentinels that need a password are not supported")
        parts = urlsplit(f"//{word}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or not port or parts.path or parts.query or parts.fragment:
            raise ValueError(f"expected host:port of a Sentinel, got {word!r}")
        sentinels.append((parts.hostname, port))
    return sentinels


def _check_sentinel_url(url: str | None) -> None:
    """With Sentinels, the Redis URL names the primary they watch instead of an address."""
    example = "redis://[:password@]<primary's name>[/db]"
    if url is None:
        raise SettingsError(
            f"{PREFIX}REDIS_SENTINELS needs {PREFIX}REDIS_URL naming the primary they watch: "
            f"{example}"
        )
    parts = urlsplit(url)
    database = parts.path.strip("/")
    if (
        parts.scheme != "redis"
        or parts.port is not None
        or parts.query
        or parts.fragment
        or not (database == "" or (database.isdigit() and database.isascii()))
    ):
        raise SettingsError(
            f"{PREFIX}REDIS_URL: with {PREFIX}REDIS_SENTINELS it names the primary the Sentinels "
            f"watch, without a port, TLS or options: {example}"
        )


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"expected a number above 0, got {value}")
    return value


def _port(raw: str) -> int:
    value = _positive_int(raw)
    if value > 65535:
        raise ValueError(f"expected a port from 1 to 65535, got {value}")
    return value


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _otlp_traces_url(ours: str | None, environ: Mapping[str, str]) -> str | None:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if ours is None and environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip():
        return environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].strip()
    base = ours or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return level


def _non_negative_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"expected 0 or more, got {value}")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"expected a number above 0, got {raw}")
    return value


def _queue_namespace(raw: str) -> str:
    if not raw.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"expected letters, digits, - or _, got {raw!r}")
    return raw


def _smtp_security(raw: str) -> Literal["starttls", "tls", "none"]:
    choices: dict[str, Literal["starttls", "tls", "none"]] = {
        "starttls": "starttls",
        "tls": "tls",
        "none": "none",
    }
    if raw in choices:
        return choices[raw]
    raise ValueError(f"expected starttls, tls or none, got {raw!r}")


def _queue_policies(read: _Reader) -> dict[QueueName, QueuePolicy]:
    """`NOVAPULSE_QUEUE_EMAIL_CONCURRENCY`, `..._MAX_RETRIES`, `..._BACKOFF_BASE_SECONDS` and
    `..._BACKOFF_MAX_SECONDS` override the seed's numbers, queue by queue."""
    policies = {}
    for queue, policy in DEFAULT_POLICIES.items():
        key = f"QUEUE_{queue.value.upper()}_"
        backoff = policy.backoff
        policies[queue] = attrs.evolve(
            policy,
            concurrency=read(key + "CONCURRENCY", _positive_int, policy.concurrency),
            max_retries=read(key + "MAX_RETRIES", _non_negative_int, policy.max_retries),
            backoff=Backoff(
                backoff.kind,
                read(key + "BACKOFF_BASE_SECONDS", _positive_float, backoff.base_seconds),
                read(key + "BACKOFF_MAX_SECONDS", _positive_float, backoff.max_seconds),
            ),
        )
    return policies


def _key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64") from None
    if len(key) < 32:
        raise ValueError(f"expected at least 32 bytes, got {len(key)}")
    return key


def _keys(raw: str) -> list[bytes]:
    return [_key(part.strip()) for part in raw.split(",") if part.strip()]


def _signing(read: _Reader, *, persistent: bool) -> dict[str, Any]:
    """The token signing settings. A process that shares state with others (MongoDB) needs its
    key from the environment; the embedded default makes one that dies with the process."""
    algorithm = read("JWT_ALGORITHM", str, "HS256")
    if algorithm not in ("HS256", "HS384", "HS512", "EdDSA", "RS256"):
        raise SettingsError(f"{PREFIX}JWT_ALGORITHM must be HS256, HS384, HS512, EdDSA or RS256")
    if algorithm.startswith("HS"):
        secret = read("JWT_SECRET", str, None)
        if secret is None and persistent:
            raise SettingsError(
                f"{PREFIX}JWT_SECRET is required when {PREFIX}MONGO_URL or {PREFIX}REDIS_URL is "
                "set (every process must share it); generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if secret is not None and len(secret.encode()) < 32:
            raise SettingsError(f"{PREFIX}JWT_SECRET must be at least 32 bytes long")
        return {
            "jwt_algorithm": algorithm,
            "jwt_secret": secret or secrets.token_urlsafe(48),
            "jwt_secret_generated": secret is None,
        }
    pem = read("JWT_PRIVATE_KEY_FILE", _pem_file, None)
    if pem is None and persistent:
        raise SettingsError(
            f"{PREFIX}JWT_PRIVATE_KEY_FILE is required for {algorithm} when "
            f"{PREFIX}MONGO_URL or {PREFIX}REDIS_URL is set (every process must use the same key)"
        )
    if pem is not None:
        _check_key_kind(pem, algorithm)
    return {
        "jwt_algorithm": algorithm,
        "jwt_private_key_pem": pem or _new_private_key(algorithm),
        "jwt_secret_generated": pem is None,
    }


def _pem_file(raw: str) -> bytes:
    try:
        with open(raw, "rb") as file:
            pem = file.read()
    except OSError as error:
        raise ValueError(f"cannot read {raw!r}: {error.strerror}") from None
    if b"PRIVATE KEY-----" not in pem:
        raise ValueError(f"{raw!r} holds no PEM private key")
    return pem


MAX_ARGON2_LANES = 2**24 - 1


def _argon2(read: _Reader) -> dict[str, Any]:
    """Argon2id's costs, as RFC 9106 bounds them: memory at least 8 KiB per lane."""
    lanes = read("ARGON2_PARALLELISM", _positive_int, 4)
    if lanes > MAX_ARGON2_LANES:
        raise SettingsError(f"{PREFIX}ARGON2_PARALLELISM must be at most {MAX_ARGON2_LANES}")
    memory = read("ARGON2_MEMORY_KIB", _positive_int, 65536)
    if memory < 8 * lanes:
        raise SettingsError(
            f"{PREFIX}ARGON2_MEMORY_KIB must be at least 8 per lane ({8 * lanes} for "
            f"{PREFIX}ARGON2_PARALLELISM={lanes})"
        )
    if memory >= 2**32:
        raise SettingsError(f"{PREFIX}ARGON2_MEMORY_KIB must be below {2**32}")
    time_cost = read("ARGON2_TIME_COST", _positive_int, 3)
    if time_cost >= 2**32:
        raise SettingsError(f"{PREFIX}ARGON2_TIME_COST must be below {2**32}")
    return {
        "argon2_time_cost": time_cost,
        "argon2_memory_kib": memory,
        "argon2_parallelism": lanes,
    }


def _mongo_url(raw: str) -> str:
    """A MongoDB connection string pymongo accepts (checked without resolving any name)."""
    try:
        from pymongo.uri_parser import parse_uri, split_options
    except ImportError:  # the container says which extra to install
        return raw
    scheme, _, rest = raw.partition("://")
    if scheme not in ("mongodb", "mongodb+srv"):
        raise ValueError("expected a mongodb:// or mongodb+srv:// URL")
    try:
        if scheme == "mongodb":
            parse_uri(raw)
        else:  # pymongo would look its name up: check what it checks before that
            hosts, _, tail = rest.partition("/")
            host = hosts.rpartition("@")[2]
            if not host or "," in host:
                raise ValueError("a mongodb+srv:// URL names exactly one host")
            if ":" in host:
                raise ValueError("a mongodb+srv:// URL takes no port")
            options = tail.partition("?")[2]
            if options and split_options(options).get("directConnection"):
                raise ValueError("directConnection=true cannot be used with mongodb+srv://")
    except ValueError:
        raise
    except Exception as error:  # pymongo's InvalidURI, ConfigurationError
        raise ValueError(str(error)) from None
    return raw


def _read_preference(raw: str) -> str:
    try:
        from novapulse_adapters.mongo.analytics import read_preference
    except ImportError:  # the container says which extra to install
        return raw
    read_preference(raw)
    return raw


def _mongo_database(raw: str) -> str:
    """MongoDB's rule for database names: no `/ \\ . " $` or spaces, under 64 bytes."""
    bad = sorted(set(raw) & set('/\\. "$\0'))
    if bad:
        raise ValueError(f"a database name cannot hold {' '.join(map(repr, bad))}")
    if len(raw.encode()) >= 64:
        raise ValueError("a database name must be shorter than 64 bytes")
    return raw


def _check_key_kind(pem: bytes, algorithm: str) -> None:
    """EdDSA signs with an Ed25519 or Ed448 key, RS256 with an RSA key of 2048 bits or more."""
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise SettingsError(f"{PREFIX}JWT_PRIVATE_KEY_FILE: cannot load the key: {error}") from None
    if algorithm == "EdDSA" and not isinstance(
        key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
    ):
        raise SettingsError(f"{PREFIX}JWT_PRIVATE_KEY_FILE: EdDSA needs an Ed25519 or Ed448 key")
    if algorithm == "RS256" and not (isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048):
        raise SettingsError(
            f"{PREFIX}JWT_PRIVATE_KEY_FILE: RS256 needs an RSA key of at least 2048 bits"
        )


def _new_private_key(algorithm: str) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = (
        ed25519.Ed25519PrivateKey.generate()
        if algorithm == "EdDSA"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _webhook_settings(read: _Reader) -> dict[str, Any]:
    return {
        "webhook_allow_list": tuple(read("WEBHOOK_ALLOW_LIST", _words, [])),
        "webhook_connect_timeout_seconds": read(
            "WEBHOOK_CONNECT_TIMEOUT_SECONDS", _positive_float, 5.0
        ),
        "webhook_read_timeout_seconds": read("WEBHOOK_READ_TIMEOUT_SECONDS", _positive_float, 15.0),
        "webhook_total_timeout_seconds": read(
            "WEBHOOK_TOTAL_TIMEOUT_SECONDS", _positive_float, 30.0
        ),
        "webhook_max_response_bytes": read("WEBHOOK_MAX_RESPONSE_BYTES", _positive_int, 2048),
        "webhook_pool_size": read("WEBHOOK_POOL_SIZE", _positive_int, 100),
        "webhook_max_payload_bytes": read("WEBHOOK_MAX_PAYLOAD_BYTES", _positive_int, 256 * 1024),
        "webhook_max_endpoints": read("WEBHOOK_MAX_ENDPOINTS", _positive_int, 50),
        "webhook_disable_after_failures": read(
            "WEBHOOK_DISABLE_AFTER_FAILURES", _positive_int, 1000
        ),
        "webhook_disable_after_seconds": read(
            "WEBHOOK_DISABLE_AFTER_SECONDS", _positive_int, 432000
        ),
        "webhook_retention_seconds": read("WEBHOOK_RETENTION_SECONDS", _positive_int, 604800),
    }


def _words(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _metrics_token(raw: str) -> str:
    readable = raw.isascii() and raw.isprintable() and " " not in raw
    if len(raw) < MIN_METRICS_TOKEN_LENGTH or not readable:
        raise ValueError(
            f"expected at least {MIN_METRICS_TOKEN_LENGTH} printable ASCII characters, no spaces "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw


def _networks(raw: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or CIDR networks, e.g. `10.0.0.0/8, 2001:db8::1`; an
    IPv4-mapped one (`::ffff:10.0.0.1`, as servers listening on `::` show IPv4 peers) as IPv4."""
    networks = []
    for word in _words(raw):
        try:
            network = ipaddress.ip_network(word)
        except ValueError as error:
            raise ValueError(
                f"expected addresses or CIDR networks, got {word!r} ({error})"
            ) from None
        if network.prefixlen == 0:
            raise ValueError(f"{word!r} would trust every address")
        mapped = network.network_address
        if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped is not None:
            if network.prefixlen < 96:
                raise ValueError(f"{word!r} is wider than the IPv4-mapped range")
            network = ipaddress.ip_network(f"{mapped.ipv4_mapped}/{network.prefixlen - 96}")
        networks.append(network)
    return networks


def _budget(raw: str) -> tuple[int, int]:
    """`<requests>/<window seconds>`, e.g. `600/60`."""
    count, _, window = raw.partition("/")
    try:
        budget = (int(count), int(window))
    except ValueError:
        raise ValueError(f"expected <requests>/<seconds> such as 600/60, got {raw!r}") from None
    if min(budget) <= 0:
        raise ValueError(f"expected numbers above 0, got {raw!r}")
    return budget
