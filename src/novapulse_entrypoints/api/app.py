"""The Litestar application factory: the HTTP way into a container's services."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from opentelemetry.trace import TracerProvider

from novapulse_adapters.telemetry import MetricsExporter
from novapulse_entrypoints import container as composition
from novapulse_entrypoints import observability
from novapulse_entrypoints.api.controllers import (
    AuthController,
    CompanyController,
    DepartmentController,
    HealthController,
    JobController,
    JwksController,
    MfaController,
    UserController,
    WebhookController,
    WebhookDeliveryController,
)
from novapulse_entrypoints.api.deps import SERVICES, ApiRequest, ApiServices
from novapulse_entrypoints.api.metrics import metrics_route
from novapulse_entrypoints.api.middleware import api_middleware
from novapulse_entrypoints.api.problems import EXCEPTION_HANDLERS
from novapulse_entrypoints.api.rate_limits import Budget, RateLimits, RouteLimits
from novapulse_entrypoints.api.schemas import ClosedStructSchemaPlugin
from novapulse_entrypoints.api.tracing import name_span_by_route, tracing_plugins
from novapulse_entrypoints.collector import pace_collector
from novapulse_entrypoints.container import Container, build_container
from novapulse_entrypoints.demo import seed_demo
from novapulse_entrypoints.logs import access_lines, configure_logging
from novapulse_entrypoints.pages import operator_pages
from novapulse_entrypoints.settings import Settings
from novapulse_entrypoints.tracing import enable_tracing, process_provider

log = logging.getLogger("novapulse")


def create_app(
    settings: Settings,
    container: Container | None = None,
    *,
    exporter: MetricsExporter | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Litestar:
    """Build the API over `container` (by default, one built from `settings`); its metrics go
    to `exporter` (by default, one of its own) and are served at `/metrics`; its spans go to
    `tracer_provider` (by default, the configured OTLP endpoint's; none when unset)."""
    services = container or build_container(settings)
    telemetry = exporter or observability.exporter_for(settings)
    observability.meter_rate_limiter(services, telemetry.metrics)
    observability.meter_cache(services, telemetry.metrics)
    observability.meter_webhooks(services, telemetry.metrics)
    tracing = enable_tracing(services, settings, "novapulse-api", tracer_provider)
    api = ApiServices(services)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await composition.start(services)
        telemetry.metrics.api_processes.set(1)
        if settings.embedded:
            log.warning("embedded default: data lives in this process and is NOT persisted")
        if settings.jwt_secret_generated:
            log.warning("no token signing key configured: tokens die with this process")
        workers = None
        if settings.redis_url is None and settings.embedded_workers:
            workers = services.worker_group(
                middleware=observability.job_middleware(settings, telemetry.metrics)
            )
            workers.start(loop=asyncio.get_running_loop())
            log.info("embedded workers run the four queues in this process")
        seeding = None
        if os.environ.get("NOVAPULSE_DEMO_PASSWORD"):
            seeding = await seed_demo(services, os.environ["NOVAPULSE_DEMO_PASSWORD"])
        try:
            yield
        finally:
            if seeding is not None:
                seeding.cancel()
            access_lines.flush()
            if workers is not None:
                await asyncio.to_thread(workers.stop, settings.worker_shutdown_seconds)
            await composition.stop(services)
            telemetry.close()
            if tracing is not None:
                tracing.close()

    app = Litestar(
        route_handlers=[
            HealthController,
            AuthController,
            CompanyController,
            UserController,
            DepartmentController,
            JobController,
            MfaController,
            JwksController,
            WebhookController,
            WebhookDeliveryController,
            metrics_route(
                telemetry, observability.QueueStatsScrape(services), settings.metrics_token
            ),
            operator_pages(),
        ],
        request_class=ApiRequest,
        state=State({SERVICES: api}),
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=[ClosedStructSchemaPlugin(), *tracing_plugins(tracing)],
        before_request=name_span_by_route if tracing is not None else None,
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="NovaPulse core API",
            version="0.1.0",
            path="/schema",
            # JSON only: the HTML viewers load scripts from CDNs onto this origin, where the
            # operator pages keep their tokens
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
            security=[{"BearerToken": []}],
        ),
        logging_config=None,
        debug=False,
    )
    limits = (
        RouteLimits(
            services.rate_limiter, services.token_issuer(), _rate_limits(settings), api.clients
        )
        if settings.rate_limits_enabled
        else None
    )
    app.asgi_handler = api_middleware(
        app.asgi_handler,
        telemetry.metrics,
        limits,
        trust_trace_context=settings.trust_trace_context,
    )
    return app


def _rate_limits(settings: Settings) -> RateLimits:
    def budget(name: str, spec: tuple[int, int]) -> Budget:
        return Budget(name, spec[0], timedelta(seconds=spec[1]))

    return RateLimits(
        anonymous=budget("anonymous", settings.rate_limit_anonymous),
        login=budget("login", settings.rate_limit_login),
        user=budget("user", settings.rate_limit_user),
        company=budget("company", settings.rate_limit_company),
    )


def create_app_from_env() -> Litestar:
    """Factory for ASGI servers: settings and logging from the environment."""
    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    pace_collector(settings.gc_threshold)
    return create_app(settings, tracer_provider=process_provider(settings, "novapulse-api"))
