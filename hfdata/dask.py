"""`Store.to_dask`: the store as a Dask DataFrame with known divisions.

One snapshot is taken as `read` takes it (files listed under the shared publish lock,
the log tail read now, everything again if a file vanished). Parquet files become
partitions in time order; files whose time spans overlap (late data, several batches of
one partition) share a partition, so partition `i` holds exactly the rows with
`divisions[i] <= timestamp < divisions[i + 1]` (the last one inclusive). The log tail,
read on this machine (the log is local), is cut at the same boundaries and carried in
the graph; rows after the last file get one more partition. Workers read the Parquet
themselves (local paths, or the object store through the pickled filesystem), pruned by
row-group statistics as `read` does.

Order among equal timestamps is `read`'s: Parquet files by name, then the log tail, and
for several variables the order they were asked in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from hfdata.errors import MissingDependency
from hfdata.frames import to_pandas
from hfdata.kinds import Kind
from hfdata.layout import validate_name
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.parse import table_schema
from hfdata.read import (
    VariableFiles,
    list_variable,
    read_parquet,
    read_segment_rows,
    window,
)
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX

if TYPE_CHECKING:
    import dask.dataframe as dd

    from hfdata.objectstore import ParquetRoot, RemoteFile

__all__ = ["to_dask"]

_ATTEMPTS = 5
_COLUMNS = ("timestamp", "value")


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


def _file_span(path: Path | RemoteFile) -> tuple[int, int]:
    if not isinstance(path, Path):
        return path.lo, path.hi
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
        table = pa.concat_tables(pieces) if pieces else schema.empty_table()
        ns = table.column("timestamp").cast(pa.int64()).to_numpy()
        if len(ns) > 1 and not bool(np.all(ns[1:] >= ns[:-1])):
            table = table.take(pa.array(np.argsort(ns, kind="stable")))
        tables.append(table)
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
    # Parquet files with their spans (clamped to the window), grouped where they overlap.
    spans = []
    for i, files in enumerate(listing):
        for order, (_, path) in enumerate(files.parquet):
            a, b = _file_span(path)
            a, b = max(a, lo), min(b, last)
            if a <= b:
                spans.append((a, b, i, order, path))
    spans.sort(key=lambda s: (s[0], s[1]))
    groups: list[list[Any]] = []  # [lo, hi, [(variable, listing order, path), ...]]
    for a, b, i, order, path in spans:
        if groups and a <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], b)
            groups[-1][2].append((i, order, path))
        else:
            groups.append([a, b, [(i, order, path)]])
    for group in groups:  # `read`'s order (partition, then name) keeps ties in arrival order
        group[2] = [(i, path) for i, _, path in sorted(group[2], key=lambda f: (f[0], f[1]))]
    tail_ns = [t.column("timestamp").cast(pa.int64()).to_numpy() for t in tails if t is not None]
    tail_lo = min((int(ns[0]) for ns in tail_ns if len(ns)), default=NS_MAX)
    tail_hi = max((int(ns[-1]) for ns in tail_ns if len(ns)), default=-NS_MAX)
    if groups:
        groups[0][0] = min(groups[0][0], tail_lo)
        if tail_hi > groups[-1][1]:
            after = min(
                int(ns[np.searchsorted(ns, groups[-1][1], "right")])
                for ns in tail_ns
                if len(ns) and ns[-1] > groups[-1][1]
            )
            groups.append([after, tail_hi, []])
        groups[-1][1] = max(groups[-1][1], tail_hi)
    elif tail_hi >= tail_lo:
        groups.append([tail_lo, tail_hi, []])
    meta = _frame(names, kinds, [_schema(k).empty_table() for k in kinds])
    if not groups:
        frame: dd.DataFrame = dd.from_pandas(meta, npartitions=1)  # type: ignore[no-untyped-call]
        return frame
    parts = []
    for g, (g_lo, g_hi, files) in enumerate(groups):
        p_last = groups[g + 1][0] - 1 if g + 1 < len(groups) else g_hi
        cut = tuple(None if t is None else _cut(t, g_lo, p_last) for t in tails)
        parts.append(_Part(g_lo, p_last, tuple(names), kinds, tuple(files), cut))
    divisions = [pd.Timestamp(g[0], tz="UTC") for g in groups]
    end_ns = groups[-1][1]
    if end_ns == groups[-1][0]:  # a one-instant last partition trips Dask's resample: the
        end_ns += 1  # last division is an inclusive upper bound, so one ns more is still true
    divisions.append(pd.Timestamp(end_ns, tz="UTC"))
    result: dd.DataFrame = dd.from_map(  # type: ignore[no-untyped-call]
        _load,
        parts,
        meta=meta,
        divisions=divisions,
        label="hfdata",
        enforce_metadata=False,
    )
    return result
