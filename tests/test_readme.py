"""The README's Python examples run as written (in order, in a temporary folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) >= 3  # the tour, outside readers, the compatibility class
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["report"].rows == 720_001  # type: ignore[attr-defined]
    assert namespace["table"].num_rows == 360_001  # type: ignore[attr-defined]
    assert (tmp_path / "data" / "high_frequency_data" / "hfdata.json").exists()
    namespace["store"].close()  # type: ignore[attr-defined]
