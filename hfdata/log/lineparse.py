"""The per-line reference parser: any valid spelling of a point line to a row, or a `BadLine`.

Every line becomes either a row or a `BadLine` with its byte offset and reason; nothing
is coerced that the variable's kind forbids (`lineformat.column_value`). Metadata (and
`json` values) come out as canonical JSON text, whichever way the line was written.
It is the definition of what the log holds: the vectorised parser (`fastparse`) sends
here every line it does not vouch for, and is tested to agree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from hfdata.errors import InvalidTimestamp
from hfdata.kinds import Kind
from hfdata.log.lineformat import (
    METADATA,
    TIMESTAMP,
    VALUE,
    canonical_json,
    column_value,
    table_schema,
)
from hfdata.timeparse import TimeRules, to_ns

__all__ = ["BadLine", "check_point_object", "parse_reference"]

_UTC_RULES: Final = TimeRules("UTC")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not become a row, and why."""

    source: str
    offset: int
    line: bytes
    reason: str


def check_point_object(obj: Any) -> None:
    """A decoded line must be an object with `timestamp` and `value` (ValueError with the
    reason otherwise)."""
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    if TIMESTAMP not in obj:
        raise ValueError("no 'timestamp' field")
    if VALUE not in obj:
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
    ts = obj[TIMESTAMP]
    if not isinstance(ts, str):
        raise ValueError(f"timestamp {ts!r:.60} is not a string")
    try:
        ns = to_ns(ts, _UTC_RULES)
    except InvalidTimestamp as exc:
        raise ValueError(str(exc)) from None
    value = column_value(kind, obj[VALUE])
    meta = obj.get(METADATA)
    if meta is not None and not isinstance(meta, dict):
        raise ValueError("metadata is not a JSON object")
    return ns, value, None if not meta else canonical_json(meta)


def _build_table(
    kind: Kind | None, timestamps: list[int], values: list[Any], metadata: list[str | None]
) -> pa.Table:
    schema = table_schema(kind)
    return pa.table(
        [
            pa.array(timestamps, pa.int64()).cast(schema.field(TIMESTAMP).type),
            pa.array(values, schema.field(VALUE).type),
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
