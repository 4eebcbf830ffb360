"""Which stored versions a reader sees: arrival times, tombstones and `as_of` (issue 20).

One definition, used by every read (docs/contracts.md, "Versions"): a stored version is
`(timestamp, value, metadata, arrived)`, a tombstone `(start, end, recorded)`. A reader
at `as_of=T` (no `as_of`: every version and tombstone) sees the versions with
`arrived <= T` that no tombstone with `recorded <= T` deletes; a tombstone deletes the
versions of `[start, end)` that arrived strictly before it was recorded. `dedupe="last"`
keeps, per timestamp, the visible version with the greatest `arrived` (ties: the later in
read order), `"first"` the smallest (ties: the earlier). Everything derived (resample,
events, features, reports) is computed on what this module leaves.

The functions are pure and work on Arrow tables sorted by timestamp in read order
(`rows.variable_rows`' order) with an `arrived` column. They are vectorised: a deletion
check is one binary search per row against the tombstones' boundaries (a thousand
tombstones cost a few thousand boundaries, not a thousand passes), and dedupe sorts only
the timestamps that have several versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.parquet.tombstones import TOMBSTONE_SCHEMA
from hfdata.parquet.versions import deleted_by

__all__ = [
    "ARRIVED",
    "NEEDS_ARRIVAL",
    "NO_TOMBSTONES",
    "SKIP",
    "Dedupe",
    "Ranges",
    "View",
    "by_time",
    "dedupe_rows",
    "deleted_mask",
    "drop_ranges",
    "history_table",
    "overlapping",
    "visible",
]

Dedupe = Literal["last", "first"]
ARRIVED: Final = "arrived"
NO_TOMBSTONES: Final = TOMBSTONE_SCHEMA.empty_table()
_TS: Final = "timestamp"
_I64_MAX: Final = np.iinfo(np.int64).max
_TS_TYPE: Final = pa.timestamp("ns", tz="UTC")


def _ns(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_timestamp(column.type):
        column = column.view(pa.int64())
    if column.null_count:  # a damaged file's missing arrival (verify reports it): the earliest
        column = column.fill_null(0)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass(frozen=True)
class View:
    """What one reader sees of one variable: its `as_of` (None: now) and the tombstones
    recorded by then that overlap the window read (`overlapping`). A view that is not
    `active` sees every stored version: the read needs no `arrived` column."""

    as_of: int | None = None
    tombstones: pa.Table = field(default_factory=TOMBSTONE_SCHEMA.empty_table)

    @property
    def active(self) -> bool:
        """Whether versions may be hidden (as_of given, or a tombstone applies)."""
        return self.as_of is not None or self.tombstones.num_rows > 0

    @cached_property
    def arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The tombstones' `start`, `end` and `recorded` as int64 ns (converted once)."""
        t = self.tombstones
        return _ns(t.column("start")), _ns(t.column("end")), _ns(t.column("recorded"))


def overlapping(tombstones: pa.Table, lo: int, last: int, as_of: int | None) -> pa.Table:
    """The tombstones that can delete a point of `[lo, last]` for a reader at `as_of`:
    recorded by then, and `[start, end)` meeting the window."""
    if tombstones.num_rows == 0:
        return NO_TOMBSTONES
    starts, ends = _ns(tombstones.column("start")), _ns(tombstones.column("end"))
    keep = (starts <= last) & (ends > lo)
    if as_of is not None:
        keep &= _ns(tombstones.column("recorded")) <= as_of
    if keep.all():
        return tombstones
    return tombstones.filter(pa.array(keep))


def deleted_mask(
    ts: npt.NDArray[np.int64], arrived: npt.NDArray[np.int64], tombstones: pa.Table | View
) -> npt.NDArray[np.bool_]:
    """Per version (`ts` sorted), whether a tombstone of `tombstones` deletes it:
    `start <= ts < end` and `arrived < recorded` (`parquet.versions.deleted_by`, with
    the view's tombstones converted once)."""
    view = tombstones if isinstance(tombstones, View) else View(None, tombstones)
    if not len(ts) or view.tombstones.num_rows == 0:
        return np.zeros(len(ts), np.bool_)
    return deleted_by(ts, arrived, *view.arrays)


_SLICED: Final = 65_536  # from this many rows, kept runs are sliced rather than filtered
SKIP: Final = "skip"  # `by_time`: a file none of whose versions a reader sees
NEEDS_ARRIVAL: Final = "arrival"  # `by_time`: a file whose versions need their `arrived`
Ranges = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]  # [start, end) to hide


def by_time(view: View, first: int, final: int) -> Ranges | str:
    """What `view` hides of a file whose versions arrived between `first` and `final`
    (its `arrived` statistics), decided without reading `arrived` where it can be: the
    time ranges to hide (`Ranges`: every tombstone recorded after `final` hides its whole
    range, one recorded at or before `first` hides nothing there), `SKIP` (every version
    arrived after `as_of`), or `NEEDS_ARRIVAL` (as_of or a tombstone falls between)."""
    if view.as_of is not None:
        if view.as_of < first:
            return SKIP
        if view.as_of < final:
            return NEEDS_ARRIVAL
    if view.tombstones.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts, ends, recorded = view.arrays
    whole = recorded > final
    if not np.all(whole | (recorded <= first)):
        return NEEDS_ARRIVAL
    return starts[whole], ends[whole]


def drop_ranges(table: pa.Table, ranges: Ranges) -> pa.Table:
    """`table` (sorted by timestamp) without the rows of the `[start, end)` ranges: the
    rows kept are zero-copy slices (a small table is filtered instead)."""
    starts, ends = ranges
    if not len(starts) or table.num_rows == 0:
        return table
    ts = _ns(table.column(_TS))
    a = np.searchsorted(ts, starts, side="left")
    b = np.searchsorted(ts, ends, side="left")
    hit = b > a
    if not hit.any():
        return table
    a, b = a[hit], b[hit]
    if len(ts) < _SLICED:  # a small table: one filter copies less than many slices cost
        delta = np.zeros(len(ts) + 1, np.int32)
        np.add.at(delta, a, 1)
        np.add.at(delta, b, -1)
        return table.filter(pa.array(np.cumsum(delta[:-1]) == 0))
    order = np.argsort(a, kind="stable")
    a, b = a[order], np.maximum.accumulate(b[order])  # overlapping ranges merged
    keep_from = np.concatenate(([0], b))
    keep_to = np.concatenate((a, [len(ts)]))
    pieces = [
        table.slice(x, y - x)
        for x, y in zip(keep_from.tolist(), keep_to.tolist(), strict=True)
        if y > x
    ]
    return pa.concat_tables(pieces) if pieces else table.slice(0, 0)


def dedupe_rows(table: pa.Table, how: Dedupe | None) -> pa.Table:
    """One row per timestamp of `table` (sorted by timestamp, in read order): the
    greatest (`"last"`) or smallest (`"first"`) `arrived`, ties by read order. Without an
    `arrived` column, the last or first in read order. Only timestamps with several
    versions are sorted."""
    if how is None or table.num_rows < 2:
        return table
    ts = _ns(table.column(_TS))
    same = ts[1:] == ts[:-1]
    if not same.any():
        return table
    n = len(ts)
    keep = np.ones(n, np.bool_)
    if ARRIVED not in table.column_names:
        if how == "last":
            keep[:-1] = ~same
        else:
            keep[1:] = ~same
        return table.filter(pa.array(keep))
    dup = np.zeros(n, np.bool_)
    dup[:-1] |= same
    dup[1:] |= same
    rows = np.flatnonzero(dup)  # every version of a timestamp with several
    arrived = _ns(table.column(ARRIVED))[rows]
    key = arrived if how == "last" else -arrived  # greatest arrival, or smallest
    order = rows if how == "last" else -rows  # ties: later, or earlier, in read order
    idx = np.lexsort((order, key, ts[rows]))
    sorted_ts = ts[rows][idx]
    chosen = np.ones(len(rows), np.bool_)
    chosen[:-1] = sorted_ts[1:] != sorted_ts[:-1]  # the best of each run sorts last
    keep[rows] = False
    keep[rows[idx[chosen]]] = True
    return table.filter(pa.array(keep))


def visible(
    table: pa.Table, view: View, dedupe: Dedupe | None, *, keep_arrived: bool = False
) -> pa.Table:
    """The versions of `table` (sorted by timestamp, in read order, with `arrived` when
    `view` is active or `dedupe` is given) that `view` sees, deduplicated by arrival.
    `arrived` is dropped unless `keep_arrived`."""
    if ARRIVED in table.column_names and table.num_rows and view.active:
        ts = _ns(table.column(_TS))
        arrived = _ns(table.column(ARRIVED))
        hidden = deleted_mask(ts, arrived, view)
        if view.as_of is not None:
            hidden |= arrived > view.as_of
        if hidden.any():
            table = table.filter(pa.array(~hidden))
    table = dedupe_rows(table, dedupe)
    if not keep_arrived and ARRIVED in table.column_names:
        table = table.drop_columns([ARRIVED])
    return table


def history_table(table: pa.Table, tombstones: pa.Table, as_of: int | None) -> pa.Table:
    """Every stored version of `table` (sorted by timestamp, in read order, with
    `arrived`) a reader at `as_of` knows of, with `superseded_at` (the arrival of the next
    visible version of its timestamp, null if none) and `deleted_at` (when the earliest
    tombstone deleting it was recorded, null if none), sorted by timestamp then arrival
    (ties: read order). `tombstones` are those `overlapping` the window at `as_of`."""
    if as_of is not None and table.num_rows:
        table = table.filter(pa.array(_ns(table.column(ARRIVED)) <= as_of))
    n = table.num_rows
    ts = _ns(table.column(_TS))
    arrived = _ns(table.column(ARRIVED))
    deleted_at = np.full(n, _I64_MAX, np.int64)
    if n and tombstones.num_rows:
        starts = _ns(tombstones.column("start"))
        ends = _ns(tombstones.column("end"))
        recorded = _ns(tombstones.column("recorded"))
        lo = np.searchsorted(ts, starts, side="left")
        hi = np.searchsorted(ts, ends, side="left")
        for i in np.flatnonzero(hi > lo).tolist():
            a, b, r = int(lo[i]), int(hi[i]), int(recorded[i])
            hit = arrived[a:b] < r
            deleted_at[a:b][hit] = np.minimum(deleted_at[a:b][hit], r)
    order = np.lexsort((np.arange(n), arrived, ts))
    table = table.take(pa.array(order))
    ts, arrived, deleted_at = ts[order], arrived[order], deleted_at[order]
    # the next visible version of the same timestamp: scan from the end for the nearest
    # later row that is visible
    seen = deleted_at == _I64_MAX
    idx = np.where(seen, np.arange(n), n)
    following = np.empty(n, np.int64)
    if n:
        following[:-1] = np.minimum.accumulate(idx[::-1])[::-1][1:]
        following[-1] = n
    has_next = following < n
    nxt = np.clip(following, 0, max(n - 1, 0))
    has_next &= ts[nxt] == ts if n else has_next
    superseded = np.where(has_next, arrived[nxt] if n else arrived, 0)
    table = table.append_column(
        "superseded_at",
        pa.array(superseded, pa.int64(), mask=~has_next).cast(_TS_TYPE),
    )
    return table.append_column(
        "deleted_at",
        pa.array(deleted_at, pa.int64(), mask=deleted_at == _I64_MAX).cast(_TS_TYPE),
    )
