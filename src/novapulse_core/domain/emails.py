"""The emails the platform sends: named templates rendered into `EmailMessage`s."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address
from string import Template
from types import MappingProxyType

from novapulse_core.domain.errors import Invalid
from novapulse_core.ports.mail import EmailMessage

__all__ = ["TEMPLATES", "EmailTemplate", "check_deliverable", "render"]


@dataclass(frozen=True)
class EmailTemplate:
    """Subject, plain text and HTML, each with `$name` placeholders (`string.Template`)."""

    subject: str
    text: str
    html: str


_SIGN_OFF_TEXT = "\n\n-- \nNovaPulse"
_SIGN_OFF_HTML = "<p>&mdash;<br>NovaPulse</p>"
_NOT_YOU = "If this was not you, tell your administrator at once."

TEMPLATES: Mapping[str, EmailTemplate] = MappingProxyType(
    {
        "welcome": EmailTemplate(
            subject="Welcome to $company_name on NovaPulse",
            text="Hello $user_name,\n\nAn account was created for you at $company_name.\n"
            "$login_hint" + _SIGN_OFF_TEXT,
            html="<p>Hello $user_name,</p><p>An account was created for you at $company_name."
            "</p><p>$login_hint</p>" + _SIGN_OFF_HTML,
        ),
        "mfa_enabled": EmailTemplate(
            subject="Two-factor sign-in is on",
            text="Hello $user_name,\n\nTwo-factor sign-in was turned on for your $company_name "
            f"account. {_NOT_YOU}" + _SIGN_OFF_TEXT,
            html="<p>Hello $user_name,</p><p>Two-factor sign-in was turned on for your "
            f"$company_name account. {_NOT_YOU}</p>" + _SIGN_OFF_HTML,
        ),
        "mfa_disabled": EmailTemplate(
            subject="Two-factor sign-in is off",
            text="Hello $user_name,\n\nTwo-factor sign-in was turned off for your $company_name "
            f"account. {_NOT_YOU}" + _SIGN_OFF_TEXT,
            html="<p>Hello $user_name,</p><p>Two-factor sign-in was turned off for your "
            f"$company_name account. {_NOT_YOU}</p>" + _SIGN_OFF_HTML,
        ),
        "report_ready": EmailTemplate(
            subject="Your report $report_name is ready",
            text="Hello $user_name,\n\nYour report $report_name is ready: $link" + _SIGN_OFF_TEXT,
            html='<p>Hello $user_name,</p><p>Your report <a href="$link">$report_name</a> is '
            "ready.</p>" + _SIGN_OFF_HTML,
        ),
    }
)
"""Every template by name. Values are escaped in the HTML body only."""


def render(
    template: str, to: str, variables: Mapping[str, str], *, message_id: str | None = None
) -> EmailMessage:
    """Fill the named template for `to`; a stable `message_id` lets a retried send be recognised.

    Raises `Invalid` for an unknown template, a missing variable or an undeliverable result.
    """
    try:
        chosen = TEMPLATES[template]
    except KeyError:
        known = ", ".join(sorted(TEMPLATES))
        raise Invalid(f"no email template named {template!r} (known: {known})") from None
    escaped = {name: html.escape(value) for name, value in variables.items()}
    message = EmailMessage(
        to=to,
        subject=_fill(template, chosen.subject, variables),
        text=_fill(template, chosen.text, variables),
        html=_fill(template, chosen.html, escaped),
        message_id=message_id,
    )
    return check_deliverable(message)


def check_deliverable(message: EmailMessage) -> EmailMessage:
    """Return the message if it can go out: one bare ASCII address, headers without line breaks.

    Raises `Invalid` otherwise; every `Mailer` adapter calls this before sending.
    """
    if not _is_address(message.to):
        raise Invalid("the recipient is not an email address", extra={"field": "to"})
    for field in ("subject", "message_id"):
        value = getattr(message, field) or ""
        if "\r" in value or "\n" in value:
            raise Invalid(f"the {field} must not contain a line break", extra={"field": field})
    return message


def _fill(template: str, text: str, variables: Mapping[str, str]) -> str:
    try:
        return Template(text).substitute(variables)
    except KeyError as missing:
        name = missing.args[0]
        raise Invalid(
            f"the email template {template!r} needs the variable {name!r}",
            extra={"field": name},
        ) from None


def _is_address(text: str) -> bool:
    """`local@domain` exactly as written: no display name, no spaces, ASCII (IDNs as punycode)."""
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, MessageError):
        return False
    return text.isascii() and address.addr_spec == text and bool(address.domain)
