"""The aggregations of a resample: the registry of names, `agg=` parsing, and the
aggregation of one sorted variable on `Bins`.

Every name is pandas' own resample method of that name, on the same bins (`rms` is
`sqrt(mean(x**2))` and `ptp` is `max - min`, both computed as pandas computes them);
`twa` is the time-weighted mean of the step function the points define
(`hfdata.read.twa`: each value holds until the next point, at most `max_hold`, the value
in force at the first bin's start passed in as `carry`);
quantiles are `("quantile", q)` or `"q<percent>"` (`"q90"`, `"q99.9"`); any callable is
called with each non-empty bin's values as a numpy array. `min`, `max`, `ptp`,
`count`, `first`, `last` and `ohlc` of float values are computed with numpy on the
sorted data (exact: comparisons, no arithmetic but `ptp`'s one subtraction); every
other aggregation, and every aggregation of other kinds, groups the values by bin with
pandas (`Series.groupby` on bin codes: the same kernels `resample` runs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from hfdata.errors import AggregationFailed, InvalidArgument
from hfdata.kinds import Kind
from hfdata.read.bins import Bins
from hfdata.read.twa import twa
from hfdata.timeparse import format_ns

__all__ = [
    "AGGS",
    "NO_HOLDING",
    "OHLC",
    "PANDAS_AGGS",
    "Agg",
    "AggFunc",
    "Holding",
    "agg_columns",
    "aggregate",
    "parse_aggs",
]

# pandas resample methods of these names; then the ones pandas spells otherwise
PANDAS_AGGS: Final = (
    "mean",
    "sum",
    "min",
    "max",
    "count",
    "first",
    "last",
    "median",
    "std",
    "var",
    "sem",
    "nunique",
    "ohlc",
)
AGGS: Final = (*PANDAS_AGGS, "rms", "ptp", "twa")
OHLC: Final = ("open", "high", "low", "close")
_FAST: Final = frozenset({"min", "max", "ptp", "count", "first", "last", "ohlc"})
_ZERO_WHEN_EMPTY: Final = frozenset({"count", "sum", "nunique"})
_QUANTILE_NAME: Final = re.compile(r"q(100|\d{1,2}(\.\d+)?)")
_HELP: Final = (
    f"use one of {', '.join(AGGS)}, a quantile as 'q90' or ('quantile', 0.9), a function "
    "(np.mean), a list of these, or a dict naming the columns"
)

AggFunc = Callable[[npt.NDArray[Any]], Any]


@dataclass(frozen=True, slots=True)
class Holding:
    """What `twa` needs beyond a variable's points in the read: the last point before
    the read's window (`carry`: its ns and value, None if there is none or the read has
    no start), the longest a value holds (`max_hold`, ns; None: until the next point),
    and the window `[lo, hi)` the step function is restricted to (None: the bins)."""

    carry: tuple[int, Any] | None = None
    max_hold: int | None = None
    window: tuple[int, int] | None = None


NO_HOLDING: Final = Holding()


@dataclass(frozen=True, slots=True)
class Agg:
    """One aggregation: its `method` (a name of `AGGS`, "quantile", "callable" or
    "twa"), the result `column` (`ohlc` expands to `OHLC`), `q` for a quantile,
    `func` for a callable."""

    method: str
    column: str
    q: float = 0.5
    func: AggFunc | None = None


def parse_aggs(agg: Any) -> tuple[Agg, ...]:
    """`agg=` as `Agg`s with their column names, or an InvalidArgument naming `agg`.

    One aggregation (a name, a quantile tuple, a callable, or a list of one) gives the
    column `value` (`ohlc`: its four); a list gives each its name (a quantile `q90`,
    a callable its `__name__`); a dict gives its keys. Column names must be distinct.
    """
    if isinstance(agg, Mapping):
        if not agg:
            raise InvalidArgument(f"agg={agg!r} names no aggregation; {_HELP}", argument="agg")
        out = []
        for column, spec in agg.items():
            if not isinstance(column, str) or not column:
                raise InvalidArgument(
                    f"agg dict keys are column names (non-empty strings), got {column!r}",
                    argument="agg",
                )
            one = _one(spec)
            if one.method == "ohlc":
                raise InvalidArgument(
                    "agg='ohlc' makes four columns and cannot be named in a dict; pass it "
                    "as a name in a list",
                    argument="agg",
                )
            out.append(Agg(one.method, column, one.q, one.func))
        return tuple(out)
    if _is_single(agg):
        one = _one(agg)
        return (Agg(one.method, "value", one.q, one.func),)
    items = list(agg) if isinstance(agg, Sequence) else None
    if not items:
        raise InvalidArgument(f"agg={agg!r} is not understood; {_HELP}", argument="agg")
    parsed = tuple(_one(a) for a in items)
    if len(parsed) == 1 and parsed[0].method != "ohlc":
        one = parsed[0]
        parsed = (Agg(one.method, "value", one.q, one.func),)
    columns = agg_columns(parsed)
    if len(set(columns)) != len(columns):
        raise InvalidArgument(
            f"agg={agg!r} gives repeated columns {columns}; pass distinct aggregations, or "
            "a dict naming each column ({'p90': ..., 'p10': ...})",
            argument="agg",
        )
    return parsed


def _is_single(agg: Any) -> bool:
    return isinstance(agg, str) or callable(agg) or _is_quantile(agg)


def _is_quantile(spec: Any) -> bool:
    return isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "quantile"


def _one(spec: Any) -> Agg:
    """One aggregation named by `spec`, its column its own name."""
    if isinstance(spec, str):
        if spec in AGGS:
            return Agg(spec, spec)
        match = _QUANTILE_NAME.fullmatch(spec)
        if match:
            return Agg("quantile", spec, float(Decimal(match.group(1)) / 100))
        raise InvalidArgument(f"agg {spec!r} is not an aggregation; {_HELP}", argument="agg")
    if _is_quantile(spec):
        q = spec[1]
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1:
            raise InvalidArgument(
                f"agg={spec!r}: a quantile is a number from 0 to 1, e.g. ('quantile', 0.9)",
                argument="agg",
            )
        return Agg("quantile", _quantile_column(float(q)), float(q))
    if callable(spec):
        name = getattr(spec, "__name__", None)
        return Agg("callable", name if isinstance(name, str) else "value", func=spec)
    raise InvalidArgument(f"agg {spec!r} is not understood; {_HELP}", argument="agg")


def _quantile_column(q: float) -> str:
    """`q90` for 0.9, `q99.9` for 0.999 (the percentage, shortest decimal form)."""
    try:
        percent = Decimal(repr(q)) * 100
    except InvalidOperation:  # pragma: no cover - a checked finite float
        return f"q{q}"
    text = format(percent.normalize(), "f")
    return f"q{text}"


def agg_columns(aggs: Sequence[Agg]) -> list[str]:
    """Result column names, in order (`ohlc` expanded to `OHLC`)."""
    out: list[str] = []
    for a in aggs:
        out.extend(OHLC if a.method == "ohlc" else (a.column,))
    return out


# -- aggregation -----------------------------------------------------------------------------


def aggregate(
    ns: npt.NDArray[np.int64],
    values: pa.Array | pa.ChunkedArray,
    kind: Kind | None,
    bins: Bins,
    aggs: Sequence[Agg],
    holding: Holding = NO_HOLDING,
) -> dict[str, Any]:
    """Each aggregation of one sorted variable on `bins`: a numpy array (or pandas
    values) per result column, one row per bin, empty bins as pandas fills them
    (0 for count, sum and nunique; missing otherwise). `holding` is what `twa` needs
    beyond the points."""
    if isinstance(values, pa.ChunkedArray):  # one copy, in Arrow's pool (reused)
        values = values.combine_chunks()
    starts, ends = bins.bounds(ns)
    is_float = (kind or "float") == "float"
    grouped = _Grouped(values, starts, ends)
    floats: npt.NDArray[np.float64] | None = None
    out: dict[str, Any] = {}
    for a in aggs:
        if a.method == "twa":
            out[a.column] = _twa(ns, values, kind, bins, holding)
        elif a.method in _FAST and is_float:
            if floats is None:
                floats = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
            out.update(_fast(floats, starts, ends, a))
        elif a.method == "callable":
            out[a.column] = _call(values, starts, ends, bins, a)
        else:
            out.update(grouped.agg(a, kind))
    return out


def _twa(
    ns: npt.NDArray[np.int64],
    values: pa.Array,
    kind: Kind | None,
    bins: Bins,
    holding: Holding,
) -> npt.NDArray[np.float64]:
    if (kind or "float") not in ("float", "int"):
        raise InvalidArgument(
            f"agg='twa' (the time-weighted mean) needs numbers; this variable holds {kind} "
            "values: use agg='last', 'first' or 'nunique'",
            argument="agg",
        )
    floats = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    carry = holding.carry
    held = None if carry is None or carry[1] is None else (carry[0], float(carry[1]))
    edges = bins.edges
    if holding.window is not None:  # a windowed read: the step function inside it only
        edges = np.clip(edges, holding.window[0], holding.window[1])
    return twa(ns, floats, edges, carry=held, max_hold=holding.max_hold)


def _fast(
    v: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    a: Agg,
) -> dict[str, npt.NDArray[Any]]:
    """Exact min/max/ptp/count/first/last/ohlc of sorted float data, NaN skipped."""
    n = len(starts)
    nonempty = ends > starts
    nan = np.isnan(v)
    picked = np.flatnonzero(~nan) if nan.any() else None

    def extreme(ufunc: np.ufunc) -> npt.NDArray[np.float64]:
        res = np.full(n, np.nan)
        if nonempty.any():
            res[nonempty] = ufunc.reduceat(v, starts[nonempty])
        return res

    def edge(first: bool) -> npt.NDArray[np.float64]:
        res = np.full(n, np.nan)
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

    if a.method == "count":
        if picked is None:
            return {a.column: (ends - starts).astype(np.int64)}
        csum = np.concatenate(([0], np.cumsum(~nan, dtype=np.int64)))
        return {a.column: csum[ends] - csum[starts]}
    if a.method in ("min", "max"):
        return {a.column: extreme(np.fmin if a.method == "min" else np.fmax)}
    if a.method == "ptp":
        return {a.column: extreme(np.fmax) - extreme(np.fmin)}
    if a.method in ("first", "last"):
        return {a.column: edge(a.method == "first")}
    return dict(
        zip(OHLC, (edge(True), extreme(np.fmax), extreme(np.fmin), edge(False)), strict=True)
    )


class _Grouped:
    """pandas' groupby of the values by bin code, built on first use."""

    def __init__(
        self,
        values: pa.Array,
        starts: npt.NDArray[np.intp],
        ends: npt.NDArray[np.intp],
    ) -> None:
        self._values = values
        self._starts = starts
        self._ends = ends
        self._series: pd.Series | None = None
        self._codes: npt.NDArray[np.int64] = np.empty(0, np.int64)
        self._groupby: Any = None

    def _group(self) -> Any:
        if self._groupby is None:
            n = len(self._starts)
            lo = int(self._starts[0]) if n else 0
            hi = int(self._ends[-1]) if n else 0
            codes = np.repeat(np.arange(n, dtype=np.int64), self._ends - self._starts)
            series = self._values.slice(lo, hi - lo).to_pandas()
            self._series = pd.Series(series.to_numpy(), copy=False)
            self._codes = codes
            self._groupby = self._series.groupby(codes, sort=True)
        return self._groupby

    def agg(self, a: Agg, kind: Kind | None) -> dict[str, Any]:
        gb = self._group()
        target = pd.RangeIndex(len(self._starts))
        try:
            if a.method == "quantile":
                res = gb.quantile(a.q)
            elif a.method == "rms":
                assert self._series is not None
                squares = self._series.to_numpy() ** 2
                res = np.sqrt(pd.Series(squares, copy=False).groupby(self._codes).mean())
            elif a.method == "ptp":
                res = gb.max() - gb.min()
            else:
                res = getattr(gb, a.method)()
        except (TypeError, NotImplementedError) as exc:
            raise InvalidArgument(
                f"agg {a.column!r} ({a.method}) is not defined for {kind or 'float'} values: {exc}",
                argument="agg",
            ) from exc
        res = res.reindex(target)
        if a.method == "ohlc":
            return {c: res[c].to_numpy() for c in OHLC}
        if a.method in _ZERO_WHEN_EMPTY:
            res = res.fillna(0)
            assert self._series is not None
            if a.method != "sum" or pd.api.types.is_integer_dtype(self._series.dtype):
                res = res.astype(np.int64)
        return {a.column: res.to_numpy()}


def _call(
    values: pa.Array,
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    bins: Bins,
    a: Agg,
) -> pd.Series:
    """A callable on each non-empty bin's values (a numpy array, NaN included); an
    empty bin is missing without a call."""
    assert a.func is not None
    array = np.asarray(values.to_numpy(zero_copy_only=False))
    name = getattr(a.func, "__name__", None)
    what = f"{name!r} (column {a.column!r})" if isinstance(name, str) else repr(a.column)
    agg = name if isinstance(name, str) else a.column
    results: list[Any] = [None] * len(starts)
    for i in np.flatnonzero(ends > starts):
        chunk = array[starts[i] : ends[i]]
        try:
            result = a.func(chunk)
        except Exception as exc:
            label = format_ns(int(bins.labels[i]))
            raise AggregationFailed(
                f"agg {what} raised {type(exc).__name__}: {exc} on the bin labelled "
                f"{label} ({len(chunk)} values); the function gets each bin's values as a "
                "numpy array, NaN included",
                agg=agg,
                label=label,
            ) from exc
        if np.ndim(result) != 0:
            label = format_ns(int(bins.labels[i]))
            raise AggregationFailed(
                f"agg {what} returned {type(result).__name__} of shape "
                f"{np.shape(result)} on the bin labelled {label}; it must return one value "
                "per bin",
                agg=agg,
                label=label,
            )
        results[i] = result.item() if isinstance(result, np.generic) else result
    return pd.Series(results, dtype=object).infer_objects()
