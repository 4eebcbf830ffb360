"""Parquet files of the store: how they are split, sorted and written.

`timestamp` as `timestamp[ns, UTC]` (delta-encoded), `value` in the kind's type
(byte-stream-split floats, delta ints), `metadata` as dictionary-encoded JSON text;
sorted by timestamp, zstd, statistics on. Row groups hold `ROW_GROUP_ROWS` rows, the
size the reader's measurements favour for slices (it prunes by the timestamp
statistics; see docs/decisions.md). Hive columns live only in the path.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.layout import Partition
from hfdata.log import make_dirs

__all__ = [
    "ROW_GROUP_ROWS",
    "dedupe_sorted",
    "sort_stable",
    "split_partitions",
    "write_parquet",
    "write_parquet_stream",
]

ROW_GROUP_ROWS: Final = 16 * 1024
_UNITS: Final[dict[str, Any]] = {"hour": "h", "day": "D", "month": "M"}


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


def _encodings(value_type: pa.DataType) -> dict[str, str]:
    """Column encodings: delta for timestamps and ints, byte-stream-split for floats."""
    encodings = {"timestamp": "DELTA_BINARY_PACKED"}
    if pa.types.is_floating(value_type):
        encodings["value"] = "BYTE_STREAM_SPLIT"
    elif pa.types.is_integer(value_type):
        encodings["value"] = "DELTA_BINARY_PACKED"
    return encodings


def _write_table(table: pa.Table, sink: Any) -> None:
    pq.write_table(
        table.combine_chunks(),
        sink,
        compression="zstd",
        use_dictionary=["metadata"],
        column_encoding=_encodings(table.schema.field("value").type),
        write_statistics=True,
        row_group_size=ROW_GROUP_ROWS,
        write_page_checksum=True,  # readers verify them: a flipped bit is an error
    )


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write and fsync one Parquet file (the caller renames it into place)."""
    make_dirs(path.parent)
    with open(path, "wb") as fh:
        _write_table(table, fh)
        fh.flush()
        os.fsync(fh.fileno())


def write_parquet_stream(table: pa.Table, stream: Any, *, fsync_path: str | None = None) -> None:
    """Write one Parquet file to an Arrow output stream (an object upload) and close it.

    `fsync_path` names a local file to fsync after closing (the local-path backend).
    """
    with stream:
        _write_table(table, stream)
    if fsync_path is not None:
        fd = os.open(fsync_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
