"""Columns of points to JSON Lines bytes, vectorised with polars. Pure.

Used by `append_many`: the timestamp and value columns are formatted in Rust and
the resulting line column's Arrow data buffer is handed to `write` as is, with no
per-row Python work (except for `json` values and metadata dicts, which orjson
encodes one by one).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from hfdata.kinds import Kind

__all__ = ["encode_lines"]


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
    elif kind == "int":
        text = v.cast(pl.String)
    elif kind == "bool":
        text = pl.when(v).then(pl.lit("true")).otherwise(pl.lit("false"))
    else:  # string, and json already encoded as text
        text = v if kind == "json" else pl.struct(v).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(v.is_null()).then(pl.lit("null")).otherwise(text)


def encode_lines(
    ns: npt.NDArray[np.int64],
    values: pa.Array,
    metadata: pa.Array | None,
    kind: Kind,
) -> Iterator[memoryview]:
    """Yield the bytes of the lines, in row order, as one or more contiguous buffers.

    `values` is an Arrow array of the kind's type (for `json`, JSON text);
    `metadata` is JSON object text or null per row.
    """
    columns: dict[str, pl.Series] = {
        "t": pl.Series("t", ns, dtype=pl.Int64).cast(pl.Datetime("ns")),
        "v": pl.Series("v", values),
    }
    parts = [
        pl.lit('{"timestamp":"'),
        pl.col("t").dt.strftime("%Y-%m-%dT%H:%M:%S%.9fZ"),
        pl.lit('","value":'),
        _value_expr(kind),
    ]
    if metadata is not None:
        columns["m"] = pl.Series("m", metadata, dtype=pl.String)
        parts.append(
            pl.when(pl.col("m").is_null())
            .then(pl.lit(""))
            .otherwise(pl.concat_str([pl.lit(',"metadata":'), pl.col("m")]))
        )
    parts.append(pl.lit("}\n"))
    frame = pl.DataFrame(columns).lazy().select(pl.concat_str(parts).alias("line")).collect()
    lines = frame.get_column("line").to_arrow()
    chunks = lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]
    for chunk in chunks:
        if chunk.type != pa.large_string():
            chunk = chunk.cast(pa.large_string())
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        start, stop = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
        if stop > start:
            yield memoryview(chunk.buffers()[2])[start:stop]
