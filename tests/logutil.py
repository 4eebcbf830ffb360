"""Test helpers for the append log: read what the segment files hold, and write raw
segment bytes (to give compaction and the parsers exactly the lines a test needs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from hfdata.kinds import Kind
from hfdata.layout import encode_name, parse_segment_name
from hfdata.log.schema import store_schema


def segment_files(root: Path, variable: str) -> list[Path]:
    """Every closed and active segment of a variable, in name order."""
    directory = root / "log" / encode_name(variable)
    if not directory.exists():
        return []
    return sorted(p for p in directory.iterdir() if parse_segment_name(p.name) is not None)


def all_log_lines(root: Path, variable: str) -> list[dict[str, Any]]:
    """Every complete line of every segment (points, markers, tombstones), parsed,
    segment by segment in name order."""
    out: list[dict[str, Any]] = []
    for path in segment_files(root, variable):
        data = path.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"torn line in {path}"
        out.extend(orjson.loads(line) for line in data.splitlines())
    return out


def log_lines(root: Path, variable: str) -> list[dict[str, Any]]:
    """Every point line of every segment, parsed, without its `arrived` (markers and
    tombstones left out), segment by segment in name order."""
    out: list[dict[str, Any]] = []
    for obj in all_log_lines(root, variable):
        if "timestamp" in obj:
            obj.pop("arrived", None)
            out.append(obj)
    return out


def write_segment(
    root: Path, variable: str, data: bytes, *, name: str = "w0-000001.jsonl", kind: Kind = "float"
) -> Path:
    """Write raw segment bytes as a closed (or `.active`) segment of `variable`."""
    directory = root / "log" / encode_name(variable)
    store_schema(directory, kind)
    path = directory / name
    path.write_bytes(data)
    return path


def line(ts: str, value: object, metadata: object = None, *, raw_value: str | None = None) -> bytes:
    """One log line; `raw_value` puts the value text in verbatim (to write bad numbers)."""
    value_text = raw_value if raw_value is not None else orjson.dumps(value).decode()
    text = f'{{"timestamp":"{ts}","value":{value_text}'
    if metadata is not None:
        text += ',"metadata":' + orjson.dumps(metadata).decode()
    return (text + "}\n").encode()
