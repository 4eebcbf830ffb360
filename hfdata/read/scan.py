"""`Store.scan`: a polars LazyFrame over a variable's Parquet files and its log tail.

The Parquet files are scanned lazily (pruned by partition when listed, by the time
filter when collected); the log tail is read now, from the same consistent snapshot,
and carried in the frame. If `optimize` replaces the files before the frame is
collected, collecting fails: call `scan` again.
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
from hfdata.read.query import window
from hfdata.read.rows import tail_rows
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
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
) -> pl.LazyFrame:
    """A polars LazyFrame (`timestamp`, `value`, `metadata`) over Parquet and the log tail."""
    import polars as pl

    validate_name(variable)
    lo, last = window(settings, start, end)

    def list_files() -> VariableFiles:
        return list_variable(root, parts, variable, settings.partition, lo, last, include_log=True)

    def read_files(files: VariableFiles, locked: bool) -> tuple[VariableFiles, pa.Table]:
        return files, tail_rows(files, lo, last, with_metadata=True, locked=locked)

    files, tail = read_snapshot(root, list_files, read_files)
    schema = table_schema(files.kind)
    frames = []
    if files.parquet:
        lo_lit = pl.lit(lo, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
        last_lit = pl.lit(last, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
        lazy = scan_parquet(files.parquet, parts)
        frames.append(
            lazy.select(list(schema.names))
            .filter((pl.col(_TS) >= lo_lit) & (pl.col(_TS) <= last_lit))
            .cast(pl.Schema(_polars_schema(files.kind)))
        )
    frames.append(pl.from_arrow(tail).lazy())  # type: ignore[union-attr]
    return pl.concat(frames).sort(_TS, maintain_order=True)


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
