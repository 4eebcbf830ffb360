"""Features written as Parquet as they are computed (`Store.features(to=...)`).

Two shapes, chosen by `to`:

- a directory: hive Parquet, one file per partition period of the store as it
  completes: `how="long"` writes `<dir>/variable=<name>/part-<key>.parquet` (the
  variable's name percent-encoded as in the store's own tree, so every engine reads
  `variable` back as a column), `how="wide"` writes `<dir>/part-<key>.parquet`;
- a path ending in `.parquet`: one file, a row group per period, written through a
  temporary name and renamed into place when the last one is in.

Nothing is overwritten: a directory that already holds files, or an existing file, is
refused before any work starts. Every file has the same schema: `window` (UTC
nanoseconds), `variable` (long, single file only), then one float64 column per feature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.durable import fsync_dir
from hfdata.errors import InvalidArgument
from hfdata.layout import encode_name

__all__ = ["FeaturesWritten", "Sink", "open_sink"]

_VARIABLE: Final = "variable"


@dataclass(frozen=True, slots=True)
class FeaturesWritten:
    """What `Store.features(to=...)` wrote: the `path`, how many `files` and `rows`,
    and the `variables` and `features` (column names) they hold."""

    path: str
    files: int
    rows: int
    variables: tuple[str, ...]
    features: tuple[str, ...]


class Sink:
    """Writes the tables of one features call where `to` says; `close` returns what it
    wrote (`FeaturesWritten`)."""

    def __init__(self, path: Path, schema: pa.Schema, variables: tuple[str, ...]) -> None:
        self.path = path
        self.schema = schema  # window, [variable,] the features
        self.variables = variables
        self.files = 0
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._temporary = path.with_name(f".{path.name}.tmp") if path.suffix == ".parquet" else None

    def write(self, key: str, variable: str | None, table: pa.Table) -> None:
        """One period's table: long (`variable` given: its rows) or wide (`None`)."""
        self.rows += table.num_rows
        if self._temporary is not None:
            if variable is not None:
                column = pa.array([variable] * table.num_rows, pa.string())
                table = table.add_column(1, _VARIABLE, column)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._temporary, self.schema)
                self.files = 1
            self._writer.write_table(table.cast(self.schema))
            return
        folder = (
            self.path if variable is None else self.path / f"{_VARIABLE}={encode_name(variable)}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        wanted = self.schema if variable is None else self.schema.remove(1)  # in the folder
        pq.write_table(table.cast(wanted), folder / f"part-{key}.parquet")
        self.files += 1

    def close(self, features: tuple[str, ...]) -> FeaturesWritten:
        if self._temporary is not None:
            if self._writer is None:  # nothing computed: an empty file with the schema
                self._writer = pq.ParquetWriter(self._temporary, self.schema)
                self.files = 1
            self._writer.close()
            os.replace(self._temporary, self.path)
            fsync_dir(self.path.parent)
        return FeaturesWritten(str(self.path), self.files, self.rows, self.variables, features)

    def abort(self) -> None:
        """Drop the temporary file of a call that failed (written directory files stay)."""
        if self._writer is not None:
            self._writer.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)


def open_sink(to: Any, schema: pa.Schema, variables: tuple[str, ...]) -> Sink:
    """Check `to` (nothing there to overwrite) and make its sink."""
    if isinstance(to, bool) or not isinstance(to, str | os.PathLike):
        raise InvalidArgument(
            f"to={to!r} must be a directory or a path ending in .parquet", argument="to"
        )
    path = Path(to).expanduser()
    if path.suffix == ".parquet" and not path.is_dir():
        if path.exists():
            raise InvalidArgument(
                f"to={str(to)!r} already exists; remove it or choose another path (features "
                "never overwrite)",
                argument="to",
            )
        if not path.parent.is_dir():
            raise InvalidArgument(
                f"to={str(to)!r}: its directory {str(path.parent)!r} does not exist",
                argument="to",
            )
        return Sink(path, schema, variables)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidArgument(
            f"to={str(to)!r} already holds files; remove them or choose another directory "
            "(features never overwrite)",
            argument="to",
        )
    return Sink(path, schema, variables)
