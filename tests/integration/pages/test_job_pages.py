"""The job queue dashboard in a browser: queue figures, dead jobs and bringing them back."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from integration.job_servers import Inbox, eventually

from .conftest import Company, sign_in

REFUSED = "550 5.1.1 No such mailbox"
"""A permanent SMTP refusal: the welcome email's job dies at its first attempt."""


def states(company: Company) -> list[str]:
    return [job["state"] for job in company.call("GET", "/api/v1/jobs?limit=200")["items"]]


def test_an_owner_sees_dead_jobs_on_the_dashboard_and_requeues_them_one_and_all(
    page: Page, company: Company, inbox: tuple[Inbox, int]
) -> None:
    smtp, _ = inbox
    eventually(lambda: states(company), lambda s: s == ["completed"], "the owner's welcome email")
    smtp.reply = REFUSED
    try:
        company.add_user(company.email("dee"), "member")
        company.add_user(company.email("dom"), "member")
        eventually(lambda: states(company), lambda s: s.count("dead") == 2, "two dead emails")
    finally:
        smtp.accept()

    sign_in(page, company.owner_email, to="/ui/jobs")
    depth = (
        page.locator("#queues table")
        .first.locator("tbody tr")
        .filter(has=page.get_by_role("rowheader", name="email", exact=True))
    )
    expect(depth.locator("td").nth(5)).to_have_text("2")  # dead on the broker
    expect(depth.locator("td").nth(11)).to_have_text("2")  # dead job records
    throughput = page.locator("#queues table").nth(1).locator("tbody tr").first
    expect(throughput).to_contain_text("%")

    page.get_by_label("State").select_option("dead")
    page.get_by_role("button", name="Show").click()
    dead = page.locator("#jobs tbody tr")
    expect(dead).to_have_count(2)
    expect(dead.first).to_contain_text("email.send")
    expect(dead.first).to_contain_text("550")

    dead.first.get_by_role("button", name="Details").click()
    detail = page.locator("#job-detail")
    expect(detail.locator("#transitions tbody tr").last).to_contain_text("dead")
    expect(detail.locator("#job-payload")).to_contain_text('"template": "welcome"')
    page.get_by_role("button", name="Requeue this job").click()
    expect(page.locator("#job-message")).to_contain_text("Requeued")
    page.get_by_label("Refresh every 5 s").check()
    expect(detail.locator("#job-facts")).to_contain_text("completed", timeout=20_000)
    expect(page.get_by_role("button", name="Requeue this job")).to_be_hidden()

    # The access token has expired (here: it is garbage): the page refreshes it and carries on.
    refresh_token = page.evaluate("sessionStorage.getItem('novapulse.refresh_token')")
    page.evaluate("sessionStorage.setItem('novapulse.access_token', 'expired')")
    page.get_by_role("button", name="Requeue all dead jobs of the email queue").click()
    expect(page.locator("#message")).to_have_text("Requeued 1 dead job(s) of the email queue.")
    assert page.evaluate("sessionStorage.getItem('novapulse.refresh_token')") != refresh_token

    eventually(lambda: states(company), lambda s: s == ["completed"] * 3, "every email sent")
    recipients: list[Any] = smtp.recipients()
    assert company.email("dee") in recipients
    assert company.email("dom") in recipients
