"""The `novapulse` command answers bad input with one line and a non-zero status."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from .servers import free_port


def novapulse(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPULSE_")}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "novapulse_entrypoints.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("serve",), {"NOVAPULSE_JWT_SECRET": "short"}, "at least 32 bytes"),
        (("serve",), {"NOVAPULSE_ACCESS_TOKEN_TTL_SECONDS": "soon"}, "expected a whole number"),
        (("serve",), {"NOVAPULSE_LOG_FORMAT": "xml"}, "json or console"),
        (("serve",), {"NOVAPULSE_MONGO_URL": "mongodb://db"}, "NOVAPULSE_JWT_SECRET is required"),
        (
            ("serve",),
            {"NOVAPULSE_MONGO_URL": "mongodb://db", "NOVAPULSE_JWT_SECRET": "x" * 40},
            "NOVAPULSE_MFA_KEY is required",
        ),
        (("serve",), {"NOVAPULSE_MFA_KEY": "c2hvcnQ="}, "at least 32 bytes"),
        (
            ("serve",),
            {"NOVAPULSE_JWT_ALGORITHM": "EdDSA", "NOVAPULSE_JWT_PRIVATE_KEY_FILE": "/no/such/key"},
            "cannot read '/no/such/key'",
        ),
        (("serve",), {"NOVAPULSE_JWT_ALGORITHM": "none"}, "must be HS256, HS384, HS512"),
        (("serve", "--workers", "2"), {}, "needs NOVAPULSE_MONGO_URL and NOVAPULSE_REDIS_URL"),
        (("worker",), {"NOVAPULSE_REDIS_URL": "redis://db"}, "NOVAPULSE_JWT_SECRET is required"),
        (("serve", "--port", "70000"), {}, "between 1 and 65535"),
        (("serve",), {"NOVAPULSE_METRICS_TOKEN": "short"}, "at least 16 printable ASCII"),
        (
            ("serve",),
            {"NOVAPULSE_TRUSTED_PROXIES": "10.0.0.0/8, the balancer"},
            "NOVAPULSE_TRUSTED_PROXIES: expected addresses or CIDR networks, got 'the balancer'",
        ),
        (("serve",), {"NOVAPULSE_TRUSTED_PROXIES": "10.0.0.5/8"}, "has host bits set"),
        (("cache", "clear"), {"NOVAPULSE_REDIS_URL": "localhost:6379"}, "redis://, rediss://"),
        (("worker",), {"NOVAPULSE_REDIS_URL": "redis://db:port/0"}, "is not a number"),
        (("serve",), {"NOVAPULSE_TRUSTED_PROXIES": "0.0.0.0/0"}, "would trust every address"),
        (
            ("bootstrap", "--company", "A", "--email", "a@b.example", "--name", "A"),
            {},
            "serve --demo",
        ),
        (("serve",), {"NOVAPULSE_ARGON2_MEMORY_KIB": "1"}, "at least 8 per lane"),
        (("serve",), {"NOVAPULSE_MONGO_URL": "mongodb://localhost:99999"}, "Port must be"),
        (("serve",), {"NOVAPULSE_MONGO_URL": "mongodb://"}, "at least one hostname"),
        (("serve",), {"NOVAPULSE_MONGO_DATABASE": "bad/name"}, "cannot hold '/'"),
        (("serve", "--port", "abc"), {}, "invalid int value: 'abc'"),
        (("worker", "--queue", "nope"), {}, "invalid choice: 'nope'"),
        (("bogus",), {}, "invalid choice: 'bogus'"),
    ],
)
def test_a_bad_setting_or_argument_ends_with_one_line(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = novapulse(*args, **env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("novapulse: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bootstrap_against_an_unreachable_mongodb_says_so_in_one_line() -> None:
    result = novapulse(
        "bootstrap",
        "--company",
        "Acme",
        "--email",
        "ann@acme.example",
        "--name",
        "Ann",
        NOVAPULSE_MONGO_URL=f"mongodb://127.0.0.1:{free_port()}",
        NOVAPULSE_MONGO_TIMEOUT_MS="300",
        NOVAPULSE_JWT_SECRET="x" * 40,
        NOVAPULSE_MFA_KEY=base64.b64encode(b"k" * 32).decode(),
    )
    assert result.returncode == 1
    assert result.stderr.startswith("novapulse: ")
    assert result.stderr == "novapulse: MongoDB cannot be reached\n"
    assert "Traceback" not in result.stderr
