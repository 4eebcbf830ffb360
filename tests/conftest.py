"""Small shared helpers for the compaction and parser tests."""

from __future__ import annotations

from pathlib import Path

import orjson

from hfdata.kinds import Kind
from hfdata.layout import encode_name
from hfdata.log.schema import store_schema


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
