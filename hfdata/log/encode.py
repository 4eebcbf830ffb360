"""Columns of points to JSON Lines, vectorised with polars. Pure until written.

Used by `append_many`. Points without metadata whose values JSON can hold as they
are (finite floats, ints, bools, strings, nulls) are written by polars'
`write_ndjson` itself (timestamps as `…+00:00`, which the line format allows).
Everything else is formatted into one `line` column with string expressions and
streamed with polars' CSV writer (one column, no quoting: exactly the lines).
Only `json` values and metadata dicts are encoded one by one, by orjson, before
they get here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from hfdata.kinds import Kind
from hfdata.log.lineformat import LINE_PREFIX, METADATA_KEY, TIMESTAMP, VALUE, VALUE_KEY

__all__ = ["Encoded", "encode_frame"]


@dataclass(frozen=True, slots=True)
class Encoded:
    """Lines ready to stream into a file object."""

    frame: pl.DataFrame
    ndjson: bool  # `timestamp`/`value` columns for write_ndjson, else one `line` column

    def write_to(self, raw: BinaryIO) -> None:
        if self.ndjson:
            self.frame.write_ndjson(raw)
        else:
            self.frame.write_csv(raw, include_header=False, quote_style="never")


def _plain(kind: Kind, values: pa.Array) -> bool:
    """True when every value is written by JSON as it is (no NaN or infinity, no json)."""
    if kind == "json":
        return False
    if kind != "float" or len(values) == values.null_count:
        return True
    return bool(pc.all(pc.is_finite(values)).as_py())


def _value_expr(kind: Kind) -> pl.Expr:
    v = pl.col("v")
    if kind == "float":
        text = (
            pl.when(v.is_nan())
            .then(pl.lit('"NaN"'))
            .when(v == float("inf"))
            .then(pl.lit('"Infinity"'))
            .when(v == float("-inf"))
            .then(pl.lit('"-Infinity"'))
            .otherwise(v.cast(pl.String))
        )
    elif kind in ("int", "json"):
        text = v.cast(pl.String)
    elif kind == "bool":
        text = pl.when(v).then(pl.lit("true")).otherwise(pl.lit("false"))
    else:  # string: JSON-escape through a one-field struct, then drop `{"v":` and `}`
        text = pl.struct(v).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(v.is_null()).then(pl.lit("null")).otherwise(text)


def encode_frame(
    ns: npt.NDArray[np.int64],
    values: pa.Array,
    metadata: pa.Array | None,
    kind: Kind,
) -> Encoded:
    """The lines for these rows, in row order.

    `values` is an Arrow array of the kind's type (for `json`, JSON text);
    `metadata` is JSON object text or null per row.
    """
    timestamps = pl.Series(TIMESTAMP, ns, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
    has_metadata = metadata is not None and metadata.null_count < len(metadata)
    if not has_metadata and _plain(kind, values):
        return Encoded(pl.DataFrame([timestamps, pl.Series(VALUE, values)]), ndjson=True)
    columns: dict[str, pl.Series] = {
        "t": timestamps.dt.replace_time_zone(None),
        "v": pl.Series("v", values),
    }
    parts = [
        pl.lit(LINE_PREFIX.decode()),
        pl.col("t").dt.strftime("%Y-%m-%dT%H:%M:%S%.9fZ"),
        pl.lit(VALUE_KEY.decode()),
        _value_expr(kind),
    ]
    if has_metadata:
        assert metadata is not None
        columns["m"] = pl.Series("m", metadata, dtype=pl.String)
        parts.append(
            pl.when(pl.col("m").is_null())
            .then(pl.lit(""))
            .otherwise(pl.concat_str([pl.lit(METADATA_KEY.decode()), pl.col("m")]))
        )
    parts.append(pl.lit("}"))
    frame = pl.DataFrame(columns).lazy().select(pl.concat_str(parts).alias("line")).collect()
    return Encoded(frame, ndjson=False)
