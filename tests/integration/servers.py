"""Start `novapulse serve` as a real process on a free port, for tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

STARTUP_SECONDS = 30

SHARED_KEYS = {
    # Processes sharing MongoDB or Redis must share their signing and sealing keys.
    "NOVAPULSE_JWT_SECRET": "integration-tests-shared-jwt-secret-0123456789",
    "NOVAPULSE_MFA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}

FAST_HASHING = {
    "NOVAPULSE_ARGON2_TIME_COST": "1",
    "NOVAPULSE_ARGON2_MEMORY_KIB": "8",
    "NOVAPULSE_ARGON2_PARALLELISM": "1",
    # Route budgets are off in tests that do not test them (tests/integration/test_rate_limits.py).
    "NOVAPULSE_RATE_LIMITS_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.frozen
class Server:
    base: str
    process: subprocess.Popen[str]
    banner: list[str]


def _wait_until_live(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"novapulse serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health/live", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("novapulse serve did not become live in time")


def _printed_so_far(process: subprocess.Popen[str]) -> list[str]:
    """What the command printed before it served (all of it, since it is live by now)."""
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    return [line.rstrip("\n") for line in process.stdout.readlines()]


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "novapulse_entrypoints.cli", "serve", "--port", str(port), *args],
        env={**os.environ, **FAST_HASHING, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_live(base, process)
        yield Server(base, process, _printed_so_far(process))
    finally:
        process.terminate()
        process.wait(timeout=15)
