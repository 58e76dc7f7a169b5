"""Where services announce domain events."""

from __future__ import annotations

from typing import Protocol

from novapulse_core.domain.events import DomainEvent


class EventPublisher(Protocol):
    """Delivers each published event to every subscriber, in publication order.

    A subscriber's failure must not undo the change that raised the event, nor stop the others.
    """

    async def publish(self, event: DomainEvent) -> None: ...
