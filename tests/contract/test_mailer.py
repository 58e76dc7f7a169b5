"""The `Mailer` contract, run against the memory outbox and SMTP to a real local aiosmtpd server."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import attrs
import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from novapulse_adapters.mail import SmtpMailer
from novapulse_adapters.memory import FrozenClock, InMemoryOutbox
from novapulse_core.domain.emails import render
from novapulse_core.domain.errors import Invalid, Unavailable
from novapulse_core.ports.mail import EmailMessage, Mailer

SENDER = "NovaPulse <noreply@novapulse.test>"
T0 = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)


def a_message(**changes: Any) -> EmailMessage:
    message = EmailMessage(
        to="ann@example.com",
        subject="Your report is ready",
        text="Hello Ann,\n\nYour report is ready.",
        html="<p>Hello Ann,</p><p>Your report is ready.</p>",
        message_id="report-42@novapulse.test",
    )
    return attrs.evolve(message, **changes)


# A local SMTP server (aiosmtpd in the test's own event loop) that records what it receives


@attrs.define
class Received:
    envelope: Envelope
    authenticated: bool
    encrypted: bool

    def mime(self) -> MimeMessage:
        content = self.envelope.content
        assert isinstance(content, bytes)
        parsed = BytesParser(MimeMessage, policy=default_policy).parsebytes(content)
        assert isinstance(parsed, MimeMessage)
        return parsed

    def as_port_message(self) -> EmailMessage:
        """Read the message back into the port's terms, to compare with what was sent."""
        mime = self.mime()
        (recipient,) = self.envelope.rcpt_tos
        return EmailMessage(
            to=recipient,
            subject=str(mime["Subject"]),
            text=_body(mime, "plain") or "",
            html=_body(mime, "html"),
            message_id=str(mime["Message-ID"]).strip("<>"),
        )


def _body(mime: MimeMessage, subtype: str) -> str | None:
    part = mime.get_body((subtype,))
    if part is None:
        return None
    content = part.get_content()
    assert isinstance(content, str)
    # Lines end in CRLF on the wire, and MIME adds a final line break to a body without one.
    return content.replace("\r\n", "\n").removesuffix("\n")


@attrs.define
class Recorder:
    """An aiosmtpd handler: keeps accepted messages, refuses listed recipients, can defer DATA."""

    received: list[Received] = attrs.field(factory=list)
    rcpt_replies: dict[str, str] = attrs.field(factory=dict)
    data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        assert server.transport is not None
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope, bool(session.authenticated), encrypted))
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [received.as_port_message() for received in self.received]


@asynccontextmanager
async def serving(
    protocol: Callable[[], asyncio.BaseProtocol], tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """Listen on a free 127.0.0.1 port for the duration; yields the port."""
    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def smtp_server(
    recorder: Recorder, *, tls: ssl.SSLContext | None = None, **options: Any
) -> AsyncIterator[int]:
    async with serving(lambda: SMTP(recorder, hostname="localhost", **options), tls) as port:
        yield port


@asynccontextmanager
async def raw_server(
    on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    """A TCP server that is not SMTP-conformant, to see how the adapter copes."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await on_connect(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def smtp_mailer_for(port: int, **options: Any) -> SmtpMailer:
    settings: dict[str, Any] = {
        "sender": SENDER,
        "security": "none",
        "timeout_seconds": 5,
        "clock": FrozenClock(T0),
    }
    return SmtpMailer("127.0.0.1", port, **(settings | options))


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(certificate_authority: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 signed by a throwaway CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


# The port fixture, one parameter per adapter, each resolved lazily


@pytest.fixture
def memory_mailer() -> InMemoryOutbox:
    return InMemoryOutbox()


@pytest.fixture
async def smtp_mailer(recorder: Recorder) -> AsyncIterator[SmtpMailer]:
    async with smtp_server(recorder) as port:
        yield smtp_mailer_for(port)


@pytest.fixture(params=["memory", "smtp"])
def mailer(request: pytest.FixtureRequest) -> Mailer:
    adapter: Mailer = request.getfixturevalue(f"{request.param}_mailer")
    return adapter


@pytest.fixture
def delivered(mailer: Mailer, request: pytest.FixtureRequest) -> Callable[[], list[EmailMessage]]:
    """What reached the other side, in the port's terms."""
    if isinstance(mailer, InMemoryOutbox):
        return lambda: list(mailer.sent)
    recorder: Recorder = request.getfixturevalue("recorder")
    return recorder.messages


# The contract


async def test_a_sent_message_arrives_with_recipient_subject_parts_and_id(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]]
) -> None:
    message = a_message()

    await mailer.send(message)

    assert delivered() == [message]


async def test_a_text_only_message_arrives_without_html(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]]
) -> None:
    message = a_message(html=None)

    await mailer.send(message)

    assert delivered() == [message]


async def test_non_ascii_text_arrives_intact(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]]
) -> None:
    message = a_message(
        subject="Café résumé — ready ✓",
        text="Grüße, Zoë!\nLine two: 日本語",
        html="<p>Grüße, Zoë! 日本語</p>",
    )

    await mailer.send(message)

    assert delivered() == [message]


async def test_a_line_holding_only_a_dot_does_not_end_the_message(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]]
) -> None:
    message = a_message(text="first\n.\nlast", html=None)

    await mailer.send(message)

    assert delivered() == [message]


async def test_messages_arrive_in_the_order_they_were_sent(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]]
) -> None:
    first = a_message(to="ann@example.com", message_id="m-1@novapulse.test")
    second = a_message(to="bob@example.com", message_id="m-2@novapulse.test")

    await mailer.send(first)
    await mailer.send(second)

    assert delivered() == [first, second]


async def test_a_rendered_template_arrives_as_rendered(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]]
) -> None:
    variables = {"user_name": "Ann", "report_name": "Q1 <sales>", "link": "https://x.test/r/1"}
    message = render("report_ready", "ann@example.com", variables, message_id="r-1@x.test")

    await mailer.send(message)

    assert delivered() == [message]


@pytest.mark.parametrize(
    "recipient",
    ["ann", "ann@", "Ann <ann@example.com>", "ann@example.com, bob@example.com", " a@b.test"],
)
async def test_a_recipient_that_is_not_one_address_is_invalid(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]], recipient: str
) -> None:
    with pytest.raises(Invalid):
        await mailer.send(a_message(to=recipient))
    assert delivered() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hello\r\nBcc: victim@example.com"},
        {"subject": "Hello\nthere"},
        {"to": "ann@example.com\r\nBcc: victim@example.com"},
        {"message_id": "m-1@x.test\r\nBcc: victim@example.com"},
    ],
)
async def test_a_line_break_in_a_header_is_invalid_and_sends_nothing(
    mailer: Mailer, delivered: Callable[[], list[EmailMessage]], changes: dict[str, str]
) -> None:
    with pytest.raises(Invalid):
        await mailer.send(a_message(**changes))
    assert delivered() == []


# SMTP only: what goes over the wire


async def test_smtp_sends_envelope_and_headers_of_a_proper_mime_message(
    smtp_mailer: SmtpMailer, recorder: Recorder
) -> None:
    await smtp_mailer.send(a_message())

    (received,) = recorder.received
    mime = received.mime()
    assert received.envelope.mail_from == "noreply@novapulse.test"
    assert received.envelope.rcpt_tos == ["ann@example.com"]
    assert mime["From"] == SENDER
    assert mime["To"] == "ann@example.com"
    assert mime["Date"].datetime == T0
    assert mime["Message-ID"] == "<report-42@novapulse.test>"
    assert mime.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mime.iter_parts()] == ["text/plain", "text/html"]


async def test_smtp_sends_a_text_only_message_as_a_single_part(
    smtp_mailer: SmtpMailer, recorder: Recorder
) -> None:
    await smtp_mailer.send(a_message(html=None))

    assert recorder.received[0].mime().get_content_type() == "text/plain"


async def test_smtp_gives_a_message_without_id_a_fresh_one_in_the_sender_domain(
    smtp_mailer: SmtpMailer, recorder: Recorder
) -> None:
    await smtp_mailer.send(a_message(message_id=None))
    await smtp_mailer.send(a_message(message_id=None))

    ids = [str(received.mime()["Message-ID"]) for received in recorder.received]
    assert ids[0] != ids[1]
    assert all(i.startswith("<") and i.endswith("@novapulse.test>") for i in ids)


async def test_smtp_completes_a_bare_message_id_with_the_sender_domain_the_same_way_each_time(
    smtp_mailer: SmtpMailer, recorder: Recorder
) -> None:
    await smtp_mailer.send(a_message(message_id="job-7"))
    await smtp_mailer.send(a_message(message_id="<job-7>"))

    ids = [str(received.mime()["Message-ID"]) for received in recorder.received]
    assert ids == ["<job-7@novapulse.test>", "<job-7@novapulse.test>"]


def test_smtp_mailer_repr_shows_no_credentials() -> None:
    mailer = SmtpMailer("mail.test", 587, sender=SENDER, username="mailer", password="s3cret")

    assert "s3cret" not in repr(mailer)
    assert "mailer" not in repr(mailer).replace("SmtpMailer", "")


def test_smtp_mailer_needs_a_sender_address() -> None:
    with pytest.raises(ValueError, match="sender"):
        SmtpMailer("mail.test", 587, sender="NovaPulse")


# SMTP only: authentication and encryption


def accept_only(login: bytes, password: bytes) -> Callable[..., AuthResult]:
    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (login, password)
        return AuthResult(success=ok, handled=False)

    return authenticator


def requiring_auth(**options: Any) -> dict[str, Any]:
    """Server options: AUTH required, accepting only mailer / s3cret."""
    return {"authenticator": accept_only(b"mailer", b"s3cret"), "auth_required": True} | options


PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@PLAIN_AUTH
async def test_smtp_authenticates_with_username_and_password(recorder: Recorder) -> None:
    async with smtp_server(recorder, **requiring_auth(auth_require_tls=False)) as port:
        await smtp_mailer_for(port, username="mailer", password="s3cret").send(a_message())

    assert [received.authenticated for received in recorder.received] == [True]


@PLAIN_AUTH
async def test_smtp_wrong_credentials_are_unavailable_and_the_error_shows_no_secret(
    recorder: Recorder,
) -> None:
    async with smtp_server(recorder, **requiring_auth(auth_require_tls=False)) as port:
        mailer = smtp_mailer_for(port, username="mailer", password="wrong-pass")
        with pytest.raises(Unavailable) as raised:
            await mailer.send(a_message())

    assert "535" in raised.value.detail
    assert "wrong-pass" not in str(raised.value)
    assert "\n" not in raised.value.detail
    assert recorder.received == []


async def test_smtp_starttls_with_a_self_signed_certificate_when_not_validating(
    recorder: Recorder, server_tls: ssl.SSLContext
) -> None:
    async with smtp_server(recorder, tls_context=server_tls, require_starttls=True) as port:
        mailer = smtp_mailer_for(port, security="starttls", validate_certs=False)
        await mailer.send(a_message())

    assert [received.encrypted for received in recorder.received] == [True]


async def test_smtp_starttls_with_an_untrusted_certificate_is_unavailable_when_validating(
    recorder: Recorder, server_tls: ssl.SSLContext
) -> None:
    async with smtp_server(recorder, tls_context=server_tls) as port:
        mailer = smtp_mailer_for(port, security="starttls", validate_certs=True)
        with pytest.raises(Unavailable, match="TLS"):
            await mailer.send(a_message())

    assert recorder.received == []


async def test_smtp_starttls_never_falls_back_to_plain_text(recorder: Recorder) -> None:
    async with smtp_server(recorder) as port:  # offers no STARTTLS
        with pytest.raises(Unavailable, match="STARTTLS"):
            await smtp_mailer_for(port, security="starttls").send(a_message())

    assert recorder.received == []


async def test_smtp_implicit_tls_with_a_self_signed_certificate_when_not_validating(
    recorder: Recorder, server_tls: ssl.SSLContext
) -> None:
    async with smtp_server(recorder, tls=server_tls) as port:
        mailer = smtp_mailer_for(port, security="tls", validate_certs=False)
        await mailer.send(a_message())

    assert [received.encrypted for received in recorder.received] == [True]


async def test_smtp_auth_over_starttls(recorder: Recorder, server_tls: ssl.SSLContext) -> None:
    options = requiring_auth(tls_context=server_tls, require_starttls=True)
    async with smtp_server(recorder, **options) as port:
        mailer = smtp_mailer_for(
            port, security="starttls", validate_certs=False, username="mailer", password="s3cret"
        )
        await mailer.send(a_message())

    assert [(r.authenticated, r.encrypted) for r in recorder.received] == [(True, True)]


# SMTP only: refusals and failures


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("550 5.1.1 No such user", Invalid),
        ("553 5.1.3 Bad recipient address syntax", Invalid),
        ("450 4.2.1 Mailbox busy", Unavailable),
        ("451 4.3.0 Try again later", Unavailable),
    ],
)
async def test_smtp_recipient_refusals_are_invalid_for_good_and_unavailable_for_now(
    recorder: Recorder, reply: str, error: type[Exception]
) -> None:
    recorder.rcpt_replies["ann@example.com"] = reply
    async with smtp_server(recorder) as port:
        with pytest.raises(error) as raised:
            await smtp_mailer_for(port).send(a_message())

    assert reply[:3] in str(raised.value)
    assert recorder.received == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("554 5.6.0 Message rejected", Invalid),
        ("552 5.3.4 Message too big", Invalid),
        ("451 4.3.0 Local error, try again", Unavailable),
        ("421 4.3.2 Shutting down", Unavailable),
    ],
)
async def test_smtp_data_refusals_are_invalid_for_good_and_unavailable_for_now(
    recorder: Recorder, reply: str, error: type[Exception]
) -> None:
    recorder.data_reply = reply
    async with smtp_server(recorder) as port:
        with pytest.raises(error):
            await smtp_mailer_for(port).send(a_message())


async def test_smtp_a_server_busy_at_greeting_is_unavailable() -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"421 4.3.2 Too busy, come back later\r\n")
        await writer.drain()

    async with raw_server(busy) as port:
        with pytest.raises(Unavailable):
            await smtp_mailer_for(port).send(a_message())


async def test_smtp_a_server_that_never_answers_times_out_as_unavailable() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes

    async with raw_server(silent) as port:
        with pytest.raises(Unavailable):
            await smtp_mailer_for(port, timeout_seconds=0.2).send(a_message())


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (it was free a moment ago)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_smtp_a_server_that_is_not_listening_is_unavailable(closed_port: int) -> None:
    with pytest.raises(Unavailable, match="cannot be reached"):
        await smtp_mailer_for(closed_port).send(a_message())


async def test_smtp_an_unknown_host_is_unavailable() -> None:
    mailer = SmtpMailer("mail.invalid", 25, sender=SENDER, security="none", timeout_seconds=2)

    with pytest.raises(Unavailable):
        await mailer.send(a_message())


# The memory outbox as a test kit


async def test_outbox_fail_next_fails_that_many_sends_then_delivers() -> None:
    outbox = InMemoryOutbox()
    outbox.fail_next(2)

    for _ in range(2):
        with pytest.raises(Unavailable):
            await outbox.send(a_message())
    await outbox.send(a_message())

    assert outbox.sent == [a_message()]


async def test_outbox_refuses_a_refused_address_for_good_and_delivers_to_others() -> None:
    outbox = InMemoryOutbox()
    outbox.refuse("ann@example.com")

    with pytest.raises(Invalid):
        await outbox.send(a_message(to="ann@example.com"))
    await outbox.send(a_message(to="bob@example.com"))

    assert [message.to for message in outbox.sent] == ["bob@example.com"]
