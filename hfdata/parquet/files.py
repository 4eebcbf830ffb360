"""Parquet files of the store: their schema, and how they are split, sorted and written.

Every file of a kind has that kind's schema, `KIND_SCHEMAS[kind]`, exactly: `timestamp` as
`timestamp[ns, UTC]` (delta-encoded), `value` in the kind's type (byte-stream-split floats,
delta ints), `metadata` as dictionary-encoded JSON text, `arrived` (format 3: when each
point's append call was made, `timestamp[ns, UTC]`, not null, delta-encoded: a batch shares
one value, so it costs next to nothing), in that order, so an outside engine
reads a whole `kind=<kind>/` folder as one table (docs/contracts.md, "On-disk layout");
sorted by timestamp, zstd, statistics on. Row groups hold `ROW_GROUP_ROWS` rows, the size
the reader's measurements favour for slices (it prunes by the timestamp statistics; see
docs/decisions.md). Hive columns live only in the path.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.durable import make_dirs
from hfdata.kinds import KINDS, Kind
from hfdata.layout import Partition

__all__ = [
    "ARRIVED",
    "KIND_SCHEMAS",
    "ROW_GROUP_ROWS",
    "Written",
    "conform",
    "dedupe_sorted",
    "has_kind_schema",
    "sort_stable",
    "split_partitions",
    "write_parquet",
    "write_parquet_stream",
]

ROW_GROUP_ROWS: Final = 16 * 1024
ARRIVED: Final = "arrived"
_UNITS: Final[dict[str, Any]] = {"hour": "h", "day": "D", "month": "M"}
_VALUE_TYPES: Final[dict[str, pa.DataType]] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "json": pa.string(),  # JSON text
}
KIND_SCHEMAS: Final[dict[str, pa.Schema]] = {
    kind: pa.schema(
        [
            pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
            pa.field("value", _VALUE_TYPES[kind]),
            pa.field("metadata", pa.string()),
            pa.field(ARRIVED, pa.timestamp("ns", tz="UTC"), nullable=False),
        ]
    )
    for kind in KINDS
}


def has_kind_schema(schema: pa.Schema, kind: Kind) -> bool:
    """Whether a file's schema has its kind's columns, in order, of its kind's types
    (what engines reading a kind's folder need; nullability is not compared)."""
    want = KIND_SCHEMAS[kind]
    return [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in want]


def conform(table: pa.Table, kind: Kind) -> pa.Table:
    """`table` with exactly its kind's schema: the columns in order, each cast losslessly
    (large strings to strings, an all-null column to the kind's type). A value that does
    not fit is an `ArrowInvalid`, never a silent change; a table without `arrived` is a
    `ValueError` (every point stored knows when it arrived: the caller must say)."""
    schema = KIND_SCHEMAS[kind]
    if table.schema.equals(schema):
        return table
    if ARRIVED not in table.column_names:
        raise ValueError("a Parquet file's rows need their `arrived` column")
    columns = []
    for f in schema:
        column = table.column(f.name) if f.name in table.column_names else None
        if column is None:
            column = pa.nulls(table.num_rows, f.type)
        columns.append(column.cast(f.type, safe=True))
    return pa.Table.from_arrays(columns, schema=schema)


def sort_stable(table: pa.Table) -> pa.Table:
    """Sort by timestamp; rows with equal timestamps keep their order in `table`."""
    ns = table.column("timestamp").cast(pa.int64()).to_numpy()
    if len(ns) < 2 or bool(np.all(ns[1:] >= ns[:-1])):
        return table
    return table.take(pa.array(np.argsort(ns, kind="stable")))


def split_partitions(table: pa.Table, granularity: Partition) -> Iterator[tuple[str, pa.Table]]:
    """(partition key, rows) of a table sorted by timestamp, in key order."""
    if table.num_rows == 0:
        return
    ns = table.column("timestamp").cast(pa.int64()).to_numpy()
    unit = _UNITS[granularity]
    keys = ns.view("M8[ns]").astype(f"M8[{unit}]")
    cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    bounds = [0, *cuts.tolist(), len(ns)]
    names = np.datetime_as_string(keys[np.array(bounds[:-1])], unit=unit)
    for name, (start, stop) in zip(names.tolist(), itertools.pairwise(bounds), strict=True):
        yield str(name), table.slice(start, stop - start)


def dedupe_sorted(table: pa.Table, keep: str) -> pa.Table:
    """Keep the `"last"` (or `"first"`) row of each run of equal timestamps."""
    ns = table.column("timestamp").cast(pa.int64()).to_numpy()
    if len(ns) < 2:
        return table
    differs = ns[1:] != ns[:-1]
    mask = np.ones(len(ns), np.bool_)
    if keep == "last":
        mask[:-1] = differs
    else:
        mask[1:] = differs
    return table.filter(pa.array(mask))


def _encodings(schema: pa.Schema) -> dict[str, str]:
    """Column encodings: delta for timestamps (`timestamp`, `arrived`, a tombstone's
    `start`, `end`, `recorded`) and ints, byte-stream-split for floats."""
    encodings: dict[str, str] = {}
    for f in schema:
        if pa.types.is_timestamp(f.type) or pa.types.is_integer(f.type):
            encodings[f.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(f.type):
            encodings[f.name] = "BYTE_STREAM_SPLIT"
    return encodings


@dataclass(frozen=True, slots=True)
class Written:
    """What a Parquet file received: its rows and first and last timestamp (0 if none;
    of a tombstone file, its first column's, `start`)."""

    rows: int
    lo: int
    hi: int


def _write_tables(tables: pa.Table | Iterable[pa.Table], sink: Any) -> Written:
    """Write pieces of one sorted table, in order, as one file. Row groups are full
    (`ROW_GROUP_ROWS`) but for the last, wherever the pieces are cut, so the file is
    the one `pq.write_table` would write from their concatenation; only one piece and
    less than a row group are held at a time. Needs at least one piece (for the schema)."""
    if isinstance(tables, pa.Table):
        tables = [tables]
    writer: pq.ParquetWriter | None = None
    rest: pa.Table | None = None  # under a row group, carried to the next piece
    rows = lo = hi = 0
    try:
        for table in tables:
            if writer is None:
                writer = pq.ParquetWriter(
                    sink,
                    table.schema,
                    compression="zstd",
                    use_dictionary=["metadata"] if "metadata" in table.schema.names else False,
                    column_encoding=_encodings(table.schema),
                    write_statistics=True,
                    write_page_checksum=True,  # readers verify them: a flipped bit is an error
                )
            if table.num_rows == 0:
                continue
            ns = table.column(0)  # `timestamp` (a tombstone file: `start`)
            lo = lo if rows else _ns_at(ns, 0)
            hi = _ns_at(ns, table.num_rows - 1)
            rows += table.num_rows
            pending = table if rest is None else pa.concat_tables([rest, table])
            full = pending.num_rows - pending.num_rows % ROW_GROUP_ROWS
            if full:
                _write_groups(writer, pending.slice(0, full))
            rest = pending.slice(full) if full < pending.num_rows else None
        if writer is None:
            raise ValueError("a Parquet file needs at least one table, even an empty one")
        if rest is not None:
            _write_groups(writer, rest)
    finally:
        if writer is not None:
            writer.close()
    return Written(rows, lo, hi)


def _write_groups(writer: pq.ParquetWriter, table: pa.Table) -> None:
    writer.write_table(table.combine_chunks(), row_group_size=ROW_GROUP_ROWS)


def _ns_at(column: pa.ChunkedArray, i: int) -> int:
    return int(column[i].cast(pa.int64()).as_py())


def write_parquet(
    tables: pa.Table | Iterable[pa.Table], path: Path, *, fsync: bool = True
) -> Written:
    """Write (and fsync, unless told not to) one Parquet file from a sorted table or
    its pieces in order (the caller renames it into place)."""
    make_dirs(path.parent)
    with open(path, "wb") as fh:
        written = _write_tables(tables, fh)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return written


def write_parquet_stream(table: pa.Table, stream: Any) -> Written:
    """Write one Parquet file from a sorted table to an Arrow output stream (an object
    upload) and close it."""
    with stream:
        return _write_tables(table, stream)
