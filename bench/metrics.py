"""What the API middleware costs per request (request id, metrics, access line; no rate
limits): a bare Litestar handler against the same app wrapped in it, with the metrics on a
registry of their own and in prometheus-client's multiprocess mode.

Requests go straight into the ASGI app (no server, no network), so the difference is the
middleware's own work. Each side runs in a fresh process (multiprocess mode is chosen when
prometheus-client is first imported); the median of the rounds is printed.

    python bench/metrics.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

MODES = ("bare", "registry", "multiprocess")
WARM_UP = 2000


def _app(mode: str) -> Any:
    from litestar import Litestar, get

    from novapulse_adapters.telemetry import MetricsExporter
    from novapulse_entrypoints.api.middleware import api_middleware

    @get("/items/{item_id:str}", sync_to_thread=False)
    def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app = Litestar([item], logging_config=None)
    if mode != "bare":
        exporter = MetricsExporter(multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        app.asgi_handler = api_middleware(app.asgi_handler, exporter.metrics, None)
    return app


def _scope(n: int) -> dict[str, Any]:
    path = f"/items/{n}"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


def measure(mode: str, requests: int) -> float:
    """Seconds per request through the app of `mode` (run in a process of its own)."""
    app = _app(mode)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    async def drive() -> float:
        for n in range(WARM_UP):
            await app(_scope(n), receive, send)
        started = time.perf_counter()
        for n in range(requests):
            await app(_scope(n), receive, send)
        return (time.perf_counter() - started) / requests

    return asyncio.run(drive())


def _in_a_process(mode: str, requests: int) -> float:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as directory:
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        out = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--measure", mode, "--requests", str(requests)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(measure(args.measure, args.requests))
        return
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            seconds[mode].append(_in_a_process(mode, args.requests))
    median = {mode: statistics.median(times) * 1e6 for mode, times in seconds.items()}
    print(f"requests={args.requests} rounds={args.rounds} (ASGI calls in one process, median)")
    for mode in MODES:
        extra = median[mode] - median["bare"]
        print(f"{mode:13}: {median[mode]:6.1f} us/request  (+{extra:4.1f} us)")
    print(f"ratio (registry / bare): {median['bare'] / median['registry']:.2f}")


if __name__ == "__main__":
    main()
