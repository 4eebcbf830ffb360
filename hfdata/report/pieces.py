"""A variable as a few pieces in time order, each with its `FileStats`: what every report
merges instead of scanning the points.

A piece is one of:

- a Parquet file whose time span overlaps no other file's nor the log tail's: its
  stats sidecar (`hfdata.parquet.sidecars.load_stats`) or, when it has none, its stats
  computed from its points (the same answer, slower). So is a float file whose sidecar
  lost a number JSON cannot hold (`usable`: an infinite min, max or sum is written as
  null), so that the reports give pandas' infinities;
- a cluster of Parquet files whose spans overlap (late data not yet optimized), with the
  log-tail points that fall inside their span: read as points, merged in `read`'s order
  (files by name, then the tail; stable by timestamp), and its stats computed from
  them. Files only overlap within a partition, so this reads a partition at most;
- a run of log-tail points between two of those (the tail is parsed as `read` parses
  it, and cached).

Pieces do not interleave: each one's points all come, in `read`'s order, after the
previous piece's. Two neighbours may share a timestamp (the earlier one's last, the
later one's first), which the merge counts as a duplicate. Everything is done inside
one consistent snapshot (`with_pieces`), so a piece's points (`Piece.load`) can be read
again while the callback runs, and a concurrent compaction or optimize makes the whole
callback start again rather than count a point twice.

Pieces hold the versions a reader sees (`hfdata.read.versions`). When some are hidden
(an `as_of`, or a tombstone of the variable), stats sidecars, which describe stored
versions, are not used: each file's stats are computed from its visible points, file by
file, and merged as usual, so the variable is never in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.layout import validate_name
from hfdata.log.parse import table_schema
from hfdata.parquet import sidecars
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.stats import FileStats, file_stats
from hfdata.read.files import file_size, read_one, segment_size
from hfdata.read.rows import merge_sorted, tail_rows, timestamps, variable_view
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot, variable_names
from hfdata.read.versions import ARRIVED, View, visible
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = [
    "Piece",
    "Pieces",
    "load_stats",
    "names_of",
    "usable",
    "with_pieces",
]

_COLUMNS: Final = ("timestamp", "value")
_Used = TypeVar("_Used")
Points = tuple[npt.NDArray[np.int64], pa.Array]


@dataclass(frozen=True, slots=True)
class Piece:
    """Points of a variable that follow the previous piece's in `read`'s order: their
    stats, how many came from Parquet and from the log, and `load()` to read them
    (timestamps in ns and values, in `read`'s order) where the stats do not suffice."""

    stats: FileStats
    parquet_rows: int
    log_rows: int
    load: Callable[[], Points]


@dataclass(frozen=True, slots=True)
class Pieces:
    """One variable's pieces (time order) and sizes: `log_bytes` are the pending log
    segments' (compacted ones kept for log retention are `info`'s business)."""

    name: str
    kind: Kind | None
    pieces: tuple[Piece, ...]
    parquet_bytes: int
    log_bytes: int
    gap_threshold: int | None


def names_of(root: Path, parts: PartsRoot, variables: str | Sequence[str] | None) -> list[str]:
    """The variables a report covers: one name, several (checked, duplicates dropped) or,
    for None, every variable in the store."""
    if variables is None:
        return variable_names(root, parts)
    names = [variables] if isinstance(variables, str) else list(variables)
    for name in names:
        validate_name(name)  # raises for a bad name; returns the encoded form, not wanted here
    return list(dict.fromkeys(names))


def load_stats(parts: PartsRoot, files: Sequence[PartFile]) -> dict[str, FileStats | None]:
    """Each file's stats sidecar, None where it has none (computed from its points)."""
    return sidecars.load_stats(parts, files)


def usable(stats: FileStats, kind: Kind | None) -> bool:
    """Whether a sidecar's stats hold every number of its file. JSON has no infinity
    (orjson writes an infinite float, and a NaN, as null), so a float file holding an
    infinite value (its min or max) or whose sum overflowed comes back with None there,
    and with None for its infinite first/last values, edge values and runs' values;
    such a file's stats are computed from its points instead (rare: real sensors write
    NaN, which never counts, rather than infinities)."""
    if kind != "float" or not stats.count:
        return True
    return stats.min is not None and stats.max is not None and stats.sum is not None


def with_pieces(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    name: str,
    use: Callable[[Pieces], _Used],
    *,
    as_of: int | None = None,
) -> _Used:
    """`use(pieces)` of variable `name` as a reader at `as_of` sees it, run inside one
    consistent snapshot (a file that vanished meanwhile starts it again with a new
    listing)."""
    threshold = settings.gap_threshold_ns  # what the files' stats used

    def listing() -> VariableFiles:
        return list_variable(
            root, parts, name, settings.partition, NS_MIN, NS_MAX, include_log=True
        )

    def read(files: VariableFiles, locked: bool) -> _Used:
        return use(_pieces(files, parts, threshold, locked, as_of))

    return read_snapshot(root, listing, read)


# -- building the pieces ---------------------------------------------------------------------


def _values(table: pa.Table) -> pa.Array:
    column = table.column("value")
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _read_file(file: PartFile, kind: Kind | None, view: View) -> pa.Table:
    """A file's visible points (`timestamp`, `value`)."""
    target = pa.schema([table_schema(kind).field(c) for c in _COLUMNS])
    columns = (*_COLUMNS, ARRIVED) if view.active else _COLUMNS
    table = read_one(file, NS_MIN, NS_MAX, columns)
    if table is None:
        return target.empty_table()
    if view.active:
        table = visible(table, view, None)
    table = table.select(list(_COLUMNS))
    return table if table.schema.equals(target) else table.cast(target)


def _points(table: pa.Table) -> Points:
    return timestamps(table), _values(table)


def _loaded(points: Points) -> Callable[[], Points]:
    return lambda: points


def _stats(points: Points, kind: Kind | None, threshold: int | None) -> FileStats:
    return file_stats(points[0], points[1], kind or "float", threshold)


@dataclass(slots=True)
class _Cluster:
    lo: int
    hi: int
    files: list[tuple[int, PartFile, FileStats]]  # (arrival, file, stats), arrival order later
    latest: int  # the largest arrival index in it


def _pieces(
    files: VariableFiles, parts: PartsRoot, threshold: int | None, locked: bool, as_of: int | None
) -> Pieces:
    kind = files.kind
    view = variable_view(files, NS_MIN, NS_MAX, as_of, locked=locked)
    tail = tail_rows(files, NS_MIN, NS_MAX, with_metadata=False, locked=locked, arrived=view.active)
    if view.active:
        tail = visible(tail, view, None)
    tail_ns = timestamps(tail)
    parquet = list(files.parquet)
    sidecars = {} if view.active else load_stats(parts, parquet)
    items: list[tuple[int, PartFile, FileStats]] = []
    for arrival, file in enumerate(parquet):
        stats = sidecars.get(file.rel)
        if stats is None or not usable(stats, kind):
            table = _read_file(file, kind, view)
            if not table.num_rows:
                continue
            stats = _stats(_points(table), kind, threshold)
        items.append((arrival, file, stats))
    clusters = _clusters(items)
    out: list[Piece] = []
    los = np.array([c.lo for c in clusters], np.int64)
    his = np.array([c.hi for c in clusters], np.int64)
    # tail point p belongs after the clusters starting at or before it; it interleaves with
    # the last of them when that one holds points after it (p < hi)
    slot = np.searchsorted(los, tail_ns, side="right")
    inside = slot > 0
    inside[inside] = tail_ns[inside] < his[slot[inside] - 1]
    bounds = np.searchsorted(slot, np.arange(len(clusters) + 2), side="left")
    for k in range(len(clusters) + 1):
        a, b = int(bounds[k]), int(bounds[k + 1])
        if k > 0:  # cluster k-1, with the tail points inside its span
            m = a + int(np.count_nonzero(inside[a:b]))
            cluster = clusters[k - 1]
            out.append(_cluster_piece(cluster, tail.slice(a, m - a), kind, threshold, view))
            a = m
        if b > a:
            run = tail.slice(a, b - a)
            points = _points(run)
            out.append(Piece(_stats(points, kind, threshold), 0, b - a, _loaded(points)))
    log_bytes = sum(segment_size(p) for p in files.segments)
    parquet_bytes = sum(file_size(f) for f in parquet)
    return Pieces(files.name, kind, tuple(out), parquet_bytes, log_bytes, threshold)


def _clusters(items: list[tuple[int, PartFile, FileStats]]) -> list[_Cluster]:
    """Files grouped where their points interleave in `read`'s order: spans that
    overlap, or that touch where the later-starting file arrived first."""
    out: list[_Cluster] = []
    for arrival, file, stats in sorted(items, key=lambda i: (i[2].first_ts, i[2].last_ts, i[0])):
        last = out[-1] if out else None
        if last is not None and (
            stats.first_ts < last.hi or (stats.first_ts == last.hi and last.latest > arrival)
        ):
            last.hi = max(last.hi, stats.last_ts)
            last.files.append((arrival, file, stats))
            last.latest = max(last.latest, arrival)
        else:
            out.append(_Cluster(stats.first_ts, stats.last_ts, [(arrival, file, stats)], arrival))
    return out


def _cluster_piece(
    cluster: _Cluster, tail: pa.Table, kind: Kind | None, threshold: int | None, view: View
) -> Piece:
    files = sorted(cluster.files, key=lambda i: i[0])
    parquet_rows = sum(s.rows for _, _, s in files)
    if len(files) == 1 and not tail.num_rows:
        _, file, stats = files[0]
        return Piece(stats, stats.rows, 0, lambda: _points(_read_file(file, kind, view)))

    def load() -> Points:
        pieces = [_read_file(f, kind, view) for _, f, _ in files]
        if tail.num_rows:
            pieces.append(tail)
        return _points(merge_sorted([p for p in pieces if p.num_rows]))

    points = load()
    return Piece(_stats(points, kind, threshold), parquet_rows, tail.num_rows, load)
