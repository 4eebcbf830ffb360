"""A whole batch of `hfdata append` input checked at once, for the common shapes.

The per-line checks of `hfdata.tools.ingest` cost a few microseconds a line; a live pipe
must sustain 200,000 points/s. Most input is uniform: every JSON line has exactly the
timestamp and value keys with an ISO-8601 UTC timestamp and a finite number, every
CSV record is `timestamp,value` unquoted. Such a batch is decoded in one `orjson`
call (JSON) or one Arrow split (CSV), and its timestamps and numbers are checked by
a regular expression and cast by Arrow (or, given a `timestamp_format`, parsed as one
column by `timeparse.to_ns_array`). The batch is vouched for only if every line
has that shape (the same shape `PointParser._fast_timestamp` takes, parsed to the
same nanoseconds); otherwise `None` is returned and the caller checks it line by
line, so results, rejected lines and messages are the per-line path's.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hfdata.errors import InvalidTimestamp
from hfdata.kinds import Kind
from hfdata.timeparse import TimeRules, to_ns_array

__all__ = ["BatchParser", "CsvColumns", "csv_batch", "json_batch"]

# Where a CSV's columns are: timestamp, value, metadata (if any), and (index, name) extras.
CsvColumns = tuple[int, int, int | None, tuple[tuple[int, str], ...]]


class _Keys(Protocol):
    @property
    def timestamp(self) -> str: ...
    @property
    def value(self) -> str: ...


class BatchParser(Protocol):
    """What a batch check needs of `hfdata.tools.ingest.PointParser`."""

    kind: Kind | None
    rules: TimeRules

    @property
    def fields(self) -> _Keys: ...


_STAMP: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
_UTC_ZONE: Final = r"(Z|\+00:00)"
_NUMBER: Final = r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_UTC: Final = pa.timestamp("ns", tz="UTC")


def _floats_kind(parser: BatchParser) -> bool:
    return parser.kind is None or parser.kind == "float"


def _stamps(text: pa.Array, parser: BatchParser) -> pa.Array | None:
    """UTC nanoseconds of ISO-8601 strings in the fast shape, else None."""
    if parser.rules.timestamp_format is not None:
        # the caller's format, parsed for the whole column by the one implementation the
        # per-line path uses too; any refused text sends the batch line by line
        try:
            ns = to_ns_array(text, parser.rules)
        except InvalidTimestamp:
            return None
        return pa.array(ns, pa.int64()).view(_UTC)
    zone = f"{_UTC_ZONE}?$" if parser.rules.naive_is_utc else f"{_UTC_ZONE}$"
    if text.null_count or not pc.all(pc.match_substring_regex(text, _STAMP + zone)).as_py():
        return None
    bare = pc.replace_substring_regex(text, _UTC_ZONE + "$", "")
    try:
        naive = pc.cast(bare, pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # Feb 30, second 60, year 2300
        return None
    return naive.view(_UTC)


def _table(stamps: pa.Array, values: pa.Array, parser: BatchParser) -> pa.Table | None:
    if values.null_count or not pc.all(pc.is_finite(values)).as_py():
        return None
    parser.kind = "float"  # what the first value would have fixed
    return pa.table({"timestamp": stamps, "value": values})


def json_batch(lines: list[bytes], parser: BatchParser) -> pa.Table | None:
    """The points of JSON lines that all read `{"<timestamp>": ISO, "<value>": number}`."""
    if not lines or not _floats_kind(parser):
        return None
    try:
        objects = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:  # a bad or blank line: looked at one by one
        return None
    ts_key, value_key = parser.fields.timestamp, parser.fields.value
    # (map/set/sum run in C: a generator per line would cost more than orjson)
    if set(map(type, objects)) != {dict} or sum(map(len, objects)) != 2 * len(objects):
        return None  # a line that is no object, or has other keys than the two
    try:
        texts: Any = [o[ts_key] for o in objects]
        numbers: Any = [o[value_key] for o in objects]
    except KeyError:
        return None
    if set(map(type, numbers)) != {float}:  # ints, bools, strings, null: per line
        return None
    try:
        text = pa.array(texts, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a timestamp that is not a string
        return None
    stamps = _stamps(text, parser)
    if stamps is None:
        return None
    return _table(stamps, pa.array(np.array(numbers, dtype=np.float64)), parser)


def csv_batch(records: list[bytes], columns: CsvColumns, parser: BatchParser) -> pa.Table | None:
    """The points of unquoted CSV records `timestamp,value` of one width, metadata empty."""
    ts_col, value_col, meta_col, extras = columns
    if not records or extras or not _floats_kind(parser):
        return None
    raw = pa.array(records, pa.binary())
    if pc.any(pc.match_substring(raw, '"')).as_py():
        return None
    try:
        text = pc.utf8_rtrim(raw.cast(pa.string()), characters="\r")
    except pa.ArrowInvalid:  # not UTF-8
        return None
    cells = pc.split_pattern(text, ",")
    width = pc.list_value_length(cells)
    first = width[0].as_py()
    if first <= max(ts_col, value_col) or not pc.all(pc.equal(width, first)).as_py():
        return None
    if (
        meta_col is not None
        and meta_col < first
        and pc.any(pc.not_equal(pc.list_element(cells, meta_col), "")).as_py()
    ):
        return None
    numbers = pc.list_element(cells, value_col)
    if not pc.all(pc.match_substring_regex(numbers, _NUMBER)).as_py():
        return None
    stamps = _stamps(pc.list_element(cells, ts_col), parser)
    if stamps is None:
        return None
    return _table(stamps, pc.cast(numbers, pa.float64()), parser)
