"""The README's "Embedding the core" example runs as written, on the core's own adapters."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_embedding_example_runs_as_written(tmp_path: Path) -> None:
    block = re.search(r"<!-- embedding:start -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert block, "the README lost its embedding example"
    script = tmp_path / "embed.py"
    script.write_text(block.group(1))

    result = subprocess.run(  # noqa: S603
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Acme ann@acme.example\n"
