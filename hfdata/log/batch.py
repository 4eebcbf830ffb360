"""Normalise the inputs of `append_many` into columns: nanoseconds, values, metadata.

Accepted: a pandas DataFrame (DatetimeIndex or `timestamp` column; `value` column
or a single other column; optional `metadata` column of dicts), a pandas Series
with a DatetimeIndex, a polars DataFrame and a pyarrow Table (both with a
`timestamp` column). Everything is checked here, before a byte is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import polars as pl
import pyarrow as pa

from hfdata.errors import InvalidMetadata, InvalidValue, SchemaMismatch
from hfdata.kinds import (
    METADATA_OPTS,
    NONFINITE_TEXT,
    Kind,
    check_metadata,
    infer_kind,
    json_value,
    metadata_too_large,
)
from hfdata.log.lineformat import ARROW_TYPES, METADATA, TIMESTAMP, VALUE
from hfdata.timeparse import TimeRules, to_ns_array

__all__ = ["Batch", "normalise"]


@dataclass(frozen=True, slots=True)
class Batch:
    """Checked columns ready for `encode.encode_frame`."""

    ns: npt.NDArray[np.int64]
    values: pa.Array  # the kind's Arrow type; JSON text for kind "json"
    metadata: pa.Array | None  # JSON object text or null
    kind: Kind | None  # None when every value is missing

    def __len__(self) -> int:
        return len(self.ns)


def _split_columns(data: Any) -> tuple[Any, Any, Any]:
    """(timestamps, values, metadata-or-None) from any accepted container."""
    if isinstance(data, pl.DataFrame):
        data = data.to_arrow()
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pd.Series):
        if not isinstance(data.index, pd.DatetimeIndex):
            raise TypeError(
                "a pandas Series given to append_many needs a DatetimeIndex "
                f"(got {type(data.index).__name__})"
            )
        return data.index, data, None
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        if TIMESTAMP in names:
            timestamps: Any = data[TIMESTAMP]
        elif isinstance(data.index, pd.DatetimeIndex):
            timestamps = data.index
        else:
            raise TypeError(
                "a DataFrame given to append_many needs a 'timestamp' column or a DatetimeIndex"
            )
        return timestamps, data[_value_column(names)], _opt(data, names)
    if isinstance(data, pa.Table):
        names = data.column_names
        if TIMESTAMP not in names:
            raise TypeError("an Arrow table or polars DataFrame needs a 'timestamp' column")
        value = data.column(_value_column(names))
        meta = data.column(METADATA) if METADATA in names else None
        return data.column(TIMESTAMP), value, meta
    raise TypeError(
        f"append_many takes a pandas DataFrame or Series, a polars DataFrame or a pyarrow "
        f"Table; got {type(data).__name__}"
    )


def _opt(frame: pd.DataFrame, names: list[str]) -> Any:
    return frame[METADATA] if METADATA in names else None


def _value_column(names: list[str]) -> str:
    if VALUE in names:
        return VALUE
    rest = [n for n in names if n not in (TIMESTAMP, METADATA)]
    if len(rest) == 1:
        return rest[0]
    raise TypeError(f"cannot tell which column holds the values among {rest}; name it 'value'")


def _to_arrow(values: Any) -> pa.Array | list[Any]:
    """An Arrow array when the column has one type, else the Python objects."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype == object:
        return series.tolist()
    if series.dtype.kind == "f":  # NaN is a value here, not a missing one
        return pa.array(series.to_numpy())
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return series.tolist()


def _arrow_kind(arr: pa.Array) -> Kind | None:
    t = arr.type
    if pa.types.is_null(t):
        return None
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        return "json"
    if pa.types.is_map(t):
        return "json"
    raise InvalidValue(f"cannot store values of Arrow type {t}; use numbers, bools or strings")


def _values_for(kind: Kind, column: pa.Array | list[Any], variable: str) -> pa.Array:
    """Check every value against the kind and return the Arrow column to encode."""
    if isinstance(column, list):
        checked = [json_value(kind, v, variable) for v in column]
        if kind == "json":
            return pa.array(
                [None if v is None else orjson.dumps(v).decode() for v in checked], pa.string()
            )
        if kind == "float":  # json_value spells non-finite floats as text; undo that
            checked = [NONFINITE_TEXT[v] if isinstance(v, str) else v for v in checked]
        return pa.array(checked, _ARROW[kind])
    got = _arrow_kind(column)
    if got is None:
        return pa.nulls(len(column), _ARROW[kind])
    if kind == "json" and got == "json":
        return _values_for(kind, column.to_pylist(), variable)
    if kind == "int" and pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    if got != kind or kind == "json":
        first = next((v for v in column.to_pylist() if v is not None), None)
        raise SchemaMismatch(
            f"variable {variable!r} holds {kind} values (fixed by its first write); the batch's "
            f"values are {column.type} (first: {first!r:.60}). Use another variable name"
        )
    return column.cast(_ARROW[kind])


# The line format's Arrow types, strings as large strings (64-bit offsets: no 2 GiB cap).
_ARROW: dict[str, pa.DataType] = {**ARROW_TYPES, "string": pa.large_string()}


def _metadata_column(meta: Any, n: int, limit: int | None) -> pa.Array | None:
    if meta is None:
        return None
    if isinstance(meta, pa.ChunkedArray | pa.Array):
        if pa.types.is_string(meta.type) or pa.types.is_large_string(meta.type):
            items: list[Any] = [None if t is None else orjson.loads(t) for t in meta.to_pylist()]
        else:
            items = meta.to_pylist()
    else:
        items = list(meta)
    out: list[str | None] = []
    for row, item in enumerate(items):
        if item is None or (isinstance(item, float) and math.isnan(item)):
            out.append(None)
            continue
        try:
            check_metadata(item)
        except InvalidMetadata as exc:
            raise InvalidMetadata(f"metadata at row {row}: {exc}") from exc
        encoded = orjson.dumps(item, option=METADATA_OPTS)
        if limit is not None and len(encoded) > limit:
            raise InvalidMetadata(
                f"metadata at row {row}: {metadata_too_large(len(encoded), limit)}"
            )
        out.append(encoded.decode())
    if len(out) != n:  # pragma: no cover - columns come from one frame
        raise InvalidMetadata("metadata column length differs from the values")
    return pa.array(out, pa.string())


def normalise(
    data: Any,
    rules: TimeRules,
    kind: Kind | None,
    variable: str,
    max_metadata_bytes: int | None = None,
) -> Batch:
    """Check a batch completely and return its columns; `kind` is the variable's, if fixed.

    `max_metadata_bytes` caps each row's encoded metadata (None: no cap).
    """
    timestamps, values, meta = _split_columns(data)
    ns = to_ns_array(timestamps, rules)
    column = _to_arrow(values)
    if kind is None:
        if isinstance(column, list):
            first = next((v for v in column if v is not None), None)
            kind = infer_kind(first)
        else:
            kind = _arrow_kind(column)
    if kind is None:
        arr: pa.Array = pa.nulls(len(ns), pa.float64())
    else:
        arr = _values_for(kind, column, variable)
    if len(arr) != len(ns):  # pragma: no cover - columns come from one frame
        raise InvalidValue("timestamp and value columns differ in length")
    return Batch(
        ns=ns, values=arr, metadata=_metadata_column(meta, len(ns), max_metadata_bytes), kind=kind
    )
