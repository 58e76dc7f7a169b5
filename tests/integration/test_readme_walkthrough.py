"""The README's curl walk-through, run as written against a real `novapulse serve --demo`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .servers import running_server

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_script() -> str:
    text = README.read_text()
    block = re.search(r"<!-- walkthrough:start -->\n```bash\n(.*?)```", text, re.DOTALL)
    assert block, "the README lost its walk-through block"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_readme_walkthrough_works_as_written() -> None:
    with running_server("--demo") as server:
        password_line = next(line for line in server.banner if line.startswith("demo owner:"))
        password = password_line.rsplit(" ", 1)[-1]
        result = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", walkthrough_script()],  # noqa: S607
            env={"BASE": server.base, "PASSWORD": password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["active_users"] == 2
    assert stats["active_users_by_role"] == {"owner": 1, "admin": 0, "manager": 0, "member": 1}
    assert [(d["name"], d["members"]) for d in stats["departments"]] == [("Engineering", 1)]


def test_serve_says_the_embedded_default_is_not_persisted() -> None:
    with running_server() as server:
        assert any("NOT persisted" in line for line in server.banner), server.banner
