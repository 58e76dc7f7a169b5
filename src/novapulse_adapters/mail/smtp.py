"""The `Mailer` port over SMTP (aiosmtplib): one connection per message, errors translated."""

from __future__ import annotations

import email.message
import email.utils
import ssl
from typing import Literal

import aiosmtplib

from novapulse_adapters.system import SystemClock
from novapulse_core.domain.emails import check_deliverable
from novapulse_core.domain.errors import DomainError, Invalid, Unavailable
from novapulse_core.ports.mail import EmailMessage
from novapulse_core.ports.system import Clock

__all__ = ["Security", "SmtpMailer"]

Security = Literal["starttls", "tls", "none"]
"""`starttls`: upgrade a plain connection (required, not opportunistic); `tls`: TLS from the
first byte (port 465); `none`: never encrypt (a local relay or a test server only)."""


class SmtpMailer:
    """Sends each message over a new SMTP connection to `host:port`.

    `sender` is the From header (`"NovaPulse <noreply@example.com>"` or a bare address); its
    address is also the envelope sender and the domain of generated Message-IDs. A `message_id`
    without `@` gets the sender's domain appended, so the same id always gives the same header.
    `timeout_seconds` bounds each step of the conversation, not the whole send.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: Security = "starttls",
        timeout_seconds: float = 10,
        validate_certs: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"security must be starttls, tls or none, not {security!r}")
        envelope_sender = email.utils.parseaddr(sender)[1]
        if "@" not in envelope_sender or not envelope_sender.isascii():
            raise ValueError(f"sender {sender!r} has no plain ASCII email address")
        self._host = host
        self._port = port
        self._sender = sender
        self._envelope_sender = envelope_sender
        self._domain = envelope_sender.rpartition("@")[2]
        self._username = username
        self._password = password
        self._security = security
        self._timeout = timeout_seconds
        self._validate_certs = validate_certs
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"SmtpMailer({self._host!r}, {self._port}, security={self._security!r})"

    async def send(self, message: EmailMessage) -> None:
        mime = self._mime(check_deliverable(message))
        try:
            await aiosmtplib.send(
                mime,
                sender=self._envelope_sender,
                recipients=[message.to],
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                validate_certs=self._validate_certs,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _translated(error) from error

    def _mime(self, message: EmailMessage) -> email.message.EmailMessage:
        mime = email.message.EmailMessage()
        try:
            mime["From"] = self._sender
            mime["To"] = message.to
            mime["Subject"] = message.subject
        except ValueError as error:
            raise Invalid("the message headers cannot be encoded") from error
        mime["Date"] = email.utils.format_datetime(self._clock.now())
        mime["Message-ID"] = self._message_id(message.message_id)
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
        return mime

    def _message_id(self, given: str | None) -> str:
        if not given:
            return email.utils.make_msgid(domain=self._domain)
        bare = given.strip("<>")
        return f"<{bare}>" if "@" in bare else f"<{bare}@{self._domain}>"


def _translated(error: Exception) -> DomainError:
    """The core error for an aiosmtplib or socket error: `Invalid` only when the server refused
    the sender, a recipient or the data for good (5xx); everything else may pass on a retry.

    The detail carries the SMTP reply code, never the server's text or a credential.
    """
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        code = max(refusal.code for refusal in error.recipients)
        return _refused("recipient", code)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return _refused("recipient", error.code)
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return _refused("sender", error.code)
    if isinstance(error, aiosmtplib.SMTPDataError):
        return _refused("message", error.code)
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return Unavailable(f"the mail server refused our credentials ({error.code})")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return Unavailable(f"the mail server cannot take messages right now ({error.code})")
    if isinstance(error, ssl.SSLError):
        return Unavailable("TLS with the mail server failed (its certificate or protocol)")
    if isinstance(error, OSError):  # refused, reset, timed out, disconnected, unknown host
        return Unavailable("the mail server cannot be reached right now; try again shortly")
    return Unavailable("the mail server does not offer what the settings ask for (STARTTLS, AUTH)")


def _refused(what: str, code: int) -> DomainError:
    if code >= 500:
        return Invalid(f"the mail server refused the {what} ({code})", extra={"smtp_code": code})
    return Unavailable(f"the mail server deferred the {what} ({code}); try again later")
