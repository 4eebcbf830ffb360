"""Which stored versions a tombstone deletes, and which version of a timestamp `dedupe`
keeps: the rules of docs/contracts.md, "Parquet tree" (issue 20), as pure functions on
sorted tables, for `optimize`'s merge.

A stored version is `(timestamp, value, metadata, arrived)`, a tombstone
`(start, end, recorded)`. A version is deleted by a tombstone when
`start <= timestamp < end` and `arrived < recorded` (it arrived strictly before the
deletion). `dedupe="last"` keeps, per timestamp, the version with the greatest
`arrived` (ties: the later in stored order); `"first"` the smallest (ties: the earlier),
preferring a version no tombstone deletes, so that `optimize(dedupe="first")` keeps what
`read(dedupe="first")` shows.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["dedupe_by_arrival", "deleted_by", "deleted_mask", "expired_tombstones"]

_ARRIVED: Final = "arrived"
_TS: Final = "timestamp"
_I64_MIN: Final = np.iinfo(np.int64).min


def _ns(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def deleted_mask(table: pa.Table, tombstones: pa.Table) -> npt.NDArray[np.bool_]:
    """Per row of `table` (sorted by `timestamp`, with `arrived`), whether a tombstone of
    `tombstones` (`start`, `end`, `recorded`) deletes it (`deleted_by`)."""
    if table.num_rows == 0 or tombstones.num_rows == 0:
        return np.zeros(table.num_rows, np.bool_)
    return deleted_by(
        _ns(table.column(_TS)),
        _ns(table.column(_ARRIVED)),
        _ns(tombstones.column("start")),
        _ns(tombstones.column("end")),
        _ns(tombstones.column("recorded")),
    )


def deleted_by(
    ts: npt.NDArray[np.int64],
    arrived: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    recorded: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Per version (`ts` sorted), whether a tombstone `(starts, ends, recorded)` deletes
    it: `start <= ts < end` and `arrived < recorded`. The one implementation of the rule,
    for compaction, optimize, verify and every read.

    The tombstones' starts and ends cut time into elementary segments; each segment gets
    the latest `recorded` of the tombstones covering it, and a version is deleted when it
    arrived before its segment's. The versions (sorted) are cut at the segments'
    boundaries by binary search: one pass over them however many tombstones there are."""
    mask = np.zeros(len(ts), np.bool_)
    if not len(ts) or not len(starts):
        return mask
    bounds = np.unique(np.concatenate([starts, ends]))
    first = np.searchsorted(bounds, starts)
    stop = np.searchsorted(bounds, ends)  # a tombstone covers segments first .. stop-1
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    offsets = np.cumsum(counts) - counts
    segments = np.repeat(first, counts) + (np.arange(total) - np.repeat(offsets, counts))
    latest = np.full(len(bounds), _I64_MIN, np.int64)  # the last segment is [bounds[-1], inf)
    np.maximum.at(latest, segments, np.repeat(recorded, counts))
    cut = np.searchsorted(ts, bounds, side="left")  # segment j's rows: cut[j] .. cut[j+1]
    a, b = int(cut[0]), int(cut[-1])
    if b > a:
        mask[a:b] = arrived[a:b] < np.repeat(latest[:-1], np.diff(cut))
    return mask


def expired_tombstones(tombstones: pa.Table, now: int, retention_ns: int | None) -> pa.Table:
    """The tombstones recorded more than `retention_ns` before `now` (none when the
    retention is None: history is kept)."""
    if retention_ns is None or tombstones.num_rows == 0:
        return tombstones.slice(0, 0)
    recorded = _ns(tombstones.column("recorded"))
    return tombstones.filter(pa.array(recorded < now - retention_ns))


def dedupe_by_arrival(
    table: pa.Table,
    keep: Literal["last", "first"],
    deleted: npt.NDArray[np.bool_] | None = None,
) -> pa.Table:
    """One row per timestamp of `table` (sorted by `timestamp`): the `"last"` or
    `"first"` to arrive (ties: stored order). `deleted` (from `deleted_mask`) makes
    `"first"` prefer a version no tombstone deletes. The result is sorted by timestamp."""
    n = table.num_rows
    if n < 2:
        return table
    ts = _ns(table.column(_TS))
    arrived = _ns(table.column(_ARRIVED))
    order = np.arange(n)
    if keep == "last":
        # by timestamp, then arrival, then stored order; the last of each run is kept
        idx = np.lexsort((order, arrived, ts))
        sorted_ts = ts[idx]
        last = np.ones(n, np.bool_)
        last[:-1] = sorted_ts[1:] != sorted_ts[:-1]
        chosen = idx[last]
    else:
        hidden = np.zeros(n, np.int8) if deleted is None else deleted.astype(np.int8)
        idx = np.lexsort((order, arrived, hidden, ts))
        sorted_ts = ts[idx]
        first = np.ones(n, np.bool_)
        first[1:] = sorted_ts[1:] != sorted_ts[:-1]
        chosen = idx[first]
    if len(chosen) == n and bool(np.all(chosen == order)):
        return table
    return table.take(pa.array(chosen))
