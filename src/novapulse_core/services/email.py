"""Email as a background job: the `email.send` task and the welcome message on sign-up."""

from __future__ import annotations

from collections.abc import Mapping

from novapulse_core.domain import events
from novapulse_core.domain.emails import render
from novapulse_core.domain.errors import Invalid
from novapulse_core.domain.events import DomainEvent
from novapulse_core.ports import CompanyStore, IdGenerator, Mailer, UserStore
from novapulse_core.services.jobs import JobService

SEND_EMAIL = "email.send"


class EmailService:
    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer

    async def send(self, payload: Mapping[str, object]) -> None:
        """Handler of `email.send`: payload `template`, `to`, `variables`, `message_id`.

        The Message-ID is fixed at enqueue time, so a retried send is the same message to the
        receiving side (delivery is at least once)."""
        template, to, variables = (
            payload.get("template"),
            payload.get("to"),
            payload.get("variables"),
        )
        if (
            not isinstance(template, str)
            or not isinstance(to, str)
            or not isinstance(variables, dict)
        ):
            raise Invalid("an email job needs a template, a recipient and variables")
        message_id = payload.get("message_id")
        message = render(
            template,
            to,
            {str(k): str(v) for k, v in variables.items()},
            message_id=message_id if isinstance(message_id, str) else None,
        )
        await self._mailer.send(message)


class WelcomeEmails:
    """Subscriber: every `user.created` enqueues a welcome email to the new user."""

    def __init__(
        self, jobs: JobService, companies: CompanyStore, users: UserStore, ids: IdGenerator
    ) -> None:
        self._jobs = jobs
        self._companies = companies
        self._users = users
        self._ids = ids

    async def __call__(self, event: DomainEvent) -> None:
        if event.type != events.USER_CREATED:
            return
        user = await self._users.get(event.company_id, str(event.data["user_id"]))
        company = await self._companies.get(event.company_id)
        await self._jobs.enqueue(
            SEND_EMAIL,
            {
                "template": "welcome",
                "to": user.email,
                "variables": {
                    "user_name": user.name,
                    "company_name": company.name,
                    "login_hint": f"Sign in with {user.email} and the password you were given.",
                },
                "message_id": f"<{self._ids.new_id()}@novapulse>",
            },
            company_id=event.company_id,
        )
