"""`optimize`'s merge: the sorted Parquet files of one partition as one sorted stream of
tables, in bounded memory.

The files' row-group statistics cut the time axis into windows of about `WINDOW_ROWS`
rows. Each window's rows are read from every file (`hfdata.parquet.reader`: row groups
pruned, page checksums verified), concatenated in the files' order, stably sorted, rid of
the versions an expired tombstone deletes, and, if asked, deduplicated by arrival
(`hfdata.parquet.versions`). Windows are ranges of timestamps, so equal timestamps never
straddle two: the stream holds the same rows in the same order as sorting the whole
concatenation at once, with one window in memory instead of the whole partition.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.parquet.files import ARRIVED, KIND_SCHEMAS, conform, sort_stable
from hfdata.parquet.reader import read_parquet, row_groups
from hfdata.parquet.root import PartFile
from hfdata.parquet.versions import dedupe_by_arrival, deleted_mask

__all__ = ["WINDOW_ROWS", "merge_sorted_files"]

WINDOW_ROWS: Final = 2_000_000


def merge_sorted_files(
    files: Sequence[PartFile],
    dedupe: Literal["last", "first"] | None = None,
    *,
    window_rows: int | None = None,
    tombstones: pa.Table | None = None,
    expired: pa.Table | None = None,
    kind: Kind | None = None,
    arrivals: Sequence[int] | None = None,
) -> Iterator[pa.Table]:
    """The rows of `files` (each sorted by timestamp), stably merged in the files'
    order, one window at a time. The versions a tombstone of `expired` deletes are left
    out; `dedupe` keeps the last or first version per timestamp by `arrived` (`"first"`
    preferring one no tombstone of `tombstones` deletes). Yields at least one table
    (empty if the files are), so a writer has the schema. `window_rows` defaults to
    `WINDOW_ROWS`, looked up at each call.

    Files written before format 3 (`hfdata.compact.upgrade`) may lack `arrived` and
    differ in value type: `arrivals` gives, per file, the arrival of its rows when it
    has no `arrived` column, and `kind` conforms every piece to the kind's schema."""
    footers = [row_groups(f) for f in files]
    if not footers:
        raise ValueError("merge_sorted_files needs at least one file")
    schema = footers[0][0] if kind is None else KIND_SCHEMAS[kind]
    names = [[n for n in s.names if n in schema.names] for s, _ in footers]
    groups = np.concatenate([g for _, g in footers])
    yielded = False
    for lo, last in _windows(groups, WINDOW_ROWS if window_rows is None else window_rows):
        pieces = []
        for i, f in enumerate(files):
            piece = read_parquet(f, lo, last, names[i])
            if piece is None or not piece.num_rows:
                continue
            if arrivals is not None and ARRIVED not in piece.column_names:
                known = pa.array(np.full(piece.num_rows, arrivals[i], np.int64))
                piece = piece.append_column(ARRIVED, known.cast(pa.timestamp("ns", tz="UTC")))
            pieces.append(piece if kind is None else conform(piece, kind))
        if pieces:
            table = sort_stable(pa.concat_tables(pieces))
            if expired is not None and expired.num_rows:
                gone = deleted_mask(table, expired)
                if gone.any():
                    table = table.filter(pa.array(~gone))
            if dedupe is not None:
                hidden = None if tombstones is None else deleted_mask(table, tombstones)
                table = dedupe_by_arrival(table, dedupe, hidden)
            yield table
            yielded = True
    if not yielded:
        yield schema.empty_table()


def _windows(groups: npt.NDArray[np.int64], limit: int) -> list[tuple[int, int]]:
    """`[lo, last]` timestamp ranges covering every row group, cut at row-group starts
    after about `limit` rows (row groups taken in order of their first timestamp)."""
    if len(groups) == 0:
        return []
    groups = groups[np.argsort(groups[:, 0], kind="stable")]
    start, end = int(groups[:, 0].min()), int(groups[:, 1].max())
    cuts: list[int] = []
    rows = 0
    for first, _, count in groups.tolist():
        if rows >= limit and first > (cuts[-1] if cuts else start):
            cuts.append(first)
            rows = 0
        rows += count
    edges = [start, *cuts]
    return [(a, b - 1) for a, b in zip(edges, [*cuts, end + 1], strict=True)]
