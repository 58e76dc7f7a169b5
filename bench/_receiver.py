"""A throwaway HTTP receiver in a subprocess: answers 200 to every POST and counts them.

Run as a script it serves on a free 127.0.0.1 port and prints the port on its first line;
`GET /count` answers the number of POSTs so far. `receiver()` starts and stops it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


def _serve() -> None:
    received = 0

    async def post(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        return web.Response()

    async def count(request: web.Request) -> web.Response:
        return web.Response(text=str(received))

    app = web.Application()
    app.router.add_post("/{tail:.*}", post)
    app.router.add_get("/count", count)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(app, sock=sock, print=None, access_log=None, backlog=1024)


class Receiver:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/hooks"

    def count(self) -> int:
        with urllib.request.urlopen(f"{self.base}/count", timeout=10) as response:  # noqa: S310
            return int(response.read())


@contextmanager
def receiver() -> Iterator[Receiver]:
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, __file__], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip():
            raise SystemExit("bench: the receiver did not start")
        yield Receiver(int(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    _serve()
