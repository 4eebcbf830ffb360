"""Resampling one variable: aggregations on pandas' bins, as Arrow columns; and the
`how="asof"` alignment of raw points.

The bins come from `bins` (pandas' placement: `closed`, `label`, `origin`, `offset`),
the aggregations from `aggregate` (the registry and the numpy fast path), the fills from
`fill`; this module joins them for `query`: one variable's aggregated columns on one
grid, Arrow arrays with missing values as nulls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.read.aggregate import NO_HOLDING, Agg, Holding, agg_columns, aggregate
from hfdata.read.bins import Bins, utc_index

# utc_index: its home was this module; kept importable from here
__all__ = ["asof_align", "resample_column", "utc_index"]


def resample_column(
    ns: npt.NDArray[np.int64],
    values: pa.Array | pa.ChunkedArray,
    kind: Kind | None,
    bins: Bins,
    aggs: Sequence[Agg],
    holding: Holding = NO_HOLDING,
) -> dict[str, pa.Array]:
    """Aggregations of one sorted variable on `bins`, one Arrow column per result
    column (`agg_columns(aggs)`), missing values as nulls."""
    data: dict[str, Any] = aggregate(ns, values, kind, bins, aggs, holding)
    return {c: pa.array(data[c], from_pandas=True) for c in agg_columns(aggs)}


def asof_align(
    columns: Sequence[tuple[npt.NDArray[np.int64], pa.Array | pa.ChunkedArray]],
    tolerance: int | None,
) -> tuple[npt.NDArray[np.int64], list[pa.Array]]:
    """Union of timestamps and, per variable, its latest value at or before each of them.

    Like `pandas.merge_asof(direction="backward", allow_exact_matches=True)`: among equal
    timestamps the last row wins; with `tolerance` (ns) older values become missing.
    """
    if columns:
        grid = np.unique(np.concatenate([ns for ns, _ in columns]))
    else:
        grid = np.empty(0, np.int64)
    out: list[pa.Array] = []
    for ns, values in columns:
        if len(ns) == 0:
            out.append(pa.nulls(len(grid), values.type))
            continue
        idx = np.searchsorted(ns, grid, side="right") - 1
        ok = idx >= 0
        if tolerance is not None:
            ok &= grid - ns[np.maximum(idx, 0)] <= tolerance
        take = pa.array(np.maximum(idx, 0), mask=~ok)
        array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        out.append(array.take(take))
    return grid, out
