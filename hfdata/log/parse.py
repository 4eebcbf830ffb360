"""Log segments (JSON Lines bytes) to Arrow tables, with every bad line accounted for.

Shared by compaction and by readers of the log tail. A line without its final
`\\n` is a torn write and never data: it is returned as `torn`, not parsed. Every
other line either becomes a row or a `BadLine` with its byte offset and reason;
nothing is coerced that the variable's kind forbids (a string "3.5" in a float
variable is a bad line; "NaN", "Infinity" and "-Infinity" are the designed
spellings of non-finite floats). Metadata (and `json` values) come out as
canonical JSON text: keys sorted, no spaces, whichever way the line was written.

Lines in the shape hfdata's writers produce take a vectorised path (`hfdata.log.fastparse`);
every line it does not vouch for goes through the per-line reference parser here, so
both paths give the same rows, the same bad lines and the same bytes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from hfdata.errors import InvalidTimestamp
from hfdata.kinds import NONFINITE_TEXT, Kind
from hfdata.timeparse import TimeRules, to_ns

__all__ = [
    "ARROW_TYPES",
    "BadLine",
    "ParsedLog",
    "canonical_json",
    "check_point_object",
    "line_bounds",
    "parse_log_bytes",
    "parse_reference",
    "read_segment",
    "table_schema",
]

ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "json": pa.string(),
}
_UTC_RULES: Final = TimeRules("UTC")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SCAN_BLOCK: Final = 1 << 20


def table_schema(kind: Kind | None) -> pa.Schema:
    """`timestamp` (ns, UTC), `value` (the kind's type; float64 if none yet), `metadata` (text)."""
    return pa.schema(
        [
            pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
            pa.field("value", ARROW_TYPES[kind or "float"]),
            pa.field("metadata", pa.string()),
        ]
    )


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not become a row, and why."""

    source: str
    offset: int
    line: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedLog:
    """The rows of a log, its bad lines, and a torn tail if the last line has no newline."""

    table: pa.Table
    bad: list[BadLine] = field(default_factory=list)
    complete_bytes: int = 0
    torn: bytes = b""


def canonical_json(obj: Any) -> str:
    """The one text form hfdata stores for metadata and json values."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def _value(kind: Kind | None, value: Any) -> Any:
    """The value for the Arrow column, or raise ValueError with the reason."""
    if value is None:
        return None
    if kind is None or kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"boolean {value!r} in a float variable")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and value in NONFINITE_TEXT:
            return NONFINITE_TEXT[value]
        raise ValueError(f"{type(value).__name__} {value!r:.60} in a float variable")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise ValueError(f"int {value} does not fit in 64 bits")
            return value
        raise ValueError(f"{type(value).__name__} {value!r:.60} in an int variable")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueError(f"{type(value).__name__} {value!r:.60} in a bool variable")
    if kind == "string":
        if isinstance(value, str):
            return value
        raise ValueError(f"{type(value).__name__} {value!r:.60} in a string variable")
    if isinstance(value, dict | list):
        return canonical_json(value)
    raise ValueError(f"{type(value).__name__} {value!r:.60} in a json variable")


def check_point_object(obj: Any) -> None:
    """A decoded line must be an object with `timestamp` and `value` (ValueError with the
    reason otherwise); the log parser and `hfdata import` say it alike."""
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    if "timestamp" not in obj:
        raise ValueError("no 'timestamp' field")
    if "value" not in obj:
        raise ValueError("no 'value' field")


def _parse_line(line: bytes, kind: Kind | None) -> tuple[int, Any, str | None]:
    """One line (without its newline) to (ns, value, metadata), or ValueError with the reason."""
    try:
        if not line.strip():
            raise ValueError("empty line")
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"bad JSON: {exc}") from None
    check_point_object(obj)
    ts = obj["timestamp"]
    if not isinstance(ts, str):
        raise ValueError(f"timestamp {ts!r:.60} is not a string")
    try:
        ns = to_ns(ts, _UTC_RULES)
    except InvalidTimestamp as exc:
        raise ValueError(str(exc)) from None
    value = _value(kind, obj["value"])
    meta = obj.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise ValueError("metadata is not a JSON object")
    return ns, value, None if not meta else canonical_json(meta)


def line_bounds(data: bytes, end: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(start, stop) byte offsets of every complete line in `data[:end]`; stop is the newline."""
    arr = np.frombuffer(data, np.uint8, count=end)

    def scan(i: int) -> npt.NDArray[np.int64]:
        return np.flatnonzero(arr[i : i + _SCAN_BLOCK] == 10) + i

    blocks = range(0, end, _SCAN_BLOCK)
    if len(blocks) < 4:
        parts = [scan(i) for i in blocks]
    else:  # numpy releases the GIL: large logs are scanned on two threads
        with ThreadPoolExecutor(2) as pool:
            parts = list(pool.map(scan, blocks))
    stops = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    starts = np.empty_like(stops)
    if len(stops):
        starts[0] = 0
        starts[1:] = stops[:-1] + 1
    return starts, stops


def _build_table(
    kind: Kind | None, timestamps: list[int], values: list[Any], metadata: list[str | None]
) -> pa.Table:
    schema = table_schema(kind)
    return pa.table(
        [
            pa.array(timestamps, pa.int64()).cast(schema.field("timestamp").type),
            pa.array(values, schema.field("value").type),
            pa.array(metadata, pa.string()),
        ],
        schema=schema,
    )


def parse_reference(
    data: bytes,
    starts: npt.NDArray[np.int64],
    stops: npt.NDArray[np.int64],
    kind: Kind | None,
    source: str,
) -> tuple[pa.Table, npt.NDArray[np.int64], list[BadLine]]:
    """The per-line reference parser over the given lines.

    Returns the rows, the index (into `starts`) of the line each row came from, and
    the bad lines. The vectorised path sends every line it does not vouch for here.
    """
    timestamps: list[int] = []
    values: list[Any] = []
    metadata: list[str | None] = []
    rows: list[int] = []
    bad: list[BadLine] = []
    for i, (start, stop) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        line = data[start:stop]
        try:
            ns, value, meta = _parse_line(line, kind)
        except ValueError as exc:
            bad.append(BadLine(source, start, line, str(exc)))
        else:
            timestamps.append(ns)
            values.append(value)
            metadata.append(meta)
            rows.append(i)
    return _build_table(kind, timestamps, values, metadata), np.array(rows, np.int64), bad


def parse_log_bytes(
    data: bytes, kind: Kind | None, *, source: str = "", vectorised: bool = True
) -> ParsedLog:
    """Parse the complete lines of `data`; the bytes after the last newline are `torn`.

    `vectorised=False` forces the per-line reference parser (used by tests and
    benchmarks to check that both paths agree).
    """
    end = data.rfind(b"\n") + 1
    torn = data[end:]
    starts, stops = line_bounds(data, end)
    if vectorised and len(starts):
        from hfdata.log.fastparse import parse_fast

        table, bad = parse_fast(data, end, starts, stops, kind, source)
    else:
        table, _, bad = parse_reference(data, starts, stops, kind, source)
    return ParsedLog(table=table, bad=bad, complete_bytes=end, torn=torn)


def read_segment(path: Path, kind: Kind | None) -> ParsedLog:
    """Read and parse one segment file (closed or active)."""
    return parse_log_bytes(path.read_bytes(), kind, source=str(path))
