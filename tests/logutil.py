"""Test helpers: read what the append log holds, straight from the segment files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from hfdata.layout import encode_name, parse_segment_name


def segment_files(root: Path, variable: str) -> list[Path]:
    """Every closed and active segment of a variable, in name order."""
    directory = root / "log" / encode_name(variable)
    if not directory.exists():
        return []
    return sorted(p for p in directory.iterdir() if parse_segment_name(p.name) is not None)


def log_lines(root: Path, variable: str) -> list[dict[str, Any]]:
    """Every complete line of every segment, parsed, segment by segment in name order."""
    out: list[dict[str, Any]] = []
    for path in segment_files(root, variable):
        data = path.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"torn line in {path}"
        out.extend(orjson.loads(line) for line in data.splitlines())
    return out
