"""Liveness and readiness for the load balancer (seed, "Health Checks")."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get

from novapulse_entrypoints.api.deps import current_request
from novapulse_entrypoints.api.problems import PUBLIC
from novapulse_entrypoints.container import ReadinessProbe

PROBE_TIMEOUT_SECONDS = 2.0


async def _check(probe: ReadinessProbe) -> bool:
    try:
        return await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS)
    except Exception:
        return False


class HealthController(Controller):
    path = "/api/v1/health"
    tags = ["health"]

    @get("/live", operation_id="health-live", summary="The process is up", security=PUBLIC)
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="health-ready",
        security=PUBLIC,
        summary="Every configured backend answers (503 names the ones that do not)",
    )
    async def ready(self) -> Response[dict[str, object]]:
        request = current_request()
        probes = request.services.probes
        names = list(probes)
        results = await asyncio.gather(*(_check(probes[name]) for name in names))
        checks = {name: "up" if ok else "down" for name, ok in zip(names, results, strict=True)}
        down = sorted(name for name, state in checks.items() if state == "down")
        body: dict[str, object] = {"status": "unavailable" if down else "ok", "checks": checks}
        if down:
            body["down"] = down
        return Response(body, status_code=503 if down else 200)
