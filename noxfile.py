"""Sessions: tests (the README's test command), lint, typecheck, core_only."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "core_only", "tests"]
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: unit, contract (memory and mongo) and HTTP integration tests."""
    session.install("-e", ".[all]", *_group("test"))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and the import-linter layer contracts."""
    session.install("-e", ".[all]", *_group("lint"))
    session.run("ruff", "check", "src", "tests", "scripts", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "scripts", "bench", "noxfile.py")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the three packages (strict on the core)."""
    session.install("-e", ".[all]", *_group("typecheck"))
    session.run("mypy")


@nox.session
def core_only(session: nox.Session) -> None:
    """The base install alone (attrs, opentelemetry-api) runs the core on the memory adapters."""
    session.install(".")
    session.run("python", "scripts/core_only_check.py")
