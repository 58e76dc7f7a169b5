"""The email templates: filling, escaping, and the errors for what cannot be rendered."""

from __future__ import annotations

import pytest

from novapulse_core.domain.emails import TEMPLATES, render
from novapulse_core.domain.errors import Invalid
from novapulse_core.ports.mail import EmailMessage

VARIABLES = {
    "welcome": {
        "company_name": "Acme",
        "user_name": "Ann",
        "login_hint": "Sign in with ann@example.com.",
    },
    "mfa_enabled": {"company_name": "Acme", "user_name": "Ann"},
    "mfa_disabled": {"company_name": "Acme", "user_name": "Ann"},
    "report_ready": {"user_name": "Ann", "report_name": "Q1", "link": "https://x.test/r/1"},
}


def test_every_template_has_example_variables() -> None:
    assert set(TEMPLATES) == set(VARIABLES)


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_every_template_renders_subject_text_and_html_with_no_placeholder_left(
    name: str,
) -> None:
    message = render(name, "ann@example.com", VARIABLES[name])

    assert message.to == "ann@example.com"
    assert message.html is not None
    for part in (message.subject, message.text, message.html):
        assert part
        assert "$" not in part
    assert "Ann" in message.text
    assert "Ann" in message.html


def test_welcome_names_the_company_the_user_and_how_to_sign_in() -> None:
    message = render("welcome", "ann@example.com", VARIABLES["welcome"])

    assert message.subject == "Welcome to Acme on NovaPulse"
    assert "Hello Ann," in message.text
    assert "Sign in with ann@example.com." in message.text
    assert message.html is not None
    assert "<p>Sign in with ann@example.com.</p>" in message.html


def test_report_ready_links_the_report() -> None:
    message = render("report_ready", "ann@example.com", VARIABLES["report_ready"])

    assert message.subject == "Your report Q1 is ready"
    assert "https://x.test/r/1" in message.text
    assert message.html is not None
    assert '<a href="https://x.test/r/1">Q1</a>' in message.html


def test_mfa_notices_say_which_way_it_changed() -> None:
    enabled = render("mfa_enabled", "ann@example.com", VARIABLES["mfa_enabled"])
    disabled = render("mfa_disabled", "ann@example.com", VARIABLES["mfa_disabled"])

    assert "turned on" in enabled.text
    assert "turned off" in disabled.text


def test_values_are_escaped_in_html_and_left_alone_in_text_and_subject() -> None:
    variables = {
        "user_name": '<script>alert("hi")</script>',
        "report_name": "R&D <2026>",
        "link": 'https://x.test/r?a=1&b="2"',
    }

    message = render("report_ready", "ann@example.com", variables)

    assert message.subject == "Your report R&D <2026> is ready"
    assert '<script>alert("hi")</script>' in message.text
    assert 'https://x.test/r?a=1&b="2"' in message.text
    assert message.html is not None
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;" in message.html
    assert '<a href="https://x.test/r?a=1&amp;b=&quot;2&quot;">R&amp;D &lt;2026&gt;</a>' in (
        message.html
    )


def test_a_dollar_sign_in_a_value_is_kept_as_it_is() -> None:
    variables = VARIABLES["welcome"] | {"company_name": "$company_name $$ Inc"}

    message = render("welcome", "ann@example.com", variables)

    assert message.subject == "Welcome to $company_name $$ Inc on NovaPulse"


def test_extra_variables_are_ignored() -> None:
    variables = VARIABLES["mfa_enabled"] | {"unused": "x"}

    assert render("mfa_enabled", "ann@example.com", variables).text == (
        render("mfa_enabled", "ann@example.com", VARIABLES["mfa_enabled"]).text
    )


def test_the_message_id_is_passed_through() -> None:
    message = render("mfa_enabled", "a@x.test", VARIABLES["mfa_enabled"], message_id="m-1@x")

    assert message.message_id == "m-1@x"


def test_the_result_is_the_ports_message() -> None:
    assert isinstance(render("mfa_enabled", "a@x.test", VARIABLES["mfa_enabled"]), EmailMessage)


def test_a_missing_variable_is_invalid_and_names_the_variable_and_template() -> None:
    variables = dict(VARIABLES["report_ready"])
    del variables["link"]

    with pytest.raises(Invalid, match=r"'report_ready'.*'link'") as raised:
        render("report_ready", "ann@example.com", variables)
    assert raised.value.extra == {"field": "link"}


def test_an_unknown_template_is_invalid_and_lists_the_known_ones() -> None:
    with pytest.raises(Invalid, match=r"'goodbye'.*welcome"):
        render("goodbye", "ann@example.com", {})


def test_a_recipient_that_is_not_an_address_is_invalid() -> None:
    with pytest.raises(Invalid, match="recipient"):
        render("mfa_enabled", "not an address", VARIABLES["mfa_enabled"])


def test_a_value_that_would_break_the_subject_line_is_invalid() -> None:
    variables = VARIABLES["report_ready"] | {"report_name": "Q1\r\nBcc: victim@example.com"}

    with pytest.raises(Invalid, match="subject"):
        render("report_ready", "ann@example.com", variables)
