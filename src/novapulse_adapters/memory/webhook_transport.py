"""A webhook transport that records requests and answers from a script, and a fixed resolver."""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import attrs

from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.webhooks import FailureKind, TransportResult


@attrs.frozen
class SentRequest:
    url: str
    body: bytes = attrs.field(repr=False)
    headers: Mapping[str, str] = attrs.field(repr=False)


class InMemoryWebhookTransport:
    """`WebhookTransport` that sends nothing: each request lands in `sent`, and the answer is
    the next one scripted with `will_answer` (a status code or a whole `TransportResult`),
    or `default` when the script is empty.

    Given `resolve` (host name to addresses) and a `policy`, it also plays the connect-time
    SSRF check: a URL whose host (or its addresses) the policy refuses is answered with a
    `refused-address` failure and not recorded as sent.
    """

    def __init__(
        self,
        default: TransportResult | None = None,
        *,
        policy: AddressPolicy | None = None,
        resolve: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.sent: list[SentRequest] = []
        self.default = default or TransportResult.answered(200)
        self._script: deque[TransportResult] = deque()
        self._policy = policy
        self._resolve = dict(resolve or {})

    def will_answer(self, *answers: int | TransportResult) -> None:
        for answer in answers:
            self._script.append(
                TransportResult.answered(answer) if isinstance(answer, int) else answer
            )

    def will_time_out(self, count: int = 1) -> None:
        self.will_answer(
            *[TransportResult.failed(FailureKind.TIMEOUT, "no answer within the read timeout")]
            * count
        )

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResult:
        refused = self._refusal(url)
        if refused is not None:
            return TransportResult.failed(FailureKind.REFUSED_ADDRESS, refused)
        self.sent.append(SentRequest(url, body, dict(headers)))
        return self._script.popleft() if self._script else self.default

    def _refusal(self, url: str) -> str | None:
        if self._policy is None:
            return None
        host = (urlsplit(url).hostname or "").lower()
        for raw in self._resolve.get(host, [host]):
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                continue
            reason = self._policy.refusal(host, address)
            if reason is not None:
                return f"{host} resolves to {address}, {reason}"
        return None


class StaticHostResolver:
    """`HostResolver` from a fixed table (no DNS); unknown names do not exist."""

    def __init__(self, table: Mapping[str, Sequence[str]] | None = None) -> None:
        self._table = {host.lower(): list(addresses) for host, addresses in (table or {}).items()}

    def set(self, host: str, *addresses: str) -> None:
        self._table[host.lower()] = list(addresses)

    async def resolve(self, host: str) -> Sequence[str]:
        return list(self._table.get(host.lower(), []))
