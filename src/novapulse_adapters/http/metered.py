"""A `WebhookTransport` that reports each attempt's outcome and latency to a meter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from novapulse_core.domain.webhooks import FailureKind, TransportResult
from novapulse_core.ports.webhooks import WebhookTransport


class DeliveryMeter(Protocol):
    def webhook_delivery(self, outcome: str, seconds: float) -> None: ...


_FAILURES = {
    FailureKind.TIMEOUT: "timeout",
    FailureKind.CONNECTION: "unreachable",
    FailureKind.REFUSED_ADDRESS: "blocked",
}


def delivery_outcome(result: TransportResult) -> str:
    """`delivered` (2xx), `rejected` (another status), or why no answer came."""
    if result.failure is not None:
        return _FAILURES[result.failure]
    return "delivered" if result.succeeded else "rejected"


class MeteredWebhookTransport:
    """Wraps a transport; once `meter` is set (a worker process with metrics sets it), every
    attempt is reported there. Made before the meter exists, so the services built from it
    need not be rebuilt."""

    def __init__(self, inner: WebhookTransport, meter: DeliveryMeter | None = None) -> None:
        self._inner = inner
        self.meter = meter

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResult:
        result = await self._inner.send(url, body, headers)
        if self.meter is not None:
            self.meter.webhook_delivery(delivery_outcome(result), result.latency_ms / 1000)
        return result

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()
