"""`Store.to_dask`: the store as a Dask DataFrame with known divisions.

One snapshot is taken as `read` takes it (`snapshot.read_snapshot`: files listed under
the shared publish lock, the log tail and the end partitions' footers read after, all
of it again if a file vanished). A Dask partition holds whole store partitions (hour,
day or month): all their Parquet files (one per compaction batch) and the log tail
rows that fall in them, consecutive ones grouped into the fewest partitions of about
`partition_rows` rows at most, balanced by rows (from commit records or the footers of
the end partitions, estimated from file sizes between). Partitions are large because
pandas' fixed cost per partition (an index hash table for `.loc`) dominates small ones
(benchmarks/PROFILES.md). The log tail, read on this machine (the log is local), is cut
at the partition boundaries and carried in the graph. Workers read the Parquet
themselves, each file through its pickled `PartsRoot` (a local tree or an object store), pruned
by row-group statistics as `read` does.

Divisions are the first point, store partition starts between, and the last point. The
ends are tight so that Dask's resample starts and ends on `read`'s bins; the starts on
partition boundaries keep each partition in resample bins of its own for any rule that
divides the partition length (`1min`, `2h`, `1D` on daily partitions). Dask's resample
needs that: when several partitions fall into one output partition and only one output
partition remains, `compute()` fails in `RepartitionToFewer` (an assertion; Dask's
`ResampleReduction.npartitions` reports the input's count). Coarser rules (`7D` over
two days) can still hit it, as in plain Dask.

Order among equal timestamps is `read`'s: Parquet files by name, then the log tail, and
for several variables the order they were asked in.

Rows are the versions a reader at `as_of` sees (`hfdata.read.versions`): each variable's
view (its `as_of` and the tombstones over the window) travels in the graph, and a worker
reads `arrived` and applies it only for a variable whose view hides something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from hfdata.errors import MissingDependency
from hfdata.kinds import Kind
from hfdata.layout import Partition, validate_name
from hfdata.log.parse import table_schema
from hfdata.parquet.reader import file_span
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.read.files import estimated_rows, file_size, read_one
from hfdata.read.frames import to_pandas
from hfdata.read.query import as_of_ns, window
from hfdata.read.rows import merge_sorted, tail_rows, variable_view
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
from hfdata.read.versions import ARRIVED, View, visible
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = ["PARTITION_ROWS", "to_dask"]

_COLUMNS = ("timestamp", "value")
PARTITION_ROWS: Final = 4_000_000
_STEP: Final = {"hour": 3_600_000_000_000, "day": 86_400_000_000_000}


@dataclass(frozen=True, slots=True)
class _Part:
    """What one Dask partition reads: rows in `[lo, last]` of its files and tail slices."""

    lo: int
    last: int
    names: tuple[str, ...]
    kinds: tuple[Kind | None, ...]
    files: tuple[tuple[int, PartFile], ...]  # (variable index, file)
    tails: tuple[pa.Table | None, ...]  # per variable, already cut to [lo, last]
    views: tuple[View, ...]  # per variable: what its reader sees (tails already filtered)

    def __dask_tokenize__(self) -> object:
        """Dask's name for the partition: its files by root and path (as it named local
        paths and commit entries before), not by pickling each file's root, which made
        building a graph of many partitions twice as slow."""
        from dask.base import normalize_token

        files = tuple((i, repr(f.root), f.path, f.size, f.rows, f.lo, f.hi) for i, f in self.files)
        views = tuple((v.as_of, v.tombstones.to_pydict()) for v in self.views)
        return normalize_token(
            (self.lo, self.last, self.names, self.kinds, files, self.tails, views)
        )


def _schema(kind: Kind | None) -> pa.Schema:
    full = table_schema(kind)
    return pa.schema([full.field(c) for c in _COLUMNS])


def _key_start(key: str) -> int:
    """The start (UTC ns) of the store partition a `date=` key names (`2026-11-26`,
    `2026-11-26T13` or `2026-11`: numpy parses all three at their own precision)."""
    return int(np.datetime64(key).astype("datetime64[ns]").astype(np.int64))


# partition start -> [first point, last point, [(variable, listing order, file)], rows]
_Groups = dict[int, list[Any]]
# each variable's files, its log tail in the window, and the groups they make
_Snapshot = tuple[list[VariableFiles], list[pa.Table], _Groups, list[View]]


def _groups(
    listing: list[VariableFiles], tails: list[pa.Table], partition: Partition, lo: int, last: int
) -> _Groups:
    """One group per store partition holding points in `[lo, last]`: its files (every
    batch of that partition) and the log tail rows that fall in it.

    Files are grouped by the partition key their listing names. Only the footers of the
    first and last groups are read, for the exact end points the outer divisions need; a
    group between them lies wholly inside the window, and its rows (used only to balance
    partitions) are estimated from file sizes at the rows per byte of the footers read:
    reading every footer here would delay the first task (benchmarks/PROFILES.md), and
    the workers read the footers anyway, to prune row groups. Files whose listing knows
    their span and rows (an object store's commit records) are exact without a footer.
    """
    groups: _Groups = {}
    for i, files in enumerate(listing):
        for order, file in enumerate(files.parquet):
            group = groups.setdefault(_key_start(file.key), [NS_MAX, NS_MIN, [], 0])
            group[2].append((i, order, file))
    exact: set[int] = set()
    for ordered in (sorted(groups), sorted(groups, reverse=True)):
        for start in ordered:  # the first (last) group with points in the window
            if start in exact:
                break
            exact.add(start)
            group, kept = groups[start], []
            for file in group[2]:
                a, b, rows = file_span(file[2])
                if a < lo <= b or a <= last < b:  # the window cuts the file: its points in it
                    a, b = _points_within(file[2], lo, last)
                if max(a, lo) <= min(b, last):
                    group[0], group[1] = min(group[0], a), max(group[1], b)
                    group[3] += rows
                    kept.append(file)
            group[2] = kept
            if group[3]:
                break
    sized = [(groups[k][3], sum(file_size(f) for _, _, f in groups[k][2])) for k in exact]
    rows_per_byte = sum(r for r, _ in sized) / max(1, sum(b for _, b in sized)) or 0.125
    for start, group in list(groups.items()):
        if start in exact:
            if not group[3]:
                del groups[start]  # no points in the window (or only empty files)
            continue
        for _, _, file in group[2]:
            group[3] += estimated_rows(file, rows_per_byte)
        group[0], group[1] = start, start  # inside the window: only exact ends are used
    for tail in tails:
        if tail is None or not tail.num_rows:
            continue
        ns = tail.column("timestamp").cast(pa.int64()).to_numpy()
        starts = _floor_array(ns, partition)  # sorted, as the tail is
        firsts = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
        for k, stop in zip(firsts, [*firsts[1:], len(ns)], strict=True):
            a, b = int(ns[k]), int(ns[stop - 1])
            group = groups.setdefault(int(starts[k]), [a, b, [], 0])
            group[0], group[1] = min(group[0], a), max(group[1], b)
            group[3] += int(stop - k)
    return groups


def _points_within(file: PartFile, lo: int, last: int) -> tuple[int, int]:
    """The first and last timestamp of a file in `[lo, last]` (read from the row groups
    there), `(NS_MAX, NS_MIN)` if it has none: the outer divisions are points, so that
    Dask's resample starts and ends on `read`'s bins."""
    table = read_one(file, lo, last, ("timestamp",))
    if table is None or not table.num_rows:
        return NS_MAX, NS_MIN
    ns = table.column(0).cast(pa.int64())  # sorted
    return int(ns[0].as_py()), int(ns[-1].as_py())


def _frame(names: Sequence[str], kinds: Sequence[Kind | None], tables: list[pa.Table]) -> Any:
    """The pandas partition: `value` for one variable, long form for several."""
    if len(names) == 1:
        table = tables[0]
    else:
        numeric = {k or "float" for k in kinds} <= {"float", "int"}
        pieces = []
        for name, kind, table in zip(names, kinds, tables, strict=True):
            if numeric and kind == "int":
                table = table.set_column(1, "value", table.column("value").cast(pa.float64()))
            pieces.append(
                table.add_column(1, "variable", pa.array([name] * table.num_rows, pa.string()))
            )
        table = pa.concat_tables(pieces, promote_options="permissive")
        ns = table.column("timestamp").cast(pa.int64()).to_numpy()
        if len(ns) > 1:
            table = table.take(pa.array(np.argsort(ns, kind="stable")))
    json_cols = ["value"] if all(k == "json" for k in kinds) else []
    return to_pandas(table, json_cols)


def _load(part: _Part) -> Any:
    """Run on a worker: read one partition."""
    tables = []
    for i, kind in enumerate(part.kinds):
        schema = _schema(kind)
        view = part.views[i]
        columns = (*_COLUMNS, ARRIVED) if view.active else _COLUMNS
        target = pa.schema([table_schema(kind, arrived=True).field(c) for c in columns])
        pieces = []
        for j, file in part.files:
            if j == i:
                piece = read_one(file, part.lo, part.last, columns)
                if piece is not None and piece.num_rows:
                    if view.active:
                        piece = visible(piece.cast(target), view, None)
                    pieces.append(piece if piece.schema.equals(schema) else piece.cast(schema))
        tail = part.tails[i]
        if tail is not None and tail.num_rows:
            pieces.append(tail)
        pieces = [p for p in pieces if p.num_rows]
        tables.append(merge_sorted(pieces) if pieces else schema.empty_table())
    return _frame(part.names, part.kinds, tables)


def _floor_array(ns: npt.NDArray[np.int64], partition: Partition) -> npt.NDArray[np.int64]:
    """The start (UTC ns) of the store partition holding each timestamp."""
    if partition == "month":
        months = ns.astype("datetime64[ns]").astype("datetime64[M]")
        return np.asarray(months.astype("datetime64[ns]").astype(np.int64))
    step = _STEP[partition]
    return ns - ns % step  # numpy's % is a floor modulo: right before 1970 too


def _coalesce(keys: list[int], rows: list[int], limit: int) -> list[list[int]]:
    """Consecutive store partitions grouped into the fewest runs of at most `limit` rows
    (a store partition is never split), runs balanced by rows."""
    total = sum(rows)
    count = max(1, -(-total // max(limit, 1)))
    runs: list[list[int]] = []
    last, seen = -1, 0
    for key, n in zip(keys, rows, strict=True):
        run = min(count - 1, int((seen + n / 2) * count / total)) if total else 0
        if run != last:
            runs.append([])
            last = run
        runs[-1].append(key)
        seen += n
    return runs


def _cut(table: pa.Table, lo: int, last: int) -> pa.Table | None:
    ns = table.column("timestamp").cast(pa.int64()).to_numpy()
    a, b = np.searchsorted(ns, lo, "left"), np.searchsorted(ns, last, "right")
    return table.slice(int(a), int(b - a)) if b > a else None


def to_dask(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: str | Sequence[str],
    start: Any = None,
    end: Any = None,
    *,
    partition_rows: int = PARTITION_ROWS,
    as_of: Any = None,
) -> dd.DataFrame:
    """The rows of `variables` in `[start, end)` as a Dask DataFrame with known
    divisions, laid out as the module docstring says (`Store.to_dask` documents the
    options)."""
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise MissingDependency("Store.to_dask needs Dask; install hfdata[dask]") from exc
    names = [variables] if isinstance(variables, str) else list(variables)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"to_dask needs distinct variable names, got {variables!r}")
    for name in names:
        validate_name(name)
    lo, last = window(settings, start, end)
    known = as_of_ns(settings, as_of)

    def list_files() -> list[VariableFiles]:
        return [
            list_variable(root, parts, n, settings.partition, lo, last, include_log=True)
            for n in names
        ]

    def read_files(listed: list[VariableFiles], locked: bool) -> _Snapshot:
        # the log tail now; the footers of the end partitions too (an optimize may
        # replace a listed file meanwhile: then the whole snapshot is taken again)
        views = [variable_view(f, lo, last, known, locked=locked) for f in listed]
        tails = [
            visible(
                tail_rows(f, lo, last, with_metadata=False, locked=locked, arrived=v.active),
                v,
                None,
            )
            for f, v in zip(listed, views, strict=True)
        ]
        return listed, tails, _groups(listed, tails, settings.partition, lo, last), views

    listing, tails, groups, views = read_snapshot(root, list_files, read_files)
    kinds = tuple(f.kind for f in listing)
    meta = _frame(names, kinds, [_schema(k).empty_table() for k in kinds])
    if not groups:
        frame: dd.DataFrame = dd.from_pandas(meta, npartitions=1)  # type: ignore[no-untyped-call]
        return frame
    # Divisions: the first and last point (tight, so that resample's first and last bins
    # are `read`'s) and store partition starts between them (see the module's notes).
    keys = _coalesce(sorted(groups), [groups[k][3] for k in sorted(groups)], partition_rows)
    bounds = [groups[keys[0][0]][0], *(k[0] for k in keys[1:])]
    end_ns = groups[keys[-1][-1]][1]
    tasks = []
    for g, members in enumerate(keys):
        p_lo = bounds[g]
        p_last = bounds[g + 1] - 1 if g + 1 < len(keys) else end_ns
        chosen = sorted((f for k in members for f in groups[k][2]), key=lambda f: (f[0], f[1]))
        cut = tuple(None if t is None else _cut(t, p_lo, p_last) for t in tails)
        # `read`'s order (variable, then name) keeps equal timestamps in arrival order
        tasks.append(
            _Part(
                p_lo,
                p_last,
                tuple(names),
                kinds,
                tuple((i, f) for i, _, f in chosen),
                cut,
                tuple(views),
            )
        )
    if end_ns == bounds[-1]:  # a one-instant last partition trips Dask's resample: the
        end_ns += 1  # last division is an inclusive upper bound, so one ns more is still true
    divisions = [pd.Timestamp(b, tz="UTC") for b in [*bounds, end_ns]]
    result: dd.DataFrame = dd.from_map(  # type: ignore[no-untyped-call]
        _load,
        tasks,
        meta=meta,
        divisions=divisions,
        label="hfdata",
        enforce_metadata=False,
    )
    return result
