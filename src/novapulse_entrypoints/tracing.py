"""Turning tracing on in a process: the tracer provider, the container's tracer, traced stores.

Nothing here runs at import: the API app and `novapulse worker` call it as they start.
"""

from __future__ import annotations

from dependency_injector import providers
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from novapulse_adapters.telemetry.tracing import (
    TracedStore,
    build_tracer_provider,
    install_globally,
)
from novapulse_entrypoints.container import Container
from novapulse_entrypoints.settings import Settings

STORES = {
    "company_store": "CompanyStore",
    "user_store": "UserStore",
    "department_store": "DepartmentStore",
    "mfa_store": "MfaStore",
    "refresh_tokens": "RefreshTokenStore",
    "job_store": "JobStore",
    "webhook_endpoint_store": "WebhookEndpointStore",
    "webhook_delivery_store": "WebhookDeliveryStore",
}
"""The container's store slots whose calls get spans, and the port each one binds."""


class Tracing:
    """The provider a process's spans go to; `close` flushes them (and shuts the provider
    down when it was built from the settings rather than handed in)."""

    def __init__(self, provider: trace.TracerProvider, *, owned: bool) -> None:
        self.provider = provider
        self._owned = owned

    def close(self) -> None:
        if isinstance(self.provider, TracerProvider):
            if self._owned:
                self.provider.shutdown()
            else:
                self.provider.force_flush()


def process_provider(settings: Settings, service_name: str) -> TracerProvider | None:
    """For a process's entry point: the provider exporting to the configured OTLP endpoint,
    installed as the global one; None (and nothing installed) when no endpoint is set."""
    if settings.otlp_traces_url is None:
        return None
    provider = build_tracer_provider(service_name, otlp_traces_url=settings.otlp_traces_url)
    install_globally(provider)
    return provider


def enable_tracing(
    container: Container,
    settings: Settings,
    service_name: str,
    provider: trace.TracerProvider | None = None,
) -> Tracing | None:
    """Trace the container's work on `provider`; by default one exporting to the configured
    endpoint, else the global one when the embedding process installed an SDK provider.
    None when tracing is off: nothing is wrapped and nothing is exported."""
    owned = False
    if provider is None and settings.otlp_traces_url is not None:
        provider = build_tracer_provider(service_name, otlp_traces_url=settings.otlp_traces_url)
        owned = True
    if provider is None and isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = trace.get_tracer_provider()
    if provider is None:
        return None
    container.tracer_provider.override(providers.Object(provider))
    tracer = container.tracer()
    for slot, port in STORES.items():
        store = getattr(container, slot)()
        if not isinstance(store, TracedStore):
            getattr(container, slot).override(providers.Object(TracedStore(store, tracer, port)))
    return Tracing(provider, owned=owned)
