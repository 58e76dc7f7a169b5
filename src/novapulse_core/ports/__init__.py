"""Ports: the Protocols the services depend on. Each docstring is the contract its tests check."""

from novapulse_core.ports.events import EventPublisher
from novapulse_core.ports.security import PasswordHasher, TokenIssuer
from novapulse_core.ports.stores import CompanyStore, DepartmentStore, UserStore
from novapulse_core.ports.system import Clock, IdGenerator

__all__ = [
    "Clock",
    "CompanyStore",
    "DepartmentStore",
    "EventPublisher",
    "IdGenerator",
    "PasswordHasher",
    "TokenIssuer",
    "UserStore",
]
