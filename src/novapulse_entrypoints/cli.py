"""The `novapulse` command: serve the API, bootstrap a company."""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from novapulse_core.domain.errors import DomainError
from novapulse_core.domain.jobs import QueueName
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.collector import pace_collector
from novapulse_entrypoints.demo import DEMO_EMAIL
from novapulse_entrypoints.logs import configure_logging, logging_config
from novapulse_entrypoints.settings import MULTIPROCESS_DIR_VARIABLE, Settings, SettingsError

APP_FACTORY = "novapulse_entrypoints.api.app:create_app_from_env"


class CommandError(Exception):
    """A one-line message for the user; the command exits with status 2."""


class _Parser(argparse.ArgumentParser):
    """A bad argument ends in one line and status 2, as a bad setting does (argparse's own
    error prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"novapulse: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="novapulse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API on granian")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--workers", type=int, default=1, help="API processes (more than 1 needs MongoDB and Redis)"
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed a demo company at start-up and print its owner's credentials",
    )

    worker = commands.add_parser("worker", help="process background jobs from Redis")
    worker.add_argument(
        "--queue",
        action="append",
        choices=[q.value for q in QueueName],
        help="serve only this queue (repeatable; default: all four)",
    )

    cache = commands.add_parser("cache", help="manage the cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    cache_commands.add_parser("clear", help="drop every cached entry, in every company")

    bootstrap = commands.add_parser(
        "bootstrap", help="create a company and its owner in the configured store"
    )
    bootstrap.add_argument("--company", required=True, help="company name")
    bootstrap.add_argument("--email", required=True, help="owner's email")
    bootstrap.add_argument("--name", required=True, help="owner's name")
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    if not 0 < args.port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, not {args.port}")
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    if args.workers > 1 and (settings.mongo_url is None or settings.redis_url is None):
        raise CommandError(
            "--workers above 1 needs NOVAPULSE_MONGO_URL and NOVAPULSE_REDIS_URL: without them "
            "records, the job queue and login state live in each process"
        )
    base = f"http://{args.host}:{args.port}"
    print(f"NovaPulse API on {base} (OpenAPI at {base}/schema)")
    if settings.embedded:
        print("embedded default: data lives in this process and is NOT persisted")
    if args.demo:
        password = secrets.token_urlsafe(12)
        os.environ["NOVAPULSE_DEMO_PASSWORD"] = password
        print(f"demo owner: {DEMO_EMAIL} / {password}")
        print(
            f"  curl -s {base}/api/v1/auth/login -H 'content-type: application/json' "
            f'-d \'{{"email": "{DEMO_EMAIL}", "password": "{password}"}}\''
        )
    with _metrics_directory(settings, args.workers) as directory:
        if directory is not None:
            print(f"metrics of the {args.workers} API processes add up in {directory}")
        sys.stdout.flush()
        Granian(
            APP_FACTORY,
            address=args.host,
            port=args.port,
            interface=Interfaces.ASGI,
            workers=args.workers,
            factory=True,
            log_dictconfig=logging_config(settings.log_level, settings.log_format),
        ).serve()


@contextmanager
def _metrics_directory(settings: Settings, workers: int) -> Iterator[str | None]:
    """prometheus-client's multiprocess directory for the API processes, when there is one.

    Set before Granian forks its workers (and before anything imports prometheus-client: this
    module does not), so each process writes its metrics there and `/metrics` adds them up.
    A directory given in `PROMETHEUS_MULTIPROC_DIR` is wiped of earlier runs' files; otherwise
    more than one worker gets a fresh directory, removed when the server stops."""
    given = settings.metrics_multiprocess_dir
    if given is not None:
        os.makedirs(given, exist_ok=True)
        for kind in ("counter", "gauge", "histogram", "summary"):
            for stale in glob.glob(os.path.join(given, f"{kind}_*.db")):
                os.remove(stale)
        yield given
        return
    if workers == 1:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="novapulse-metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = directory
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)


async def _bootstrap(settings: Settings, args: argparse.Namespace) -> None:
    if settings.embedded:
        raise CommandError(
            "bootstrap writes to MongoDB: set NOVAPULSE_MONGO_URL "
            "(on the embedded default, use `novapulse serve --demo`)"
        )
    password = os.environ.get("NOVAPULSE_BOOTSTRAP_PASSWORD") or secrets.token_urlsafe(12)
    services = composition.build_container(settings)
    await composition.start(services, long_running=False)
    try:
        registration = await services.companies().register(
            company_name=args.company,
            owner_email=args.email,
            owner_name=args.name,
            owner_password=password,
        )
    finally:
        await composition.stop(services)
    owner = registration.owner
    print(f"company {registration.company.name} ({registration.company.id}) created")
    print(f"owner: {owner.email} / {password}")
    print('log in: POST /api/v1/auth/login with {"email": ..., "password": ...}')


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    if settings.redis_url is None:
        raise CommandError(
            "worker needs NOVAPULSE_REDIS_URL; on the embedded default the API runs the jobs itself"
        )
    from novapulse_entrypoints import observability, tracing

    configure_logging(settings.log_level, settings.log_format)
    pace_collector(settings.gc_threshold)
    services = composition.build_container(settings)
    exporter = observability.exporter_for(settings)
    provider = tracing.process_provider(settings, "novapulse-worker")
    traced = tracing.enable_tracing(services, settings, "novapulse-worker", provider)
    observability.meter_webhooks(services, exporter.metrics)
    queues = [QueueName(q) for q in args.queue or []]
    group = services.worker_group(
        queues=queues or None,
        middleware=observability.job_middleware(settings, exporter.metrics),
    )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    port = settings.worker_metrics_port
    try:
        server = exporter.serve(port, settings.worker_metrics_host) if port else None
    except OSError as error:
        raise CommandError(f"cannot serve worker metrics on port {port}: {error}") from None
    group.start(prepare=lambda: composition.start(services))
    if server is not None:
        print(f"worker metrics on http://{settings.worker_metrics_host}:{server.port}/metrics")
    print(f"worker serving {', '.join(q.value for q in group.queues)}", flush=True)
    stopping.wait()
    group.stop(settings.worker_shutdown_seconds, cleanup=lambda: composition.stop(services))
    if server is not None:
        server.close()
    exporter.close()
    if traced is not None:
        traced.close()


async def _clear_cache(settings: Settings) -> None:
    if settings.redis_url is None:
        raise CommandError(
            "the cache lives in each API process on the embedded default; "
            "set NOVAPULSE_REDIS_URL to clear a shared one"
        )
    services = composition.build_container(settings)
    try:
        cleared = await services.cache_admin().clear_all()
    finally:
        await services.redis_client().aclose()
    print(f"{cleared} cached entries cleared")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        if args.command == "serve":
            _serve(settings, args)
        elif args.command == "worker":
            _worker(settings, args)
        elif args.command == "cache":
            asyncio.run(_clear_cache(settings))
        else:
            asyncio.run(_bootstrap(settings, args))
    except (CommandError, SettingsError) as error:
        print(f"novapulse: {error}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"novapulse: {error.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
