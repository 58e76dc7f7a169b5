"""An authenticated, rate-limited GET through NovaPulse against a bare Litestar handler.

Both run on granian (one worker process each, the options `novapulse serve` uses), side by
side, under the same wrk load, taking turns for `--rounds` rounds (the order alternates, so
a machine that gets busier or quieter during the run weighs on both alike). Each round prints
both rates, the ratio (goal: NovaPulse >= 0.5 of bare), the p99 latencies and the CPU time
the event loop thread of each server spent per request (from /proc: steadier than the rates
on a shared machine); the last line gives the medians.

NovaPulse's side is `GET /api/v1/company/stats` with an owner's bearer token on the embedded
default: token verified, user re-read, route budgets checked (raised so that every answer is
200, with the RateLimit headers), stats answered from the cache, request id, metrics and
traces hooks on. The log level is WARNING by default, so the INFO access lines are not written;
`--log-level INFO` writes them (to /dev/null: the server's stderr is discarded).

    python bench/api.py [--seconds S] [--connections C] [--rounds R] [--log-level LEVEL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import attrs

HERE = Path(__file__).resolve().parent
QUIET = {
    "NOVAPULSE_LOG_LEVEL": "WARNING",
    "NOVAPULSE_RATE_LIMIT_USER": "100000000/60",
    "NOVAPULSE_RATE_LIMIT_COMPANY": "100000000/60",
}
TICKS = os.sysconf("SC_CLK_TCK")


@attrs.frozen
class Run:
    rate: float
    p99: str
    loop_us: float | None
    """CPU microseconds of the server's event loop thread per request, when /proc tells."""


@attrs.frozen
class Target:
    url: str
    headers: list[str]
    worker: int | None


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


def _worker(server: int) -> int | None:
    """The granian worker process serving for `server` (its event loop is its main thread)."""
    try:
        children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _loop_ticks(worker: int | None) -> int | None:
    if worker is None:
        return None
    try:
        stat = Path(f"/proc/{worker}/task/{worker}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def _wrk(target: Target, seconds: int, connections: int) -> Run:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", target.url]
    for header in target.headers:
        command[1:1] = ["-H", header]
    before = _loop_ticks(target.worker)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    after = _loop_ticks(target.worker)
    if "Non-2xx" in out:
        raise SystemExit(f"bench: non-2xx answers from {target.url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    # the distribution's own line, not a "+/- Stdev" column ending in 99%
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    loop_us = None
    if before is not None and after is not None and requests:
        loop_us = (after - before) / TICKS / requests * 1e6
    return Run(rate, p99, loop_us)


def _login(base: str, password: str) -> str:
    body = json.dumps({"email": "owner@demo.example", "password": password}).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{base}/api/v1/auth/login", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310
        return str(json.load(answer)["access_token"])


def _loop(run: Run) -> str:
    return "" if run.loop_us is None else f"  loop {run.loop_us:5.1f} us/req"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--log-level",
        default=QUIET["NOVAPULSE_LOG_LEVEL"],
        help="NovaPulse's NOVAPULSE_LOG_LEVEL (default WARNING: no access lines)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")

    with ExitStack() as servers:
        port = _free_port()
        granian = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port)]
        bare_server = servers.enter_context(
            _server([*granian, "_bare_app:app"], f"http://127.0.0.1:{port}/bare", {})
        )
        bare = Target(f"http://127.0.0.1:{port}/bare", [], _worker(bare_server.pid))

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-m", "novapulse_entrypoints.cli", "serve", "--demo"]
        process = servers.enter_context(
            _server(
                [*serve, "--port", str(port)],
                f"{base}/api/v1/health/live",
                {**QUIET, "NOVAPULSE_LOG_LEVEL": args.log_level},
            )
        )
        assert process.stdout is not None
        password = next(
            line.rsplit(" ", 1)[-1].strip()
            for line in process.stdout
            if line.startswith("demo owner:")
        )
        token = _login(base, password)
        ours = Target(
            f"{base}/api/v1/company/stats",
            [f"Authorization: Bearer {token}"],
            _worker(process.pid),
        )

        print(
            f"wrk -t1 -c{args.connections} -d{args.seconds}s, one granian worker each, "
            f"{args.rounds} rounds taking turns; NovaPulse log level {args.log_level}"
        )
        ratios: list[float] = []
        for round_ in range(args.rounds):
            first, second = (bare, ours) if round_ % 2 == 0 else (ours, bare)
            runs = {id(t): _wrk(t, args.seconds, args.connections) for t in (first, second)}
            b, o = runs[id(bare)], runs[id(ours)]
            ratios.append(o.rate / b.rate)
            print(
                f"round {round_ + 1}: bare {b.rate:7.0f} req/s p99 {b.p99:>7}{_loop(b)} | "
                f"novapulse {o.rate:7.0f} req/s p99 {o.p99:>7}{_loop(o)} | "
                f"ratio {ratios[-1]:.2f}"
            )
    print(f"median ratio (novapulse / bare): {statistics.median(ratios):.2f}  (goal >= 0.50)")


if __name__ == "__main__":
    main()
