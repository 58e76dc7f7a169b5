"""An authenticated, rate-limited GET through NovaPulse against a bare Litestar handler.

Both run on granian (one process each, one after the other) under the same wrk load, in one
run; prints both rates, the ratio (goal: NovaPulse >= 0.5 of bare) and the p99 latencies.
NovaPulse's side is `GET /api/v1/company/stats` with an owner's bearer token on the embedded
default (token verified, user re-read, route budgets checked, stats answered).

    python bench/api.py [--seconds S] [--connections C]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUIET = {
    "NOVAPULSE_LOG_LEVEL": "WARNING",
    "NOVAPULSE_RATE_LIMIT_USER": "100000000/60",
    "NOVAPULSE_RATE_LIMIT_COMPANY": "100000000/60",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {url} did not answer") from None
            time.sleep(0.1)


@contextmanager
def _server(command: list[str], ready: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(  # noqa: S603
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=HERE,
    )
    try:
        _wait(ready)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wrk(url: str, seconds: int, connections: int, headers: list[str]) -> tuple[float, str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for header in headers:
        command[1:1] = ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise SystemExit(f"bench: non-2xx answers from {url}:\n{out}")
    return rate, p99


def _login(base: str, password: str) -> str:
    body = json.dumps({"email": "owner@demo.example", "password": password}).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{base}/api/v1/auth/login", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310
        return str(json.load(answer)["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")

    port = _free_port()
    granian = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port)]
    with _server([*granian, "_bare_app:app"], f"http://127.0.0.1:{port}/bare", {}):
        bare, bare_p99 = _wrk(f"http://127.0.0.1:{port}/bare", args.seconds, args.connections, [])

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [
        sys.executable,
        "-m",
        "novapulse_entrypoints.cli",
        "serve",
        "--demo",
        "--port",
        str(port),
    ]
    with _server(serve, f"{base}/api/v1/health/live", QUIET) as process:
        assert process.stdout is not None
        password = next(
            line.rsplit(" ", 1)[-1].strip()
            for line in process.stdout
            if line.startswith("demo owner:")
        )
        token = _login(base, password)
        ours, ours_p99 = _wrk(
            f"{base}/api/v1/company/stats",
            args.seconds,
            args.connections,
            [f"Authorization: Bearer {token}"],
        )

    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, one granian process each")
    print(f"bare Litestar handler   : {bare:9.0f} req/s  p99 {bare_p99}")
    print(f"novapulse company stats : {ours:9.0f} req/s  p99 {ours_p99}")
    print(f"ratio (novapulse / bare): {ours / bare:.2f}  (goal >= 0.50)")


if __name__ == "__main__":
    main()
