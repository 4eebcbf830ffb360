"""Reading: list Parquet and log segments consistently, prune, merge into Arrow.

A read takes one snapshot of the files under `.publish.lock` (shared), releases
the lock and reads; a file that vanished meanwhile (a compaction published, a
writer rotated) makes the whole read start again, so a concurrent compaction never
makes a point vanish or appear twice. Parquet is pruned by partition folder name and
by row-group statistics of the sorted `timestamp` column; the log tail is parsed
with `hfdata.log.parse` (complete lines only) and cached per segment by inode, so a
live segment is only parsed from where the last read stopped.

Order ("stable"): rows are sorted by timestamp; equal timestamps keep arrival
order, which is Parquet (files by name, rows as written) before the log tail
(segments by name: writer start, then sequence; lines as written).

With the Parquet root elsewhere (`remote`, an `hfdata.parquet.objectstore.ParquetRoot`), the
Parquet files are the ones the commit records name (listed under the same lock, so a
batch is seen with its segments compacted or not at all), pruned by partition key and
by each file's first/last timestamp from its commit, then by row-group statistics.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.errors import CorruptFile, ResultTooLarge, VariableNotFound
from hfdata.kinds import Kind
from hfdata.layout import (
    Partition,
    decode_name,
    encode_name,
    is_trash,
    parse_segment_name,
    partition_key_ns,
    segment_name,
    validate_name,
)
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.log.parse import parse_log_bytes, table_schema
from hfdata.log.schema import load_schema
from hfdata.read.frames import OUTPUTS, Output, expand_metadata, to_output
from hfdata.read.resample import (
    asof_align,
    bin_labels,
    count_bins,
    parse_aggs,
    parse_rule,
    resample_column,
)
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN, format_ns, to_ns

if TYPE_CHECKING:
    import polars as pl

    from hfdata.parquet.objectstore import ParquetRoot, RemoteFile

__all__ = [
    "HOWS",
    "MAX_ROWS",
    "Snapshot",
    "VariableFiles",
    "VariableInfo",
    "clear_cache",
    "footer_span",
    "info",
    "list_variable",
    "load",
    "merge_sorted",
    "not_found",
    "read",
    "read_parquet",
    "read_segment",
    "read_segment_rows",
    "row_groups",
    "scan",
    "variable_names",
    "variables",
    "window",
]

_ATTEMPTS: Final = 5
_TS: Final = "timestamp"
_LOG_CACHE_ROWS: Final = 5_000_000


@dataclass(frozen=True, slots=True)
class VariableFiles:
    """One variable's files in a snapshot: Parquet parts (by name) and log segments (by name)."""

    name: str
    kind: Kind | None
    parquet: tuple[tuple[str, Path | RemoteFile], ...]  # (partition key, file): key, then name
    segments: tuple[Path, ...]  # closed or active, sorted by name


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The merged, sorted, sliced rows of each requested variable."""

    tables: dict[str, pa.Table]
    kinds: dict[str, Kind | None]


# -- listing ---------------------------------------------------------------------------------


def variable_names(root: Path, remote: ParquetRoot | None = None) -> list[str]:
    """Every variable with a log directory or a Parquet directory (or commits), sorted."""
    names: set[str] = set()
    if remote is not None:
        names.update(decode_name(e) for e in remote.variables())
    for entry in _scandir(root / "log"):
        # dot-named variables (".hidden") are variables too; an interrupted drop's trash not
        if entry.is_dir() and not is_trash(entry.name):
            names.add(decode_name(entry.name))
    for entry in _scandir(root / "parquet"):
        if entry.is_dir() and entry.name.startswith("variable="):
            names.add(decode_name(entry.name.removeprefix("variable=")))
    return sorted(names)


def _scandir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def not_found(root: Path, name: str, remote: ParquetRoot | None = None) -> VariableNotFound:
    """`VariableNotFound` naming close matches."""
    close = difflib.get_close_matches(name, variable_names(root, remote), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return VariableNotFound(
        f"no variable {name!r} in store {root}{hint} (store.variables() lists them)"
    )


def _segment_names(directory: Path) -> list[str]:
    """Segment file names, robust to renames racing the directory listing.

    `readdir` may miss a file renamed while it runs. Two listings are merged, so a
    segment closed (`.active` -> closed) during one is seen by the other; when both
    names are seen the closed one wins (it holds everything the active one did). A
    writer's segments are numbered in order, so a number missing between two seen
    ones (a segment created and closed while the listings ran) is looked up by name.
    """
    seen: set[str] = set()
    for _ in range(2):
        for entry in _scandir(directory):
            if not entry.name.startswith(".") and parse_segment_name(entry.name) is not None:
                seen.add(entry.name)
    by_writer: dict[str, set[int]] = {}
    for name in seen:
        parsed = parse_segment_name(name)
        assert parsed is not None
        by_writer.setdefault(parsed[0], set()).add(parsed[1])
    for writer, seqs in by_writer.items():
        for seq in range(min(seqs) + 1, max(seqs)):
            if seq in seqs:
                continue
            for active in (True, False):  # active first: closing renames it to closed
                name = segment_name(writer, seq, active=active)
                if os.path.exists(directory / name):
                    seen.add(name)
                    break
    return sorted(n for n in seen if not (n.endswith(".active") and n[: -len(".active")] in seen))


def _list_remote(
    root: Path,
    remote: ParquetRoot,
    name: str,
    lo: int,
    last: int,
    partition: Partition,
    include_log: bool,
) -> VariableFiles:
    """`list_variable` for a Parquet root elsewhere: the committed files, pruned by span."""
    encoded = encode_name(name)
    log = root / "log" / encoded
    kind, files, _ = remote.live(encoded)
    lo_key = partition_key_ns(lo, partition) if lo > NS_MIN else ""
    hi_key = partition_key_ns(last, partition) if last < NS_MAX else "\uffff"
    parts: list[tuple[str, Path | RemoteFile]] = [
        (f.key, f) for f in files if lo_key <= f.key <= hi_key and f.hi >= lo and f.lo <= last
    ]
    segments = [log / n for n in _segment_names(log)] if include_log else []
    if not files and not log.is_dir():
        raise not_found(root, name, remote)
    stored = cast("Kind | None", kind)
    return VariableFiles(name, load_schema(log) or stored, tuple(parts), tuple(segments))


def list_variable(
    root: Path,
    name: str,
    partition: Partition,
    lo: int,
    last: int,
    *,
    include_log: bool,
    remote: ParquetRoot | None = None,
) -> VariableFiles:
    """The files of `name` that may hold points in `[lo, last]` (call under the publish lock)."""
    if remote is not None:
        return _list_remote(root, remote, name, lo, last, partition, include_log)
    encoded = encode_name(name)
    log = root / "log" / encoded
    pdir = root / "parquet" / f"variable={encoded}"
    parts: list[tuple[str, Path | RemoteFile]] = []
    keys = _keys_between(lo, last, partition)
    if keys is None:  # a wide window: list the partitions and compare their names
        lo_key = partition_key_ns(lo, partition) if lo > NS_MIN else ""
        hi_key = partition_key_ns(last, partition) if last < NS_MAX else "\uffff"
        names = (e.name for e in _scandir(pdir) if e.name.startswith("date="))
        keys = [k for k in (n.removeprefix("date=") for n in names) if lo_key <= k <= hi_key]
    for key in sorted(keys):  # a narrow one: look up only its partitions (flat in store size)
        folder = pdir / f"date={key}"
        for part in sorted(e.name for e in _scandir(folder)):
            if part.endswith(".parquet") and not part.startswith("."):
                parts.append((key, folder / part))
    segments: list[Path] = []
    if include_log:
        segments = [log / n for n in _segment_names(log)]
    if not parts and not log.is_dir() and not pdir.is_dir():
        raise not_found(root, name)
    return VariableFiles(name, load_schema(log), tuple(parts), tuple(segments))


_MAX_KEYS: Final = 64
_STEP: Final = {"hour": 3_600_000_000_000, "day": 86_400_000_000_000}


def _keys_between(lo: int, last: int, partition: Partition) -> list[str] | None:
    """The partition keys of `[lo, last]`, or None when there are more than `_MAX_KEYS`."""
    if lo <= NS_MIN or last >= NS_MAX:
        return None
    if partition == "month":
        a, b = pd.Timestamp(lo, tz="UTC"), pd.Timestamp(last, tz="UTC")
        months = (b.year - a.year) * 12 + b.month - a.month
        if months >= _MAX_KEYS:
            return None
        out = []
        for i in range(months + 1):
            year, month0 = divmod(a.year * 12 + a.month - 1 + i, 12)
            out.append(f"{year:04d}-{month0 + 1:02d}")
        return out
    step = _STEP[partition]
    first, final = lo // step, last // step
    if final - first >= _MAX_KEYS:
        return None
    return [partition_key_ns(k * step, partition) for k in range(first, final + 1)]


# -- Parquet -----------------------------------------------------------------------------------

_footer_lock = threading.Lock()
_footers: OrderedDict[tuple[str, int, int, int], tuple[pq.FileMetaData, npt.NDArray[np.int64]]]
_footers = OrderedDict()


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
        while len(_footers) > 4096:
            _footers.popitem(last=False)
    return md, bounds, key[1:]


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
        while len(_footers) > 4096:
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


def read_parquet(
    path: Path | RemoteFile, lo: int, last: int, columns: Sequence[str]
) -> pa.Table | None:
    """Rows of one sorted Parquet file with `lo <= timestamp <= last` (row groups pruned)."""
    if not isinstance(path, Path):
        return _read_remote(path, lo, last, columns)
    md, keep = _plan(path, lo, last)
    return _read_planned(path, md, keep, lo, last, columns)


def _read_planned(
    path: Path, md: pq.FileMetaData, keep: list[int], lo: int, last: int, columns: Sequence[str]
) -> pa.Table | None:
    """`read_parquet` once the row groups are chosen."""
    return _slice_sorted(_decode(path, md, keep, columns), lo, last) if keep else None


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


def _plan(path: Path, lo: int, last: int) -> tuple[pq.FileMetaData, list[int]]:
    """The file's footer and the row groups that overlap `[lo, last]`."""
    with _reading(path):
        md, bounds, _ = _footer(path)
    return md, np.flatnonzero((bounds[:, 1] >= lo) & (bounds[:, 0] <= last)).tolist()


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
    # and `reader` its per-call column lookup: a fifth of a one-hour slice's time.
    with _reading(path), pa.memory_map(str(path)) as source:
        return _decode_from(source, md, groups, indices)


def _decode_from(
    source: pa.NativeFile, md: pq.FileMetaData, groups: list[int], indices: list[int]
) -> pa.Table:
    pf = pq.ParquetFile(source, metadata=md, pre_buffer=False, page_checksum_verification=True)
    return pf.reader.read_row_groups(groups, column_indices=indices, use_threads=False)


def _ns(table: pa.Table) -> npt.NDArray[np.int64]:
    column = table.column(_TS)
    if column.num_chunks == 1:
        return np.asarray(column.chunk(0).view(pa.int64()).to_numpy(zero_copy_only=False))
    return np.asarray(column.combine_chunks().view(pa.int64()).to_numpy(zero_copy_only=False))


def _chunk_ns(chunk: pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(chunk.view(pa.int64()).to_numpy(zero_copy_only=False))


def _span(table: pa.Table) -> tuple[int, int]:
    """First and last timestamp of a non-empty table sorted by timestamp."""
    chunks = [c for c in table.column(_TS).chunks if len(c)]
    return int(_chunk_ns(chunks[0])[0]), int(_chunk_ns(chunks[-1])[-1])


def _slice_sorted(table: pa.Table, lo: int, last: int) -> pa.Table:
    """Slice a table sorted by timestamp (as Parquet parts are) to `[lo, last]`.

    Searches chunk by chunk without combining them, so nothing is copied.
    """
    chunks = table.column(_TS).chunks
    offset, start, stop = 0, None, 0
    for chunk in chunks:
        if len(chunk):
            ns = _chunk_ns(chunk)
            if start is None and ns[-1] >= lo:
                start = offset + int(np.searchsorted(ns, lo, side="left"))
            if ns[0] <= last:
                stop = offset + int(np.searchsorted(ns, last, side="right"))
        offset += len(chunk)
    if start is None or stop <= start:
        return table.slice(0, 0)
    return table if (start, stop) == (0, offset) else table.slice(start, stop - start)


# -- the log tail ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Parsed:
    complete: int
    table: pa.Table


_log_lock = threading.Lock()
_log_cache: OrderedDict[tuple[int, int, str, str | None], _Parsed] = OrderedDict()
_log_rows = 0


def clear_cache() -> None:
    """Forget cached footers and parsed log segments (benchmarks use it for cold reads)."""
    global _log_rows
    with _footer_lock:
        _footers.clear()
    with _log_lock:
        _log_cache.clear()
        _log_rows = 0


def read_segment(path: Path, kind: Kind | None) -> pa.Table:
    """All complete, valid lines of a segment (bad lines and a torn tail are skipped).

    Parsed prefixes are cached by (device, inode, writer-seq): a segment keeps its
    inode when it is renamed from active to closed, so only new bytes are parsed.
    """
    global _log_rows
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # FileNotFoundError: caller retries
    try:
        st = os.fstat(fd)
        stem = path.name.removesuffix(".active")
        key = (st.st_dev, st.st_ino, stem, kind)
        with _log_lock:
            cached = _log_cache.get(key)
        start = cached.complete if cached is not None and cached.complete <= st.st_size else 0
        if cached is not None and start == st.st_size:
            return cached.table
        data = os.pread(fd, st.st_size - start, start)
        while len(data) < st.st_size - start:  # pread may return less on some filesystems
            more = os.pread(fd, st.st_size - start - len(data), start + len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    parsed = parse_log_bytes(data, kind, source=str(path))
    table = parsed.table
    if start and cached is not None:
        table = pa.concat_tables([cached.table, table])
    entry = _Parsed(start + parsed.complete_bytes, table)
    with _log_lock:
        old = _log_cache.pop(key, None)
        _log_rows -= 0 if old is None else old.table.num_rows
        _log_cache[key] = entry
        _log_rows += table.num_rows
        while _log_rows > _LOG_CACHE_ROWS and len(_log_cache) > 1:
            _, dropped = _log_cache.popitem(last=False)
            _log_rows -= dropped.table.num_rows
    return table


# -- merging ---------------------------------------------------------------------------------


def _select(schema: pa.Schema, columns: Sequence[str]) -> pa.Schema:
    return pa.schema([schema.field(c) for c in columns])


def _segment_rows(path: Path, kind: Kind | None, *, locked: bool) -> pa.Table:
    """A listed segment's rows; an active one its writer closed meanwhile is read closed.

    Writers rotate without the publish lock, so under it (`locked`) an active segment
    that is gone under both names was empty and unlinked by its writer on close.
    """
    try:
        return read_segment(path, kind)
    except FileNotFoundError:
        if not path.name.endswith(".active"):
            raise
    try:
        return read_segment(path.with_name(path.name.removesuffix(".active")), kind)
    except FileNotFoundError:
        if locked:
            return table_schema(kind).empty_table()
        raise


def _read_variable(
    files: VariableFiles, lo: int, last: int, *, with_metadata: bool, locked: bool = False
) -> pa.Table:
    schema = table_schema(files.kind)
    columns = [_TS, "value", "metadata"] if with_metadata else [_TS, "value"]
    pieces: list[pa.Table] = []
    spans: list[tuple[int, int]] = []  # each piece's first and last timestamp, pieces sorted
    in_order = True
    for piece in _read_parquets([p for _, p in files.parquet], lo, last, columns):
        if piece is not None and piece.num_rows:
            target = _select(schema, columns)
            pieces.append(piece if piece.schema.equals(target) else piece.cast(target))
            spans.append(_span(piece))
    for path in files.segments:
        piece = _segment_rows(path, files.kind, locked=locked)
        if piece.num_rows:
            ns = _ns(piece)
            mask = (ns >= lo) & (ns <= last)
            if not mask.all():
                piece, ns = piece.filter(pa.array(mask)), ns[mask]
            if len(ns):
                pieces.append(piece.select(columns))
                spans.append((int(ns[0]), int(ns[-1])))
                in_order = in_order and bool(np.all(ns[1:] >= ns[:-1]))
    if not pieces:
        return _select(schema, columns).empty_table()
    return _merge(pieces, spans, in_order)


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
    decoded as local reads are, by runs of row groups on the pool: a day (1.7 M rows)
    in 11 ms instead of 20 on two cores, the better part of a remote read's time."""
    pf = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
    md = pf.metadata
    workers, pool = _threads()
    count = md.num_row_groups
    if pool is None or md.num_rows < _PARALLEL_ROWS or count < 2:
        return pf.read(columns=list(columns), use_threads=False)
    per_run = -(-count // workers)
    runs = [list(range(k, min(k + per_run, count))) for k in range(0, count, per_run)]
    return pa.concat_tables(pool.map(lambda run: _decode(data, md, run, columns), runs))


def _read_parquets(
    paths: Sequence[Path | RemoteFile], lo: int, last: int, columns: Sequence[str]
) -> list[pa.Table | None]:
    """`read_parquet` of each file, in order. A large read of local files is decoded by
    several threads, each taking a contiguous run of row groups (pyarrow releases the
    GIL): a whole-variable OHLC read ~1.5x faster on two cores. Small reads stay on
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


def _merge(pieces: list[pa.Table], spans: list[tuple[int, int]], in_order: bool) -> pa.Table:
    """Concatenate pieces (in `read`'s order); a stable sort by timestamp only when a
    piece is not in order itself (`in_order` False) or the pieces' spans overlap."""
    table = pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)
    in_order = in_order and all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    if not in_order:  # overlapping files or out-of-order arrivals: stable sort
        table = table.take(pa.array(np.argsort(_ns(table), kind="stable")))
    return table


def merge_sorted(pieces: Sequence[pa.Table]) -> pa.Table:
    """Non-empty tables, each sorted by timestamp, merged in order as `read` merges them
    (concatenated; stably sorted only if their spans overlap)."""
    return _merge(list(pieces), [_span(p) for p in pieces], True)


def load(
    root: Path,
    partition: Partition,
    names: Sequence[str],
    lo: int,
    last: int,
    *,
    include_log: bool = True,
    with_metadata: bool = False,
    remote: ParquetRoot | None = None,
) -> Snapshot:
    """Merged, stable-sorted rows of each variable in `[lo, last]`, from one consistent snapshot.

    The files are listed under the shared publish lock, read after releasing it, and the
    whole read starts again if a listed file vanished (a compaction published meanwhile).
    """
    lock = root / PUBLISH_LOCK
    for attempt in range(_ATTEMPTS + 1):
        final = attempt == _ATTEMPTS
        with flock(lock, shared=True):
            listing = [
                list_variable(root, n, partition, lo, last, include_log=include_log, remote=remote)
                for n in names
            ]
            if final:  # a compaction kept racing us: read while holding the lock
                return _read_all(listing, lo, last, with_metadata, locked=True)
        try:
            return _read_all(listing, lo, last, with_metadata)
        except FileNotFoundError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _read_all(
    listing: list[VariableFiles], lo: int, last: int, with_metadata: bool, *, locked: bool = False
) -> Snapshot:
    tables = {
        f.name: _read_variable(f, lo, last, with_metadata=with_metadata, locked=locked)
        for f in listing
    }
    return Snapshot(tables, {f.name: f.kind for f in listing})


# -- the public reading API (Store.read / scan / variables / info delegate here) ----------------

How = Literal["long", "wide", "asof"]
Dedupe = Literal["last", "first"]
HOWS: Final = ("long", "wide", "asof")
MAX_ROWS: Final = 20_000_000
_NUMERIC: Final = ("float", "int")


@dataclass(frozen=True, slots=True)
class VariableInfo:
    """What `Store.info` reports about one variable (from file names and footers).

    Sizes: `parquet_bytes` (its Parquet files), `log_bytes` (every log segment, pending
    or compacted), of which `compacted_log_bytes` are compacted segments (already in
    Parquet, kept for the store's log retention; `Store.prune_log` removes them sooner),
    and `bytes_on_disk`, the sum of Parquet and log. `first`/`last` are None when the
    variable holds no points.
    """

    name: str
    kind: Kind | None
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    parquet_rows: int
    log_rows: int
    partitions: tuple[str, ...]
    parquet_files: int
    log_segments: int
    compacted_segments: int
    parquet_bytes: int
    log_bytes: int
    compacted_log_bytes: int
    bytes_on_disk: int

    @property
    def rows(self) -> int:
        """Points in Parquet plus points in the log."""
        return self.parquet_rows + self.log_rows


def variables(root: Path, remote: ParquetRoot | None = None) -> list[str]:
    """Every variable in the store, sorted."""
    return variable_names(root, remote)


def window(settings: StoreSettings, start: Any, end: Any) -> tuple[int, int]:
    """`[start, end)` as inclusive nanoseconds `(lo, last)`; ValueError if empty."""
    rules = settings.time_rules()
    lo = NS_MIN if start is None else to_ns(start, rules)
    hi = None if end is None else to_ns(end, rules)
    if hi is not None and lo >= hi:
        raise ValueError(
            f"start ({format_ns(lo)}) must be before end ({format_ns(hi)}); "
            "reads take the half-open interval [start, end)"
        )
    return lo, NS_MAX if hi is None else hi - 1


def _tolerance_ns(tolerance: Any) -> int | None:
    if tolerance is None:
        return None
    try:
        delta = pd.Timedelta(tolerance)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"tolerance {tolerance!r} is not a duration; use e.g. '5s' or a timedelta"
        ) from exc
    if pd.isna(delta) or delta.value < 0:
        raise ValueError(f"tolerance must be a non-negative duration, got {tolerance!r}")
    return int(delta.value)


def _dedupe(table: pa.Table, how: Dedupe | None) -> pa.Table:
    """Keep one row per timestamp: the last (or first) in arrival order."""
    if how is None or table.num_rows < 2:
        return table
    ns = _ns(table)
    keep = np.ones(len(ns), dtype=bool)
    if how == "last":
        keep[:-1] = ns[1:] != ns[:-1]
    else:
        keep[1:] = ns[1:] != ns[:-1]
    return table if keep.all() else table.filter(pa.array(keep))


def _check_options(
    names: list[str],
    how: str,
    resample: Any,
    tolerance: Any,
    output: str,
    metadata: Any,
    dedupe: Any,
) -> None:
    if not names:
        raise ValueError("read needs at least one variable name")
    if len(set(names)) != len(names):
        raise ValueError(f"variables must be distinct, got {names!r}")
    for name in names:
        validate_name(name)
    if how not in HOWS:
        raise ValueError(f"how must be one of {', '.join(HOWS)}, got {how!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if metadata not in (False, True, "expand"):
        raise ValueError(f"metadata must be False, True or 'expand', got {metadata!r}")
    if dedupe not in (None, "last", "first"):
        raise ValueError(f"dedupe must be None, 'last' or 'first', got {dedupe!r}")
    if how == "wide" and resample is None:
        raise ValueError("how='wide' needs resample=...; use how='asof' to align raw points")
    if how == "asof" and resample is not None:
        raise ValueError("how='asof' aligns raw points; use how='wide' with resample")
    if tolerance is not None and how != "asof":
        raise ValueError("tolerance applies to how='asof' only")
    if metadata and (resample is not None or how != "long"):
        raise ValueError("metadata can be read with raw points in long form only (no resample)")


def read(
    root: Path,
    settings: StoreSettings,
    variables: str | Sequence[str],
    start: Any = None,
    end: Any = None,
    *,
    resample: Any = None,
    agg: str | Sequence[str] = "mean",
    how: How = "long",
    tolerance: Any = None,
    output: Output = "pandas",
    metadata: bool | Literal["expand"] = False,
    dedupe: Dedupe | None = None,
    include_log: bool = True,
    remote: ParquetRoot | None = None,
    max_rows: int | None = MAX_ROWS,
) -> Any:
    """Points of one or several variables in `[start, end)`; see `Store.read`.

    A resample with both `start` and `end` covers the window: its bins run from the
    one holding `start` to the one holding `end - 1ns`, empty ones included (pandas'
    bins for a series spanning the window). Otherwise they run from the first to the
    last point's bin (of all variables, in wide form), as pandas does. The bins are
    counted before any is built: more rows than `max_rows` (None: no limit) is a
    `ResultTooLarge`.
    """
    single = isinstance(variables, str)
    names = [variables] if isinstance(variables, str) else list(variables)
    _check_options(names, how, resample, tolerance, output, metadata, dedupe)
    _check_max_rows(max_rows)
    aggs = parse_aggs(agg)
    offset = None if resample is None else parse_rule(resample)
    tol = _tolerance_ns(tolerance)
    lo, last = window(settings, start, end)
    snap = load(
        root,
        settings.partition,
        names,
        lo,
        last,
        include_log=include_log,
        with_metadata=bool(metadata),
        remote=remote,
    )
    tables = {n: _dedupe(t, dedupe) for n, t in snap.tables.items()}
    kinds = snap.kinds
    if how == "asof" and not single:
        grid, cols = asof_align([(_ns(tables[n]), tables[n].column("value")) for n in names], tol)
        result = _with_ts(grid, dict(zip(names, cols, strict=True)))
        json_cols = [n for n in names if kinds[n] == "json"]
    elif offset is not None:
        wide = how == "wide" and not single
        bounds = (lo, last) if start is not None and end is not None else None
        spans = _grid_spans(tables, names, bounds, wide=wide)
        _check_rows(spans, offset, resample, max_rows, wide=wide)
        grids = {span: _grid(span, offset) for span in set(spans.values())}
        if wide:
            result = _wide(tables, kinds, names, offset, aggs, grids[spans[names[0]]])
        else:
            parts = {
                n: _resampled(tables[n], kinds[n], offset, aggs, grids[spans[n]]) for n in names
            }
            result = parts[names[0]] if single else _long(parts, names)
        json_cols = []
    else:
        if metadata == "expand":
            tables = {n: expand_metadata(t, ["value", "variable"]) for n, t in tables.items()}
        result = tables[names[0]] if single else _long(_common_values(tables, kinds), names)
        json_cols = ["metadata"] if metadata is True else []
        if kinds[names[0]] == "json" and len({kinds[n] for n in names}) == 1:
            json_cols.append("value")
    return to_output(result, output, json_cols)


def _with_ts(ns: npt.NDArray[np.int64], columns: dict[str, Any]) -> pa.Table:
    ts = pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    return pa.table({_TS: ts, **columns})


Span = tuple[int, int] | None  # first and last nanosecond a grid covers; None: no bins


def _grid_spans(
    tables: dict[str, pa.Table], names: list[str], bounds: Span, *, wide: bool
) -> dict[str, Span]:
    """What each variable's bins cover: the window when both `start` and `end` were
    given, else its first to last point (in wide form, those of all variables)."""
    if bounds is not None:
        return dict.fromkeys(names, bounds)
    spans: dict[str, Span] = {}
    for n in names:
        spans[n] = _span(tables[n]) if tables[n].num_rows else None
    if wide:
        known = [s for s in spans.values() if s is not None]
        union = (min(a for a, _ in known), max(b for _, b in known)) if known else None
        return dict.fromkeys(names, union)
    return spans


def _grid(span: Span, offset: pd.DateOffset) -> npt.NDArray[np.int64]:
    return np.empty(0, np.int64) if span is None else bin_labels(span[0], span[1], offset)


def _check_max_rows(max_rows: Any) -> None:
    if max_rows is None:
        return
    if isinstance(max_rows, bool) or not isinstance(max_rows, int):
        raise TypeError(f"max_rows must be an int or None, got {max_rows!r}")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1 (or None for no limit), got {max_rows}")


def _check_rows(
    spans: dict[str, Span], offset: pd.DateOffset, rule: Any, max_rows: int | None, *, wide: bool
) -> None:
    """`ResultTooLarge` when the bins would be more than `max_rows` rows, counted
    (not built): one grid in wide form, the sum of each variable's in long form.
    Rows, not cells: several aggregations or variables side by side widen a row."""
    if max_rows is None:
        return
    limit = max_rows + 1  # counted exactly up to here; beyond, an upper bound
    if wide:
        first = next(iter(spans.values()))
        rows = 0 if first is None else count_bins(first[0], first[1], offset, limit)
    else:
        rows = sum(count_bins(s[0], s[1], offset, limit) for s in spans.values() if s is not None)
    if rows <= max_rows:
        return
    spans_known = [s for s in spans.values() if s is not None]
    lo = min(a for a, _ in spans_known)
    hi = max(b for _, b in spans_known)
    ways = "read a shorter window with start=/end=, use a coarser rule than resample=" + repr(rule)
    if wide:
        ways += ", use how='long' (each variable on its own bins)"
    raise ResultTooLarge(
        f"resample={rule!r} from {format_ns(lo)} to {format_ns(hi)} would make {rows:,} rows, "
        f"more than max_rows={max_rows:,}; {ways}, or pass a larger max_rows= "
        "(None: no limit)",
        rows=rows,
        limit=max_rows,
    )


def _resampled(
    table: pa.Table,
    kind: Kind | None,
    offset: pd.DateOffset,
    aggs: Sequence[str],
    grid: npt.NDArray[np.int64],
) -> pa.Table:
    ns = _ns(table)
    return _with_ts(grid, resample_column(ns, table.column("value"), kind, grid, aggs, offset))


def _wide(
    tables: dict[str, pa.Table],
    kinds: dict[str, Kind | None],
    names: list[str],
    offset: pd.DateOffset,
    aggs: Sequence[str],
    grid: npt.NDArray[np.int64],
) -> pa.Table:
    """One column per variable (or `<variable>.<agg>` for several aggs) on a common grid."""
    columns: dict[str, Any] = {}
    for n in names:
        cols = resample_column(
            _ns(tables[n]), tables[n].column("value"), kinds[n], grid, aggs, offset
        )
        for c, arr in cols.items():
            columns[n if c == "value" else f"{n}.{c}"] = arr
    return _with_ts(grid, columns)


def _common_values(
    tables: dict[str, pa.Table], kinds: dict[str, Kind | None]
) -> dict[str, pa.Table]:
    """Make the value columns of several variables concatenable (int+float -> float64)."""
    distinct = {k or "float" for k in kinds.values()}
    if len(distinct) <= 1:
        return tables
    if distinct <= set(_NUMERIC):
        out = {}
        for n, t in tables.items():
            i = t.column_names.index("value")
            out[n] = t.set_column(i, "value", t.column("value").cast(pa.float64()))
        return out
    raise ValueError(
        f"variables of different kinds ({', '.join(sorted(distinct))}) cannot share one value "
        "column; read them separately, or use how='asof'"
    )


def _long(parts: dict[str, pa.Table], names: list[str]) -> pa.Table:
    """Stack variables with a `variable` column, stable-sorted by timestamp."""
    pieces = []
    for n in names:
        t = parts[n]
        pieces.append(t.add_column(1, "variable", pa.array([n] * t.num_rows, pa.string())))
    table = pa.concat_tables(pieces, promote_options="permissive")
    ns = _ns(table)
    if len(ns) > 1:
        table = table.take(pa.array(np.argsort(ns, kind="stable")))
    return table


def scan(
    root: Path,
    settings: StoreSettings,
    variable: str,
    start: Any = None,
    end: Any = None,
    remote: ParquetRoot | None = None,
) -> pl.LazyFrame:
    """A polars LazyFrame (`timestamp`, `value`, `metadata`) over Parquet and the log tail.

    The Parquet files are scanned lazily (pruned by partition); the log tail is read now.
    If `optimize` replaces the files before the frame is collected, collecting fails:
    call `scan` again.
    """
    import polars as pl

    validate_name(variable)
    lo, last = window(settings, start, end)
    for attempt in range(_ATTEMPTS + 1):
        with flock(root / PUBLISH_LOCK, shared=True):
            files = list_variable(
                root, variable, settings.partition, lo, last, include_log=True, remote=remote
            )
            if attempt == _ATTEMPTS:
                tail = _log_tail(files, lo, last, locked=True)
                break
        try:
            tail = _log_tail(files, lo, last)
            break
        except FileNotFoundError:
            continue
    schema = table_schema(files.kind)
    frames = []
    if files.parquet:
        lo_lit = pl.lit(lo, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
        last_lit = pl.lit(last, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
        if remote is None:
            lazy = pl.scan_parquet([str(p) for _, p in files.parquet], hive_partitioning=False)
        else:  # through Arrow's filesystem: polars pushes the time filter down to it
            import pyarrow.dataset as pads

            paths = [p.path for _, p in files.parquet if not isinstance(p, Path)]
            dataset = pads.dataset(paths, format="parquet", filesystem=remote.fs)
            lazy = pl.scan_pyarrow_dataset(dataset)
        frames.append(
            lazy.select(list(schema.names))
            .filter((pl.col(_TS) >= lo_lit) & (pl.col(_TS) <= last_lit))
            .cast(pl.Schema(_polars_schema(files.kind)))
        )
    frames.append(pl.from_arrow(tail).lazy())  # type: ignore[union-attr]
    return pl.concat(frames).sort(_TS, maintain_order=True)


def _polars_schema(kind: Kind | None) -> dict[str, pl.DataType]:
    import polars as pl

    value: dict[str, pl.DataType] = {
        "float": pl.Float64(),
        "int": pl.Int64(),
        "bool": pl.Boolean(),
        "string": pl.String(),
        "json": pl.String(),
    }
    return {_TS: pl.Datetime("ns", "UTC"), "value": value[kind or "float"], "metadata": pl.String()}


def read_segment_rows(
    files: VariableFiles, lo: int, last: int, *, locked: bool = False
) -> pa.Table:
    """The log tail of a listing in `[lo, last]` (`timestamp`, `value`), stably sorted."""
    tail = VariableFiles(files.name, files.kind, (), files.segments)
    return _read_variable(tail, lo, last, with_metadata=False, locked=locked)


def footer_span(path: Path) -> tuple[int, int, int]:
    """First and last timestamp and row count of a local Parquet file from its (cached)
    footer."""
    md, bounds, _ = _footer(path)
    if md.num_rows == 0 or len(bounds) == 0:
        return NS_MAX, NS_MIN, 0
    return int(bounds[:, 0].min()), int(bounds[:, 1].max()), int(md.num_rows)


def _log_tail(files: VariableFiles, lo: int, last: int, *, locked: bool = False) -> pa.Table:
    tail = VariableFiles(files.name, files.kind, (), files.segments)
    return _read_variable(tail, lo, last, with_metadata=True, locked=locked)


def info(
    root: Path, settings: StoreSettings, variable: str, remote: ParquetRoot | None = None
) -> VariableInfo:
    """Kind, time range, row counts, partitions and bytes of one variable."""
    validate_name(variable)
    for attempt in range(_ATTEMPTS + 1):
        with flock(root / PUBLISH_LOCK, shared=True):
            files = list_variable(
                root, variable, settings.partition, NS_MIN, NS_MAX, include_log=True, remote=remote
            )
            compacted = _compacted_sizes(root / "log" / encode_name(variable) / "compacted")
            if attempt == _ATTEMPTS:
                return _info(files, compacted, locked=True)
        try:
            return _info(files, compacted)
        except FileNotFoundError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _compacted_sizes(directory: Path) -> list[int]:
    """Sizes of the compacted segments in `directory` (log retention may delete any)."""
    sizes = []
    for entry in _scandir(directory):
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file():
                sizes.append(entry.stat().st_size)
    return sizes


def _size(path: Path) -> int:
    for candidate in (path, path.with_name(path.name.removesuffix(".active"))):
        try:
            return candidate.stat().st_size
        except FileNotFoundError:
            continue
    return 0


def _info(files: VariableFiles, compacted: list[int], *, locked: bool = False) -> VariableInfo:
    lows: list[int] = []
    highs: list[int] = []
    parquet_rows = log_rows = parquet_bytes = pending_bytes = 0
    for _, path in files.parquet:
        if not isinstance(path, Path):  # commit records carry rows, span and size
            parquet_rows += path.rows
            parquet_bytes += path.size
            if path.rows:
                lows.append(path.lo)
                highs.append(path.hi)
            continue
        md, bounds, ident = _footer(path)
        parquet_rows += md.num_rows
        parquet_bytes += ident[1]
        if md.num_rows:
            lows.append(int(bounds[:, 0].min()))
            highs.append(int(bounds[:, 1].max()))
    for path in files.segments:
        table = _segment_rows(path, files.kind, locked=locked)
        pending_bytes += _size(path)
        log_rows += table.num_rows
        if table.num_rows:
            ns = _ns(table)
            lows.append(int(ns.min()))
            highs.append(int(ns.max()))
    log_bytes = pending_bytes + sum(compacted)
    return VariableInfo(
        name=files.name,
        kind=files.kind,
        first=pd.Timestamp(min(lows), tz="UTC") if lows else None,
        last=pd.Timestamp(max(highs), tz="UTC") if highs else None,
        parquet_rows=parquet_rows,
        log_rows=log_rows,
        partitions=tuple(sorted({k for k, _ in files.parquet})),
        parquet_files=len(files.parquet),
        log_segments=len(files.segments),
        compacted_segments=len(compacted),
        parquet_bytes=parquet_bytes,
        log_bytes=log_bytes,
        compacted_log_bytes=sum(compacted),
        bytes_on_disk=parquet_bytes + log_bytes,
    )
