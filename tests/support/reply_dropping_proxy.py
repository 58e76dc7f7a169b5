"""A TCP proxy in front of Redis that lets one request through and loses its reply."""

from __future__ import annotations

import asyncio
import contextlib


class ReplyDroppingProxy:
    """A TCP proxy in front of Redis. Once armed with a marker, the first client request that
    contains it reaches Redis (which runs it), but its reply never reaches the client: the proxy
    holds it `delay` seconds and then closes that client connection (0: at once, as a connection
    that dies right after the server ran the command; more than the client's timeout: a slow
    reply)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.marker: bytes | None = None
        self.delay = 0.0
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.dropped = 0

    def arm(self, marker: bytes, delay: float = 0.0) -> None:
        self.marker, self.delay = marker, delay

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        s_reader, s_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        swallow = asyncio.Event()

        async def up() -> None:
            try:
                while data := await c_reader.read(65536):
                    if self.marker is not None and self.marker in data:
                        self.marker = None
                        swallow.set()
                    s_writer.write(data)
                    await s_writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                s_writer.close()

        async def down() -> None:
            try:
                while data := await s_reader.read(65536):
                    if swallow.is_set():
                        self.dropped += 1
                        with contextlib.suppress(asyncio.CancelledError):
                            await asyncio.sleep(self.delay)
                        c_writer.close()
                        s_writer.close()
                        return
                    c_writer.write(data)
                    await c_writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                c_writer.close()

        await asyncio.gather(up(), down(), return_exceptions=True)
