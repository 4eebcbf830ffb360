"""`Store.to_dask`: the store as a Dask DataFrame with known divisions.

One snapshot is taken as `read` takes it (files listed under the shared publish lock,
the log tail read now, everything again if a file vanished). A Dask partition holds
whole store partitions (hour, day or month): all their Parquet files (one per
compaction batch) and the log tail rows that fall in them, consecutive ones grouped into
the fewest partitions of about `partition_rows` rows at most, balanced by rows (counts
from commit records or footers). Large partitions matter: with 172,800-row days Dask's
resample ran at 0.2x of `read` on two workers, mostly pandas building a hash table for
`.loc` on each index under 1 M rows. The log tail, read on this machine (the log is
local), is cut at the partition boundaries and carried in the graph. Workers read the
Parquet themselves (local paths, or the object store through the pickled filesystem),
pruned by row-group statistics as `read` does.

Divisions are the first point, store partition starts between, and the last point. The
ends are tight so that Dask's resample starts and ends on `read`'s bins; the starts on
partition boundaries keep each partition in resample bins of its own for any rule that
divides the partition length (`1min`, `2h`, `1D` on daily partitions). Dask's resample
needs that: when several partitions fall into one output partition and only one output
partition remains, `compute()` fails in `RepartitionToFewer` (an assertion; Dask's
`ResampleReduction.npartitions` reports the input's count). Partitions starting at the
files' first points (the earlier layout) hit it when a file and the log tail began in
one bin. Coarser rules (`7D` over two days) can still hit it, as in plain Dask.

Order among equal timestamps is `read`'s: Parquet files by name, then the log tail, and
for several variables the order they were asked in.
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
from hfdata.frames import to_pandas
from hfdata.kinds import Kind
from hfdata.layout import Partition, validate_name
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.parse import table_schema
from hfdata.read import (
    VariableFiles,
    list_variable,
    merge_sorted,
    read_parquet,
    read_segment_rows,
    window,
)
from hfdata.settings import StoreSettings

if TYPE_CHECKING:
    import dask.dataframe as dd

    from hfdata.objectstore import ParquetRoot, RemoteFile

__all__ = ["PARTITION_ROWS", "to_dask"]

_ATTEMPTS = 5
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
    files: tuple[tuple[int, Path | RemoteFile], ...]  # (variable index, file)
    tails: tuple[pa.Table | None, ...]  # per variable, already cut to [lo, last]


def _schema(kind: Kind | None) -> pa.Schema:
    full = table_schema(kind)
    return pa.schema([full.field(c) for c in _COLUMNS])


def _file_span(path: Path | RemoteFile) -> tuple[int, int, int]:
    """First and last timestamp and rows of a file (commit record, or cached footer)."""
    if not isinstance(path, Path):
        return path.lo, path.hi, path.rows
    from hfdata.read import footer_span

    return footer_span(path)


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
        pieces = []
        for j, path in part.files:
            if j == i:
                piece = read_parquet(path, part.lo, part.last, _COLUMNS)
                if piece is not None and piece.num_rows:
                    pieces.append(piece if piece.schema.equals(schema) else piece.cast(schema))
        tail = part.tails[i]
        if tail is not None and tail.num_rows:
            pieces.append(tail)
        tables.append(merge_sorted(pieces) if pieces else schema.empty_table())
    return _frame(part.names, part.kinds, tables)


def _snapshot(
    root: Path,
    settings: StoreSettings,
    names: list[str],
    lo: int,
    last: int,
    remote: ParquetRoot | None,
) -> tuple[list[VariableFiles], list[pa.Table]]:
    """Files of each variable and its log tail in `[lo, last]`, from one consistent listing."""
    for attempt in range(_ATTEMPTS + 1):
        final = attempt == _ATTEMPTS
        with flock(root / PUBLISH_LOCK, shared=True):
            listing = [
                list_variable(
                    root, n, settings.partition, lo, last, include_log=True, remote=remote
                )
                for n in names
            ]
            if final:
                return listing, [read_segment_rows(f, lo, last, locked=True) for f in listing]
        try:
            return listing, [read_segment_rows(f, lo, last) for f in listing]
        except FileNotFoundError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _floor_array(ns: npt.NDArray[np.int64], partition: Partition) -> npt.NDArray[np.int64]:
    """The start (UTC ns) of the store partition holding each timestamp."""
    if partition == "month":
        months = ns.astype("datetime64[ns]").astype("datetime64[M]")
        return np.asarray(months.astype("datetime64[ns]").astype(np.int64))
    step = _STEP[partition]
    return ns - ns % step  # numpy's % is a floor modulo: right before 1970 too


def _floor(ns: int, partition: Partition) -> int:
    return int(_floor_array(np.array([ns], dtype=np.int64), partition)[0])


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
    settings: StoreSettings,
    variables: str | Sequence[str],
    start: Any = None,
    end: Any = None,
    remote: ParquetRoot | None = None,
    *,
    partition_rows: int = PARTITION_ROWS,
) -> dd.DataFrame:
    """See `Store.to_dask`."""
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
    listing, tails = _snapshot(root, settings, names, lo, last, remote)
    kinds = tuple(f.kind for f in listing)
    # One group per store partition (hour/day/month) holding points: its files (all
    # batches of that partition) and the log tail rows that fall in it.
    # partition start -> [lo, hi, [(variable, listing order, path)], rows (an estimate)]
    groups: dict[int, list[Any]] = {}
    for i, files in enumerate(listing):
        for order, (_, path) in enumerate(files.parquet):
            a, b, rows = _file_span(path)
            a, b = max(a, lo), min(b, last)
            if a <= b:  # a file holds one partition's points, so `a` names its partition
                group = groups.setdefault(_floor(a, settings.partition), [a, b, [], 0])
                group[0], group[1] = min(group[0], a), max(group[1], b)
                group[2].append((i, order, path))
                group[3] += rows
    for tail in tails:
        if tail is None or not tail.num_rows:
            continue
        ns = tail.column("timestamp").cast(pa.int64()).to_numpy()
        starts = _floor_array(ns, settings.partition)  # sorted, as the tail is
        firsts = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
        for k, stop in zip(firsts, [*firsts[1:], len(ns)], strict=True):
            a, b = int(ns[k]), int(ns[stop - 1])
            group = groups.setdefault(int(starts[k]), [a, b, [], 0])
            group[0], group[1] = min(group[0], a), max(group[1], b)
            group[3] += int(stop - k)
    meta = _frame(names, kinds, [_schema(k).empty_table() for k in kinds])
    if not groups:
        frame: dd.DataFrame = dd.from_pandas(meta, npartitions=1)  # type: ignore[no-untyped-call]
        return frame
    # Divisions: the first and last point (tight, so that resample's first and last bins
    # are `read`'s) and store partition starts between them (see the module's notes).
    keys = _coalesce(sorted(groups), [groups[k][3] for k in sorted(groups)], partition_rows)
    bounds = [groups[keys[0][0]][0], *(k[0] for k in keys[1:])]
    end_ns = groups[keys[-1][-1]][1]
    parts = []
    for g, members in enumerate(keys):
        p_lo = bounds[g]
        p_last = bounds[g + 1] - 1 if g + 1 < len(keys) else end_ns
        chosen = sorted((f for k in members for f in groups[k][2]), key=lambda f: (f[0], f[1]))
        cut = tuple(None if t is None else _cut(t, p_lo, p_last) for t in tails)
        # `read`'s order (variable, then name) keeps equal timestamps in arrival order
        parts.append(
            _Part(p_lo, p_last, tuple(names), kinds, tuple((i, f) for i, _, f in chosen), cut)
        )
    if end_ns == bounds[-1]:  # a one-instant last partition trips Dask's resample: the
        end_ns += 1  # last division is an inclusive upper bound, so one ns more is still true
    divisions = [pd.Timestamp(b, tz="UTC") for b in [*bounds, end_ns]]
    result: dd.DataFrame = dd.from_map(  # type: ignore[no-untyped-call]
        _load,
        parts,
        meta=meta,
        divisions=divisions,
        label="hfdata",
        enforce_metadata=False,
    )
    return result
