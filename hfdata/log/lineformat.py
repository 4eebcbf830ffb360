"""The JSON line format of the log: its field names, the bytes writers produce, the value rules.

One point is one line,
`{"arrived":<ns>,"timestamp":"<ISO-8601, UTC>","value":<v>[,"metadata":{…}]}\\n`; a
batch is a marker line `{"arrived":<ns>}` followed by lines without `arrived`; a
deletion is a tombstone line `{"arrived":<ns>,"delete":{"start":"<ts>","end":"<ts>"}}`
(docs/contracts.md, "Log line format"). The writers (`writer`, `encode`) produce exactly
the shape below, the parsers (`lineparse`, `fastparse`) accept it and every other valid
spelling, and all of them take the names, the Arrow types and the rule for a value of
each kind from here, so the two sides cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hfdata.kinds import INT64_MAX, INT64_MIN, METADATA_OPTS, NONFINITE_TEXT, Kind

__all__ = [
    "ARRIVED",
    "ARRIVED_KEY",
    "ARROW_TYPES",
    "DELETE",
    "END",
    "LINE_OPTS",
    "LINE_OPTS_NAIVE_UTC",
    "LINE_PREFIX",
    "METADATA",
    "METADATA_KEY",
    "RECORDED",
    "START",
    "TIMESTAMP",
    "VALUE",
    "VALUE_KEY",
    "arrived_value",
    "canonical_json",
    "column_value",
    "encode_points",
    "marker_line",
    "table_schema",
    "tombstone_line",
    "tombstone_schema",
]

TIMESTAMP: Final = "timestamp"
VALUE: Final = "value"
METADATA: Final = "metadata"
ARRIVED: Final = "arrived"
DELETE: Final = "delete"
# a tombstone's fields: the deleted range [start, end) and when the deletion was recorded
START: Final = "start"
END: Final = "end"
RECORDED: Final = "recorded"

# The bytes around the timestamp and before the metadata, as hfdata's writers write them.
LINE_PREFIX: Final = b'{"timestamp":"'
VALUE_KEY: Final = b'","value":'
METADATA_KEY: Final = b',"metadata":'
# A single append's line starts `{"arrived":<19 digits>,` (31 bytes: any arrival from
# 2001-09-09 to 2286), then the v2 line from its `"timestamp"` key on.
ARRIVED_KEY: Final = b'{"arrived":'

# orjson options of one point line: `Z` for UTC, the newline, numpy scalars in metadata;
# with `naive_is_utc` a naive datetime is written as UTC as well.
LINE_OPTS: Final = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE | METADATA_OPTS
LINE_OPTS_NAIVE_UTC: Final = LINE_OPTS | orjson.OPT_NAIVE_UTC

# `encode_points`: orjson writes a list of point dicts as `[{…},{…}]`; every `},{` between
# two points is followed by the next point's first key, and no point's text holds
# `{"arrived":` anywhere else (the buffered append keeps out metadata that does).
_POINTS_OPTS: Final = orjson.OPT_UTC_Z
_BETWEEN: Final = b'},{"arrived":'
_NEWLINE_BETWEEN: Final = b'}\n{"arrived":'
_BULK_POINTS: Final = 64

ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "json": pa.string(),
}


_TS_TYPE: Final = pa.timestamp("ns", tz="UTC")


def table_schema(kind: Kind | None, *, arrived: bool = False) -> pa.Schema:
    """`timestamp` (ns, UTC), `value` (the kind's type; float64 if none yet), `metadata`
    (text); with `arrived`, a fourth column `arrived` (ns, UTC), as parsed logs have it."""
    fields = [
        pa.field(TIMESTAMP, _TS_TYPE, nullable=False),
        pa.field(VALUE, ARROW_TYPES[kind or "float"]),
        pa.field(METADATA, pa.string()),
    ]
    if arrived:
        fields.append(pa.field(ARRIVED, _TS_TYPE, nullable=False))
    return pa.schema(fields)


def tombstone_schema() -> pa.Schema:
    """A tombstone table: the deleted range `[start, end)` and the time it was `recorded`."""
    return pa.schema([pa.field(name, _TS_TYPE, nullable=False) for name in (START, END, RECORDED)])


def arrived_value(value: Any) -> int:
    """A decoded line's `arrived`: an int in (0, INT64_MAX], or ValueError with the reason."""
    if type(value) is not int or not 0 < value <= INT64_MAX:
        raise ValueError(
            f"arrived {value!r:.60} is not a positive 64-bit integer of nanoseconds since the epoch"
        )
    return value


def encode_points(points: list[dict[str, Any]]) -> bytes:
    """The lines of points buffered as dicts `{"arrived": int, "timestamp": UTC datetime,
    "value": finite float[, "metadata": orjson.Fragment]}`, in order, in one orjson call.

    The bytes are exactly what one `orjson.dumps(point, option=LINE_OPTS)` per point
    writes, at a fraction of the cost: one call instead of one per point, then the
    separators between the points turned into newlines. A point's metadata must not
    contain `{"arrived":` (it would be taken for a separator). `points` is not empty.
    """
    text = orjson.dumps(points, option=_POINTS_OPTS)
    if len(points) < _BULK_POINTS:
        lines: Any = text.replace(_BETWEEN, _NEWLINE_BETWEEN)
    else:  # Arrow's replace is faster per point than `bytes.replace`, but costs µs a call
        array = pc.replace_substring(pa.array([text], pa.binary()), _BETWEEN, _NEWLINE_BETWEEN)
        lines = array.buffers()[2]
    # a separator and its replacement are as long: the lines are where the list's text was
    return b"".join((memoryview(lines)[1 : len(text) - 1], b"\n"))


def marker_line(arrived: int) -> bytes:
    """The marker line written before each run of an `append_many`."""
    return b'{"arrived":%d}\n' % arrived


def tombstone_line(arrived: int, start: str, end: str) -> bytes:
    """The line `Store.delete` writes: `[start, end)` deleted, recorded at `arrived`."""
    return orjson.dumps(
        {ARRIVED: arrived, DELETE: {START: start, END: end}}, option=orjson.OPT_APPEND_NEWLINE
    )


def canonical_json(obj: Any) -> str:
    """The one text form hfdata stores for metadata and json values."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def column_value(kind: Kind | None, value: Any) -> Any:
    """A decoded line's value as it goes into the Arrow column, or ValueError with the reason.

    Nothing is coerced that the kind forbids: a string "3.5" in a float variable is
    refused; "NaN", "Infinity" and "-Infinity" are the spellings of non-finite floats.
    """
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
            if not INT64_MIN <= value <= INT64_MAX:
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
