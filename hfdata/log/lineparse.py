"""The per-line reference parser: any valid spelling of a log line to a row, a marker, a
tombstone, or a `BadLine`.

Every line becomes a row, a marker line (`{"arrived":<ns>}`: the arrival of the batch
lines after it), a tombstone line (`{"arrived":<ns>,"delete":{"start":…,"end":…}}`) or
a `BadLine` with its byte offset and reason; nothing is coerced that the variable's
kind forbids (`lineformat.column_value`). Metadata (and `json` values) come out as
canonical JSON text, whichever way the line was written. It is the definition of what
the log holds: the vectorised parser (`fastparse`) sends here every line it does not
vouch for, and is tested to agree with it.

A row's arrival is left unresolved here (`Lines.own`, 0 when the line has no
`arrived`): the reader rule needs the markers of every line before it, which the
vectorised parser may have found itself, so `resolve_arrival` applies it once over
all of a segment's lines.
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
    ARRIVED,
    ARROW_TYPES,
    DELETE,
    END,
    METADATA,
    START,
    TIMESTAMP,
    VALUE,
    arrived_value,
    canonical_json,
    column_value,
    table_schema,
    tombstone_schema,
)
from hfdata.timeparse import TimeRules, to_ns

__all__ = [
    "BadLine",
    "Lines",
    "Resolved",
    "check_point_object",
    "parse_reference",
    "resolve_arrival",
    "tombstone_table",
]

_UTC_RULES: Final = TimeRules("UTC")
_TS_TYPE: Final = pa.timestamp("ns", tz="UTC")
_MARKER_KEYS: Final = frozenset((ARRIVED,))
_TOMBSTONE_KEYS: Final = frozenset((ARRIVED, DELETE))
_RANGE_KEYS: Final = frozenset((START, END))

IntArray = npt.NDArray[np.int64]


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


def _timestamp_ns(ts: Any, what: str) -> int:
    if not isinstance(ts, str):
        raise ValueError(f"{what} {ts!r:.60} is not a string")
    try:
        return to_ns(ts, _UTC_RULES)
    except InvalidTimestamp as exc:
        raise ValueError(str(exc)) from None


def _tombstone(obj: dict[str, Any]) -> tuple[int, int, int]:
    """A tombstone line's (start, end, recorded), or ValueError with the reason."""
    recorded = arrived_value(obj[ARRIVED])
    span = obj[DELETE]
    if not isinstance(span, dict) or span.keys() != _RANGE_KEYS:
        raise ValueError('a tombstone\'s "delete" is not an object of "start" and "end"')
    start = _timestamp_ns(span[START], "tombstone start")
    end = _timestamp_ns(span[END], "tombstone end")
    if start >= end:
        raise ValueError("tombstone start is not before its end")
    return start, end, recorded


# What one line is: a row (ns, value, metadata, own arrival or 0), a marker (its
# arrival) or a tombstone (start, end, recorded).
_Row = tuple[int, Any, str | None, int]


def _parse_line(line: bytes, kind: Kind | None) -> _Row | int | tuple[int, int, int]:
    """One line (without its newline) to what it holds, or ValueError with the reason."""
    try:
        if not line.strip():
            raise ValueError("empty line")
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"bad JSON: {exc}") from None
    if isinstance(obj, dict) and TIMESTAMP not in obj and VALUE not in obj and ARRIVED in obj:
        keys = obj.keys()
        if keys == _MARKER_KEYS:
            return arrived_value(obj[ARRIVED])
        if keys == _TOMBSTONE_KEYS:
            return _tombstone(obj)
    check_point_object(obj)
    ns = _timestamp_ns(obj[TIMESTAMP], "timestamp")
    value = column_value(kind, obj[VALUE])
    meta = obj.get(METADATA)
    if meta is not None and not isinstance(meta, dict):
        raise ValueError("metadata is not a JSON object")
    own = arrived_value(obj[ARRIVED]) if ARRIVED in obj else 0
    return ns, value, None if not meta else canonical_json(meta), own


def _ns_array(values: list[int]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(_TS_TYPE)


def _build_table(
    kind: Kind | None, timestamps: list[int], values: list[Any], metadata: list[str | None]
) -> pa.Table:
    return pa.table(
        [
            _ns_array(timestamps),
            pa.array(values, ARROW_TYPES[kind or "float"]),
            pa.array(metadata, pa.string()),
        ],
        schema=table_schema(kind),
    )


def tombstone_table(starts: list[int], ends: list[int], recorded: list[int]) -> pa.Table:
    """Tombstones as a table of `tombstone_schema`."""
    columns = [_ns_array(starts), _ns_array(ends), _ns_array(recorded)]
    return pa.table(columns, schema=tombstone_schema())


@dataclass(frozen=True, slots=True)
class Lines:
    """What some lines of a segment hold, before the reader rule gives rows their arrival.

    Line numbers index the lines given to the parser (`starts`), in order.
    """

    table: pa.Table  # timestamp, value, metadata: one row per point line, in line order
    rows: IntArray  # the line each row came from
    own: IntArray | None  # each row's own `arrived`, 0 where its line has none; None: none has
    markers: IntArray  # the marker lines, ascending
    marker_ns: IntArray  # their `arrived`
    tombstones: pa.Table  # start, end, recorded, in line order
    bad: list[BadLine]


@dataclass(frozen=True, slots=True)
class Resolved:
    """Lines after the reader rule: rows with their `arrived` column (`table_schema(kind,
    arrived=True)`), tombstones, bad lines, the number of marker lines and the last
    one's arrival (None if there is none)."""

    table: pa.Table
    tombstones: pa.Table
    bad: list[BadLine]
    markers: int
    marker: int | None


def parse_reference(
    data: bytes,
    starts: IntArray,
    stops: IntArray,
    kind: Kind | None,
    source: str,
) -> Lines:
    """The per-line reference parser over the given lines (`data[starts[i]:stops[i]]`).

    The vectorised path sends every line it does not vouch for here.
    """
    timestamps: list[int] = []
    values: list[Any] = []
    metadata: list[str | None] = []
    rows: list[int] = []
    own: list[int] = []
    markers: list[int] = []
    marker_ns: list[int] = []
    deleted: tuple[list[int], list[int], list[int]] = ([], [], [])
    bad: list[BadLine] = []
    for i, (start, stop) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        line = data[start:stop]
        try:
            got = _parse_line(line, kind)
        except ValueError as exc:
            bad.append(BadLine(source, start, line, str(exc)))
        else:
            if isinstance(got, int):
                markers.append(i)
                marker_ns.append(got)
            elif len(got) == 3:
                for column, x in zip(deleted, got, strict=True):
                    column.append(x)
            else:
                ns, value, meta, arrived = got
                timestamps.append(ns)
                values.append(value)
                metadata.append(meta)
                own.append(arrived)
                rows.append(i)
    return Lines(
        table=_build_table(kind, timestamps, values, metadata),
        rows=np.array(rows, np.int64),
        own=np.array(own, np.int64) if any(own) else None,
        markers=np.array(markers, np.int64),
        marker_ns=np.array(marker_ns, np.int64),
        tombstones=tombstone_table(*deleted),
        bad=bad,
    )


def resolve_arrival(lines: Lines, arrived: int) -> Resolved:
    """The reader rule over `lines`: a row's arrival is its line's own `arrived`, else the
    latest marker line before it, else `arrived` (what the segment's earlier bytes left:
    their last marker, or the segment file's modification time for lines without one,
    the legacy rule). The result's `marker` is what the segment's next lines inherit.
    """
    n = lines.table.num_rows
    own = lines.own
    if len(lines.markers):
        before = np.searchsorted(lines.markers, lines.rows, side="right") - 1
        inherited = np.where(before >= 0, lines.marker_ns[before], arrived)
        own = inherited if own is None else np.where(own == 0, inherited, own)
    elif own is None:  # legacy lines only: one fill
        own = np.full(n, arrived, np.int64)
    elif not own.all():
        own = np.where(own == 0, arrived, own)
    own = np.ascontiguousarray(own, np.int64)
    column = pa.Array.from_buffers(_TS_TYPE, n, [None, pa.py_buffer(own)])
    table = lines.table.append_column(pa.field(ARRIVED, _TS_TYPE, nullable=False), column)
    last = int(lines.marker_ns[-1]) if len(lines.marker_ns) else None
    return Resolved(table, lines.tombstones, lines.bad, len(lines.markers), last)
