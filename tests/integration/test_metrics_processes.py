"""Metrics across processes: API processes that add up through prometheus-client's
multiprocess directory (`novapulse serve --workers 2`), and a worker's own endpoint."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from novapulse_adapters.telemetry import MetricsExporter
from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.settings import SettingsError
from support.metrics import Scrape
from support.redis_server import RedisServerUnavailable, private_redis_server

from .conftest import make_settings, sign_up
from .job_servers import Workers, eventually, smtp_server
from .servers import SHARED_KEYS, free_port, running_server

LIVE = "/api/v1/health/live"
READY = "/api/v1/health/ready"

_CHILD = """
import os, sys
from novapulse_adapters.telemetry import JobOutcome, MetricsExporter
exporter = MetricsExporter(multiprocess_dir=os.environ["PROMETHEUS_MULTIPROC_DIR"])
for _ in range(int(sys.argv[1])):
    exporter.metrics.http_request("GET", "/api/v1/health/live", 200, 0.01)
exporter.metrics.job_attempt("email", JobOutcome.RETRY, 0.5)
exporter.metrics.api_processes.set(1)
if sys.argv[2] == "stops":
    exporter.close()
"""


def _run_child(directory: Path, requests: int, ending: str) -> None:
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", _CHILD, str(requests), ending],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
        check=True,
        timeout=60,
    )


def _read_directory(directory: Path) -> Scrape:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return Scrape.parse(generate_latest(registry).decode())


def test_two_processes_writing_one_directory_add_up(tmp_path: Path) -> None:
    _run_child(tmp_path, 3, "stops")
    _run_child(tmp_path, 4, "still serving")

    seen = _read_directory(tmp_path)

    labels = {"method": "GET", "route": LIVE}
    assert seen.value("novapulse_http_requests_total", **labels, status="200") == 7
    assert seen.value("novapulse_http_request_duration_seconds_count", **labels) == 7
    assert seen.value("novapulse_jobs_failed_total", queue="email", outcome="retry") == 2
    # A live gauge counts the processes still running: the one that stopped left the sum.
    assert seen.value("novapulse_api_processes") == 1


def test_multiprocess_mode_refuses_a_process_that_imported_prometheus_client_too_early(
    tmp_path: Path,
) -> None:
    # This test process imported prometheus-client without PROMETHEUS_MULTIPROC_DIR.
    with pytest.raises(RuntimeError, match="before prometheus_client is first imported"):
        MetricsExporter(multiprocess_dir=str(tmp_path))


def test_the_cli_module_leaves_prometheus_client_unimported_until_the_directory_is_set() -> None:
    check = "import sys, novapulse_entrypoints.cli; print('prometheus_client' in sys.modules)"
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def _get(url: str, ok_statuses: tuple[int, ...] = (200,)) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return str(response.read().decode())
    except urllib.error.HTTPError as error:
        if error.code not in ok_statuses:
            raise
        return str(error.read().decode())


def test_serve_with_two_workers_reports_both_processes_at_every_scrape() -> None:
    env = {
        # More than one API process needs MongoDB and Redis; ones that are down do not stop
        # the processes from serving.
        "NOVAPULSE_MONGO_URL": f"mongodb://127.0.0.1:{free_port()}",
        "NOVAPULSE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "NOVAPULSE_MONGO_TIMEOUT_MS": "200",
        "NOVAPULSE_JWT_SECRET": "x" * 48,
        "NOVAPULSE_MFA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "NOVAPULSE_LOG_FORMAT": "console",
    }
    with running_server("--workers", "2", env=env) as server:
        (line,) = [line for line in server.banner if "add up in" in line]
        directory = Path(line.rsplit(" ", 1)[1])
        # The server answers once one process is up; the other may still be starting.
        eventually(
            lambda: Scrape.parse(_get(server.base + "/metrics")),
            lambda scrape: scrape.value("novapulse_api_processes") == 2,
            "both API processes started",
        )
        # A route nothing else calls (the harness polls LIVE until the server answers, and
        # those counts may still be on their way from the other process).
        requests = 40
        for _ in range(requests):
            _get(server.base + READY, ok_statuses=(200, 503))
        # Each process flushes its buffered counts to its file at least once a second.
        eventually(
            lambda: Scrape.parse(_get(server.base + "/metrics")),
            lambda scrape: scrape.total("novapulse_http_requests_total", route=READY) == requests,
            "every process's counts flushed",
        )
        scrapes = [Scrape.parse(_get(server.base + "/metrics")) for _ in range(4)]
        pids = {re.sub(r"\D", "", p.name) for p in directory.glob("counter_*.db")}

    for seen in scrapes:  # whichever process answered, it reports both
        assert seen.value("novapulse_api_processes") == 2
        assert seen.total("novapulse_http_requests_total", route=READY) == requests
        assert "process_cpu_seconds" not in seen.families
    assert len(pids) == 2
    assert not directory.exists()


def test_a_directory_given_to_serve_is_wiped_of_earlier_runs_and_kept(tmp_path: Path) -> None:
    stale = tmp_path / "counter_999999.db"
    stale.write_bytes(b"an earlier run's counts")
    (tmp_path / "notes.txt").write_text("not ours")

    with running_server(env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}) as server:
        seen = Scrape.parse(_get(server.base + "/metrics"))
        assert not stale.exists()

    assert seen.value("novapulse_api_processes") == 1
    assert seen.total("novapulse_http_requests_total", route=LIVE) >= 1  # the readiness polls
    assert (tmp_path / "notes.txt").exists()
    assert list(tmp_path.glob("counter_*.db"))  # kept: the directory is the caller's


@pytest.fixture
def redis_url() -> Iterator[str]:
    try:
        with private_redis_server() as port:
            yield f"redis://127.0.0.1:{port}/0"
    except RedisServerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))


def test_a_worker_serves_its_job_metrics_on_its_own_port(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    with smtp_server() as (inbox, smtp_port):
        env = {
            **SHARED_KEYS,
            "NOVAPULSE_REDIS_URL": redis_url,
            "NOVAPULSE_SMTP_HOST": "127.0.0.1",
            "NOVAPULSE_SMTP_PORT": str(smtp_port),
            "NOVAPULSE_SMTP_SECURITY": "none",
            "NOVAPULSE_LOG_FORMAT": "console",
        }
        workers = Workers({**env, "NOVAPULSE_WORKER_METRICS_PORT": str(port)}, tmp_path)
        client: TestClient[Any]
        try:
            worker = workers.start("--queue", "email")
            with TestClient(create_app(make_settings(**env))) as client:
                sign_up(client, "Acme")  # a welcome email job
                seen = eventually(
                    lambda: Scrape.parse(_get(f"http://127.0.0.1:{port}/metrics")),
                    lambda s: s.value("novapulse_jobs_processed_total", queue="email") == 1,
                    "the worker counted the welcome email",
                )
        finally:
            workers.close()

    assert f"worker metrics on http://127.0.0.1:{port}/metrics" in worker.output
    assert len(inbox.received()) == 1
    assert seen.value("novapulse_job_duration_seconds_count", queue="email") == 1
    assert seen.total("novapulse_jobs_failed_total") == 0
    assert seen.total("process_cpu_seconds_total") > 0


@pytest.mark.parametrize(
    ("env", "port", "host"),
    [
        ({}, None, "127.0.0.1"),
        ({"NOVAPULSE_WORKER_METRICS_PORT": "9464"}, 9464, "127.0.0.1"),
        ({"NOVAPULSE_WORKER_METRICS_HOST": "0.0.0.0"}, None, "0.0.0.0"),  # noqa: S104
    ],
)
def test_the_worker_serves_metrics_only_on_a_configured_port(
    env: dict[str, str], port: int | None, host: str
) -> None:
    settings = make_settings(**env)
    assert (settings.worker_metrics_port, settings.worker_metrics_host) == (port, host)


@pytest.mark.parametrize("raw", ["0", "65536", "http"])
def test_a_worker_metrics_port_out_of_range_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="NOVAPULSE_WORKER_METRICS_PORT"):
        make_settings(NOVAPULSE_WORKER_METRICS_PORT=raw)


def test_a_worker_whose_metrics_port_is_taken_stops_with_a_clear_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            **SHARED_KEYS,
            "NOVAPULSE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # never reached
            "NOVAPULSE_WORKER_METRICS_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "-m", "novapulse_entrypoints.cli", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 2
    assert f"cannot serve worker metrics on port {port}" in result.stderr
