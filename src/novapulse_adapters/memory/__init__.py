"""In-memory adapters: the reference implementation of every port, and a public test kit."""

from novapulse_adapters.memory.events import InMemoryEventBus
from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.mail import InMemoryOutbox
from novapulse_adapters.memory.stores import (
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryUserStore,
)
from novapulse_adapters.memory.system import FrozenClock, SequentialIds

__all__ = [
    "FrozenClock",
    "InMemoryCompanyStore",
    "InMemoryDepartmentStore",
    "InMemoryEventBus",
    "InMemoryJobStore",
    "InMemoryOutbox",
    "InMemoryUserStore",
    "SequentialIds",
]
