"""`Store.summary`: one row per variable, from the stats kept for each Parquet file.

Each variable is merged from its pieces (`hfdata.report.pieces`: files with their stats
sidecars, files without computed from their points, overlapping files and the log tail
read as points) by `hfdata.report.merge`; no point of a file with stats is read,
except where a gap count needs positions its stats do not keep (`hfdata.report.gaps`).
Variables are summarized one at a time.

Columns (`COLUMNS`), each over all the variable's points (Parquet and log tail):
`kind`; `rows`, `parquet_rows`, `log_rows`; `first`, `last` (UTC timestamps);
`min`, `max` (the kind's values: numbers, bools as 0/1; None for text kinds),
`mean` (float, the exact sum over the count: an int variable's values may add past
int64; NaN for text kinds), `last_value` (the last value that is not
missing, in `read`'s order); `nan_count` (missing values: null or NaN);
`duplicate_timestamps` (rows that repeat the timestamp of the row before);
`conflicting_duplicates` (timestamps holding more than one distinct value);
`median_interval` (Timedelta, over consecutive distinct timestamps; see
`hfdata.report.merge` for when it is approximate); `gap_count`, `longest_gap`
(Timedelta, NaT without gaps) with gaps longer than 10x the median interval;
`coverage` (the time of `[first, last]` not inside such a gap, as a share of
`last - first`: the covered time `Store.coverage` spreads over its bins, divided by
the variable's span; 0.0 when every point has one timestamp, since an instant covers
no time, as `coverage` gives 0 for its bin; NaN without points); `parquet_bytes`,
`log_bytes` (the Parquet files and the pending log segments).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from hfdata.parquet.root import PartsRoot
from hfdata.report.gaps import gap_totals, min_gap_ns
from hfdata.report.merge import merge
from hfdata.report.pieces import Piece, Pieces, names_of, with_pieces
from hfdata.settings import StoreSettings

__all__ = ["COLUMNS", "summary", "summary_row", "total"]

_INT64_LIMIT: Final = 2**63

COLUMNS: Final = (
    "kind",
    "rows",
    "parquet_rows",
    "log_rows",
    "first",
    "last",
    "min",
    "max",
    "mean",
    "last_value",
    "nan_count",
    "duplicate_timestamps",
    "conflicting_duplicates",
    "median_interval",
    "gap_count",
    "longest_gap",
    "coverage",
    "parquet_bytes",
    "log_bytes",
)
_DTYPES: Final[dict[str, Any]] = {
    "kind": object,
    "rows": "int64",
    "parquet_rows": "int64",
    "log_rows": "int64",
    "first": "datetime64[ns, UTC]",
    "last": "datetime64[ns, UTC]",
    "min": object,  # the kind's own values, exactly (an int64 stays an int)
    "max": object,
    "mean": "float64",
    "last_value": object,
    "nan_count": "int64",
    "duplicate_timestamps": "int64",
    "conflicting_duplicates": "int64",
    "median_interval": "timedelta64[ns]",
    "gap_count": "int64",
    "longest_gap": "timedelta64[ns]",
    "coverage": "float64",
    "parquet_bytes": "int64",
    "log_bytes": "int64",
}


def _time(ns: int | None) -> Any:
    return pd.NaT if ns is None else pd.Timestamp(ns, tz="UTC")


def _span(ns: int | None) -> Any:
    return pd.NaT if ns is None else pd.Timedelta(ns, unit="ns")


def _int_sum(piece: Piece) -> int:
    """The exact sum of an int piece's values, from its points (int64 halves summed
    apart: neither can overflow below 2**31 rows, Python ints join them)."""
    values = piece.load()[1]
    ints = np.asarray(values.drop_null().to_numpy(zero_copy_only=False), np.int64)
    high = int(np.sum(ints >> 32, dtype=np.int64))
    low = int(np.sum(ints & 0xFFFFFFFF, dtype=np.int64))
    return (high << 32) + low


def total(pieces: Pieces) -> Any:
    """The sum of the counted values of a numeric variable (None without any): each
    piece's stats' sum, except an int piece whose values could add past int64 (Arrow's
    sum, which its stats hold, wraps around there; pandas' mean sums floats), whose sum
    is taken from its points, exactly."""
    sums = []
    for piece in pieces.pieces:
        s = piece.stats
        if s.sum is None:
            continue
        if pieces.kind == "int" and max(abs(s.min), abs(s.max)) * s.count >= _INT64_LIMIT:
            sums.append(_int_sum(piece))
        else:
            sums.append(s.sum)
    return sum(sums) if sums else None


def summary_row(pieces: Pieces) -> dict[str, Any]:
    """One variable's summary, as a mapping of `COLUMNS`."""
    merged = merge(pieces.pieces)
    count, longest, inside = gap_totals(pieces.pieces, min_gap_ns(None, merged))
    coverage = math.nan
    if merged.first is not None and merged.last is not None:
        span = merged.last - merged.first
        coverage = 1.0 - inside / span if span else 0.0  # an instant covers no time
    numeric = pieces.kind in ("float", "int", "bool")
    mean = math.nan
    added = total(pieces) if numeric else None
    if merged.count and added is not None:
        mean = added / merged.count
    return {
        "kind": pieces.kind,
        "rows": merged.rows,
        "parquet_rows": merged.parquet_rows,
        "log_rows": merged.log_rows,
        "first": _time(merged.first),
        "last": _time(merged.last),
        "min": merged.min,
        "max": merged.max,
        "mean": mean,
        "last_value": merged.last_value,
        "nan_count": merged.nan_count,
        "duplicate_timestamps": merged.duplicate_timestamps,
        "conflicting_duplicates": merged.conflicting_duplicates,
        "median_interval": _span(merged.median_interval),
        "gap_count": count,
        "longest_gap": _span(longest),
        "coverage": coverage,
        "parquet_bytes": pieces.parquet_bytes,
        "log_bytes": pieces.log_bytes,
    }


def summary(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: str | Sequence[str] | None = None,
    *,
    as_of: int | None = None,
) -> pd.DataFrame:
    """The summary of `variables` (default: every variable), indexed by `variable`, of
    the versions a reader at `as_of` sees (tombstones applied)."""
    names = names_of(root, parts, variables)
    rows = [with_pieces(root, parts, settings, name, summary_row, as_of=as_of) for name in names]
    index = pd.Index(names, name="variable", dtype=object)
    return pd.DataFrame(
        {c: pd.Series([r[c] for r in rows], index=index, dtype=_DTYPES[c]) for c in COLUMNS},
        index=index,
    )
