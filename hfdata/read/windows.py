"""Aggregations of one variable over many windows of its sorted points, all at once.

`Store.around` asks for one window `[t - before, t + after)` per event; here a window is
a pair of row indices `[start, end)` into the variable's sorted values, and each
aggregation is computed for every window together where it can be:

- `count`: a cumulative count of the non-missing values, differenced at the edges;
- `sum`, `mean`, `rms`: each window's own sum (`reduceat`, below), and `var`, `std`,
  `sem` two passes over each window's rows laid end to end (its mean, then the squared
  deviations), as pandas computes them, while the windows' total length is at most
  `EXACT_FACTOR` times the rows and windows. Longer, heavily overlapping windows use
  cumulative sums of the values (shifted by their mean) and of their squares in
  extended precision (`numpy.longdouble`, a 64-bit mantissa on x86-64) differenced at
  the edges, O(rows + windows), which are close to pandas' but not equal where a
  window's spread is tiny against the data's (a variance of 0 may come out 1e-6);
  infinities are counted apart there, so one cannot poison every later window.
  `int` sums are exact int64 sums;
- `min`, `max`, `ptp`: `ufunc.reduceat` over the edges `[s0, e0, s1, e1, ...]` (each
  window reduced once, the gaps between windows once in all);
- `first`, `last`: the first/last non-missing row, by binary search over the rows that
  are not missing (taken from the Arrow values: exact for every kind);
- `median`, `quantile`, `nunique` and callables: one call per window.

Each equals the pandas Series method of its name on the window's values: missing values
(and NaN) skipped, `ddof=1` for `var`/`std`/`sem`, `rms` = `sqrt(mean(x**2))`, `ptp` =
`max - min`, quantiles by linear interpolation, `first`/`last` the first/last value that
is not missing (as pandas' resample `first`/`last`). An empty window gives `count` 0,
`sum` 0, `nunique` 0 and a missing value for the others. A callable gets the values of
each non-empty window as a numpy array (missing numbers as NaN); an empty window gives a
missing value without calling it. The table is `parse_window_aggs`; `twa` is parsed here
and computed by `hfdata.read.events` (it needs the points' times and the value in force
at each window's start).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from hfdata.errors import InvalidArgument
from hfdata.kinds import INT64_MAX, INT64_MIN, Kind
from hfdata.read.aggregate import AGGS, OHLC
from hfdata.timeparse import format_ns

__all__ = [
    "ANY_KIND",
    "NAMED",
    "WindowAgg",
    "aggregate_windows",
    "parse_window_aggs",
    "reduce_windows",
]

# read's names; ohlc expands to four of them here, twa is computed by `events`
NAMED: Final = tuple(a for a in AGGS if a not in ("ohlc", "twa"))
ANY_KIND: Final = frozenset({"count", "first", "last", "nunique", "call"})  # not only numbers
_QUANTILE = re.compile(r"q(100|\d{1,2}(?:\.\d+)?)")
EXACT_FACTOR: Final = 16  # see `_Windows.exact`
_CHUNK: Final = 1 << 20  # rows laid end to end at a time for two-pass variances
_HELP: Final = (
    f"use one of {', '.join(NAMED)}, ohlc, twa, a quantile ('q90', 'q99.9' or "
    "('quantile', 0.9)), a callable, or a list or {name: agg} dict of them"
)

Values = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class WindowAgg:
    """One aggregation: its column `name`, its `op` (a name of `NAMED`, `"quantile"` with
    `q`, or `"call"` with `func`)."""

    name: str
    op: str
    q: float = math.nan
    func: Callable[[Values], Any] | None = None


def parse_window_aggs(agg: Any) -> tuple[WindowAgg, ...]:
    """The aggregations `agg` asks for, or `InvalidArgument` naming what is allowed.

    `agg` is a name, a quantile (`"q90"`, `("quantile", 0.9)`), a callable, a list of
    those, or a dict `{column name: one of those}`. Column names must be distinct.
    """
    items: list[WindowAgg]
    if isinstance(agg, Mapping):
        if "ohlc" in agg.values():
            raise InvalidArgument("agg: 'ohlc' makes four columns and cannot be named in a dict")
        items = [_one(spec, name) for name, spec in agg.items()]
        if any(not isinstance(n, str) or not n for n in agg):
            raise InvalidArgument(f"agg: the keys of a dict are column names (text), got {agg!r}")
    elif isinstance(agg, list) or (isinstance(agg, tuple) and not _is_quantile_pair(agg)):
        items = [item for spec in agg for item in _ohlc_or_one(spec)]
    else:
        items = _ohlc_or_one(agg)
    names = [a.name for a in items]
    if not items or len(set(names)) != len(names):
        raise InvalidArgument(f"agg must name one or more distinct aggregations, got {agg!r}")
    return tuple(items)


def _ohlc_or_one(spec: Any) -> list[WindowAgg]:
    """`ohlc` as `read` has it: columns open, high, low, close (the first, the largest,
    the smallest and the last value); anything else one aggregation."""
    if isinstance(spec, str) and spec == "ohlc":
        return [
            WindowAgg(c, op) for c, op in zip(OHLC, ("first", "max", "min", "last"), strict=True)
        ]
    return [_one(spec, None)]


def _is_quantile_pair(spec: Any) -> bool:
    return isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "quantile"


def _one(spec: Any, name: str | None) -> WindowAgg:
    if isinstance(spec, str):
        if spec in NAMED:
            return WindowAgg(name or spec, spec)
        match = _QUANTILE.fullmatch(spec)
        if match:
            return WindowAgg(name or spec, "quantile", float(match.group(1)) / 100)
        if spec == "twa":  # computed by the caller, which knows the points' times
            return WindowAgg(name or spec, "twa")
        raise InvalidArgument(f"agg {spec!r} is not known; {_HELP}")
    if _is_quantile_pair(spec):
        q = spec[1]
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1:
            raise InvalidArgument(f"agg ('quantile', q) needs 0 <= q <= 1, got {spec!r}")
        return WindowAgg(name or f"q{round(float(q) * 100, 10):g}", "quantile", float(q))
    if callable(spec):
        label = name or str(getattr(spec, "__name__", "") or type(spec).__name__)
        return WindowAgg(label, "call", func=spec)
    raise InvalidArgument(f"agg {spec!r} is not an aggregation; {_HELP}")


def aggregate_windows(
    values: pa.Array,
    kind: Kind | None,
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    aggs: tuple[WindowAgg, ...],
    *,
    variable: str,
    events: npt.NDArray[np.int64],
) -> dict[str, pa.Array]:
    """Each aggregation of `values` over the windows `[starts[i], ends[i])` (row
    indices; `starts <= ends`), one Arrow array per aggregation, one row per window.
    `variable` and `events` (each window's event time) name a failure in errors."""
    windows = _Windows(values, kind or "float", starts, ends)
    out: dict[str, pa.Array] = {}
    for agg in aggs:
        if not windows.numeric and agg.op not in ANY_KIND:
            raise InvalidArgument(
                f"agg {agg.name!r} needs numbers, and {variable!r} holds {kind} values "
                "(count, first, last, nunique and callables work on every kind)"
            )
        if agg.op == "call":
            assert agg.func is not None
            out[agg.name] = windows.call(agg, variable, events)
        elif agg.op == "quantile":
            out[agg.name] = windows.quantile(agg.q)
        else:
            out[agg.name] = getattr(windows, agg.op)()
    return out


def reduce_windows(
    ufunc: np.ufunc,
    data: npt.NDArray[Any],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    pad: Any,
) -> npt.NDArray[Any]:
    """`ufunc` over each window `data[starts[i]:ends[i]]`: reduceat on `[s0, e0, s1, e1,
    ...]` keeps the even results (a window each, overlapping or not) and drops the odd
    ones (the gaps). Every index must be a row, so the few windows ending at the last
    row are reduced one by one (`pad` for an empty one) rather than copying the data to
    pad it. An empty window elsewhere gets its start row's value: callers mask empties."""
    out = np.empty(len(starts), dtype=data.dtype)
    if not len(out):
        return out
    rows = len(data)
    inside = ends < rows
    edges = np.empty(2 * int(inside.sum()), dtype=np.int64)
    edges[0::2] = starts[inside]
    edges[1::2] = ends[inside]
    if len(edges):
        out[inside] = ufunc.reduceat(data, edges)[0::2]
    for i in np.flatnonzero(~inside).tolist():
        s = int(starts[i])
        out[i] = ufunc.reduce(data[s:]) if s < rows else pad
    return out


class _Windows:
    """One variable's values and the windows over them; what several aggregations share
    (counts, cumulative sums) is computed once, when first needed."""

    def __init__(
        self,
        values: pa.Array,
        kind: Kind,
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
    ) -> None:
        self.values = values
        self.kind = kind
        self.numeric = kind in ("float", "int")
        self.starts = starts
        self.ends = ends
        self.empty = ends <= starts

    # -- what several aggregations share ---------------------------------------------------
    @cached_property
    def floats(self) -> npt.NDArray[np.float64]:
        """The values as float64, missing ones NaN (numeric kinds)."""
        return np.asarray(self.values.to_numpy(zero_copy_only=False), dtype=np.float64)

    @cached_property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Rows that count: not missing, and not NaN."""
        if self.numeric:
            return ~np.isnan(self.floats)
        return np.asarray(self.values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)

    def _edges(self, cumulative: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return cumulative[self.ends] - cumulative[self.starts]  # type: ignore[no-any-return]

    def _cumulative(self, rows: npt.NDArray[Any], dtype: Any) -> npt.NDArray[Any]:
        out = np.zeros(len(rows) + 1, dtype=dtype)
        np.cumsum(rows, dtype=dtype, out=out[1:])
        return out

    @cached_property
    def n(self) -> npt.NDArray[np.int64]:
        return self._edges(self._cumulative(self.valid, np.int64))

    @cached_property
    def infinities(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per window, how many +inf and -inf values it holds."""
        v = self.floats
        return (
            self._edges(self._cumulative(v == np.inf, np.int64)),
            self._edges(self._cumulative(v == -np.inf, np.int64)),
        )

    @cached_property
    def moments(self) -> tuple[npt.NDArray[np.longdouble], npt.NDArray[np.longdouble], float]:
        """Per window, the sums of `x - c` and `(x - c)**2` over its finite values, and
        the shift `c` (the mean of every finite value: it keeps the squares small)."""
        v = self.floats
        finite = np.isfinite(v)
        shift = float(np.mean(v[finite])) if finite.any() else 0.0
        x = np.where(finite, v.astype(np.longdouble) - np.longdouble(shift), np.longdouble(0))
        s1 = self._edges(self._cumulative(x, np.longdouble))
        s2 = self._edges(self._cumulative(x * x, np.longdouble))
        return s1, s2, shift

    def _finite_only(self, result: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """NaN where a window holds an infinity (var, std, sem of those are NaN in pandas)."""
        pos, neg = self.infinities
        result[(pos > 0) | (neg > 0)] = np.nan
        return result

    def _with_infinities(self, result: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """+inf / -inf / NaN where a window holds +inf / -inf / both (sum, mean)."""
        pos, neg = self.infinities
        result[pos > 0] = np.inf
        result[neg > 0] = -np.inf
        result[(pos > 0) & (neg > 0)] = np.nan
        return result

    def _picked(self, rows: npt.NDArray[np.int64], ok: npt.NDArray[np.bool_]) -> pa.Array:
        return self.values.take(pa.array(np.where(ok, rows, 0), mask=~ok))

    def _reduceat(self, ufunc: np.ufunc, data: npt.NDArray[Any], pad: Any) -> npt.NDArray[Any]:
        return reduce_windows(ufunc, data, self.starts, self.ends, pad)

    @cached_property
    def exact(self) -> bool:
        """Whether the windows are few and short enough to be summed one by one (their
        total length at most `EXACT_FACTOR` times the rows and windows): sums of each
        window's own values, and two-pass variances, as pandas computes them. Else
        (long, heavily overlapping windows) prefix sums, in O(rows + windows)."""
        total = int((self.ends - self.starts).sum())
        return total <= EXACT_FACTOR * (len(self.values) + len(self.starts))

    @cached_property
    def zeroed(self) -> npt.NDArray[np.float64]:
        """The values with NaN (and missing) as 0, so sums skip them."""
        return np.where(self.valid, self.floats, 0.0)

    def _window_sums(self, data: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        sums = self._reduceat(np.add, data, 0.0)
        sums[self.empty] = 0.0
        return sums

    def _flat(self) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """The windows' rows laid end to end, in chunks of about `_CHUNK` rows: per
        chunk the window numbers and, for each of their rows, the row index."""
        lengths = self.ends - self.starts
        chunks = []
        bounds = np.cumsum(lengths)
        first = 0
        while first < len(lengths):
            base = int(bounds[first - 1]) if first else 0
            stop = max(int(np.searchsorted(bounds, base + _CHUNK, side="right")), first + 1)
            which = np.arange(first, stop, dtype=np.int64)
            sizes = lengths[first:stop]
            offsets = np.repeat(self.starts[first:stop] - (np.cumsum(sizes) - sizes), sizes)
            chunks.append((which, np.arange(int(sizes.sum()), dtype=np.int64) + offsets))
            first = stop
        return chunks

    def _two_pass(self) -> npt.NDArray[np.float64]:
        """Each window's sum of squared deviations from its own mean (NaN skipped)."""
        n = self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self._window_sums(self.zeroed) / n
        out = np.zeros(len(self.starts))
        if len(self.starts) and np.array_equal(self.starts[1:], self.ends[:-1]):
            # the windows tile the rows (as disjoint ones do): one slice, no gather
            lo, hi = int(self.starts[0]), int(self.ends[-1])
            sizes = self.ends - self.starts
            with np.errstate(invalid="ignore"):
                dev = self.floats[lo:hi] - np.repeat(means, sizes)
            dev = np.where(self.valid[lo:hi], dev, 0.0)
            filled = np.flatnonzero(sizes > 0)
            if len(filled):
                out[filled] = np.add.reduceat(dev * dev, self.starts[filled] - lo)
            return out
        for which, rows in self._flat():
            if not len(rows):
                continue
            sizes = self.ends[which] - self.starts[which]
            with np.errstate(invalid="ignore"):
                dev = self.floats[rows] - np.repeat(means[which], sizes)
            dev = np.where(self.valid[rows], dev, 0.0)
            nonempty = sizes > 0
            edges = (np.cumsum(sizes) - sizes)[nonempty]
            out[which[nonempty]] = np.add.reduceat(dev * dev, edges)
        return out

    # -- the aggregations ------------------------------------------------------------------
    def count(self) -> pa.Array:
        return pa.array(self.n)

    def sum(self) -> pa.Array:
        if self.kind == "int":  # exact: int64 sums of the values present
            ints = self.values.fill_null(0).to_numpy(zero_copy_only=False)
            return pa.array(self._edges(self._cumulative(ints, np.int64)))
        if self.exact:
            return pa.array(self._window_sums(self.zeroed))
        s1, _, shift = self.moments
        n_finite = self.n - sum(self.infinities)
        total = np.asarray(s1 + n_finite * np.longdouble(shift), dtype=np.float64)
        return pa.array(self._with_infinities(total))

    def mean(self) -> pa.Array:
        if self.exact:
            with np.errstate(invalid="ignore", divide="ignore"):
                return pa.array(self._window_sums(self.zeroed) / self.n, from_pandas=True)
        s1, _, shift = self.moments
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.asarray(s1 / self.n + np.longdouble(shift), dtype=np.float64)
        mean[self.n == 0] = np.nan
        return pa.array(self._with_infinities(mean), from_pandas=True)

    def _var(self) -> npt.NDArray[np.float64]:
        n = self.n
        if self.exact:
            with np.errstate(invalid="ignore", divide="ignore"):
                var = self._two_pass() / (n - 1)
            var[n < 2] = np.nan
            return var
        s1, s2, _ = self.moments
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.asarray((s2 - s1 * s1 / n) / (n - 1), dtype=np.float64)
        var = np.maximum(var, 0.0)
        var[n < 2] = np.nan
        return self._finite_only(var)

    def var(self) -> pa.Array:
        return pa.array(self._var(), from_pandas=True)

    def std(self) -> pa.Array:
        return pa.array(np.sqrt(self._var()), from_pandas=True)

    def sem(self) -> pa.Array:
        with np.errstate(invalid="ignore", divide="ignore"):
            return pa.array(np.sqrt(self._var()) / np.sqrt(self.n), from_pandas=True)

    def rms(self) -> pa.Array:
        if self.exact:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                squares = self._window_sums(self.zeroed * self.zeroed)
                return pa.array(np.sqrt(squares / self.n), from_pandas=True)
        s1, s2, shift = self.moments
        c = np.longdouble(shift)
        n = self.n
        pos, neg = self.infinities
        finite_n = n - pos - neg
        with np.errstate(invalid="ignore", divide="ignore"):
            squares = s2 + 2 * c * s1 + finite_n * c * c
            rms = np.sqrt(np.asarray(np.maximum(squares, 0) / n, dtype=np.float64))
        rms[n == 0] = np.nan
        rms[(pos > 0) | (neg > 0)] = np.inf
        return pa.array(rms, from_pandas=True)

    def _extreme(self, low: bool) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
        """Per window the min (or max), and where there is none (no value counts)."""
        none = self.n == 0
        if self.kind == "int":  # exact on int64: missing values replaced by the neutral one
            neutral = INT64_MAX if low else INT64_MIN
            ints = np.asarray(self.values.fill_null(neutral).to_numpy(zero_copy_only=False))
            return self._reduceat(np.minimum if low else np.maximum, ints, neutral), none
        extreme = self._reduceat(np.fmin if low else np.fmax, self.floats, np.nan)
        return extreme, none

    def min(self) -> pa.Array:
        extreme, none = self._extreme(True)
        return pa.array(extreme, mask=none)

    def max(self) -> pa.Array:
        extreme, none = self._extreme(False)
        return pa.array(extreme, mask=none)

    def ptp(self) -> pa.Array:
        low, none = self._extreme(True)
        high, _ = self._extreme(False)
        with np.errstate(invalid="ignore"):
            span = np.where(none, 0, high) - np.where(none, 0, low)
        return pa.array(span, mask=none)

    @cached_property
    def _present(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.valid)

    def first(self) -> pa.Array:
        return self._edge(first=True)

    def last(self) -> pa.Array:
        return self._edge(first=False)

    def _edge(self, *, first: bool) -> pa.Array:
        """The first (last) row of each window that counts, by binary search over the
        rows that count; missing where a window has none."""
        present = self._present
        if not len(present):
            return self.values.take(pa.nulls(len(self.starts), pa.int64()))
        if first:
            k = np.searchsorted(present, self.starts, side="left")
            rows = present[np.minimum(k, len(present) - 1)]
            ok = (k < len(present)) & (rows < self.ends)
        else:
            k = np.searchsorted(present, self.ends, side="left") - 1
            rows = present[np.maximum(k, 0)]
            ok = (k >= 0) & (rows >= self.starts)
        return self._picked(rows, ok)

    # -- one call per window ---------------------------------------------------------------
    def _present_floats(self, i: int) -> npt.NDArray[np.float64]:
        window = self.floats[self.starts[i] : self.ends[i]]
        return window[~np.isnan(window)]

    def median(self) -> pa.Array:
        return self.quantile(0.5)

    def quantile(self, q: float) -> pa.Array:
        out = np.full(len(self.starts), np.nan)
        for i in np.flatnonzero(self.n > 0):
            out[i] = np.quantile(self._present_floats(int(i)), q)
        return pa.array(out, from_pandas=True)

    def nunique(self) -> pa.Array:
        out = np.zeros(len(self.starts), dtype=np.int64)
        for i in np.flatnonzero(self.n > 0):
            if self.numeric:
                out[i] = len(np.unique(self._present_floats(int(i))))
            else:
                s, e = int(self.starts[i]), int(self.ends[i])
                out[i] = pc.count_distinct(self.values.slice(s, e - s)).as_py()
        return pa.array(out)

    @cached_property
    def _arrays(self) -> Values:
        """The values as numpy for callables: float64 (NaN missing), int64 when no int
        is missing, else what Arrow gives (bool, or objects)."""
        if self.kind == "float" or (self.kind == "int" and self.values.null_count):
            return self.floats
        return np.asarray(self.values.to_numpy(zero_copy_only=False))

    def call(self, agg: WindowAgg, variable: str, events: npt.NDArray[np.int64]) -> pa.Array:
        assert agg.func is not None
        data = self._arrays
        results: list[Any] = [None] * len(self.starts)
        for i in np.flatnonzero(~self.empty):
            s, e = int(self.starts[i]), int(self.ends[i])
            try:
                results[i] = agg.func(data[s:e])
            except Exception as exc:
                raise InvalidArgument(
                    f"agg {agg.name!r} raised {type(exc).__name__} ({exc}) on {variable!r} "
                    f"in the window of the event at {format_ns(int(events[i]))}"
                ) from exc
        try:
            return pa.array([_scalar(r) for r in results], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidArgument(
                f"agg {agg.name!r} must return one number, boolean or text per window "
                f"(values of one type); on {variable!r} it returned e.g. {results[0]!r}"
            ) from exc


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value Arrow takes (None stays None)."""
    return value.item() if isinstance(value, np.generic) else value
