"""What the Redis job tests run against: a private redis-server, an SMTP server in a thread whose
answers the test steers, `novapulse worker` processes, and a polling helper with a deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import TypeVar

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from .servers import FAST_HASHING, free_port

T = TypeVar("T")

DEADLINE_SECONDS = 20.0
"""How long a condition may take to come true before a test fails (generous on purpose)."""

WORKER_START_SECONDS = 30.0


def eventually(
    probe: Callable[[], T],
    holds: Callable[[T], bool],
    what: str,
    *,
    seconds: float = DEADLINE_SECONDS,
    interval: float = 0.05,
) -> T:
    """Call `probe` until `holds(value)`; return that value, or fail saying `what` never
    happened, with the last value seen."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if holds(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}; last seen: {value!r}")
        time.sleep(interval)


# SMTP


@attrs.frozen
class Delivery:
    recipient: str
    message_id: str
    subject: str


@attrs.define
class Inbox:
    """An aiosmtpd handler: answers DATA with `reply` (250 unless told otherwise) after
    `delay_seconds`; keeps what it accepted. Set the attributes from the test thread."""

    reply: str | None = None
    delay_seconds: float = 0.0
    _received: list[Delivery] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def accept(self) -> None:
        self.reply = None

    def defer(self) -> None:
        """Answer 451 (a transient refusal: the sender should retry later)."""
        self.reply = "451 4.3.0 Try again later"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.reply is not None:
            return self.reply
        content = envelope.content
        assert isinstance(content, bytes)
        mime = BytesParser(MimeMessage, policy=default_policy).parsebytes(content)
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self._received.append(
                    Delivery(recipient, str(mime["Message-ID"]), str(mime["Subject"]))
                )
        return "250 OK"

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self._received)

    def recipients(self) -> list[str]:
        return sorted(delivery.recipient for delivery in self.received())


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free 127.0.0.1 port, in a thread of its own."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# Workers


@attrs.define
class WorkerProcess:
    """One `novapulse worker` subprocess; everything it prints goes to `log`."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while "worker serving" not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the worker exited with {self.process.returncode}:\n{self.output}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start:\n{self.output}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)


class Workers:
    """Starts worker subprocesses with a fixed environment; `close` kills those still running."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPULSE_")}
        self._env = {**clean, **FAST_HASHING, **env}
        self._logs = logs
        self.started: list[WorkerProcess] = []

    def start(self, *args: str) -> WorkerProcess:
        log = self._logs / f"worker-{len(self.started) + 1}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "novapulse_entrypoints.cli", "worker", *args],
                env=self._env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log)
        self.started.append(worker)
        worker.wait_until_serving()
        return worker

    def close(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.kill()
