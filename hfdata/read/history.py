"""`Store.history`: every stored version of a variable's points in a window.

The versions come from one consistent snapshot (`rows.stored_rows`: Parquet then log
tail, in read order, none hidden) with the variable's tombstones (compacted and in the
log); `versions.history_table` says for each one when a later version superseded it and
when a tombstone deleted it, as a reader at `as_of` knows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from hfdata.layout import validate_name
from hfdata.parquet.root import PartsRoot
from hfdata.read.frames import to_pandas
from hfdata.read.query import as_of_ns, window
from hfdata.read.rows import stored_rows, variable_tombstones
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
from hfdata.read.versions import history_table, overlapping
from hfdata.settings import StoreSettings

__all__ = ["history"]


def history(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variable: str,
    start: Any = None,
    end: Any = None,
    *,
    as_of: Any = None,
) -> pd.DataFrame:
    """The versions of `variable` in `[start, end)` a reader at `as_of` knows of, as
    `Store.history` documents."""
    validate_name(variable)
    lo, last = window(settings, start, end)
    known = as_of_ns(settings, as_of)

    def list_files() -> VariableFiles:
        return list_variable(root, parts, variable, settings.partition, lo, last, include_log=True)

    def read_files(files: VariableFiles, locked: bool) -> tuple[VariableFiles, pa.Table]:
        table = stored_rows(files, lo, last, locked=locked)
        tombstones = overlapping(variable_tombstones(files, locked=locked), lo, last, known)
        return files, history_table(table, tombstones, known)

    files, table = read_snapshot(root, list_files, read_files)
    json_columns = ["metadata", "value"] if files.kind == "json" else ["metadata"]
    return to_pandas(table, json_columns)
