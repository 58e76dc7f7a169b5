"""`WebhookTransport` on aiohttp: one pooled session, timeouts, no redirects, SSRF guard."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections.abc import Mapping

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from novapulse_adapters.http.resolver import AddressRefused, GuardedResolver
from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.webhooks import FailureKind, TransportResult

USER_AGENT = "NovaPulse-Webhooks/1"
MAX_ERROR_LENGTH = 300
_URL_SECRETS = re.compile(r"(https?://)(?:[^/\s'\"@]*@)?([^\s'\"?#]*)(?:[?#][^\s'\"]*)?")
"""A URL in an error's text: its scheme, user info, host and path, query and fragment (aiohttp
names the URL in some errors; receivers put tokens in its user info and query)."""
MAX_REMEMBERED_URLS = 10_000
"""URLs whose literal-address verdict is kept (the policy is fixed, so the verdict is too)."""


class AiohttpWebhookTransport:
    """POSTs deliveries through one `aiohttp.ClientSession` and its connection pool.

    The session is made on the first `send`, on the running loop, and serves that loop only:
    make one transport per event loop (a worker process has one) and `aclose` it at the end.
    `connect_timeout` bounds making the connection, `read_timeout` each wait for data, and
    `total_timeout` the whole request. Redirects are not followed (a 3xx is the answer);
    `max_response_bytes` of the response body are read and kept as the excerpt, the rest is
    dropped with the connection. Proxies from the environment are ignored, and cookies are
    neither kept nor sent (endpoints of different companies can share a host).

    SSRF: host names go through a `GuardedResolver` on `policy`, so the addresses the
    connector dials are the ones checked; IP literals (which aiohttp does not resolve) are
    checked here before dialling. `resolver` replaces the system lookup under the guard
    (tests use a fixed table).
    """

    def __init__(
        self,
        policy: AddressPolicy | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        total_timeout: float = 30.0,
        max_response_bytes: int = 2048,
        pool_size: int = 100,
        pool_size_per_host: int = 0,
        resolver: AbstractResolver | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._policy = policy or AddressPolicy()
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._max_response_bytes = max_response_bytes
        self._pool_size = pool_size
        self._pool_size_per_host = pool_size_per_host
        self._resolver = resolver
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._refusals: dict[str, str | None] = {}

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResult:
        try:
            refused = self._refusals[url]
        except KeyError:
            refused = self._literal_refusal(url)
            if len(self._refusals) >= MAX_REMEMBERED_URLS:
                self._refusals.clear()
            self._refusals[url] = refused
        if refused is not None:
            return TransportResult.failed(FailureKind.REFUSED_ADDRESS, refused)
        session = self._open()
        started = time.perf_counter()
        try:
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                excerpt = await self._read_excerpt(response)
                return TransportResult.answered(
                    response.status,
                    latency_ms=_since(started),
                    excerpt=excerpt.decode("utf-8", errors="replace"),
                    retry_after=response.headers.get("Retry-After"),
                )
        except TimeoutError as error:
            return _failed(FailureKind.TIMEOUT, _timeout_text(error), started)
        except (aiohttp.ClientError, OSError) as error:
            refusal = _refusal_in(error)
            if refusal is not None:
                return _failed(FailureKind.REFUSED_ADDRESS, str(refusal), started)
            return _failed(FailureKind.CONNECTION, _error_text(error), started)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AiohttpWebhookTransport:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                limit_per_host=self._pool_size_per_host,
                resolver=GuardedResolver(self._policy, self._resolver),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"User-Agent": self._user_agent},
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _read_excerpt(self, response: aiohttp.ClientResponse) -> bytes:
        kept = bytearray()
        while len(kept) < self._max_response_bytes:
            chunk = await response.content.read(self._max_response_bytes - len(kept))
            if not chunk:
                break
            kept += chunk
        return bytes(kept)

    def _literal_refusal(self, url: str) -> str | None:
        """Check a host aiohttp would dial without resolving it (an IP literal)."""
        try:
            parsed = URL(url)
        except ValueError:
            return "the URL cannot be parsed"
        if parsed.scheme not in ("http", "https"):
            return f"the scheme {parsed.scheme!r} is not http or https"
        host = (parsed.raw_host or "").strip("[]")
        if not (":" in host or host.replace(".", "").isdigit()):
            return None  # a name: the guarded resolver checks what it resolves to
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return f"{host} is not a canonical IP address"
        reason = self._policy.refusal(host, address)
        return None if reason is None else f"{host} is {reason}"


def _refusal_in(error: BaseException) -> AddressRefused | None:
    """The guard's refusal, wherever aiohttp wrapped it."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, AddressRefused):
            return seen
        inner = getattr(seen, "os_error", None)
        if isinstance(inner, AddressRefused):
            return inner
        seen = seen.__cause__ or seen.__context__
    return None


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(kind: FailureKind, error: str, started: float) -> TransportResult:
    return TransportResult.failed(kind, error[:MAX_ERROR_LENGTH], latency_ms=_since(started))


def _timeout_text(error: BaseException) -> str:
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return "the connection could not be made within the connect timeout"
    if isinstance(error, aiohttp.SocketTimeoutError):
        return "no answer within the read timeout"
    if isinstance(error, asyncio.TimeoutError):
        return "the request did not finish within the total timeout"
    return str(error)


def _error_text(error: BaseException) -> str:
    """The error's type and text, any URL in it without user info, query and fragment."""
    text = _URL_SECRETS.sub(r"\1\2", str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
