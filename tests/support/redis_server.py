"""A private redis-server for a test session: a free port, no persistence, stopped by its PID."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

START_TIMEOUT_S = 10.0


class RedisServerUnavailable(RuntimeError):
    """redis-server is not installed, or did not start."""


@contextmanager
def private_redis_server() -> Iterator[int]:
    """Start `redis-server` on a free 127.0.0.1 port (never the shared one on 6379), saving
    nothing to disk; yield its port; stop it on exit. Raises `RedisServerUnavailable`."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisServerUnavailable("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        _wait_for_port(port, process)
    except RedisServerUnavailable:
        process.kill()
        process.wait()
        raise
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisServerUnavailable(
                f"redis-server exited at start-up with code {process.returncode}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RedisServerUnavailable(f"redis-server did not answer on port {port}")
