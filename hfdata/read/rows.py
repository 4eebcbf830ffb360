"""One variable's rows in a window: its Parquet files and its log tail, merged in order.

Order ("stable"): rows are sorted by timestamp; equal timestamps keep arrival order,
which is Parquet (files by name, rows as written) before the log tail (segments by
name: writer start, then sequence; lines as written). The pieces are concatenated as
they come; a stable sort runs only when a piece is out of order itself (late lines in
the log) or the pieces' spans overlap.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.log.parse import table_schema
from hfdata.parquet.reader import chunk_ns
from hfdata.parquet.root import PartFile
from hfdata.parquet.tombstones import read_tombstones
from hfdata.read.files import arrival_range, read_parquets
from hfdata.read.snapshot import VariableFiles
from hfdata.read.tail import SegmentLog, segment_log
from hfdata.read.versions import (
    ARRIVED,
    NEEDS_ARRIVAL,
    NO_TOMBSTONES,
    SKIP,
    Dedupe,
    View,
    by_time,
    drop_ranges,
    overlapping,
    visible,
)

__all__ = [
    "clear_tombstones",
    "merge_sorted",
    "stored_rows",
    "tail_rows",
    "time_span",
    "timestamps",
    "variable_rows",
    "variable_tombstones",
    "variable_view",
]

_TS: Final = "timestamp"


def timestamps(table: pa.Table) -> npt.NDArray[np.int64]:
    """The `timestamp` column as int64 nanoseconds."""
    column = table.column(_TS)
    if column.num_chunks == 1:
        return np.asarray(column.chunk(0).view(pa.int64()).to_numpy(zero_copy_only=False))
    return np.asarray(column.combine_chunks().view(pa.int64()).to_numpy(zero_copy_only=False))


def time_span(table: pa.Table) -> tuple[int, int]:
    """First and last timestamp of a non-empty table sorted by timestamp."""
    chunks = [c for c in table.column(_TS).chunks if len(c)]
    return int(chunk_ns(chunks[0])[0]), int(chunk_ns(chunks[-1])[-1])


def _select(schema: pa.Schema, columns: Sequence[str]) -> pa.Schema:
    return pa.schema([schema.field(c) for c in columns])


_TOMBSTONE_CACHE: Final = 256  # tombstone files kept parsed (they are small)
_tombstone_cache: OrderedDict[tuple[str, str], pa.Table] = OrderedDict()
_tombstone_lock = threading.Lock()


def clear_tombstones() -> None:
    """Forget the parsed tombstone files."""
    with _tombstone_lock:
        _tombstone_cache.clear()


def _compacted_tombstones(files: Sequence[PartFile]) -> pa.Table:
    """The tombstones of a listing's tombstone files. A published tombstone file never
    changes (its name holds its batch; `optimize` writes a merged one under a new name),
    so each is parsed once and kept (`_TOMBSTONE_CACHE` files, least recently used
    dropped). A file deleted since the listing is still a `FileNotFoundError` on first
    read, which restarts the snapshot."""
    tables = []
    for file in files:
        key = (repr(file.root), file.path)
        with _tombstone_lock:
            table = _tombstone_cache.get(key)
            if table is not None:
                _tombstone_cache.move_to_end(key)
        if table is None:
            table = read_tombstones([file])
            with _tombstone_lock:
                _tombstone_cache[key] = table
                while len(_tombstone_cache) > _TOMBSTONE_CACHE:
                    _tombstone_cache.popitem(last=False)
        tables.append(table)
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def variable_tombstones(
    files: VariableFiles, *, locked: bool, logs: Sequence[SegmentLog] | None = None
) -> pa.Table:
    """A listing's tombstones: its compacted tombstone files', then its log segments'
    (`logs`, if the caller has parsed them already), in that order."""
    if logs is None:
        logs = [segment_log(p, files.kind, locked=locked) for p in files.segments]
    tables = [log.tombstones for log in logs if log.tombstones.num_rows]
    if files.tombstones:
        tables.insert(0, _compacted_tombstones(files.tombstones))
    if not tables:
        return NO_TOMBSTONES
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def variable_view(
    files: VariableFiles,
    lo: int,
    last: int,
    as_of: int | None,
    *,
    locked: bool,
    logs: Sequence[SegmentLog] | None = None,
) -> View:
    """What a reader at `as_of` sees of a listing in `[lo, last]`: the tombstones that
    can delete a point there."""
    tombstones = variable_tombstones(files, locked=locked, logs=logs)
    return View(as_of, overlapping(tombstones, lo, last, as_of))


def variable_rows(
    files: VariableFiles,
    lo: int,
    last: int,
    *,
    with_metadata: bool,
    locked: bool = False,
    as_of: int | None = None,
    dedupe: Dedupe | None = None,
    keep_arrived: bool = False,
) -> pa.Table:
    """The visible rows of a listing in `[lo, last]` (`timestamp`, `value` and, if
    asked, `metadata`), Parquet then log tail, stably sorted, for a reader at `as_of`
    (`versions.visible`: tombstones and arrival; `dedupe` by arrival). `arrived` is read
    only when something needs it (as_of, dedupe, a tombstone over the window, or
    `keep_arrived`, which keeps it as the last column). `locked`: read under the publish
    lock (see `tail.segment_log`)."""
    logs = [segment_log(p, files.kind, locked=locked) for p in files.segments]
    view = variable_view(files, lo, last, as_of, locked=locked, logs=logs)
    columns = [_TS, "value", "metadata"] if with_metadata else [_TS, "value"]
    if dedupe is not None or keep_arrived:
        columns.append(ARRIVED)
        table = _rows(files, logs, lo, last, columns)
        return visible(table, view, dedupe, keep_arrived=keep_arrived)
    if view.active:
        return _visible_rows(files, logs, lo, last, columns, view)
    return _rows(files, logs, lo, last, columns)


def _visible_rows(
    files: VariableFiles,
    logs: Sequence[SegmentLog],
    lo: int,
    last: int,
    columns: list[str],
    view: View,
) -> pa.Table:
    """`_rows` of what `view` shows, piece by piece (no dedupe: each version is judged
    alone). A Parquet file whose `arrived` statistics settle every tombstone and the
    `as_of` (`versions.by_time`) is read without `arrived` and cut by time ranges
    (zero-copy slices), or skipped; the others, and the log tail, are read with it."""
    rules = []
    for file in files.parquet:
        span = arrival_range(file)
        rules.append(NEEDS_ARRIVAL if span is None else by_time(view, *span))
    plain = [f for f, r in zip(files.parquet, rules, strict=True) if not isinstance(r, str)]
    timed = [f for f, r in zip(files.parquet, rules, strict=True) if r == NEEDS_ARRIVAL]
    with_arrived = [*columns, ARRIVED]
    read_plain = iter(read_parquets(plain, lo, last, columns) if plain else [])
    read_timed = iter(read_parquets(timed, lo, last, with_arrived) if timed else [])
    schema = table_schema(files.kind, arrived=True)
    pieces: list[pa.Table] = []
    spans: list[tuple[int, int]] = []
    for rule in rules:
        if rule == SKIP:
            continue
        if rule == NEEDS_ARRIVAL:
            piece = next(read_timed)
            if piece is not None and piece.num_rows:
                target = _select(schema, with_arrived)
                piece = visible(
                    piece if piece.schema.equals(target) else piece.cast(target), view, None
                )
        else:
            assert not isinstance(rule, str)
            piece = next(read_plain)
            if piece is not None and piece.num_rows:
                target = _select(schema, columns)
                piece = drop_ranges(
                    piece if piece.schema.equals(target) else piece.cast(target), rule
                )
        if piece is not None and piece.num_rows:
            pieces.append(piece)
            spans.append(time_span(piece))
    tail_files = VariableFiles(files.name, files.kind, (), files.segments)
    tail = _rows(tail_files, logs, lo, last, with_arrived) if logs else None
    if tail is not None and tail.num_rows:
        tail = visible(tail, view, None)
        if tail.num_rows:
            pieces.append(tail)
            spans.append(time_span(tail))
    if not pieces:
        return _select(schema, columns).empty_table()
    return _merge(pieces, spans, True)


def _rows(
    files: VariableFiles, logs: Sequence[SegmentLog], lo: int, last: int, columns: list[str]
) -> pa.Table:
    """Every stored row of a listing in `[lo, last]`, in read order: `columns` of its
    Parquet files, then of its parsed log segments `logs`."""
    schema = table_schema(files.kind, arrived=True)
    pieces: list[pa.Table] = []
    spans: list[tuple[int, int]] = []  # each piece's first and last timestamp, pieces sorted
    in_order = True
    for piece in read_parquets(files.parquet, lo, last, columns):
        if piece is not None and piece.num_rows:
            target = _select(schema, columns)
            pieces.append(piece if piece.schema.equals(target) else piece.cast(target))
            spans.append(time_span(piece))
    for log in logs:
        piece = log.table
        if piece.num_rows:
            ns = timestamps(piece)
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


def tail_rows(
    files: VariableFiles,
    lo: int,
    last: int,
    *,
    with_metadata: bool,
    locked: bool = False,
    arrived: bool = False,
) -> pa.Table:
    """Every stored row of the log tail of a listing in `[lo, last]`, stably sorted (its
    Parquet left out, no version hidden), with `arrived` as the last column if asked."""
    logs = [segment_log(p, files.kind, locked=locked) for p in files.segments]
    columns = [_TS, "value", "metadata"] if with_metadata else [_TS, "value"]
    tail = VariableFiles(files.name, files.kind, (), files.segments)
    return _rows(tail, logs, lo, last, [*columns, ARRIVED] if arrived else columns)


def stored_rows(files: VariableFiles, lo: int, last: int, *, locked: bool = False) -> pa.Table:
    """Every stored version of a listing in `[lo, last]`, none hidden, in read order:
    `timestamp`, `value`, `metadata`, `arrived` (what `Store.history` shows)."""
    logs = [segment_log(p, files.kind, locked=locked) for p in files.segments]
    return _rows(files, logs, lo, last, [_TS, "value", "metadata", ARRIVED])


def merge_sorted(pieces: Sequence[pa.Table]) -> pa.Table:
    """Non-empty tables, each sorted by timestamp, merged in order as `read` merges them
    (concatenated; stably sorted only if their spans overlap)."""
    return _merge(list(pieces), [time_span(p) for p in pieces], True)


def _merge(pieces: list[pa.Table], spans: list[tuple[int, int]], in_order: bool) -> pa.Table:
    """Concatenate pieces (in arrival order); a stable sort by timestamp only when a
    piece is not in order itself (`in_order` False) or the pieces' spans overlap."""
    table = pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)
    in_order = in_order and all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    if not in_order:  # overlapping files or out-of-order arrivals: stable sort
        table = table.take(pa.array(np.argsort(timestamps(table), kind="stable")))
    return table
