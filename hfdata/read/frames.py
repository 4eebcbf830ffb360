"""Arrow results to pandas, polars or Arrow: the only place frames are made.

Every result is first an Arrow table whose first column is `timestamp`
(`timestamp[ns, UTC]`); `to_output` turns it into the frame the caller asked for
with the same rows and values. pandas gets a tz-aware UTC `timestamp` index and
Python objects for JSON text columns (`json` values, `metadata=True`); polars and
Arrow keep JSON as canonical text, since Arrow has no type for arbitrary JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from hfdata.read.bins import utc_index

__all__ = ["OUTPUTS", "Output", "expand_metadata", "to_output"]

Output = Literal["pandas", "polars", "arrow"]
OUTPUTS: Final = ("pandas", "polars", "arrow")
_TS: Final = "timestamp"


def _column_to_pandas(column: pa.ChunkedArray, *, json_text: bool) -> Any:
    if json_text:
        return np.array(
            [None if t is None else orjson.loads(t) for t in column.to_pylist()], dtype=object
        )
    t = column.type
    if column.null_count == 0 and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        if column.num_chunks == 1:
            return column.chunk(0).to_numpy()
        return column.to_numpy()
    return column.to_pandas().array  # an array, so the frame does not align on an index


@functools.cache
def _labels(name: str) -> pd.Index:
    return pd.Index([name])


def to_pandas(table: pa.Table, json_columns: Sequence[str] = ()) -> pd.DataFrame:
    """A DataFrame indexed by tz-aware UTC `timestamp` (no copies for plain numeric columns)."""
    ts = table.column(_TS)
    ns = (ts.chunk(0) if ts.num_chunks == 1 else ts.combine_chunks()).view(pa.int64())
    index = utc_index(ns.to_numpy(zero_copy_only=False))
    data = {
        name: _column_to_pandas(table.column(name), json_text=name in json_columns)
        for name in table.column_names
        if name != _TS
    }
    if len(data) == 1:
        [(name, values)] = data.items()
        if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
            # The common frame, one numeric column: a 2-D view and a label index built
            # once (`view` so that renaming one frame's columns leaves the others alone)
            # skip most of pandas' constructor, which dominates small reads.
            columns = _labels(name).view()
            return pd.DataFrame(values.reshape(-1, 1), index=index, columns=columns, copy=False)
    frame = pd.DataFrame(data, index=index, copy=False)
    if not data:
        frame = pd.DataFrame(index=index)
    return frame


def to_output(table: pa.Table, output: Output, json_columns: Sequence[str] = ()) -> Any:
    """The result in the requested form; `output` was checked by the caller."""
    if output == "arrow":
        return table
    if output == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return to_pandas(table, json_columns)


def expand_metadata(table: pa.Table, taken: Sequence[str]) -> pa.Table:
    """Replace the `metadata` JSON text column by one column per key (first-seen order).

    A key that collides with an existing column is named `metadata.<key>`; a key whose
    values do not fit one Arrow type keeps them as JSON text.
    """
    column = table.column("metadata")
    rows = [None if t is None else orjson.loads(t) for t in column.to_pylist()]
    keys: dict[str, None] = {}
    for row in rows:
        if row:
            keys.update(dict.fromkeys(row))
    table = table.drop_columns(["metadata"])
    for key in keys:
        values = [None if row is None else row.get(key) for row in rows]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array(
                [None if v is None else orjson.dumps(v).decode() for v in values], pa.string()
            )
        name = f"metadata.{key}" if key in taken or key == _TS else key
        table = table.append_column(name, array)
    return table
