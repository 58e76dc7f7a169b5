"""Turns "this happened" into a published domain event stamped with id, time and request id."""

from __future__ import annotations

from novapulse_core import context
from novapulse_core.domain.events import DomainEvent
from novapulse_core.ports import Clock, EventPublisher, IdGenerator


class Announcer:
    def __init__(self, publisher: EventPublisher, ids: IdGenerator, clock: Clock) -> None:
        self._publisher = publisher
        self._ids = ids
        self._clock = clock

    async def announce(self, event_type: str, company_id: str, **data: object) -> DomainEvent:
        event = DomainEvent(
            id=self._ids.new_id(),
            type=event_type,
            company_id=company_id,
            occurred_at=self._clock.now(),
            data=data,
            request_id=context.request_id.get(),
        )
        await self._publisher.publish(event)
        return event
