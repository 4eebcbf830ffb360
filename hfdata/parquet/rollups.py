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
boundary inside a bin) in read order; `build` makes a file's rollup from its rows;
`build_many` makes a file's rollups at several resolutions, the coarser composed from
the finer (what its sidecars hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind

__all__ = ["ROLLUP_KINDS", "build", "build_many", "combine", "rollup_schema"]

ROLLUP_KINDS: Final = frozenset({"float", "int", "bool"})
_UTC_NS: Final = pa.timestamp("ns", tz="UTC")
_AT_ZERO: Final = np.zeros(1, np.intp)
_FEW_BINS: Final = 64  # bins with a NaN summed again one by one, at most (`_sums_without`)


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
    ns: one row per bin holding a row, every column from the points."""
    return build_many(ns, values, kind, [resolution])[0]


def build_many(
    ns: npt.NDArray[np.int64], values: pa.Array, kind: Kind, resolutions: Sequence[int]
) -> list[pa.Table]:
    """The rollups of one file's rows at each of `resolutions` (ns), in their order: what
    a file's rollup sidecars hold. The finest is built from the points; a coarser one
    that is a whole multiple of a finer one is composed from that one's bins (the
    largest such), which is exact for every column but `mean`, `m2` and a float `sum`
    (another order of additions: within 1e-12 relative of `build`'s) and much
    cheaper than another pass over the points (a 1h rollup from 1,440 1min bins a day,
    not from 86,400 or 1.7 M rows)."""
    ns = np.asarray(ns, dtype=np.int64)
    schema = rollup_schema(kind)
    if not len(ns):
        return [schema.empty_table() for _ in resolutions]
    points = _Points.of(values, kind)
    done: dict[int, _Bins] = {}
    for resolution in sorted(set(resolutions)):
        finer = [r for r in done if resolution % r == 0]
        if finer:
            done[resolution] = _compose(done[max(finer)], resolution)
        else:
            done[resolution] = _from_points(ns, points, resolution)
    return [done[r].table(ns, points.x, schema) for r in resolutions]


@dataclass(frozen=True, slots=True)
class _Points:
    """A file's values ready for binning: `x` in the value type (int64 for int and bool,
    missing ones as 0; float64, missing ones NaN), `xf` as float64 (`x` itself for
    float), and `missing` (the indices of the values that do not count, or None)."""

    x: npt.NDArray[Any]
    xf: npt.NDArray[np.float64]
    missing: npt.NDArray[np.intp] | None
    is_float: bool

    @classmethod
    def of(cls, values: pa.Array, kind: Kind) -> _Points:
        if kind == "float":
            x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
            nan = np.isnan(x)
            return cls(x, x, np.flatnonzero(nan) if nan.any() else None, True)
        missing = None
        if values.null_count:
            valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
            missing = np.flatnonzero(~valid)
        x = np.asarray(
            values.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), np.int64
        )
        return cls(x, x.astype(np.float64), missing, False)


@dataclass(frozen=True, slots=True)
class _Bins:
    """One resolution's bins as arrays: the bin starts and, per bin, its rows, count,
    sum (`total`, the value type's; `floats` as float64), mean, m2, extremes (NaN, or the
    int64 sentinels, where none counts) and the rows of its first and last counted
    value (any row where none counts: those are masked)."""

    bins: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    total: npt.NDArray[Any]
    floats: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    m2: npt.NDArray[np.float64]
    low: npt.NDArray[Any]
    high: npt.NDArray[Any]
    first_row: npt.NDArray[np.intp]
    last_row: npt.NDArray[np.intp]

    def table(self, ns: npt.NDArray[np.int64], x: npt.NDArray[Any], schema: pa.Schema) -> pa.Table:
        none = self.count == 0
        mask = none if none.any() else None  # most rollups: a value counts in every bin
        value_type = schema.field("min").type

        def masked(data: npt.NDArray[Any], dtype: pa.DataType) -> pa.Array:
            return pa.array(data, dtype, mask=mask)

        return pa.table(
            {
                "bin": pa.array(self.bins.view("M8[ns]"), _UTC_NS),
                "rows": pa.array(self.rows, pa.int64()),
                "count": pa.array(self.count, pa.int64()),
                "nan_count": pa.array(self.rows - self.count, pa.int64()),
                "sum": pa.array(self.total, schema.field("sum").type),
                "mean": masked(self.mean, pa.float64()),
                "m2": masked(self.m2, pa.float64()),
                "min": masked(self.low, value_type),
                "max": masked(self.high, value_type),
                "first": masked(x[self.first_row], value_type),
                "first_ts": masked(ns[self.first_row].view("M8[ns]"), _UTC_NS),
                "last": masked(x[self.last_row], value_type),
                "last_ts": masked(ns[self.last_row].view("M8[ns]"), _UTC_NS),
            },
            schema=schema,
        )


def _from_points(ns: npt.NDArray[np.int64], p: _Points, resolution: int) -> _Bins:
    """A resolution's bins from the points: a few passes over the rows (sums, squared
    deviations, extremes); the missing values, usually few, handled by their indices."""
    n = len(ns)
    starts, bins = _bin_starts(ns, resolution)
    ends = np.append(starts[1:], n)
    rows = ends - starts
    missing = p.missing
    count = rows
    if missing is not None:
        where = np.searchsorted(starts, missing, side="right") - 1
        count = rows - np.bincount(where, minlength=len(starts))
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.add.reduceat(p.x, starts)  # ints: missing ones are 0
        if missing is not None and p.is_float:
            total = _sums_without(p.x, total, starts, ends, missing, where)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # floats: the same sum as `total`; ints: a float sum beside the exact one
        floats = total if p.is_float else np.add.reduceat(p.xf, starts)
        mean = floats / count
    with np.errstate(invalid="ignore", over="ignore"):  # infinities give inf/NaN, quietly
        dev = np.repeat(mean, rows)
        np.subtract(p.xf, dev, out=dev)
        if missing is not None:
            dev[missing] = 0.0
        np.multiply(dev, dev, out=dev)
        m2 = np.add.reduceat(dev, starts)
    if p.is_float:
        low = np.fmin.reduceat(p.x, starts)
        high = np.fmax.reduceat(p.x, starts)
    elif missing is None:
        low = np.minimum.reduceat(p.x, starts)
        high = np.maximum.reduceat(p.x, starts)
    else:
        info = np.iinfo(np.int64)
        held = p.x.copy()
        held[missing] = info.max
        low = np.minimum.reduceat(held, starts)
        held[missing] = info.min
        high = np.maximum.reduceat(held, starts)
    first_row, last_row = starts, ends - 1
    if missing is not None:  # step over the runs of missing values at a bin's edges
        first_row, last_row = _counted_edges(missing, first_row, last_row, n)
    return _Bins(bins, rows, count, total, floats, mean, m2, low, high, first_row, last_row)


def _sums_without(
    x: npt.NDArray[np.float64],
    total: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    missing: npt.NDArray[np.intp],
    where: npt.NDArray[np.intp],
) -> npt.NDArray[np.float64]:
    """`np.add.reduceat` of `x` with its NaN as 0, from the sums of `x` (NaN in the bins
    holding a missing value): those bins summed again, each as `reduceat` sums a bin (the
    same additions in the same order), so a few NaN cost a few bins, not a copy of every
    value. Many bins with NaN: one copy with zeros."""
    bins = np.unique(where)
    if len(bins) > _FEW_BINS:
        zeroed = x.copy()
        zeroed[missing] = 0.0
        return np.asarray(np.add.reduceat(zeroed, starts), np.float64)
    for b in bins.tolist():
        piece = x[starts[b] : ends[b]]
        total[b] = np.add.reduceat(np.where(np.isnan(piece), 0.0, piece), _AT_ZERO)[0]
    return total


def _counted_edges(
    missing: npt.NDArray[np.intp],
    first: npt.NDArray[np.intp],
    last: npt.NDArray[np.intp],
    n: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Each bin's first (last) row moved past the run of missing rows it starts (ends)
    in, if any: the bin's first (last) counted row, or a row outside the bin when none
    counts (masked; clipped to the rows)."""
    breaks = np.flatnonzero(np.diff(missing) != 1) + 1  # runs of consecutive missing rows
    run_first = np.concatenate(([0], breaks))
    run_last = np.append(breaks - 1, len(missing) - 1)
    run_of = np.repeat(np.arange(len(run_first)), run_last - run_first + 1)

    def moved(rows: npt.NDArray[np.intp], forward: bool) -> npt.NDArray[np.intp]:
        k = np.minimum(np.searchsorted(missing, rows), len(missing) - 1)
        hit = missing[k] == rows
        run = run_of[k]
        past = missing[run_last[run]] + 1 if forward else missing[run_first[run]] - 1
        return np.clip(np.where(hit, past, rows), 0, n - 1)

    return moved(first, True), moved(last, False)


def _compose(fine: _Bins, resolution: int) -> _Bins:
    """A coarser resolution's bins from a finer one's whose bins nest in them
    (`resolution` a whole multiple): counts, extremes and first/last exactly as from the
    points; sums added bin by bin; m2 by Chan et al.'s update (each part's m2 plus its
    count times its mean's squared distance from the whole's)."""
    coarse = fine.bins - fine.bins % resolution
    starts = np.flatnonzero(np.concatenate(([True], coarse[1:] != coarse[:-1])))
    ends = np.append(starts[1:], len(coarse))
    count = np.add.reduceat(fine.count, starts)
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.add.reduceat(fine.total, starts)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        floats = total if fine.floats is fine.total else np.add.reduceat(fine.floats, starts)
        mean = floats / count
        spread = fine.mean - np.repeat(mean, ends - starts)
        spread = np.where(fine.count > 0, fine.count * (spread * spread), 0.0)
        m2 = np.add.reduceat(fine.m2 + spread, starts)
    floating = fine.low.dtype == np.float64
    low = (np.fmin if floating else np.minimum).reduceat(fine.low, starts)
    high = (np.fmax if floating else np.maximum).reduceat(fine.high, starts)
    held = np.flatnonzero(fine.count > 0)  # the fine bins where a value counts
    if len(held):
        at = held[np.minimum(np.searchsorted(held, starts), len(held) - 1)]
        first_row = fine.first_row[at]
        at = held[np.maximum(np.searchsorted(held, ends) - 1, 0)]
        last_row = fine.last_row[at]
    else:
        first_row = last_row = fine.first_row[starts]
    rows = np.add.reduceat(fine.rows, starts)
    return _Bins(
        coarse[starts], rows, count, total, floats, mean, m2, low, high, first_row, last_row
    )


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
