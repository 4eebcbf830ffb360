"""Sidecars (issue 19): the stats and rollups derived from each Parquet file, kept beside
the tree under the same root and named after the data file they describe.

For a data file `kind=<k>/variable=<v>/date=<key>/part-<batch>.parquet` (relative to the
Parquet root):

    _stats/kind=<k>/variable=<v>/date=<key>/part-<batch>.json              FileStats JSON
    _rollups/res=<rule>/kind=<k>/variable=<v>/date=<key>/part-<batch>.parquet   a rollup

A data file's name is unique and never reused, and files are immutable, so a sidecar can
never describe other rows than its file's. Consistency needs no journal: a sidecar counts
only while its data file is in the reader's listing (orphans, of files a batch rolled
back, optimize replaced or drop removed, are ignored and later deleted), and a live file
without its sidecar is computed from its points (the same answer, slower) until the next
compaction, optimize or upgrade writes it (docs/contracts.md, "Derived files").
Sidecars are written after their batch publishes, each atomically (against kills; never
fsynced, so a power cut may leave one empty or torn, which reads as missing), by
`hfdata.compact.derive`; the `_` prefix keeps dataset discovery (pyarrow, Spark) from
taking them for data, and rollups are hive Parquet an outside engine reads at
`<root>/_rollups/res=1h/**/*.parquet`.

Readers call `load_stats` / `load_rollups` with the files of their snapshot: sidecars are
fetched on threads (an object store's latency is the cost) and cached by the data file's
identity, as footers are (`hfdata.parquet.reader`). A sidecar that is missing, unreadable,
of another version or that disagrees with what the listing knows of its file (rows,
first and last timestamp) is None: the caller computes from the points.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hfdata.kinds import KINDS, Kind
from hfdata.layout import kind_of_folder, variable_rel
from hfdata.parquet.rollups import ROLLUP_KINDS, rollup_schema
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.stats import FileStats

__all__ = [
    "ROLLUPS_DIR",
    "STATS_DIR",
    "clear_sidecar_cache",
    "data_rel",
    "decode_rollup",
    "encode_rollup",
    "load_rollups",
    "load_stats",
    "rollup_rel",
    "rollups_prefix",
    "stats_prefix",
    "stats_rel",
]

STATS_DIR: Final = "_stats"
ROLLUPS_DIR: Final = "_rollups"
_DATA_SUFFIX: Final = ".parquet"
_STATS_SUFFIX: Final = ".json"
_THREADS: Final = 8  # fetches in flight (sidecars are small: latency-bound)
_SERIAL: Final = 4  # up to this many files are fetched on the calling thread
_STATS_CACHED: Final = 8192  # entries
_ROLLUP_BYTES: Final = 256 << 20  # decoded rollup tables kept, in bytes

T = TypeVar("T")


# -- names ----------------------------------------------------------------------------------


def _rel_of(file: PartFile | str) -> str:
    return file if isinstance(file, str) else file.rel


def stats_rel(file: PartFile | str) -> str:
    """The stats sidecar of a data file (a `PartFile` or its rel)."""
    rel = _rel_of(file)
    return f"{STATS_DIR}/{rel.removesuffix(_DATA_SUFFIX)}{_STATS_SUFFIX}"


def rollup_rel(file: PartFile | str, rule: str) -> str:
    """The rollup sidecar at resolution `rule` (as settings record it) of a data file."""
    return f"{ROLLUPS_DIR}/res={rule}/{_rel_of(file)}"


def stats_prefix(kind: str, encoded: str) -> str:
    """The folder of a variable's stats sidecars (for `PartsRoot.sidecars`)."""
    return f"{STATS_DIR}/{variable_rel(kind, encoded)}"


def rollups_prefix(rule: str, kind: str, encoded: str) -> str:
    """The folder of a variable's rollup sidecars at resolution `rule`."""
    return f"{ROLLUPS_DIR}/res={rule}/{variable_rel(kind, encoded)}"


def data_rel(sidecar: str) -> str | None:
    """The data file a sidecar names (its rel), or None if `sidecar` is no sidecar name."""
    head, _, rest = sidecar.partition("/")
    if head == STATS_DIR and rest.endswith(_STATS_SUFFIX):
        return rest.removesuffix(_STATS_SUFFIX) + _DATA_SUFFIX
    if head == ROLLUPS_DIR and rest.startswith("res="):
        _, _, rel = rest.partition("/")
        if rel.endswith(_DATA_SUFFIX):
            return rel
    return None


def _kind_of_rel(rel: str) -> Kind | None:
    kind = kind_of_folder(rel.split("/", 1)[0])
    return kind if kind in KINDS else None


# -- rollup bytes ---------------------------------------------------------------------------


def encode_rollup(table: pa.Table) -> bytes:
    """A rollup table as the bytes of its sidecar (Parquet, zstd, statistics on). No
    dictionary encoding: a rollup's values rarely repeat, and trying it cost a third of
    the write. Integer and timestamp columns `DELTA_BINARY_PACKED`, float ones
    `BYTE_STREAM_SPLIT`, as the data files: a day's 1min rollup is 15% smaller and
    30% faster to write than plain zstd (bins and counts are nearly constant steps)."""
    encodings = {
        field.name: "BYTE_STREAM_SPLIT" if pa.types.is_floating(field.type) else _DELTA
        for field in table.schema
    }
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        use_dictionary=False,
        write_statistics=True,
        column_encoding=encodings,
    )
    return bytes(sink.getvalue().to_pybytes())


_DELTA: Final = "DELTA_BINARY_PACKED"


def decode_rollup(data: bytes, kind: Kind) -> pa.Table:
    """A rollup sidecar's table; `ValueError` if it is not a rollup of `kind`."""
    try:
        table = pq.read_table(pa.BufferReader(data), use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a Parquet rollup ({exc})") from exc
    want = rollup_schema(kind)
    if [(f.name, f.type) for f in table.schema] != [(f.name, f.type) for f in want]:
        raise ValueError("not a rollup of this kind")
    return table.replace_schema_metadata(None)


# -- loading for readers --------------------------------------------------------------------

_lock = threading.Lock()
_stats_cache: OrderedDict[tuple[object, ...], FileStats] = OrderedDict()
_rollup_cache: OrderedDict[tuple[object, ...], pa.Table] = OrderedDict()
_rollup_bytes = 0
_pool: ThreadPoolExecutor | None = None


def clear_sidecar_cache() -> None:
    """Forget cached sidecars (benchmarks use it for cold reads)."""
    global _rollup_bytes
    with _lock:
        _stats_cache.clear()
        _rollup_cache.clear()
        _rollup_bytes = 0


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool on demand."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _map(fn: Callable[[PartFile], T], files: Sequence[PartFile]) -> list[T]:
    """`fn` over `files` in order: on threads when there are more than a few."""
    global _pool
    if len(files) <= _SERIAL:
        return [fn(f) for f in files]
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="hfdata-sidecars")
        pool = _pool
    return list(pool.map(fn, files))


def _identity(file: PartFile) -> tuple[object, ...] | None:
    """The data file's cache key, or None if it is gone (the caller's read finds out)."""
    try:
        return (file.path, *file.root.identity(file))
    except FileNotFoundError:
        return None


def _fetch(parts: PartsRoot, rel: str) -> bytes | None:
    try:
        return parts.get_sidecar(rel)
    except OSError:
        return None  # unreadable: the caller computes from the points


def load_stats(parts: PartsRoot, files: Sequence[PartFile]) -> dict[str, FileStats | None]:
    """The stats of each of `files` (a snapshot's listing) by rel; None where the sidecar
    is missing, unreadable or disagrees with the listing: compute that file's from its
    points."""

    def one(file: PartFile) -> FileStats | None:
        key = _identity(file)
        if key is None:
            return None
        with _lock:
            hit = _stats_cache.get(key)
            if hit is not None:
                _stats_cache.move_to_end(key)
                return hit
        data = _fetch(parts, stats_rel(file))
        if data is None:
            return None
        try:
            stats = FileStats.from_json(data)
        except (ValueError, TypeError):
            return None
        if not _agrees(file, stats.rows, stats.first_ts, stats.last_ts):
            return None
        with _lock:
            _stats_cache[key] = stats
            while len(_stats_cache) > _STATS_CACHED:
                _stats_cache.popitem(last=False)
        return stats

    return dict(zip((f.rel for f in files), _map(one, files), strict=True))


def load_rollups(
    parts: PartsRoot, files: Sequence[PartFile], rule: str
) -> dict[str, pa.Table | None]:
    """The rollups at resolution `rule` of each of `files` by rel; None where the sidecar
    is missing, unreadable, of a kind without rollups or disagrees with the listing:
    build that file's from its points (`hfdata.parquet.rollups.build`)."""

    def one(file: PartFile) -> pa.Table | None:
        global _rollup_bytes
        kind = _kind_of_rel(file.rel)
        if kind not in ROLLUP_KINDS:
            return None
        assert kind is not None
        key = _identity(file)
        if key is None:
            return None
        key = (*key, rule)
        with _lock:
            hit = _rollup_cache.get(key)
            if hit is not None:
                _rollup_cache.move_to_end(key)
                return hit
        data = _fetch(parts, rollup_rel(file, rule))
        if data is None:
            return None
        try:
            table = decode_rollup(data, kind)
        except ValueError:
            return None
        if file.rows is not None and _rows(table) != file.rows:
            return None
        with _lock:
            if key not in _rollup_cache:
                _rollup_cache[key] = table
                _rollup_bytes += table.nbytes
            while _rollup_bytes > _ROLLUP_BYTES and len(_rollup_cache) > 1:
                _, dropped = _rollup_cache.popitem(last=False)
                _rollup_bytes -= dropped.nbytes
        return table

    return dict(zip((f.rel for f in files), _map(one, files), strict=True))


def _agrees(file: PartFile, rows: int, first: int, last: int) -> bool:
    """Whether stats agree with what the listing knows of the file (an object store's
    commit records know rows and span; a local listing knows nothing: it passes)."""
    return (
        (file.rows is None or file.rows == rows)
        and (file.lo is None or file.lo == first)
        and (file.hi is None or file.hi == last)
    )


def _rows(table: pa.Table) -> int:
    return int(pc.sum(table.column("rows")).as_py() or 0)
