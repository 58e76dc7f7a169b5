"""Ports: the Protocols the services depend on. Each docstring is the contract its tests check."""

from novapulse_core.ports.cache import Cache
from novapulse_core.ports.events import EventPublisher
from novapulse_core.ports.jobs import JobQueue, JobStore
from novapulse_core.ports.limits import RateLimiter
from novapulse_core.ports.mail import EmailMessage, Mailer
from novapulse_core.ports.mfa import MfaStore, OtpReplayStore, SecretBox, Totp
from novapulse_core.ports.security import PasswordHasher, TokenIssuer
from novapulse_core.ports.sessions import ChallengeStore, RefreshTokenStore, TokenRevocations
from novapulse_core.ports.stores import CompanyStore, DepartmentStore, UserStore
from novapulse_core.ports.system import Clock, IdGenerator
from novapulse_core.ports.webhooks import (
    EnvelopeEncoder,
    HostResolver,
    WebhookDeliveryStore,
    WebhookEndpointStore,
    WebhookTransport,
)

__all__ = [
    "Cache",
    "ChallengeStore",
    "Clock",
    "CompanyStore",
    "DepartmentStore",
    "EmailMessage",
    "EnvelopeEncoder",
    "EventPublisher",
    "HostResolver",
    "IdGenerator",
    "JobQueue",
    "JobStore",
    "Mailer",
    "MfaStore",
    "OtpReplayStore",
    "PasswordHasher",
    "RateLimiter",
    "RefreshTokenStore",
    "SecretBox",
    "TokenIssuer",
    "TokenRevocations",
    "Totp",
    "UserStore",
    "WebhookDeliveryStore",
    "WebhookEndpointStore",
    "WebhookTransport",
]
