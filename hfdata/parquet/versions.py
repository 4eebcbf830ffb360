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

__all__ = ["dedupe_by_arrival", "deleted_mask", "expired_tombstones"]

_ARRIVED: Final = "arrived"
_TS: Final = "timestamp"


def _ns(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def deleted_mask(table: pa.Table, tombstones: pa.Table) -> npt.NDArray[np.bool_]:
    """Per row of `table` (sorted by `timestamp`, with `arrived`), whether a tombstone of
    `tombstones` (`start`, `end`, `recorded`) deletes it. Each tombstone costs a binary
    search and the rows of its range, so a thousand narrow tombstones are cheap."""
    mask = np.zeros(table.num_rows, np.bool_)
    if table.num_rows == 0 or tombstones.num_rows == 0:
        return mask
    ts = _ns(table.column(_TS))
    arrived = _ns(table.column(_ARRIVED))
    starts = _ns(tombstones.column("start"))
    ends = _ns(tombstones.column("end"))
    recorded = _ns(tombstones.column("recorded"))
    lo = np.searchsorted(ts, starts, side="left")
    hi = np.searchsorted(ts, ends, side="left")
    for i in np.flatnonzero(hi > lo).tolist():
        a, b = int(lo[i]), int(hi[i])
        mask[a:b] |= arrived[a:b] < recorded[i]
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
