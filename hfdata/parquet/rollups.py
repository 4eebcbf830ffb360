"""Rollups (issue 19): a numeric file's points aggregated into fixed bins, so long-range
reads need not read every point.

A rollup of resolution `R` (ns) has one row per bin `[b, b + R)` holding at least one
of the file's rows, bins anchored at the epoch (`b` a multiple of `R`, so a 1-minute
or 1-hour grid is also every day's). Its columns (`rollup_schema`):

- `bin` (timestamp, UTC): the bin's start;
- `rows`, `count`, `nan_count`: rows, values that count (neither null nor NaN), missing;
- `sum`: of the values that count (int64 for int variables, exact; else float64);
- `mean`, `m2`: their mean and sum of squared deviations from it (float64), which
  combine exactly in arithmetic (Chan et al.'s pairwise update), unlike a sum of
  squares that cancels for values far from zero;
- `min`, `max`, `first`, `last` (the variable's value type; bool as int64) and
  `first_ts`, `last_ts`: the extremes, and the first and last value that counts with
  its timestamp (of equal timestamps, the first and the last row).

`combine` merges rollup rows of one bin from several files (late data, or a file
boundary inside a bin) in read order; `build` makes a file's rollup from its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind

__all__ = ["ROLLUP_KINDS", "build", "combine", "rollup_schema"]

ROLLUP_KINDS: Final = frozenset({"float", "int", "bool"})
_UTC_NS: Final = pa.timestamp("ns", tz="UTC")


def rollup_schema(kind: Kind) -> pa.Schema:
    """The columns of a rollup of a `kind` variable (float, int or bool)."""
    value = pa.float64() if kind == "float" else pa.int64()
    total = pa.int64() if kind in ("int", "bool") else pa.float64()
    return pa.schema(
        [
            ("bin", _UTC_NS),
            ("rows", pa.int64()),
            ("count", pa.int64()),
            ("nan_count", pa.int64()),
            ("sum", total),
            ("mean", pa.float64()),
            ("m2", pa.float64()),
            ("min", value),
            ("max", value),
            ("first", value),
            ("first_ts", _UTC_NS),
            ("last", value),
            ("last_ts", _UTC_NS),
        ]
    )


def build(ns: npt.NDArray[np.int64], values: pa.Array, kind: Kind, resolution: int) -> pa.Table:
    """The rollup of one file's rows (`ns` sorted, `values` of `kind`) at `resolution`
    ns: one row per bin holding a row."""
    ns = np.asarray(ns, dtype=np.int64)
    schema = rollup_schema(kind)
    if not len(ns):
        return schema.empty_table()
    starts, first_bins = _bin_starts(ns, resolution)
    ends = np.append(starts[1:], len(ns))
    rows = ends - starts
    if kind == "float":
        x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        valid = ~np.isnan(x)
    else:
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
        x = np.asarray(
            values.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), np.int64
        )
    xf = x if kind == "float" else x.astype(np.float64)
    every = bool(valid.all())  # the common case: no pass masks the missing values
    count = rows if every else np.add.reduceat(valid.astype(np.int64), starts)
    zeroed = x if every else np.where(valid, x, 0)
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.add.reduceat(zeroed, starts)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # floats: the same sum as `total`; ints: a float sum beside the exact one
        floats = total if kind == "float" else np.add.reduceat(np.where(valid, xf, 0.0), starts)
        mean = floats / count
    with np.errstate(invalid="ignore", over="ignore"):  # infinities give inf/NaN, quietly
        dev = xf - np.repeat(mean, rows)
        if not every:
            dev = np.where(valid, dev, 0.0)
        m2 = np.add.reduceat(dev * dev, starts)
    if kind == "float":
        low = np.fmin.reduceat(x, starts)
        high = np.fmax.reduceat(x, starts)
    else:
        low = np.minimum.reduceat(np.where(valid, x, np.iinfo(np.int64).max), starts)
        high = np.maximum.reduceat(np.where(valid, x, np.iinfo(np.int64).min), starts)
    if every:  # each bin's first and last row count
        first_row, last_row = starts, ends - 1
    else:
        present = np.flatnonzero(valid)
        k_first = np.searchsorted(present, starts, side="left")
        first_row = (
            present[np.minimum(k_first, max(len(present) - 1, 0))] if len(present) else starts
        )
        k_last = np.searchsorted(present, ends, side="left") - 1
        last_row = present[np.maximum(k_last, 0)] if len(present) else starts
    none = count == 0
    value_type = schema.field("min").type

    def masked(data: npt.NDArray[np.generic], dtype: pa.DataType) -> pa.Array:
        return pa.array(data, dtype, mask=none)

    table = pa.table(
        {
            "bin": pa.array(first_bins.view("M8[ns]"), _UTC_NS),
            "rows": pa.array(rows, pa.int64()),
            "count": pa.array(count, pa.int64()),
            "nan_count": pa.array(rows - count, pa.int64()),
            "sum": pa.array(total, schema.field("sum").type),
            "mean": masked(mean, pa.float64()),
            "m2": masked(m2, pa.float64()),
            "min": masked(low, value_type),
            "max": masked(high, value_type),
            "first": masked(x[first_row], value_type),
            "first_ts": masked(ns[first_row].view("M8[ns]"), _UTC_NS),
            "last": masked(x[last_row], value_type),
            "last_ts": masked(ns[last_row].view("M8[ns]"), _UTC_NS),
        },
        schema=schema,
    )
    return table


def _bin_starts(
    ns: npt.NDArray[np.int64], resolution: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """The first row of each bin holding rows (`ns` sorted, not empty), and the bin's
    start: bins floored to the grid (also before 1970). When the bins are fewer than the
    rows, a binary search per bin edge instead of a pass over every row."""
    low = int(ns[0]) - int(ns[0]) % resolution
    high = int(ns[-1]) - int(ns[-1]) % resolution
    count = (high - low) // resolution + 1
    if count <= len(ns):
        edges = low + np.arange(count, dtype=np.int64) * resolution
        at = np.searchsorted(ns, edges, side="left")
        held = np.append(at[1:], len(ns)) > at
        return at[held], edges[held]
    bins = ns - ns % resolution
    starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    return starts, bins[starts]


def combine(tables: Sequence[pa.Table]) -> pa.Table:
    """Rollup rows of several sources merged bin by bin; `tables` are in read order
    (files by name, then the log tail), which breaks ties of `first_ts`/`last_ts`:
    the earlier source's first, the later source's last. Result sorted by bin."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        raise ValueError("nothing to combine")
    if len(tables) == 1:
        return tables[0]
    schema = tables[0].schema
    whole = pa.concat_tables([t.cast(schema) for t in tables])
    source = np.concatenate([np.full(t.num_rows, i) for i, t in enumerate(tables)])
    bins = _ns(whole.column("bin"))
    order = np.lexsort((source, bins))  # by bin, then source (read order)
    bins = bins[order]
    cols = {name: whole.column(name).take(pa.array(order)) for name in schema.names}
    starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    ends = np.append(starts[1:], len(bins))
    n = _np(cols["count"], 0).astype(np.int64)
    count = np.add.reduceat(n, starts)
    mean_i = _np(cols["mean"], 0.0)
    m2_i = _np(cols["m2"], 0.0)
    # Chan: the combined mean and m2 from each part's count, mean and m2, per bin
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.add.reduceat(n * mean_i, starts)
        mean = weighted / count
        spread = n * (mean_i - np.repeat(mean, ends - starts)) ** 2
        m2 = np.add.reduceat(m2_i + np.where(n > 0, spread, 0.0), starts)
    none = count == 0
    floats = schema.field("min").type == pa.float64()
    low = _extreme(cols["min"], starts, np.fmin if floats else np.minimum, low=True)
    high = _extreme(cols["max"], starts, np.fmax if floats else np.maximum, low=False)
    first_ts = _ns_or(cols["first_ts"], np.iinfo(np.int64).max)
    last_ts = _ns_or(cols["last_ts"], np.iinfo(np.int64).min)
    pick_first = _pick(first_ts, starts, ends, earliest=True)
    pick_last = _pick(last_ts, starts, ends, earliest=False)
    value_type = schema.field("min").type
    return pa.table(
        {
            "bin": pa.array(bins[starts].view("M8[ns]"), _UTC_NS),
            "rows": pa.array(np.add.reduceat(_np(cols["rows"], 0), starts), pa.int64()),
            "count": pa.array(count, pa.int64()),
            "nan_count": pa.array(np.add.reduceat(_np(cols["nan_count"], 0), starts), pa.int64()),
            "sum": pa.array(np.add.reduceat(_np(cols["sum"], 0), starts), schema.field("sum").type),
            "mean": pa.array(mean, pa.float64(), mask=none),
            "m2": pa.array(m2, pa.float64(), mask=none),
            "min": pa.array(low, value_type, mask=none),
            "max": pa.array(high, value_type, mask=none),
            "first": cols["first"].take(pa.array(pick_first)),
            "first_ts": cols["first_ts"].take(pa.array(pick_first)),
            "last": cols["last"].take(pa.array(pick_last)),
            "last_ts": cols["last_ts"].take(pa.array(pick_last)),
        },
        schema=schema,
    )


def _ns(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    return np.asarray(
        column.combine_chunks().view(pa.int64()).to_numpy(zero_copy_only=False), np.int64
    )


def _ns_or(column: pa.ChunkedArray, missing: int) -> npt.NDArray[np.int64]:
    ints = column.combine_chunks().view(pa.int64()).fill_null(missing)
    return np.asarray(ints.to_numpy(zero_copy_only=False), np.int64)


def _np(column: pa.ChunkedArray, missing: float | int) -> npt.NDArray[Any]:
    return np.asarray(column.fill_null(missing).to_numpy())


def _extreme(
    column: pa.ChunkedArray, starts: npt.NDArray[np.intp], ufunc: np.ufunc, *, low: bool
) -> npt.NDArray[np.generic]:
    if pa.types.is_floating(column.type):
        return ufunc.reduceat(_np(column, np.nan), starts)
    info = np.iinfo(np.int64)
    return ufunc.reduceat(_np(column, info.max if low else info.min), starts)


def _pick(
    ts: npt.NDArray[np.int64],
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    *,
    earliest: bool,
) -> npt.NDArray[np.int64]:
    """Per bin (rows `[starts[i], ends[i])`, in source order), the row with the earliest
    (latest) time; of equal times the first (last) row, i.e. the earlier (later) source."""
    group = np.repeat(np.arange(len(starts)), ends - starts)
    order = np.lexsort((np.arange(len(ts)), ts, group))  # blocks stay where they were
    return np.asarray(order[starts] if earliest else order[ends - 1], dtype=np.int64)
