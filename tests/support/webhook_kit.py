"""Webhooks wired on the memory adapters and a frozen clock; the test plays the worker."""

from __future__ import annotations

from datetime import timedelta

from novapulse_adapters.memory import (
    FrozenClock,
    InMemoryEventBus,
    InMemoryJobStore,
    InMemoryWebhookDeliveryStore,
    InMemoryWebhookEndpointStore,
    InMemoryWebhookTransport,
    InsecureSecretBox,
    SequentialIds,
    StaticHostResolver,
)
from novapulse_adapters.memory.queue import InMemoryJobQueue
from novapulse_core.domain.access import Principal
from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.identity import Role
from novapulse_core.domain.jobs import DEFAULT_POLICIES, Job, QueueName
from novapulse_core.domain.webhooks import CreatedEndpoint, WebhookPolicy
from novapulse_core.ports.webhooks import WebhookTransport
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.job_runner import GiveUp, JobRunner, LifecycleRecorder, RetryLater
from novapulse_core.services.jobs import JobService
from novapulse_core.services.tasks import TaskRegistry
from novapulse_core.services.webhook_delivery import WebhookDeliverer
from novapulse_core.services.webhook_dispatch import (
    DELIVER_WEBHOOK,
    UrlGuard,
    WebhookDispatcher,
    WebhookFanOut,
    WebhookSecrets,
)
from novapulse_core.services.webhooks import WebhookService

ADMIN = Principal(user_id="u-admin", company_id="co-a", role=Role.ADMIN)
OTHER_ADMIN = Principal(user_id="u-other", company_id="co-b", role=Role.ADMIN)
MANAGER = Principal(user_id="u-manager", company_id="co-a", role=Role.MANAGER)
RECEIVER = "https://hooks.example.com/novapulse"
PUBLIC_ADDRESS = "93.184.216.34"
HOSTS = {
    "hooks.example.com": [PUBLIC_ADDRESS, "2606:2800:220:1:248:1893:25c8:1946"],
    "other.example.org": ["151.101.1.69"],
    "intranet.example.com": ["10.1.2.3"],
    "mixed.example.com": [PUBLIC_ADDRESS, "192.168.1.10"],
}


class Webhooks:
    """The webhook services, their stores and the job machinery. Deliveries go through
    `transport` when given, else through the scripted memory transport `self.transport`."""

    def __init__(
        self,
        policy: WebhookPolicy | None = None,
        *,
        transport: WebhookTransport | None = None,
        clock: FrozenClock | None = None,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.policy = policy or WebhookPolicy()
        self.clock = clock or FrozenClock()
        self.ids = SequentialIds("id")
        self.events = InMemoryEventBus()
        self.announcer = Announcer(self.events, self.ids, self.clock)
        self.endpoint_store = InMemoryWebhookEndpointStore()
        self.delivery_store = InMemoryWebhookDeliveryStore(self.clock, timedelta(days=30))
        self.transport = InMemoryWebhookTransport()
        self.resolver = StaticHostResolver(HOSTS)
        self.secrets = WebhookSecrets(InsecureSecretBox())
        self.job_store = InMemoryJobStore(self.clock, retention=timedelta(days=7))
        self.queue = InMemoryJobQueue()
        self.tasks = TaskRegistry()
        self.jobs = JobService(
            self.job_store,
            self.queue,
            self.tasks,
            SequentialIds("job"),
            self.clock,
            DEFAULT_POLICIES,
        )
        self.dispatcher = WebhookDispatcher(
            self.delivery_store, self.jobs, self.ids, self.clock, policy=self.policy
        )
        self.service = WebhookService(
            self.endpoint_store,
            self.delivery_store,
            UrlGuard(self.resolver, addresses or AddressPolicy()),
            self.secrets,
            self.dispatcher,
            self.ids,
            self.clock,
            self.announcer,
            policy=self.policy,
        )
        self.deliverer = WebhookDeliverer(
            self.endpoint_store,
            self.delivery_store,
            transport or self.transport,
            self.secrets,
            self.announcer,
            self.ids,
            self.clock,
            policy=self.policy,
        )
        self.tasks.register(DELIVER_WEBHOOK, QueueName.WEBHOOK, self.deliverer.deliver)
        self.events.subscribe(WebhookFanOut(self.endpoint_store, self.dispatcher))
        self.recorder = LifecycleRecorder(self.job_store)
        self.runner = JobRunner(
            self.tasks, self.recorder, self.clock, DEFAULT_POLICIES, spread=lambda: 0.0
        )
        self.waits: list[float] = []

    async def endpoint(
        self,
        url: str = RECEIVER,
        *,
        actor: Principal = ADMIN,
        types: tuple[str, ...] = ("user.created",),
    ) -> CreatedEndpoint:
        """An endpoint subscribed to `types` (pass () for every event)."""
        return await self.service.create(actor, url=url, event_types=types)

    async def user_created(self, company_id: str = "co-a", user_id: str = "u-1") -> None:
        await self.announcer.announce("user.created", company_id, user_id=user_id)

    async def work(self) -> list[Job]:
        """Run every waiting job to its end as a worker would, retries after their delay
        (the clock moves by it); returns the jobs as stored afterwards."""
        finished = []
        while self.queue.waiting:
            message = self.queue.take()
            retries = 0
            while True:
                outcome = await self.runner.run(
                    message.job.id,
                    message.job.task,
                    message.job.payload,
                    attempt=message.attempt_offset + retries + 1,
                    retries=retries,
                )
                if isinstance(outcome, RetryLater):
                    self.waits.append(outcome.delay_seconds)
                    self.clock.advance(outcome.delay_seconds)
                    retries += 1
                    continue
                if isinstance(outcome, GiveUp):
                    self.queue.kill(message)
                break
            finished.append(await self.job_store.get(message.job.id))
        return finished
