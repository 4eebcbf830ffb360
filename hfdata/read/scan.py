"""`Store.scan`: a polars LazyFrame over a variable's Parquet files and its log tail.

The Parquet files are scanned lazily (pruned by partition when listed, by the time
filter when collected); the log tail is read now, from the same consistent snapshot,
and carried in the frame. If `optimize` replaces the files before the frame is
collected, collecting fails: call `scan` again.

With `as_of`, or when a tombstone of the variable overlaps the window, the frame holds
the versions a reader at `as_of` sees (`hfdata.read.versions`): the log tail is
filtered now, the Parquet scan gets the same rule as polars filters on `arrived`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.layout import validate_name
from hfdata.log.parse import table_schema
from hfdata.parquet.root import PartsRoot
from hfdata.read.files import scan_parquet
from hfdata.read.query import as_of_ns, window
from hfdata.read.rows import tail_rows, variable_view
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
from hfdata.read.versions import ARRIVED, View, visible
from hfdata.settings import StoreSettings

if TYPE_CHECKING:
    import polars as pl

__all__ = ["scan"]

_TS: Final = "timestamp"


def scan(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variable: str,
    start: Any = None,
    end: Any = None,
    *,
    as_of: Any = None,
) -> pl.LazyFrame:
    """A polars LazyFrame (`timestamp`, `value`, `metadata`) over Parquet and the log
    tail: the versions a reader at `as_of` sees."""
    import polars as pl

    validate_name(variable)
    lo, last = window(settings, start, end)
    known = as_of_ns(settings, as_of)

    def list_files() -> VariableFiles:
        return list_variable(root, parts, variable, settings.partition, lo, last, include_log=True)

    def read_files(files: VariableFiles, locked: bool) -> tuple[VariableFiles, pa.Table, View]:
        view = variable_view(files, lo, last, known, locked=locked)
        tail = tail_rows(files, lo, last, with_metadata=True, locked=locked, arrived=view.active)
        return files, visible(tail, view, None), view

    files, tail, view = read_snapshot(root, list_files, read_files)
    schema = table_schema(files.kind)
    frames = []
    if files.parquet:
        lo_lit = _time(lo)
        last_lit = _time(last)
        lazy = scan_parquet(files.parquet, parts)
        names = [*schema.names, ARRIVED] if view.active else list(schema.names)
        lazy = lazy.select(names).filter((pl.col(_TS) >= lo_lit) & (pl.col(_TS) <= last_lit))
        if view.active:
            lazy = lazy.filter(_visible(view)).drop(ARRIVED)
        frames.append(lazy.cast(pl.Schema(_polars_schema(files.kind))))
    frames.append(pl.from_arrow(tail).lazy())  # type: ignore[union-attr]
    return pl.concat(frames).sort(_TS, maintain_order=True)


def _time(ns: int) -> pl.Expr:
    import polars as pl

    return pl.lit(ns, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))


def _visible(view: View) -> pl.Expr:
    """`versions.visible`'s rule (no dedupe) as a polars predicate on `timestamp` and
    `arrived`."""
    import polars as pl

    keep = pl.lit(True)
    if view.as_of is not None:
        keep = pl.col(ARRIVED) <= _time(view.as_of)
    t = view.tombstones
    start, end, recorded = (t.column(c).cast(pa.int64()).to_pylist() for c in t.column_names)
    ts, arrived = pl.col(_TS), pl.col(ARRIVED)
    deleted = [
        (ts >= _time(s)) & (ts < _time(e)) & (arrived < _time(r))
        for s, e, r in zip(start, end, recorded, strict=True)
    ]
    if deleted:
        keep = keep & ~pl.any_horizontal(deleted)
    return keep


def _polars_schema(kind: Kind | None) -> dict[str, pl.DataType]:
    import polars as pl

    value: dict[str, pl.DataType] = {
        "float": pl.Float64(),
        "int": pl.Int64(),
        "bool": pl.Boolean(),
        "string": pl.String(),
        "json": pl.String(),
    }
    return {_TS: pl.Datetime("ns", "UTC"), "value": value[kind or "float"], "metadata": pl.String()}
