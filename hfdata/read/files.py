"""Reading Parquet files: the rows of one sorted file in a window, its footer, its span.

Every Parquet file is sorted by `timestamp`, so a read in `[lo, last]` opens only the
row groups whose footer statistics overlap the window and slices the first and last
of them without copying. Footers are cached by file identity (path, inode, size,
mtime; a data object by name and size, objects are immutable). A large read is decoded
by several threads, each taking a contiguous run of row groups (pyarrow releases the
GIL); small reads stay on the calling thread, where a second thread costs more than it
saves. Page checksums are verified. A damaged local file is a `CorruptFile` naming
it; a vanished one stays a `FileNotFoundError`, which the snapshot loop retries.

A file is a local `Path` or, with the Parquet root in an object store, a `RemoteFile`
from its commit record (which carries its span, rows and size); both kinds of file
are told apart here only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.errors import CorruptFile
from hfdata.timeparse import NS_MAX, NS_MIN

if TYPE_CHECKING:
    import polars as pl

    from hfdata.parquet.objectstore import ParquetRoot, RemoteFile

__all__ = [
    "chunk_ns",
    "clear_footers",
    "estimated_rows",
    "file_size",
    "file_span",
    "footer_span",
    "read_parquet",
    "read_parquets",
    "row_groups",
    "scan_parquet",
]

_TS: Final = "timestamp"
_FOOTERS: Final = 4096  # cached footers

_footer_lock = threading.Lock()
_footers: OrderedDict[tuple[str, int, int, int], tuple[pq.FileMetaData, npt.NDArray[np.int64]]]
_footers = OrderedDict()


def clear_footers() -> None:
    """Forget every cached footer."""
    with _footer_lock:
        _footers.clear()


# -- one file --------------------------------------------------------------------------------


def read_parquet(
    path: Path | RemoteFile, lo: int, last: int, columns: Sequence[str]
) -> pa.Table | None:
    """Rows of one sorted Parquet file with `lo <= timestamp <= last` (row groups pruned)."""
    if not isinstance(path, Path):
        return _read_remote(path, lo, last, columns)
    md, keep = _plan(path, lo, last)
    return _read_planned(path, md, keep, lo, last, columns)


def row_groups(path: Path | RemoteFile) -> tuple[pa.Schema, npt.NDArray[np.int64]]:
    """A Parquet file's Arrow schema and, per row group, (min, max timestamp, rows)
    from its cached footer; a damaged local footer is a `CorruptFile`."""
    if isinstance(path, Path):
        with _reading(path):
            md, bounds, _ = _footer(path)
    else:
        from hfdata.parquet.objectstore import vanished_as_not_found

        with vanished_as_not_found(path):
            md, bounds = _remote_footer(path)
    rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    return md.schema.to_arrow_schema(), np.column_stack([bounds, np.array(rows, np.int64)])


def footer_span(path: Path) -> tuple[int, int, int]:
    """First and last timestamp and row count of a local Parquet file from its (cached)
    footer; `(NS_MAX, NS_MIN, 0)` when it holds no rows."""
    md, bounds, _ = _footer(path)
    if md.num_rows == 0 or len(bounds) == 0:
        return NS_MAX, NS_MIN, 0
    return int(bounds[:, 0].min()), int(bounds[:, 1].max()), int(md.num_rows)


def file_span(path: Path | RemoteFile) -> tuple[int, int, int]:
    """First and last timestamp and rows of a file (commit record, or cached footer)."""
    if not isinstance(path, Path):
        return path.lo, path.hi, path.rows
    return footer_span(path)


def file_size(path: Path | RemoteFile) -> int:
    """A file's size in bytes (commit record, or the file system)."""
    return path.stat().st_size if isinstance(path, Path) else path.size


def estimated_rows(path: Path | RemoteFile, rows_per_byte: float) -> int:
    """A file's rows without reading its footer: exact from its commit record, else its
    size at `rows_per_byte` (at least one)."""
    if isinstance(path, Path):
        return max(1, round(file_size(path) * rows_per_byte))
    return path.rows


def scan_parquet(files: Sequence[Path | RemoteFile], remote: ParquetRoot | None) -> pl.LazyFrame:
    """A polars LazyFrame over whole Parquet files: local ones scanned by polars, data
    objects through Arrow's filesystem (polars pushes a time filter down to it)."""
    import polars as pl

    if remote is None:
        return pl.scan_parquet([str(p) for p in files], hive_partitioning=False)
    import pyarrow.dataset as pads

    paths = [p.path for p in files if not isinstance(p, Path)]
    dataset = pads.dataset(paths, format="parquet", filesystem=remote.fs)
    return pl.scan_pyarrow_dataset(dataset)


# -- local files -----------------------------------------------------------------------------


def _footer(path: Path) -> tuple[pq.FileMetaData, npt.NDArray[np.int64], tuple[int, ...]]:
    """The file's metadata and per-row-group (min, max) timestamps, cached by identity."""
    st = os.stat(path)
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    with _footer_lock:
        hit = _footers.get(key)
        if hit is not None:
            _footers.move_to_end(key)
            return hit[0], hit[1], key[1:]
    md = pq.read_metadata(path)
    bounds = _bounds(md)
    with _footer_lock:
        _footers[key] = (md, bounds)
        while len(_footers) > _FOOTERS:
            _footers.popitem(last=False)
    return md, bounds, key[1:]


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


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A damaged local Parquet file is a `CorruptFile` naming it; a vanished one stays a
    `FileNotFoundError` (a concurrent compaction replaced it: the caller lists again)."""
    try:
        yield
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise CorruptFile(
            errno.EIO,
            f"Parquet file {path} cannot be read ({exc}); move it out of parquet/ and "
            "compact its points again from log/<variable>/compacted/",
        ) from exc


def _plan(path: Path, lo: int, last: int) -> tuple[pq.FileMetaData, list[int]]:
    """The file's footer and the row groups that overlap `[lo, last]`."""
    with _reading(path):
        md, bounds, _ = _footer(path)
    return md, np.flatnonzero((bounds[:, 1] >= lo) & (bounds[:, 0] <= last)).tolist()


def _read_planned(
    path: Path, md: pq.FileMetaData, keep: list[int], lo: int, last: int, columns: Sequence[str]
) -> pa.Table | None:
    """`read_parquet` once the row groups are chosen."""
    return _slice_sorted(_decode(path, md, keep, columns), lo, last) if keep else None


def _decode(
    path: Path | pa.Buffer, md: pq.FileMetaData, groups: list[int], columns: Sequence[str]
) -> pa.Table:
    """Row groups `groups` of a local file, or of an object fetched into memory (page
    checksums verified)."""
    names = md.schema.names
    indices = [names.index(c) for c in columns]
    if not isinstance(path, Path):
        return _decode_from(pa.BufferReader(path), md, groups, indices)
    # An Arrow memory map as the source skips ParquetFile's filesystem resolution,
    # and `reader` its per-call column lookup (see benchmarks/PROFILES.md).
    with _reading(path), pa.memory_map(str(path)) as source:
        return _decode_from(source, md, groups, indices)


def _decode_from(
    source: pa.NativeFile, md: pq.FileMetaData, groups: list[int], indices: list[int]
) -> pa.Table:
    pf = pq.ParquetFile(source, metadata=md, pre_buffer=False, page_checksum_verification=True)
    return pf.reader.read_row_groups(groups, column_indices=indices, use_threads=False)


# -- data objects ----------------------------------------------------------------------------


def _remote_footer(file: RemoteFile) -> tuple[pq.FileMetaData, npt.NDArray[np.int64]]:
    """Footer and row-group bounds of a data object (immutable: cached by name and size)."""
    from hfdata.parquet.objectstore import read_footer

    key = (file.path, 0, file.size, 0)
    with _footer_lock:
        hit = _footers.get(key)
        if hit is not None:
            _footers.move_to_end(key)
            return hit
    md = read_footer(file)
    entry = (md, _bounds(md))
    with _footer_lock:
        _footers[key] = entry
        while len(_footers) > _FOOTERS:
            _footers.popitem(last=False)
    return entry


def _read_remote(file: RemoteFile, lo: int, last: int, columns: Sequence[str]) -> pa.Table | None:
    """Rows of a data object in `[lo, last]`: all of it in one request when the window
    covers it, else the footer (cached) and the overlapping row groups only."""
    from hfdata.parquet.objectstore import fetch, open_remote, vanished_as_not_found

    with vanished_as_not_found(file):
        if lo <= file.lo and file.hi <= last:
            return _decode_fetched(fetch(file), columns)
        md, bounds = _remote_footer(file)
        keep = np.flatnonzero((bounds[:, 1] >= lo) & (bounds[:, 0] <= last))
        if len(keep) == 0:
            return None
        with open_remote(file.fs, file.path) as src:
            pf = pq.ParquetFile(src, metadata=md, pre_buffer=True, page_checksum_verification=True)
            table = pf.read_row_groups(keep.tolist(), columns=list(columns), use_threads=False)
    return _slice_sorted(table, lo, last)


# -- decoding on several threads -------------------------------------------------------------

_PARALLEL_ROWS: Final = 262_144  # below this a second thread costs more than it saves
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool on demand."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _threads() -> tuple[int, ThreadPoolExecutor | None]:
    """How many decoding threads this machine gets, and their pool (None for one)."""
    global _pool
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2:
        return workers, None
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="hfdata-read")
        return workers, _pool


def _decode_fetched(data: pa.Buffer, columns: Sequence[str]) -> pa.Table:
    """A whole data object fetched into memory, page checksums verified. A large one is
    decoded as local reads are, by runs of row groups on the pool (decoding is the
    better part of a remote read's time)."""
    pf = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
    md = pf.metadata
    workers, pool = _threads()
    count = md.num_row_groups
    if pool is None or md.num_rows < _PARALLEL_ROWS or count < 2:
        return pf.read(columns=list(columns), use_threads=False)
    per_run = -(-count // workers)
    runs = [list(range(k, min(k + per_run, count))) for k in range(0, count, per_run)]
    return pa.concat_tables(pool.map(lambda run: _decode(data, md, run, columns), runs))


def read_parquets(
    paths: Sequence[Path | RemoteFile], lo: int, last: int, columns: Sequence[str]
) -> list[pa.Table | None]:
    """`read_parquet` of each file, in order. A large read of local files is decoded by
    several threads, each taking a contiguous run of row groups. Small reads stay on
    this thread; remote files are fetched one by one, large ones then decoded on threads
    (`_decode_fetched`)."""
    workers, pool = _threads()
    if pool is None or not all(isinstance(p, Path) for p in paths):
        return [read_parquet(p, lo, last, columns) for p in paths]
    local = cast("list[Path]", list(paths))
    plans = [_plan(p, lo, last) for p in local]
    rows = sum(md.row_group(g).num_rows for md, keep in plans for g in keep)
    if rows < _PARALLEL_ROWS:
        return [
            _read_planned(p, md, keep, lo, last, columns)
            for p, (md, keep) in zip(local, plans, strict=True)
        ]
    per_job = max(1, -(-sum(len(keep) for _, keep in plans) // (2 * workers)))
    jobs = [
        (i, keep[k : k + per_job])
        for i, (_, keep) in enumerate(plans)
        for k in range(0, len(keep), per_job)
    ]
    decoded = pool.map(lambda job: _decode(local[job[0]], plans[job[0]][0], job[1], columns), jobs)
    parts: list[list[pa.Table]] = [[] for _ in local]
    for (i, _), table in zip(jobs, decoded, strict=True):
        parts[i].append(table)
    return [_slice_sorted(pa.concat_tables(p), lo, last) if p else None for p in parts]


# -- slicing sorted tables -------------------------------------------------------------------


def chunk_ns(chunk: pa.Array) -> npt.NDArray[np.int64]:
    """A timestamp chunk as int64 nanoseconds (a view where Arrow allows one)."""
    return np.asarray(chunk.view(pa.int64()).to_numpy(zero_copy_only=False))


def _slice_sorted(table: pa.Table, lo: int, last: int) -> pa.Table:
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
