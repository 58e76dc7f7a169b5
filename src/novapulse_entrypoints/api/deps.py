"""What handlers get from their request (`ApiRequest`, the app's `request_class`): the app's
services, built once, and the caller of the request.

Handlers ask the request, not Litestar's dependency injection: resolving named dependencies
and validating them through the handler's signature model costs more than a cached read.
A route that reads input asks who calls before Litestar validates the input (its
`before_request` is `caller_first` or `bearer_first`), as the dependencies did: a request
without valid credentials gets 401, not a 400 for its input.

A handler with no other input takes no parameter at all and reads its request with
`current_request()`: Litestar validates a handler's parameters on every call, which costs about
4 us for a lone `request` (a tenth of `GET /company/stats`). Handlers with input take `request`
as a parameter: their validation runs anyway.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cached_property
from typing import Any, cast

from litestar import Request
from litestar.connection.base import empty_receive, empty_send
from litestar.exceptions import SerializationException
from litestar.types import Receive, Scope, Send

from novapulse_adapters.crypto import JwtTokenIssuer
from novapulse_core.domain.access import Principal
from novapulse_core.domain.auth import AccessClaims
from novapulse_core.domain.errors import Unauthenticated
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    UserService,
)
from novapulse_core.services.cache_invalidation import CacheAdmin
from novapulse_core.services.cached import CachedMembers, CachedProfiles, CachedStats
from novapulse_core.services.jobs import JobService
from novapulse_core.services.mfa import MfaService
from novapulse_core.services.webhooks import WebhookService
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.api.clients import ClientAddresses
from novapulse_entrypoints.api.rate_limits import VERIFIED_CLAIMS
from novapulse_entrypoints.container import Container, ReadinessProbe
from novapulse_entrypoints.settings import Settings

SERVICES = "novapulse.services"
"""The key of the app's `ApiServices` in `app.state`."""

MAX_TOKEN_LENGTH = 4096


class ApiServices:
    """The container's services as the API uses them, each built at its first use and kept
    (the container's are singletons: this only saves asking it on every request)."""

    def __init__(self, container: Container) -> None:
        self._container = container

    @cached_property
    def settings(self) -> Settings:
        return self._container.settings()

    @cached_property
    def auth(self) -> AuthService:
        return self._container.auth()

    @cached_property
    def companies(self) -> CompanyService:
        return self._container.companies()

    @cached_property
    def users(self) -> UserService:
        return self._container.users()

    @cached_property
    def departments(self) -> DepartmentService:
        return self._container.departments()

    @cached_property
    def stats(self) -> CachedStats:
        return self._container.cached_stats()

    @cached_property
    def profiles(self) -> CachedProfiles:
        return self._container.cached_profiles()

    @cached_property
    def members(self) -> CachedMembers:
        return self._container.cached_members()

    @cached_property
    def cache_admin(self) -> CacheAdmin:
        return self._container.cache_admin()

    @cached_property
    def jobs(self) -> JobService:
        return self._container.jobs()

    @cached_property
    def probes(self) -> dict[str, ReadinessProbe]:
        return composition.readiness_probes(self._container)

    @cached_property
    def mfa(self) -> MfaService:
        return self._container.mfa()

    @cached_property
    def tokens(self) -> JwtTokenIssuer:
        return self._container.token_issuer()

    @cached_property
    def clients(self) -> ClientAddresses:
        return ClientAddresses(self.settings.trusted_proxies)

    @cached_property
    def webhooks(self) -> WebhookService:
        return self._container.webhooks()


class ApiRequest(Request[Any, Any, Any]):
    """A request to the API, with what its handlers need from it."""

    _caller: Principal | None = None

    def __init__(
        self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send
    ) -> None:
        super().__init__(scope, receive, send)
        CURRENT_REQUEST.set(self)

    @property
    def services(self) -> ApiServices:
        """The app's services (`app.state[SERVICES]`, stored once by `create_app`)."""
        services: ApiServices = self.app.state[SERVICES]
        return services

    async def json(self) -> Any:
        """Litestar's, with a body that is not UTF-8 refused as malformed JSON (400): msgspec
        raises `UnicodeDecodeError` for it, which Litestar would answer with a 500."""
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise SerializationException("the request body is not valid UTF-8") from None

    async def caller(self) -> Principal:
        """Who sends the request, from its bearer token (`Unauthenticated` without a valid one);
        authenticated once per request."""
        if self._caller is None:
            auth = self.services.auth
            claims = cast("AccessClaims | None", self.scope.get(VERIFIED_CLAIMS))
            if claims is None:
                self._caller = await auth.authenticate(self.bearer)
            else:  # the rate limits verified the token already
                self._caller = await auth.authenticate_verified(claims)
        return self._caller

    async def enrolling(self) -> Principal:
        """Like `caller`, but an enrol-only token passes too (the MFA setup routes)."""
        return await self.services.auth.authenticate_for_enrollment(self.bearer)

    @property
    def bearer(self) -> str:
        """The raw bearer token of the request (`Unauthenticated` when there is none)."""
        header = _authorization(self.scope["headers"])
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send an access token as 'Authorization: Bearer <token>'")
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("the access token is invalid")
        return token

    @property
    def client_address(self) -> str | None:
        """The key brute-force limits count the client under (see `api.clients`); None when
        the server does not tell the peer."""
        return self.services.clients.of(self.scope)


CURRENT_REQUEST: ContextVar[ApiRequest | None] = ContextVar("novapulse.api.request", default=None)
"""The request Litestar made for the route being handled (the last one made in this context:
each request runs in a task, or a thread, with a context of its own). The API's middleware
sets it back when the request is answered, so a caller running the app in its own task (an
in-process ASGI client) is not left holding the finished request."""


def current_request() -> ApiRequest:
    """The request being handled, for a handler that takes no parameter (see above)."""
    request = CURRENT_REQUEST.get()
    if request is None:
        raise RuntimeError("current_request() is only for API route handlers")
    return request


def _authorization(headers: Any) -> str:
    """The first `Authorization` header, read from the raw ASGI headers (building Litestar's
    `Headers` for one value costs more than the lookup)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            return str(value.decode("latin-1"))
    return ""


async def caller_first(request: Request[Any, Any, Any]) -> None:
    """`before_request` of the routes that read input and need a caller: `caller()` before
    Litestar validates the input, so a request without a valid token gets 401, not a 400."""
    if await _caller_is_asked(request):
        await cast(ApiRequest, request).caller()


async def bearer_first(request: Request[Any, Any, Any]) -> None:
    """`before_request` of the routes that read input and hand their token to a service: a
    request without a bearer token gets 401 before Litestar validates the input."""
    if await _caller_is_asked(request):
        _ = cast(ApiRequest, request).bearer


async def _caller_is_asked(request: Request[Any, Any, Any]) -> bool:
    """What Litestar does before it validates a handler's input, so that only the 400s and 413s
    it answers before asking who calls come before a 401: the app's own `before_request`
    (Litestar runs only the nearest one), then reading the JSON body (too large: 413) and
    decoding it (not JSON: False, and Litestar answers 400 as it decodes it again). Never for
    OPTIONS, which Litestar answers itself: a CORS preflight sends no token."""
    if request.app.before_request is not None:
        await request.app.before_request(request)
    if request.method == "OPTIONS":
        return False
    if "data" in request.route_handler.parsed_fn_signature.parameters and await request.body():
        try:
            await request.json()
        except SerializationException:
            return False
    return True
