"""The JSON line format of the log: its field names, the bytes writers produce, the value rules.

One point is one line, `{"timestamp":"<ISO-8601, UTC>","value":<v>[,"metadata":{…}]}\\n`
(docs/contracts.md, "Line format"). The writers (`writer`, `encode`) produce exactly
the shape below, the parsers (`lineparse`, `fastparse`) accept it and every other
valid spelling, and all of them take the names, the Arrow types and the rule for a
value of each kind from here, so the two sides cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import pyarrow as pa

from hfdata.kinds import INT64_MAX, INT64_MIN, METADATA_OPTS, NONFINITE_TEXT, Kind

__all__ = [
    "ARROW_TYPES",
    "LINE_OPTS",
    "LINE_OPTS_NAIVE_UTC",
    "LINE_PREFIX",
    "METADATA",
    "METADATA_KEY",
    "TIMESTAMP",
    "VALUE",
    "VALUE_KEY",
    "canonical_json",
    "column_value",
    "table_schema",
]

TIMESTAMP: Final = "timestamp"
VALUE: Final = "value"
METADATA: Final = "metadata"

# The bytes around the timestamp and before the metadata, as hfdata's writers write them.
LINE_PREFIX: Final = b'{"timestamp":"'
VALUE_KEY: Final = b'","value":'
METADATA_KEY: Final = b',"metadata":'

# orjson options of one point line: `Z` for UTC, the newline, numpy scalars in metadata;
# with `naive_is_utc` a naive datetime is written as UTC as well.
LINE_OPTS: Final = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE | METADATA_OPTS
LINE_OPTS_NAIVE_UTC: Final = LINE_OPTS | orjson.OPT_NAIVE_UTC

ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "json": pa.string(),
}


def table_schema(kind: Kind | None) -> pa.Schema:
    """`timestamp` (ns, UTC), `value` (the kind's type; float64 if none yet), `metadata` (text)."""
    return pa.schema(
        [
            pa.field(TIMESTAMP, pa.timestamp("ns", tz="UTC"), nullable=False),
            pa.field(VALUE, ARROW_TYPES[kind or "float"]),
            pa.field(METADATA, pa.string()),
        ]
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
