"""Ports: the Protocols the services depend on. Each docstring is the contract its tests check."""

from novapulse_core.ports.events import EventPublisher
from novapulse_core.ports.jobs import JobQueue, JobStore
from novapulse_core.ports.mail import EmailMessage, Mailer
from novapulse_core.ports.security import PasswordHasher, TokenIssuer
from novapulse_core.ports.stores import CompanyStore, DepartmentStore, UserStore
from novapulse_core.ports.system import Clock, IdGenerator

__all__ = [
    "Clock",
    "CompanyStore",
    "DepartmentStore",
    "EmailMessage",
    "EventPublisher",
    "IdGenerator",
    "JobQueue",
    "JobStore",
    "Mailer",
    "PasswordHasher",
    "TokenIssuer",
    "UserStore",
]
