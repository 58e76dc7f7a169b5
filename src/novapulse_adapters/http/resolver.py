"""Name resolution for webhooks: the SSRF guard at connect time and the lookup at creation."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.errors import Unavailable

_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class AddressRefused(OSError):
    """A host resolved to an address the SSRF policy refuses; no connection was made."""


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that hands the connector only addresses the policy accepts.

    aiohttp dials exactly the addresses its resolver returns, so checking them here checks
    the address actually dialled: a name that resolved to a public address when the endpoint
    was saved and to a private one now (DNS rebinding) is refused on this lookup. A name with
    any refused address is refused whole. `inner` does the lookup (aiohttp's default resolver
    when None, made on first use inside the running loop).
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        reason = self._policy.host_refusal(host)
        if reason is not None:
            raise AddressRefused(f"{host} is {reason}")
        if self._inner is None:
            self._inner = DefaultResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            reason = self._policy.refusal(host, address)
            if reason is not None:
                raise AddressRefused(f"{host} resolves to {reason}")
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


class SystemHostResolver:
    """`HostResolver` on the operating system's resolver: getaddrinfo on a few threads of its
    own (a name whose servers never answer holds a thread until the system gives up, and must
    not hold the threads the rest of the process shares), waited for at most `timeout` seconds.
    `lookup` replaces `socket.getaddrinfo` (tests)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        threads: int = 4,
        lookup: Callable[..., list[Any]] = socket.getaddrinfo,
    ) -> None:
        self._timeout = timeout
        self._lookup = lookup
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="novapulse-dns")

    async def resolve(self, host: str) -> Sequence[str]:
        loop = asyncio.get_running_loop()
        lookup = partial(self._lookup, host, None, type=socket.SOCK_STREAM)
        try:
            async with asyncio.timeout(self._timeout):
                infos = await loop.run_in_executor(self._pool, lookup)
        except TimeoutError:
            raise Unavailable(f"the host name {host} could not be looked up in time") from None
        except socket.gaierror as error:
            if error.errno in _NO_SUCH_NAME:
                return []
            raise Unavailable(f"the host name {host} could not be looked up now") from None
        addresses: list[str] = []
        for *_, sockaddr in infos:
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses
