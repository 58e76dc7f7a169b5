"""Outgoing email."""

from __future__ import annotations

from typing import Protocol

import attrs


@attrs.frozen
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None


class Mailer(Protocol):
    """Sends one message.

    Raises `Unavailable` when the server cannot be reached or refuses for now (a retry may
    succeed) and `Invalid` when it rejects the message for good (a bad recipient).
    `message_id`, when given, is sent as the Message-ID header so a retried send can be told
    apart from a new one by the receiving side.
    """

    async def send(self, message: EmailMessage) -> None: ...
