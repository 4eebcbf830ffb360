"""Resampling and alignment with pandas' exact semantics, on sorted nanosecond columns.

Bins follow `pandas.Series.resample(rule, closed="left", label="left")` (origin
`start_day`), empty bins included: the bin labels are taken from pandas itself (a
two-point series spanning the data has the same bins), so every rule pandas accepts
means the same here. A read given both `start` and `end` takes the bins of a series
spanning that window instead (`bin_labels(start, end - 1ns)`), as QuestDB's
`SAMPLE BY ... FROM ... TO` does. `count_bins` sizes a grid before it is built, so a
read can refuse a runaway one (`ResultTooLarge`) instead of allocating it.
`min`, `max`, `count`, `first`, `last` and `ohlc` of float values are computed with
numpy on the sorted data (exact: no arithmetic); the other aggregations, and every
aggregation of other kinds, are pandas' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from pandas.tseries.frequencies import to_offset

from hfdata.kinds import Kind

__all__ = [
    "AGGS",
    "OHLC",
    "agg_columns",
    "asof_align",
    "bin_labels",
    "count_bins",
    "parse_aggs",
    "parse_rule",
    "resample_column",
    "utc_index",
]

AGGS: Final = ("mean", "sum", "min", "max", "count", "first", "last", "median", "std", "ohlc")
OHLC: Final = ("open", "high", "low", "close")
_FAST: Final = frozenset({"min", "max", "count", "first", "last", "ohlc"})
_RULE_HELP: Final = (
    "use a pandas frequency such as '100ms', '1s', '1min', '15min', '1h', '1D', 'W' or 'MS'"
)


def parse_rule(rule: Any) -> pd.DateOffset:
    """The pandas offset for `rule`, or a ValueError saying what is allowed."""
    try:
        offset = to_offset(rule)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"resample rule {rule!r} is not understood; {_RULE_HELP}") from exc
    if offset is None or offset.n <= 0:
        raise ValueError(f"resample rule {rule!r} must be a positive frequency; {_RULE_HELP}")
    return offset  # type: ignore[no-any-return]


def parse_aggs(agg: str | Sequence[str]) -> tuple[str, ...]:
    """The aggregations asked for (one name or a list), or a ValueError naming the allowed."""
    items = (agg,) if isinstance(agg, str) else tuple(agg)
    if not items or any(a not in AGGS for a in items) or len(set(items)) != len(items):
        raise ValueError(
            f"agg must be one of {', '.join(AGGS)} or a list of distinct ones, got {agg!r}"
        )
    return items


def agg_columns(aggs: Sequence[str]) -> list[str]:
    """Result column names: `value` for one aggregation, else the names (ohlc expanded)."""
    if len(aggs) == 1 and aggs[0] != "ohlc":
        return ["value"]
    out: list[str] = []
    for a in aggs:
        out.extend(OHLC if a == "ohlc" else (a,))
    return out


_UTC_NS: Final = pd.DatetimeTZDtype("ns", "UTC")


def utc_index(ns: npt.NDArray[np.int64], name: str | None = "timestamp") -> pd.DatetimeIndex:
    """A tz-aware UTC DatetimeIndex over int64 nanoseconds, without a copy.

    Uses pandas' own `_simple_new` constructors (pandas 2.2 and 3.x have them): the
    public constructor validates and converts, which on a cold cache is most of the cost
    of turning a one-hour slice into a frame. Falls back to the public constructor;
    `tests/test_resample.py` checks that both give the same index.
    """
    values = np.asarray(ns, dtype=np.int64).view("M8[ns]")
    try:
        array = pd.arrays.DatetimeArray._simple_new(values, dtype=_UTC_NS)  # type: ignore[attr-defined]
        index: pd.DatetimeIndex = pd.DatetimeIndex._simple_new(array, name=name)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - a pandas without them
        index = pd.DatetimeIndex(values, dtype=_UTC_NS, name=name, copy=False)
    return index


_DAY_NS: Final = 86_400_000_000_000


def bin_labels(first: int, last: int, offset: pd.DateOffset) -> npt.NDArray[np.int64]:
    """Left labels of the bins pandas makes for data spanning `[first, last]`.

    Fixed-length rules (`pd.offsets.Tick`: 1s, 1min, 15min, 2h, ...) by arithmetic, as
    pandas does it in UTC (origin `start_day`: midnight of the first point's day; the
    first bin holds `first`, the last `last`): a probe resample costs milliseconds.
    Every other rule asks pandas. `tests/test_resample.py` checks both agree.
    """
    if _fixed(offset):
        start, count = _fixed_bins(first, last, int(offset.nanos))
        # integer steps: `np.arange(start, stop, step)` sizes its result in float64, which
        # drops the last bin of some spans over 2**53 ns (e.g. 2**21 bins of 5 s)
        return start + np.arange(count, dtype=np.int64) * int(offset.nanos)
    return _probe_labels(first, last, offset)


def _fixed(offset: pd.DateOffset) -> bool:
    """A fixed-length rule (1s, 15min, 2h, ...; not 'D', a calendar day in pandas 3)."""
    return isinstance(offset, pd.offsets.Tick) and not isinstance(offset, pd.offsets.Day)


def _fixed_bins(first: int, last: int, step: int) -> tuple[int, int]:
    """First label and number of the bins of a fixed rule over `[first, last]`."""
    origin = first - first % _DAY_NS
    start = first - (first - origin) % step
    stop = last - (last - origin) % step
    return start, (stop - start) // step + 1


def count_bins(first: int, last: int, offset: pd.DateOffset, limit: int) -> int:
    """How many labels `bin_labels(first, last, offset)` gives, without building them.

    Exact for fixed-length rules (arithmetic). Calendar rules ('D', 'W', 'MS', business
    days, ...) are sized by galloping `offset * k` (a few dozen offset additions): an
    upper bound, a few bins over. Above `limit` (by more than that slack) the answer is
    that bound and the grid is never built; otherwise pandas' own probe counts it exactly
    (a grid of about `limit` labels at most).
    """
    if last < first:
        return 0
    if _fixed(offset):
        return _fixed_bins(first, last, int(offset.nanos))[1]
    bound = _calendar_bound(first, last, offset)
    return bound if bound > limit + _SLACK else len(_probe_labels(first, last, offset))


_SLACK: Final = 16  # more than `_calendar_bound` ever counts over the exact number


def _calendar_bound(first: int, last: int, offset: pd.DateOffset) -> int:
    """An upper bound of the bins of a calendar rule over `[first, last]`: the steps
    `k` with `base + offset * k <= last`, from one whole step before midnight of the
    first day (at or before pandas' first label), plus slack for the edge bins."""
    end = pd.Timestamp(last, tz="UTC")
    try:
        base = pd.Timestamp(first, tz="UTC").normalize() - offset
    except (OverflowError, ValueError):  # before 1677: pandas' first label is the day itself
        base = pd.Timestamp(first, tz="UTC").normalize()

    def within(k: int) -> bool:
        try:
            return bool(base + offset * k <= end)
        except (OverflowError, ValueError):  # beyond 2262: past `last`
            return False

    hi = 1
    while within(hi):
        hi *= 2
    lo = hi // 2  # within(lo) or lo == 0; not within(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if within(mid):
            lo = mid
        else:
            hi = mid
    return lo + 2


def _probe_labels(first: int, last: int, offset: pd.DateOffset) -> npt.NDArray[np.int64]:
    """`bin_labels` by resampling a two-point series with pandas itself."""
    probe = pd.Series([0, 0], index=utc_index(np.array([first, last], dtype=np.int64)))
    labels = pd.DatetimeIndex(probe.resample(offset, closed="left", label="left").count().index)
    return np.asarray(labels.as_unit("ns").asi8, dtype=np.int64)


def _fast(
    ns: npt.NDArray[np.int64],
    v: npt.NDArray[np.float64],
    grid: npt.NDArray[np.int64],
    aggs: Sequence[str],
) -> dict[str, npt.NDArray[Any]]:
    """Exact min/max/count/first/last/ohlc of sorted float data on the left-closed grid."""
    starts = np.searchsorted(ns, grid, side="left")
    ends = np.append(starts[1:], len(ns))
    nan = np.isnan(v)
    nonempty = ends > starts
    if nan.any():
        csum = np.concatenate(([0], np.cumsum(~nan, dtype=np.int64)))
        count = csum[ends] - csum[starts]
        picked = np.flatnonzero(~nan)
    else:  # the common case: every row counts, the first and last rows are the edges
        count = (ends - starts).astype(np.int64)
        picked = None
    out: dict[str, npt.NDArray[Any]] = {}

    def extreme(ufunc: np.ufunc) -> npt.NDArray[np.float64]:
        res = np.full(len(grid), np.nan)
        if nonempty.any():
            res[nonempty] = ufunc.reduceat(v, starts[nonempty])
        return res

    def edge(first: bool) -> npt.NDArray[np.float64]:
        res = np.full(len(grid), np.nan)
        if picked is None:
            res[nonempty] = v[starts[nonempty] if first else ends[nonempty] - 1]
        elif len(picked):
            if first:
                k = np.minimum(np.searchsorted(picked, starts, side="left"), len(picked) - 1)
            else:
                k = np.maximum(np.searchsorted(picked, ends, side="left") - 1, 0)
            idx = picked[k]
            ok = (idx >= starts) & (idx < ends)
            res[ok] = v[idx[ok]]
        return res

    for a in aggs:
        if a == "count":
            out["count"] = count
        elif a in ("min", "max"):
            out[a] = extreme(np.fmin if a == "min" else np.fmax)
        elif a in ("first", "last"):
            out[a] = edge(a == "first")
        else:  # ohlc
            out["open"] = edge(True)
            out["high"] = extreme(np.fmax)
            out["low"] = extreme(np.fmin)
            out["close"] = edge(False)
    return out


def _pandas(
    ns: npt.NDArray[np.int64],
    values: pd.Series,
    grid: npt.NDArray[np.int64],
    aggs: Sequence[str],
    offset: pd.DateOffset,
) -> dict[str, Any]:
    """pandas' own resample, reindexed onto `grid` (bins outside this variable's data).

    `grid` may start before this variable's data (another variable of a wide read, or
    the `start` of a window): fixed rules are resampled from the grid's origin so their
    bins are the grid's; a calendar rule whose bins would be out of phase with the grid
    (a multiple such as '2MS' steps from the data's first bin) is grouped onto the grid's
    bins instead, with the same pandas aggregations.
    """
    series = pd.Series(values.to_numpy(), index=utc_index(ns), copy=False)
    sampler: Any
    if not len(ns) or _in_phase(ns, grid, offset):
        sampler = series.resample(offset, closed="left", label="left")
        target: pd.Index = utc_index(grid)
    elif _fixed(offset):  # the grid starts on an earlier day: resample from its midnight
        origin = pd.Timestamp(int(grid[0]) - int(grid[0]) % _DAY_NS, tz="UTC")
        sampler = series.resample(offset, closed="left", label="left", origin=origin)
        target = utc_index(grid)
    else:
        codes = np.searchsorted(grid, ns, side="right") - 1
        sampler = pd.Series(values.to_numpy(), copy=False).groupby(codes)
        target = pd.RangeIndex(len(grid))
    out: dict[str, Any] = {}
    for a in aggs:
        try:
            res = getattr(sampler, a)()
        except TypeError as exc:
            raise ValueError(f"agg {a!r} is not defined for these values: {exc}") from exc
        res = res.reindex(target)
        if a in ("count", "sum"):
            res = res.fillna(0)
            if a == "count" or pd.api.types.is_integer_dtype(series.dtype):
                res = res.astype(np.int64)
        if a == "ohlc":
            for c in OHLC:
                out[c] = res[c].to_numpy()
        else:
            out[a] = res.to_numpy()
    return out


def _in_phase(
    ns: npt.NDArray[np.int64], grid: npt.NDArray[np.int64], offset: pd.DateOffset
) -> bool:
    """Whether pandas' own bins for this (non-empty) data are some of the grid's."""
    if _fixed(offset):  # the same origin: midnight of the first day
        return bool(ns[0] - ns[0] % _DAY_NS == grid[0] - grid[0] % _DAY_NS)
    return bool(np.isin(_probe_labels(int(ns[0]), int(ns[-1]), offset)[[0, -1]], grid).all())


def resample_column(
    ns: npt.NDArray[np.int64],
    values: pa.Array | pa.ChunkedArray,
    kind: Kind | None,
    grid: npt.NDArray[np.int64],
    aggs: Sequence[str],
    offset: pd.DateOffset,
) -> dict[str, pa.Array]:
    """Aggregations of one sorted variable on the bins labelled by `grid` (Arrow columns)."""
    if (kind or "float") == "float" and _FAST.issuperset(aggs):
        if isinstance(values, pa.ChunkedArray):  # one copy, in Arrow's pool (reused)
            values = values.combine_chunks()
        arr = values.to_numpy(zero_copy_only=False)
        data: dict[str, Any] = _fast(ns, np.asarray(arr, dtype=np.float64), grid, aggs)
    else:
        data = _pandas(ns, values.to_pandas(), grid, aggs, offset)
    names = agg_columns(aggs)
    if names == ["value"]:
        (only,) = data.values()
        return {"value": pa.array(only, from_pandas=True)}
    return {c: pa.array(data[c], from_pandas=True) for c in names}


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
