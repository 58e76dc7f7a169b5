"""In-memory adapters: the reference implementation of every port, and a public test kit."""

from novapulse_adapters.memory.cache import InMemoryCache
from novapulse_adapters.memory.events import InMemoryEventBus
from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.limits import InMemoryRateLimiter
from novapulse_adapters.memory.mail import InMemoryOutbox
from novapulse_adapters.memory.mfa import InMemoryMfaStore, InMemoryOtpReplayStore
from novapulse_adapters.memory.secret_box import InsecureSecretBox
from novapulse_adapters.memory.sessions import (
    InMemoryChallengeStore,
    InMemoryRefreshTokenStore,
    InMemoryTokenRevocations,
)
from novapulse_adapters.memory.stores import (
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryUserStore,
)
from novapulse_adapters.memory.system import FrozenClock, SequentialIds
from novapulse_adapters.memory.totp import StdlibTotp
from novapulse_adapters.memory.webhook_transport import (
    InMemoryWebhookTransport,
    SentRequest,
    StaticHostResolver,
)
from novapulse_adapters.memory.webhooks import (
    InMemoryWebhookDeliveryStore,
    InMemoryWebhookEndpointStore,
)

__all__ = [
    "FrozenClock",
    "InMemoryCache",
    "InMemoryChallengeStore",
    "InMemoryCompanyStore",
    "InMemoryDepartmentStore",
    "InMemoryEventBus",
    "InMemoryJobStore",
    "InMemoryMfaStore",
    "InMemoryOtpReplayStore",
    "InMemoryOutbox",
    "InMemoryRateLimiter",
    "InMemoryRefreshTokenStore",
    "InMemoryTokenRevocations",
    "InMemoryUserStore",
    "InMemoryWebhookDeliveryStore",
    "InMemoryWebhookEndpointStore",
    "InMemoryWebhookTransport",
    "InsecureSecretBox",
    "SentRequest",
    "SequentialIds",
    "StaticHostResolver",
    "StdlibTotp",
]
