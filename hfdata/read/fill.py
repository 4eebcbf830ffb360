"""Fills of a resample's missing bins, after aggregation, as pandas fills them.

`fill="ffill"` / `"bfill"` are `Series.ffill(limit=)` / `bfill(limit=)`;
`"nearest"`, `"linear"` and `"time"` are `Series.interpolate(method=, limit=)` with
pandas' defaults (`limit_direction="forward"`, `limit_area=None`: leading missing bins
stay missing, trailing ones take the last value), which is what
`df.resample(...).mean().interpolate(...)` gives a pandas user; a number is
`fillna(value, limit=)`. Each column is filled on its own, indexed by the bin labels
(`time` weighs by them), so a wide read is filled per variable and a long read per
variable before the variables are stacked. pandas does the filling: equal by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from hfdata.errors import InvalidArgument, MissingDependency
from hfdata.read.bins import utc_index

__all__ = ["FILLS", "Fill", "fill_table", "parse_fill"]

FILLS: Final = ("ffill", "bfill", "nearest", "linear", "time")
_INTERPOLATE: Final = ("nearest", "linear", "time")


@dataclass(frozen=True, slots=True)
class Fill:
    """How missing bins are filled: a `method` of `FILLS`, or `value` (method None);
    at most `limit` consecutive bins (None: all)."""

    method: str | None
    value: float = 0.0
    limit: int | None = None


def parse_fill(fill: Any, limit: Any, *, resample: Any) -> Fill | None:
    """`fill=` and `limit=` checked (an InvalidArgument naming the argument), or None."""
    if limit is not None:
        if fill is None:
            raise InvalidArgument(
                f"limit={limit!r} bounds a fill; pass fill= too (e.g. fill='ffill')",
                argument="limit",
            )
        if isinstance(limit, bool) or not isinstance(limit, int | np.integer):
            raise InvalidArgument(
                f"limit must be a whole number of bins, got {limit!r}", argument="limit"
            )
        if limit < 1:
            raise InvalidArgument(
                f"limit must be at least 1 bin (None: no limit), got {limit!r}", argument="limit"
            )
    if fill is None:
        return None
    if resample is None:
        raise InvalidArgument(
            f"fill={fill!r} fills empty bins of a resample; pass resample= too",
            argument="fill",
        )
    bound = None if limit is None else int(limit)
    if isinstance(fill, str):
        if fill not in FILLS:
            raise InvalidArgument(
                f"fill={fill!r} is not a fill; use one of {', '.join(FILLS)}, a number, or None",
                argument="fill",
            )
        return Fill(fill, limit=bound)
    if isinstance(fill, bool) or not isinstance(fill, int | float | np.number):
        raise InvalidArgument(
            f"fill={fill!r} is not a fill; use one of {', '.join(FILLS)}, a number, or None",
            argument="fill",
        )
    return Fill(None, float(fill), bound)


def fill_table(table: pa.Table, fill: Fill, columns: list[str]) -> pa.Table:
    """`table` (a `timestamp` column of bin labels and aggregated `columns`) with the
    missing values of each of `columns` filled."""
    if table.num_rows == 0:
        return table
    ns = table.column("timestamp").cast(pa.int64()).to_numpy()
    index = utc_index(np.asarray(ns, dtype=np.int64))
    for name in columns:
        i = table.column_names.index(name)
        column = table.column(name)
        if column.null_count == 0:
            continue  # nothing missing (count, sum; a full grid)
        series = pd.Series(column.to_pandas().to_numpy(), index=index, copy=False)
        filled = _fill_series(series, fill, name)
        try:
            array = pa.array(filled.to_numpy(), type=column.type, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"fill={_spell(fill)} does not fit column {name!r} of {column.type} values: "
                f"{exc}; use fill='ffill' or 'bfill'",
                argument="fill",
            ) from exc
        table = table.set_column(i, name, array)
    return table


def _fill_series(series: pd.Series, fill: Fill, name: str) -> pd.Series:
    if fill.method is None:
        return series.fillna(fill.value, limit=fill.limit)
    if fill.method == "ffill":
        return series.ffill(limit=fill.limit)
    if fill.method == "bfill":
        return series.bfill(limit=fill.limit)
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise InvalidArgument(
            f"fill={fill.method!r} interpolates numbers; column {name!r} holds "
            f"{series.dtype} values: use fill='ffill' or 'bfill'",
            argument="fill",
        )
    try:
        method: Any = fill.method  # one of _INTERPOLATE
        return series.interpolate(method=method, limit=fill.limit)
    except ImportError as exc:  # 'nearest' is scipy's
        raise MissingDependency(
            f"fill={fill.method!r} needs scipy (pandas interpolates through it): "
            "pip install 'hfdata[fill]' (or scipy), or use fill='linear'"
        ) from exc


def _spell(fill: Fill) -> str:
    return repr(fill.method) if fill.method is not None else repr(fill.value)
