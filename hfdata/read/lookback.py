"""The rows event-time reads need: a few time spans, and the points just outside them.

`Store.asof` and `Store.around` need each variable's points near many times, not the
whole variable. `spans_around` merges the windows the times need into a few disjoint
spans (windows closer than a gap are merged, so there are at most about `MAX_SPANS`
of them however the times spread); `load_reach` reads those spans from one consistent
snapshot, and, when asked, also the last point before the first span and the first
point after the last one, wherever they are: earlier (later) partitions are looked at
newest (oldest) first through their row-group statistics (the cached footers), and only
the row groups that can hold that point are decoded; the log tail is read whole (it is
parsed once and cached). Rows are in `read`'s order: sorted by timestamp, equal
timestamps in arrival order (Parquet before the log tail).

Rows are the versions a reader at `as_of` sees (`versions.visible`: arrival times and
tombstones, `dedupe` by arrival). The point just before (after) the spans is the last
(first) visible one: when the nearest stored point is hidden, the search goes on
further out over windows that double each time, so a deleted week costs a few reads.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.layout import Partition, partition_key_ns
from hfdata.log.parse import table_schema
from hfdata.parquet.reader import read_parquet, row_groups
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.read.files import read_parquets
from hfdata.read.rows import merge_sorted, tail_rows, timestamps, variable_view
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
from hfdata.read.versions import ARRIVED, Dedupe, View, visible
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = [
    "MAX_SPANS",
    "MIN_GAP",
    "Reach",
    "last_before",
    "load_reach",
    "rows_and_kind",
    "spans_around",
]

MAX_SPANS: Final = 256  # spans are merged until about this many are left
MIN_GAP: Final = 60_000_000_000  # windows closer than a minute are read as one span
_COLUMNS: Final = ("timestamp", "value")

Span = tuple[int, int]  # first and last nanosecond, inclusive
_Used = TypeVar("_Used")


@dataclass(frozen=True, slots=True)
class Reach:
    """What to read: disjoint `spans` in time order, and whether the last point before
    the first span (`before`) and the first after the last span (`after`) are needed."""

    spans: tuple[Span, ...]
    before: bool = False
    after: bool = False


def spans_around(
    lo: npt.NDArray[np.int64], last: npt.NDArray[np.int64], gap: int | None = None
) -> tuple[Span, ...]:
    """Disjoint spans covering the windows `[lo[i], last[i]]` (both sorted, as the
    windows of sorted times with one width are). Windows less than `gap` apart share a
    span; by default the gap grows with the times' spread, so that at most about
    `MAX_SPANS` spans are read."""
    if not len(lo):
        return ()
    if gap is None:
        gap = max(MIN_GAP, (int(last[-1]) - int(lo[0])) // MAX_SPANS)
    ends = np.maximum.accumulate(last)
    breaks = np.flatnonzero(lo[1:] - ends[:-1] > gap)  # may be negative: overlapping windows
    firsts = np.concatenate(([0], breaks + 1))
    finals = np.concatenate((breaks, [len(lo) - 1]))
    return tuple(
        (int(lo[a]), int(ends[b])) for a, b in zip(firsts.tolist(), finals.tolist(), strict=True)
    )


@dataclass(frozen=True, slots=True)
class _Listed:
    files: VariableFiles
    keys: list[str]  # each Parquet file's partition key, in the listing's order


def load_reach(
    root: Path,
    parts: PartsRoot,
    partition: Partition,
    names: Sequence[str],
    reach: Reach,
    consume: Callable[[str, pa.Table, Kind | None], _Used],
    *,
    include_log: bool = True,
    as_of: int | None = None,
    dedupe: Dedupe | None = None,
) -> dict[str, _Used]:
    """Each variable's sorted visible rows (`timestamp`, `value`) in `reach` for a reader
    at `as_of` (`dedupe` by arrival), from one consistent snapshot (a listed file that
    vanished makes it start again), as
    `consume(name, rows, kind)` makes them (`rows_and_kind` keeps both). `consume`
    runs as soon as a variable is read, so it may start work (on other threads) while
    the next is decoded; after a restart its earlier results are dropped."""
    lo = NS_MIN if reach.before else reach.spans[0][0]
    last = NS_MAX if reach.after else reach.spans[-1][1]

    def listing() -> list[_Listed]:
        out = []
        for name in names:
            files = list_variable(root, parts, name, partition, lo, last, include_log=include_log)
            out.append(_Listed(files, [f.key for f in files.parquet]))
        return out

    def read(listed: list[_Listed], locked: bool) -> dict[str, _Used]:
        return {
            item.files.name: consume(
                item.files.name,
                _rows(item, reach, partition, locked, as_of, dedupe),
                item.files.kind,
            )
            for item in listed
        }

    return read_snapshot(root, listing, read)


def last_before(
    root: Path,
    parts: PartsRoot,
    partition: Partition,
    name: str,
    t: int,
    *,
    first: bool = False,
    include_log: bool = True,
    as_of: int | None = None,
) -> tuple[int, float] | None:
    """The last point before `t` as `(ns, value as a float)` (of several at that time the
    last, or with `first` the first), or None: what `twa` needs in force at `t`. Reads
    only the row groups that can hold it (`_before`)."""
    reach = Reach(((t, t),), before=True)
    loaded = load_reach(
        root, parts, partition, [name], reach, rows_and_kind, include_log=include_log, as_of=as_of
    )
    rows = loaded[name][0]
    ns = timestamps(rows)
    k = int(np.searchsorted(ns, t, side="left"))
    if k == 0:
        return None
    at = int(np.searchsorted(ns, ns[k - 1], side="left")) if first else k - 1
    value = rows.column("value")[at].as_py()
    return int(ns[at]), math.nan if value is None else float(value)


def rows_and_kind(name: str, rows: pa.Table, kind: Kind | None) -> tuple[pa.Table, Kind | None]:
    """A `load_reach` consumer that keeps a variable's rows and kind."""
    return rows, kind


def _rows(
    listed: _Listed,
    reach: Reach,
    partition: Partition,
    locked: bool,
    as_of: int | None,
    dedupe: Dedupe | None,
) -> pa.Table:
    """The visible rows of `reach` from one listing: the points just before and after
    (if asked), then each span's Parquet pieces and log tail merged."""
    files = listed.files
    view = variable_view(files, NS_MIN, NS_MAX, as_of, locked=locked)
    hide = view.active or dedupe is not None
    columns = (*_COLUMNS, ARRIVED) if hide else _COLUMNS
    schema = table_schema(files.kind, arrived=True)
    target = pa.schema([schema.field(c) for c in columns])
    tail = tail_rows(files, NS_MIN, NS_MAX, with_metadata=False, locked=locked, arrived=hide)
    if view.active:  # the edges are searched among visible tail points
        tail = visible(tail, view, None, keep_arrived=True)
    tail_ns = timestamps(tail)

    def span_rows(a: int, b: int) -> pa.Table | None:
        chosen = _between(listed, a, b, partition)
        pieces = [p for p in read_parquets(chosen, a, b, columns) if p is not None and p.num_rows]
        pieces = [p if p.schema.equals(target) else p.cast(target) for p in pieces]
        i = int(np.searchsorted(tail_ns, a, side="left"))
        j = int(np.searchsorted(tail_ns, b, side="right"))
        if j > i:
            pieces.append(tail.slice(i, j - i))
        if not pieces:
            return None
        rows = merge_sorted(pieces)
        if hide:
            rows = visible(rows, view, dedupe)
        return rows if rows.num_rows else None

    first, final = reach.spans[0][0], reach.spans[-1][1]
    tables: list[pa.Table | None] = []
    if reach.before and first > NS_MIN:
        tables.append(_edge_before(listed, first, partition, tail_ns, span_rows, view))
    tables.extend(span_rows(a, b) for a, b in reach.spans)
    if reach.after and final < NS_MAX:
        tables.append(_edge_after(listed, final, partition, tail_ns, span_rows, view))
    found = [t.select(list(_COLUMNS)) for t in tables if t is not None]
    if not found:
        return pa.schema([schema.field(c) for c in _COLUMNS]).empty_table()
    return found[0] if len(found) == 1 else pa.concat_tables(found)  # disjoint, in order


_SpanRows = Callable[[int, int], pa.Table | None]


def _edge_before(
    listed: _Listed,
    first: int,
    partition: Partition,
    tail_ns: npt.NDArray[np.int64],
    span_rows: _SpanRows,
    view: View,
) -> pa.Table | None:
    """The rows from the last visible point before `first` up to `first`: the nearest
    stored point's, or (where it is hidden) those of windows doubling further back."""
    bound, width = first, 0
    while True:
        edge = _before(listed, bound, partition, tail_ns)
        if edge is None:
            return None
        a = edge if not view.active else max(NS_MIN, min(edge, bound - width))
        rows = span_rows(a, bound - 1)
        if rows is not None or not view.active:
            return rows
        bound, width = a, max(2 * width, MIN_GAP)


def _edge_after(
    listed: _Listed,
    final: int,
    partition: Partition,
    tail_ns: npt.NDArray[np.int64],
    span_rows: _SpanRows,
    view: View,
) -> pa.Table | None:
    """The rows from `final` to the first visible point after it (as `_edge_before`)."""
    bound, width = final, 0
    while True:
        edge = _after(listed, bound, partition, tail_ns)
        if edge is None:
            return None
        b = edge if not view.active else min(NS_MAX, max(edge, bound + width))
        rows = span_rows(bound + 1, b)
        if rows is not None or not view.active:
            return rows
        bound, width = b, max(2 * width, MIN_GAP)


def _between(listed: _Listed, a: int, b: int, partition: Partition) -> list[PartFile]:
    """The listed Parquet files in the partitions of `[a, b]` (found by bisection: the
    listing is sorted by partition key)."""
    i = bisect.bisect_left(listed.keys, partition_key_ns(a, partition))
    j = bisect.bisect_right(listed.keys, partition_key_ns(b, partition))
    return list(listed.files.parquet[i:j])


def _groups(listed: _Listed, i: int, j: int, *, newest_first: bool) -> list[list[PartFile]]:
    """The listed files `[i, j)` grouped by partition, newest or oldest first."""
    groups: list[list[PartFile]] = []
    for k in range(i, j):
        if groups and groups[-1][0].key == listed.keys[k]:
            groups[-1].append(listed.files.parquet[k])
        else:
            groups.append([listed.files.parquet[k]])
    return groups[::-1] if newest_first else groups


def _before(
    listed: _Listed, lo: int, partition: Partition, tail_ns: npt.NDArray[np.int64]
) -> int | None:
    """The time of the last point before `lo` (in Parquet or the log tail), or None.

    Partitions are looked at newest first, and only until one holds a point before
    `lo` (or, older than the tail's last such point, none can beat it); in that
    partition only the row groups from the latest first-timestamp below `lo` on are
    decoded (the last point before `lo` is at least that late)."""
    k = int(np.searchsorted(tail_ns, lo, side="left"))
    best = int(tail_ns[k - 1]) if k else None
    floor = "" if best is None else partition_key_ns(best, partition)
    stop = bisect.bisect_right(listed.keys, partition_key_ns(lo - 1, partition))
    for group in _groups(listed, 0, stop, newest_first=True):
        if group[0].key < floor:
            break
        bounds = [row_groups(f)[1] for f in group]
        starts = [int(b[i, 0]) for b in bounds for i in range(len(b)) if b[i, 2] and b[i, 0] < lo]
        if not starts:
            continue
        low = max(starts)
        for f in group:
            piece = read_parquet(f, low, lo - 1, ["timestamp"])
            if piece is not None and piece.num_rows:
                latest = int(timestamps(piece)[-1])
                best = latest if best is None else max(best, latest)
        return best
    return best


def _after(
    listed: _Listed, last: int, partition: Partition, tail_ns: npt.NDArray[np.int64]
) -> int | None:
    """The time of the first point after `last`, or None (as `_before`, oldest first)."""
    k = int(np.searchsorted(tail_ns, last, side="right"))
    best = int(tail_ns[k]) if k < len(tail_ns) else None
    ceiling = "\uffff" if best is None else partition_key_ns(best, partition)
    start = bisect.bisect_left(listed.keys, partition_key_ns(last + 1, partition))
    for group in _groups(listed, start, len(listed.keys), newest_first=False):
        if group[0].key > ceiling:
            break
        bounds = [row_groups(f)[1] for f in group]
        ends = [int(b[i, 1]) for b in bounds for i in range(len(b)) if b[i, 2] and b[i, 1] > last]
        if not ends:
            continue
        high = min(ends)
        for f in group:
            piece = read_parquet(f, last + 1, high, ["timestamp"])
            if piece is not None and piece.num_rows:
                earliest = int(timestamps(piece)[0])
                best = earliest if best is None else min(best, earliest)
        return best
    return best
