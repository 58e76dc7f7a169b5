"""An in-process event bus: subscribers are called in order, failures are counted, not raised."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable

from novapulse_core.domain.events import DomainEvent

Subscriber = Callable[[DomainEvent], Awaitable[None]]

log = logging.getLogger(__name__)


class InMemoryEventBus:
    """Keeps the last `keep` events in `published` for tests to read."""

    def __init__(self, keep: int = 10_000) -> None:
        self.published: deque[DomainEvent] = deque(maxlen=keep)
        self.subscriber_failures = 0
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: DomainEvent) -> None:
        self.published.append(event)
        for subscriber in self._subscribers:
            try:
                await subscriber(event)
            except Exception:
                self.subscriber_failures += 1
                log.exception("event subscriber failed", extra={"event_type": event.type})

    def types(self) -> list[str]:
        """The types of the events published so far, in order (a test helper)."""
        return [event.type for event in self.published]
