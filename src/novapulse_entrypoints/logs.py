"""Structured logs: every line, ours or a library's, is one JSON object with the request id.

The access line of each request (`novapulse.access` at INFO) takes a short cut in the JSON
format: `AccessLines` renders it directly, to the same bytes the structured formatter writes,
and buffers it, so that the event loop does not pay the standard library's record, structlog's
formatter and a write per request."""

from __future__ import annotations

import asyncio
import atexit
import datetime
import logging.config
import select
import sys
import threading
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from novapulse_core import context


def _add_request_id(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The id of the request (or job attempt) the line was written in, read from the core's
    context variable when the line is rendered: nothing is bound per request."""
    request_id = context.request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    _add_request_id,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` routing every logger (granian's too) through structlog."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "_granian": {"handlers": ["stderr"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }


ACCESS_LOGGER = "novapulse.access"
FLUSH_SECONDS = 0.05
"""How long an access line may wait in the buffer (it is also written once the buffer would
exceed `PIPE_BUF`, and when the app stops)."""
_PIPE_BUF = getattr(select, "PIPE_BUF", 4096)
"""The largest write a pipe keeps whole: each write holds whole lines and stays below it
(unless one line is longer), so that several worker processes sharing stderr do not cut
into each other's lines."""


class AccessLines:
    """The access lines: in the JSON format, rendered here and written to `stream` in batches
    (at most `FLUSH_SECONDS` late, from the event loop, or once a batch would exceed
    `_PIPE_BUF`); otherwise (console format, not configured, or structlog context variables
    bound) logged on `novapulse.access` like any other line."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self._stream: TextIO | None = None
        self._buffer: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._flushing = threading.Lock()
        """Lines are written by the event loop's thread; a flush may also come from another
        (at exit, or a test's), and two flushes must not both write one batch."""

    def direct(self, stream: TextIO | None) -> None:
        """Write the lines to `stream` from now on (None: through the logger); what was
        buffered is written first."""
        self.flush()
        self._stream = stream

    def write(self, method: str, path: str, status: int, seconds: float) -> None:
        """One request's line (the caller checks that INFO is enabled on the logger)."""
        duration_ms = round(seconds * 1000, 2)
        if self._stream is None or structlog.contextvars.get_contextvars():
            fields = {"method": method, "path": path, "status": status, "duration_ms": duration_ms}
            self.logger.info("request", extra=fields)
            return
        request_id = context.request_id.get()
        stamp = datetime.datetime.now(tz=datetime.UTC).isoformat()
        line = "".join(
            (
                '{"event": "request", ',
                "" if request_id is None else f'"request_id": {_json_string(request_id)}, ',
                '"level": "info", "logger": "novapulse.access", "method": ',
                _json_string(method),
                ', "path": ',
                _json_string(path),
                f', "status": {int(status)}, "duration_ms": {duration_ms!r}, "timestamp": "',
                stamp.replace("+00:00", "Z"),
                '"}\n',
            )
        )
        if self._size + len(line) > _PIPE_BUF:  # the line is ASCII: characters are bytes
            self._write_out()
        self._buffer.append(line)
        self._size += len(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._timer is None or self._timer_loop is not loop:
            self._timer = loop.call_later(FLUSH_SECONDS, self._due)
            self._timer_loop = loop

    def flush(self) -> None:
        """Write the buffered lines now (the app's lifespan does, on the way out)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._write_out()

    def _due(self) -> None:
        self._timer = None
        self._write_out()

    def _write_out(self) -> None:
        with self._flushing:
            if not self._buffer or self._stream is None:
                return
            lines, self._buffer, self._size = self._buffer, [], 0
            try:
                self._stream.write("".join(lines))
                self._stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken stderr: like logging without raiseExceptions


access_lines = AccessLines()
"""The process's access lines (the API middleware writes them, the app's lifespan flushes)."""
atexit.register(access_lines.flush)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Install the structured configuration in this process."""
    logging.config.dictConfig(logging_config(level, fmt))
    access_lines.direct(sys.stderr if fmt == "json" else None)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
