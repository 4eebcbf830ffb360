"""What read needs of Parquet files beyond reading one: many decoded on threads, sizes, scans.

One file is read by `hfdata.parquet.reader` through its root (footer cache, row-group
pruning, checksums). A large read is decoded here by several threads: files that are
opened in place (a local tree), by contiguous runs of row groups across the files; a
file fetched whole (a root with `whole_reads`), by runs of its row groups once it is in
memory (pyarrow releases the GIL). Small reads stay on the calling thread, where a
second thread costs more than it saves. A damaged file is what its root's `reading`
makes it (a local one a `CorruptFile` naming it); a vanished one stays a
`FileNotFoundError`, which the snapshot loop retries.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hfdata.layout import batch_time_ns
from hfdata.parquet.reader import (
    covers,
    decode,
    footer,
    plan,
    read_groups,
    read_parquet,
    slice_sorted,
)
from hfdata.parquet.root import PartFile, PartsRoot

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "arrival_range",
    "estimated_rows",
    "file_size",
    "read_one",
    "read_parquets",
    "scan_parquet",
    "segment_size",
    "single_threaded",
]


def file_size(file: PartFile) -> int:
    """A file's size in bytes (from its listing, or its root's filesystem)."""
    if file.size is not None:
        return file.size
    info = file.root.fs.get_file_info(file.path)
    if info.type == pafs.FileType.NotFound or info.size is None:
        raise FileNotFoundError(file.path)  # replaced meanwhile: the snapshot lists again
    return int(info.size)


def segment_size(path: Path) -> int:
    """A listed log segment's size in bytes; an active one its writer closed meanwhile,
    by its closed name; 0 if it is gone (compacted meanwhile)."""
    for candidate in (path, path.with_name(path.name.removesuffix(".active"))):
        try:
            return candidate.stat().st_size
        except FileNotFoundError:
            continue
    return 0


def estimated_rows(file: PartFile, rows_per_byte: float) -> int:
    """A file's rows without reading its footer: exact where its listing knows them,
    else its size at `rows_per_byte` (at least one)."""
    if file.rows is not None:
        return file.rows
    return max(1, round(file_size(file) * rows_per_byte))


def scan_parquet(files: Sequence[PartFile], parts: PartsRoot) -> pl.LazyFrame:
    """A polars LazyFrame over whole Parquet files: scanned by polars where they are on
    the local filesystem, else through the root's Arrow filesystem (polars pushes a time
    filter down to it)."""
    import polars as pl

    if isinstance(parts.fs, pafs.LocalFileSystem):
        return pl.scan_parquet([f.path for f in files], hive_partitioning=False)
    import pyarrow.dataset as pads

    dataset = pads.dataset([f.path for f in files], format="parquet", filesystem=parts.fs)
    return pl.scan_pyarrow_dataset(dataset)


# -- decoding on several threads -------------------------------------------------------------

_PARALLEL_ROWS: Final = 262_144  # below this a second thread costs more than it saves
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool on demand."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


_single = False  # set in a worker process that shares the cores with others


def single_threaded() -> None:
    """Decode on the calling thread only, here and in Arrow: for a process that is one of
    several workers sharing the cores (`Store.features`), where more threads per
    process would only contend."""
    global _single
    _single = True
    pa.set_cpu_count(1)


def _threads() -> tuple[int, ThreadPoolExecutor | None]:
    """How many decoding threads this machine gets, and their pool (None for one)."""
    global _pool
    workers = 1 if _single else min(os.cpu_count() or 1, 4)
    if workers < 2:
        return workers, None
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="hfdata-read")
        return workers, _pool


_ARRIVED: Final = "arrived"
_ARRIVED_TYPE: Final = pa.timestamp("ns", tz="UTC")


def _legacy(file: PartFile, columns: Sequence[str], names: Sequence[str]) -> list[str] | None:
    """The columns to read of a file written before format 3 (another store's, in a
    shared root, not yet upgraded) that lacks `arrived`, or None if it has every column."""
    if _ARRIVED not in columns or _ARRIVED in names:
        return None
    return [c for c in columns if c != _ARRIVED]


def _with_arrived(
    table: pa.Table | None, file: PartFile, columns: Sequence[str]
) -> pa.Table | None:
    """A legacy file's rows with `arrived` filled in as the upgrade would: its batch's
    time ("known by then at the latest"), else 1 (before everything)."""
    if table is None or _ARRIVED in table.column_names:
        return table
    when = batch_time_ns(file.rel.rsplit("/", 1)[-1]) or 1
    column = pa.array([when] * table.num_rows, pa.int64()).cast(_ARRIVED_TYPE)
    table = table.append_column(_ARRIVED, column)
    return table.select(list(columns))


_ARRIVALS_CACHED: Final = 4096
_arrivals: dict[tuple[object, ...], tuple[int, int] | None] = {}
_arrivals_lock = threading.Lock()


def arrival_range(file: PartFile) -> tuple[int, int] | None:
    """The first and last `arrived` of a file's versions, from its (cached) footer's
    statistics; a legacy file's filled-in arrival; None where the footer does not say.
    Kept per file (by the footer cache's key: a file's arrivals never change)."""
    with file.root.reading(file):
        key = (file.path, *file.root.identity(file))
        with _arrivals_lock:
            if key in _arrivals:
                return _arrivals[key]
        md = footer(file)[0]
    found = _arrival_range(file, md)
    with _arrivals_lock:
        if len(_arrivals) >= _ARRIVALS_CACHED:
            _arrivals.clear()
        _arrivals[key] = found
    return found


def _arrival_range(file: PartFile, md: pq.FileMetaData) -> tuple[int, int] | None:
    names = md.schema.names
    if _ARRIVED not in names:
        when = batch_time_ns(file.rel.rsplit("/", 1)[-1]) or 1
        return when, when
    col = names.index(_ARRIVED)
    first = final = None
    for i in range(md.num_row_groups):
        stats = md.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max:
            return None
        lo, hi = int(stats.min_raw), int(stats.max_raw)
        first = lo if first is None else min(first, lo)
        final = hi if final is None else max(final, hi)
    return None if first is None or final is None else (first, final)


def _decode(
    source: PartFile | pa.Buffer, md: pq.FileMetaData, groups: list[int], columns: Sequence[str]
) -> pa.Table:
    """Row groups `groups` of a file opened through its root, or of a file fetched into
    memory (page checksums verified); a legacy file's `arrived` filled in."""
    legacy = _legacy(source, columns, md.schema.names) if isinstance(source, PartFile) else None
    if legacy is not None:
        table = _decode(source, md, groups, legacy)
        filled = _with_arrived(table, source, columns)
        assert filled is not None
        return filled
    if isinstance(source, pa.Buffer):
        return decode(pa.BufferReader(source), md, groups, columns)
    with source.root.reading(source):
        return read_groups(source, md, groups, columns)


def _decode_fetched(
    data: pa.Buffer, columns: Sequence[str], workers: int, pool: ThreadPoolExecutor | None
) -> pa.Table:
    """A whole file fetched into memory, page checksums verified. A large one is decoded
    by runs of row groups on the pool (decoding is the better part of a remote read)."""
    pf = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
    md = pf.metadata
    count = md.num_row_groups
    if pool is None or md.num_rows < _PARALLEL_ROWS or count < 2:
        return pf.read(columns=list(columns), use_threads=False)
    per_run = -(-count // workers)
    runs = [list(range(k, min(k + per_run, count))) for k in range(0, count, per_run)]
    return pa.concat_tables(pool.map(lambda run: _decode(data, md, run, columns), runs))


def _read_one(
    file: PartFile,
    lo: int,
    last: int,
    columns: Sequence[str],
    workers: int,
    pool: ThreadPoolExecutor | None,
) -> pa.Table | None:
    """One file's rows in `[lo, last]`: fetched whole and decoded by runs of row groups
    on `pool` where its root reads whole files, else by `parquet.reader.read_parquet`."""
    if _ARRIVED in columns:
        with file.root.reading(file):
            names = footer(file)[0].schema.names
        legacy = _legacy(file, columns, names)
        if legacy is not None:
            return _with_arrived(_read_one(file, lo, last, legacy, workers, pool), file, columns)
    if pool is None or not covers(file, lo, last):
        return read_parquet(file, lo, last, columns)
    root = file.root
    with root.reading(file):
        return _decode_fetched(root.fetch(file), columns, workers, pool)


def read_one(file: PartFile, lo: int, last: int, columns: Sequence[str]) -> pa.Table | None:
    """`parquet.reader.read_parquet`, but a large file fetched whole is decoded on threads."""
    return _read_one(file, lo, last, columns, *_threads())


def read_parquets(
    files: Sequence[PartFile], lo: int, last: int, columns: Sequence[str]
) -> list[pa.Table | None]:
    """The rows of each file in `[lo, last]`, in order (None: no row group overlaps).
    Files of a root with `whole_reads` are fetched one by one (`read_one`); of others, a
    large read is decoded by several threads, each taking a contiguous run of row groups.
    Small reads stay on this thread."""
    workers, pool = _threads()
    if pool is None or any(f.root.whole_reads for f in files):
        return [_read_one(f, lo, last, columns, workers, pool) for f in files]
    plans = []
    for f in files:
        with f.root.reading(f):
            plans.append(plan(f, lo, last))
    rows = sum(md.row_group(g).num_rows for md, keep in plans for g in keep)
    if rows < _PARALLEL_ROWS:
        return [
            slice_sorted(_decode(f, md, keep, columns), lo, last) if keep else None
            for f, (md, keep) in zip(files, plans, strict=True)
        ]
    per_job = max(1, -(-sum(len(keep) for _, keep in plans) // (2 * workers)))
    jobs = [
        (i, keep[k : k + per_job])
        for i, (_, keep) in enumerate(plans)
        for k in range(0, len(keep), per_job)
    ]
    decoded = pool.map(lambda job: _decode(files[job[0]], plans[job[0]][0], job[1], columns), jobs)
    parts: list[list[pa.Table]] = [[] for _ in files]
    for (i, _), table in zip(jobs, decoded, strict=True):
        parts[i].append(table)
    return [slice_sorted(pa.concat_tables(p), lo, last) if p else None for p in parts]
