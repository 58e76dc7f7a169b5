"""deploy/: the alerting rules and the Grafana dashboard read only metrics NovaPulse exports
(or node_exporter's host metrics, named here), and promtool accepts them where it is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from litestar.testing import TestClient

from novapulse_adapters.telemetry import JobOutcome, MetricsExporter, WebhookOutcome
from novapulse_entrypoints.api import create_app
from support.metrics import Scrape, exported_names, node_exporter_names

from .conftest import make_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboard.json"

NODE_EXPORTER = {
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
}
"""The host metrics of the CPU and memory alerts: node_exporter's, not ours."""


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in _panels(dashboard) for t in p.get("targets", [])]


def alert_exprs() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def scrape() -> Scrape:
    """A scrape of the app after every kind of figure was recorded once."""
    exporter = MetricsExporter()
    metrics = exporter.metrics
    metrics.cache_lookup("user_profile", hit=True)
    metrics.rate_limit_failed_open("auth:password")
    metrics.webhook_delivery(WebhookOutcome.DELIVERED, 0.1)
    metrics.job_attempt("email", JobOutcome.COMPLETED, 0.1)
    with TestClient(create_app(make_settings(), exporter=exporter)) as client:
        client.post("/api/v1/auth/login", json={"email": "a@b.example", "password": "nope"})
        return Scrape.parse(client.get("/metrics").text)


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_metric_read_is_one_novapulse_exports_or_a_named_host_metric(
    scrape: Scrape, source: str
) -> None:
    exprs = dashboard_exprs() if source == "dashboard" else alert_exprs()
    assert exprs

    ours = set().union(*(exported_names(e) for e in exprs))
    hosts = set().union(*(node_exporter_names(e) for e in exprs))

    assert ours
    assert [name for name in sorted(ours) if not scrape.exports(name)] == []
    assert hosts <= NODE_EXPORTER


def test_the_dashboard_is_a_grafana_dashboard_with_one_id_per_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = list(_panels(dashboard))
    ids = [p["id"] for p in panels]

    assert dashboard["uid"]
    assert dashboard["title"] == "NovaPulse"
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"]
            assert panel["datasource"]["uid"] == "${datasource}"
    assert len(panels) >= 20


def test_the_alerts_carry_the_seed_thresholds() -> None:
    rules = {
        rule["alert"]: rule
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
    }

    assert "> 0.01" in rules["NovaPulseHighErrorRate"]["expr"]
    assert rules["NovaPulseHighErrorRate"]["for"] == "5m"
    assert "> 1000" in rules["NovaPulseQueueBacklog"]["expr"]
    assert "histogram_quantile(0.95" in rules["NovaPulseHighLatency"]["expr"]
    assert "> 1\n" in rules["NovaPulseHighLatency"]["expr"]
    assert "> 80" in rules["NovaPulseHighCpu"]["expr"]
    assert rules["NovaPulseHighCpu"]["for"] == "10m"
    assert "> 90" in rules["NovaPulseHighMemory"]["expr"]
    assert rules["NovaPulseHighMemory"]["for"] == "5m"


promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None, reason="promtool is not installed")


def _promtool(*args: str | Path) -> None:
    assert promtool is not None
    result = subprocess.run(  # noqa: S603
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_rules_the_example_config_and_the_rules_unit_tests() -> None:
    _promtool("check", "rules", ALERTS)
    _promtool("check", "config", DEPLOY / "prometheus" / "prometheus.yml")
    _promtool("test", "rules", ALERT_TESTS)


@needs_promtool
def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    # As recording rules, every query goes through Prometheus' own PromQL parser.
    rules = [{"record": f"dashboard:query_{n}", "expr": e} for n, e in enumerate(dashboard_exprs())]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    _promtool("check", "rules", path)
