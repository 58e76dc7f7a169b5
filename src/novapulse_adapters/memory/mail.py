"""An outbox that keeps sent messages in memory, with switches to make sends fail."""

from __future__ import annotations

from novapulse_core.domain.emails import check_deliverable
from novapulse_core.domain.errors import Invalid, Unavailable
from novapulse_core.ports.mail import EmailMessage


class InMemoryOutbox:
    """A `Mailer` that delivers into `sent`, in order.

    Test helpers: `fail_next(n)` makes the next `n` sends raise `Unavailable` (a server that is
    down), `refuse(address)` makes sends to that address raise `Invalid` (a server answering 550).
    A failed send delivers nothing.
    """

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._failures_left = 0
        self._refused: set[str] = set()

    def fail_next(self, n: int = 1) -> None:
        """Make the next `n` sends fail with `Unavailable`, as a mail server that is down."""
        if n < 0:
            raise ValueError("n must not be negative")
        self._failures_left = n

    def refuse(self, address: str) -> None:
        """Make every send to `address` fail with `Invalid`, as a server refusing the recipient."""
        self._refused.add(address)

    async def send(self, message: EmailMessage) -> None:
        check_deliverable(message)
        if self._failures_left > 0:
            self._failures_left -= 1
            raise Unavailable("the mail server cannot be reached right now; try again shortly")
        if message.to in self._refused:
            raise Invalid("the mail server refused the recipient (550)", extra={"field": "to"})
        self.sent.append(message)
