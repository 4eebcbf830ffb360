"""Reading one Parquet file of a `PartsRoot`: its footer (cached) and its rows in a window.

Files are sorted by timestamp, so a window `[lo, last]` keeps only the row groups whose
footer statistics overlap it, and the rows are sliced without copying. Footers are
cached by the file's path and identity (a local file's inode, size and mtime; an
object's size: objects are never rewritten). Page checksums are verified on every read,
so a flipped bit is an error, never a wrong value. The steps (`plan`, `read_groups`,
`covers`, `read_whole`) are public for readers that spread one read over threads
(`hfdata.read.files`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.parquet.root import PartFile
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = [
    "chunk_ns",
    "clear_footers",
    "covers",
    "decode",
    "file_span",
    "footer",
    "plan",
    "read_groups",
    "read_parquet",
    "read_whole",
    "row_groups",
    "slice_sorted",
]

_TS: Final = "timestamp"
_CACHED: Final = 4096

_lock = threading.Lock()
_footers: OrderedDict[tuple[str, int, int, int], tuple[pq.FileMetaData, npt.NDArray[np.int64]]]
_footers = OrderedDict()


def clear_footers() -> None:
    """Forget cached footers (benchmarks use it for cold reads)."""
    with _lock:
        _footers.clear()


def footer(file: PartFile) -> tuple[pq.FileMetaData, npt.NDArray[np.int64]]:
    """The file's footer and per-row-group (min, max) timestamps, cached by identity.
    Call inside `file.root.reading(file)`."""
    root = file.root
    key = (file.path, *root.identity(file))
    with _lock:
        hit = _footers.get(key)
        if hit is not None:
            _footers.move_to_end(key)
            return hit
    md = root.read_footer(file)
    entry = (md, _bounds(md))
    with _lock:
        _footers[key] = entry
        while len(_footers) > _CACHED:
            _footers.popitem(last=False)
    return entry


def _bounds(md: pq.FileMetaData) -> npt.NDArray[np.int64]:
    """Per row group (min, max) timestamp from the footer statistics."""
    col = md.schema.names.index(_TS)
    bounds = np.empty((md.num_row_groups, 2), dtype=np.int64)
    for i in range(md.num_row_groups):
        stats = md.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max:
            bounds[i] = (NS_MIN, NS_MAX)
        else:
            bounds[i] = (int(stats.min_raw), int(stats.max_raw))
    return bounds


def row_groups(file: PartFile) -> tuple[pa.Schema, npt.NDArray[np.int64]]:
    """A file's Arrow schema and, per row group, (min, max timestamp, rows) from its
    cached footer."""
    with file.root.reading(file):
        md, bounds = footer(file)
    rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    return md.schema.to_arrow_schema(), np.column_stack([bounds, np.array(rows, np.int64)])


def file_span(file: PartFile) -> tuple[int, int, int]:
    """First and last timestamp and rows of a file: from what its listing knows, else
    from its cached footer; `(NS_MAX, NS_MIN, 0)` when it holds no rows."""
    if file.rows is not None and file.lo is not None and file.hi is not None:
        return file.lo, file.hi, file.rows
    md, bounds = footer(file)
    if md.num_rows == 0 or len(bounds) == 0:
        return NS_MAX, NS_MIN, 0
    return int(bounds[:, 0].min()), int(bounds[:, 1].max()), int(md.num_rows)


def covers(file: PartFile, lo: int, last: int) -> bool:
    """Whether `file` is best read whole for `[lo, last]`: its root prefers one request
    (`whole_reads`) and the window covers the span its listing gives."""
    return (
        file.root.whole_reads
        and file.lo is not None
        and file.hi is not None
        and lo <= file.lo
        and file.hi <= last
    )


def plan(file: PartFile, lo: int, last: int) -> tuple[pq.FileMetaData, list[int]]:
    """The file's footer and the row groups that overlap `[lo, last]`. Call inside
    `file.root.reading(file)`."""
    md, bounds = footer(file)
    return md, np.flatnonzero((bounds[:, 1] >= lo) & (bounds[:, 0] <= last)).tolist()


def decode(
    source: pa.NativeFile,
    md: pq.FileMetaData,
    groups: list[int],
    columns: Sequence[str],
    *,
    pre_buffer: bool = False,
) -> pa.Table:
    """Row groups `groups` of an opened file whose footer is `md`, page checksums
    verified (`reader` skips ParquetFile's per-call column lookup)."""
    indices = [md.schema.names.index(c) for c in columns]
    pf = pq.ParquetFile(source, metadata=md, pre_buffer=pre_buffer, page_checksum_verification=True)
    return pf.reader.read_row_groups(groups, column_indices=indices, use_threads=False)


def read_groups(
    file: PartFile, md: pq.FileMetaData, groups: list[int], columns: Sequence[str]
) -> pa.Table:
    """Row groups `groups` of `file`, opened through its root. Call inside
    `file.root.reading(file)`."""
    root = file.root
    with root.open(file) as source:
        return decode(source, md, groups, columns, pre_buffer=root.pre_buffer)


def read_whole(data: pa.Buffer, columns: Sequence[str]) -> pa.Table:
    """A whole file fetched into memory, page checksums verified."""
    pf = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
    return pf.read(columns=list(columns), use_threads=False)


def read_parquet(file: PartFile, lo: int, last: int, columns: Sequence[str]) -> pa.Table | None:
    """Rows of one sorted file with `lo <= timestamp <= last` (row groups pruned; None
    when no row group overlaps). A root with `whole_reads` fetches a file the window
    covers in one request."""
    root = file.root
    with root.reading(file):
        if covers(file, lo, last):
            return read_whole(root.fetch(file), columns)
        md, keep = plan(file, lo, last)
        if not keep:
            return None
        table = read_groups(file, md, keep, columns)
    return slice_sorted(table, lo, last)


def chunk_ns(chunk: pa.Array) -> npt.NDArray[np.int64]:
    """A timestamp chunk as int64 nanoseconds (a view where Arrow allows one)."""
    return np.asarray(chunk.view(pa.int64()).to_numpy(zero_copy_only=False))


def slice_sorted(table: pa.Table, lo: int, last: int) -> pa.Table:
    """Slice a table sorted by timestamp (as Parquet parts are) to `[lo, last]`.

    Searches chunk by chunk without combining them, so nothing is copied.
    """
    chunks = table.column(_TS).chunks
    offset, start, stop = 0, None, 0
    for chunk in chunks:
        if len(chunk):
            ns = chunk_ns(chunk)
            if start is None and ns[-1] >= lo:
                start = offset + int(np.searchsorted(ns, lo, side="left"))
            if ns[0] <= last:
                stop = offset + int(np.searchsorted(ns, last, side="right"))
        offset += len(chunk)
    if start is None or stop <= start:
        return table.slice(0, 0)
    return table if (start, stop) == (0, offset) else table.slice(start, stop - start)
