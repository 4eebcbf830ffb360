"""The features `read` does not know, for many windows of one variable at once.

A window is a pair of row indices `[start, end)` into one variable's values sorted by
time (NaN = missing); windows may be empty, overlap (a stride shorter than the window)
or leave gaps between them. Every feature is computed on a window's non-NaN values only,
for all windows together, without a Python loop per window:

- `abs_energy`: the sum of squares, by `np.add.reduceat` over the edges
  `[a0, b0, a1, b1, ...]` (each window summed once, the gaps once in all); 0 when empty;
- `skew`, `kurt`: pandas' `Series.skew()` / `Series.kurt()` (the adjusted Fisher-Pearson
  G1 and G2; NaN below 3 / 4 values, and NaN where every value is equal, as pandas >= 3.1
  gives for a zero variance), from each window's mean, then the powers of its deviations
  with the windows' rows laid end to end, in chunks of about `CHUNK` rows;
- `slope`: the least-squares slope of value against time in seconds (`np.polyfit(t, v,
  1)[0]`), the same way, with each window's times taken relative to its first point's
  (integer nanoseconds, exact) so float64 keeps its precision over decades of epoch ns;
  NaN below 2 values or when all their times are equal;
- `zero_crossings`: sign changes between consecutive values of `values - mean(values)`
  once its exact zeros are dropped (a float; 0 for one value);
- `dominant_frequency` (Hz): `np.fft.rfftfreq(n, d)[1 + argmax(|rfft(x)|[1:])]` with `x`
  the de-meaned values and `d` the median spacing of their times in seconds (DC excluded,
  the first peak on ties); NaN below 2 values or when `d` is 0.

The last two, and read's row-wise aggregations (`aggregate`), group the windows by their
number of values and gather each group into a 2-D array (at most `CHUNK` values at a
time, so memory stays bounded however much the windows overlap; a regular stream's
windows are a reshaped view, not a copy). One sweep computes all of them that are
wanted, `ROWS` values (a block of rows that stays in the cache) at a time: each row's
sum, then its deviations from its mean once, shared by the variance, the crossings and
the FFT. The mean along a row is numpy's pairwise sum, the same bits as `np.mean` of that
window alone, so whether a value sits exactly on its window's mean (a zero dropped) is
decided as the plain reference does, and the peak is taken of `|rfft|` as it does.

Infinities and overflows give inf or NaN as numpy's arithmetic does, without a warning
(pytest turns warnings into errors); the results then need not match the references.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from itertools import pairwise
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from hfdata.errors import InvalidArgument
from hfdata.read.windows import reduce_windows

__all__ = ["CHUNK", "KERNELS", "ROWS", "ROW_WISE", "WindowKernels", "window_features"]

KERNELS: Final = ("skew", "kurt", "slope", "abs_energy", "zero_crossings", "dominant_frequency")
ROW_WISE: Final = frozenset(
    {"count", "sum", "mean", "min", "max", "ptp", "rms", "var", "std", "sem"}
)
_NO_TIMES: Final = np.empty((0, 0), np.int64)
_MIN_VIEW: Final = 4  # consecutive tiling windows read as a view, not gathered
CHUNK: Final = 1 << 21  # values gathered at a time (about 16 MiB of float64)
ROWS: Final = 1 << 16  # values of a group swept at a time (512 KiB of float64: about an L2)
# what each feature needs from the sweep over the groups of windows (`WindowKernels._sweep`)
_PARTS: Final[dict[str, frozenset[str]]] = {
    "count": frozenset(),
    "sum": frozenset({"sum"}),
    "mean": frozenset({"sum"}),
    "min": frozenset({"min"}),
    "max": frozenset({"max"}),
    "ptp": frozenset({"min", "max"}),
    "rms": frozenset({"squares"}),
    "var": frozenset({"m2"}),
    "std": frozenset({"m2"}),
    "sem": frozenset({"m2"}),
    "zero_crossings": frozenset({"zero_crossings"}),
    "dominant_frequency": frozenset({"dominant_frequency"}),
}
_ZERO_WHEN_EMPTY: Final = frozenset({"sum", "squares"})
_CENTRED: Final = frozenset({"m2", "zero_crossings", "dominant_frequency"})
_NS_PER_S: Final = 1e9

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def window_features(
    name: str,
    values: Floats,
    ns: Ints,
    starts: Ints,
    ends: Ints,
) -> Floats:
    """Feature `name` (one of `KERNELS`) of `values` over each window `[starts[i],
    ends[i])` (row indices into `values` and `ns`, its sorted UTC nanosecond times);
    one float64 per window. To compute several features over the same windows, use one
    `WindowKernels`: it shares the counts, the means and the central moments."""
    return WindowKernels(values, ns, starts, ends).compute(name)


class WindowKernels:
    """One variable's values, their times and windows over them; what several features
    share (each window's count and mean, its extremes) is computed once, when needed.

    Internally only the non-NaN values are kept, and each window `[starts[i], ends[i])`
    becomes `[a[i], b[i])` over them. `wanted` names the features that will be asked
    for (read's row-wise aggregations and kernels): the ones computed on the groups of
    equal-count windows are then all done in one sweep over the values (`_sweep`)."""

    def __init__(
        self, values: Floats, ns: Ints, starts: Ints, ends: Ints, wanted: Iterable[str] = ()
    ) -> None:
        values = np.asarray(values, dtype=np.float64)
        ns = np.asarray(ns, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        if values.ndim != 1 or values.shape != ns.shape or starts.shape != ends.shape:
            raise InvalidArgument(
                f"kernels need 1-D values and times of one length and as many window "
                f"starts as ends; got {values.shape}, {ns.shape}, {starts.shape}, "
                f"{ends.shape}",
                argument="values",
            )
        self._finite = bool(np.isfinite(values).all())  # then no NaN either: one pass
        if self._finite:
            self.v, self.t, self.a, self.b = values, ns, starts, ends
        else:
            valid = ~np.isnan(values)
            counted = np.zeros(len(values) + 1, dtype=np.int64)
            np.cumsum(valid, out=counted[1:])
            self.v, self.t = values[valid], ns[valid]
            self.a, self.b = counted[starts], counted[ends]
        self.n: Ints = self.b - self.a
        # the sweep's parts the features in `wanted` need: the first sweep does them all
        # (read's aggregations only when every value is finite: else `windows` has them)
        self._wanted = {
            rows: frozenset().union(
                *(_PARTS.get(n, frozenset()) for n in wanted if (n in ROW_WISE) == rows)
            )
            for rows in (False, True)
        }
        self._swept: dict[str, Floats] = {}

    def compute(self, name: str) -> Floats:
        """Feature `name` of every window, or `InvalidArgument` naming the kernels."""
        kernel: Callable[[], Floats] | None = getattr(self, f"_{name}", None)
        if name not in KERNELS or kernel is None:
            raise InvalidArgument(
                f"feature {name!r} is not a kernel; use one of {', '.join(KERNELS)}",
                argument="funcs",
            )
        with np.errstate(all="ignore"):  # infinities and overflows give inf/NaN, quietly
            return kernel()

    # -- what several features share ------------------------------------------------------
    def _reduce(self, ufunc: np.ufunc, data: Floats, empty: float) -> Floats:
        """`ufunc` over each window's values (`empty` where a window has none), by
        `read.windows.reduce_windows` (no padded copy of the values)."""
        none = self.n == 0
        if none.all():
            return np.full(len(self.a), empty)
        out = reduce_windows(ufunc, data, self.a, self.b, empty).astype(np.float64)
        out[none] = empty
        return out

    @cached_property
    def mean(self) -> Floats:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._reduce(np.add, self.v, np.nan) / self.n

    @cached_property
    def constant(self) -> npt.NDArray[np.bool_]:
        """Windows whose values are all equal (a zero variance: skew and kurt NaN)."""
        low = self._reduce(np.minimum, self.v, np.nan)
        high = self._reduce(np.maximum, self.v, np.nan)
        constant: npt.NDArray[np.bool_] = (self.n > 0) & (low == high)
        return constant

    def _laid(self) -> Iterator[tuple[Ints, Ints, Ints, Floats, Any]]:
        """The non-empty windows' rows laid end to end, in chunks of about `CHUNK`:
        per chunk the window numbers, their sizes, where each starts in the chunk, each
        row's deviation from its window's mean, and the rows (a slice where the
        windows tile the values, as disjoint windows do, else an index array)."""
        which_all = np.flatnonzero(self.n > 0)
        sizes_all = self.n[which_all]
        bounds = np.cumsum(sizes_all)
        first = 0
        while first < len(which_all):
            base = int(bounds[first - 1]) if first else 0
            stop = max(int(np.searchsorted(bounds, base + CHUNK, side="right")), first + 1)
            which, sizes = which_all[first:stop], sizes_all[first:stop]
            a = self.a[which]
            offsets = np.cumsum(sizes) - sizes
            rows: Any
            if np.array_equal(a[1:], self.b[which[:-1]]):
                rows = slice(int(a[0]), int(self.b[which[-1]]))
            else:
                rows = np.arange(int(sizes.sum()), dtype=np.int64) + np.repeat(a - offsets, sizes)
            deviations = self.v[rows] - np.repeat(self.mean[which], sizes)
            yield which, sizes, offsets, deviations, rows
            first = stop

    @cached_property
    def moments(self) -> tuple[Floats, Floats, Floats]:
        """Per window the sums of the 2nd, 3rd and 4th powers of the deviations from
        its mean (two passes, as exact as the data allow)."""
        m2, m3, m4 = (np.zeros(len(self.a)) for _ in range(3))
        for which, _, offsets, x, _ in self._laid():
            x2 = x * x
            m2[which] = np.add.reduceat(x2, offsets)
            m3[which] = np.add.reduceat(x2 * x, offsets)
            m4[which] = np.add.reduceat(x2 * x2, offsets)
        return m2, m3, m4

    def _groups(self, least: int, *, times: bool = True) -> Iterator[tuple[Ints, Floats, Ints]]:
        """The windows of at least `least` values grouped by their count, in chunks of
        at most about `CHUNK` values: per chunk the window numbers and (windows, count)
        arrays of their values and times. Consecutive windows that tile the values (a
        regular stream's) are a reshaped view; the others are gathered."""
        which_all = np.flatnonzero(self.n >= least)
        order = np.argsort(self.n[which_all], kind="stable")
        which_all = which_all[order]
        sizes = self.n[which_all]
        cuts = [0, *(np.flatnonzero(np.diff(sizes)) + 1).tolist(), len(sizes)]
        for lo, hi in pairwise(cuts):
            if lo == hi:
                continue
            count = int(sizes[lo])
            step = max(1, CHUNK // count)
            for first in range(lo, hi, step):
                which = which_all[first : min(first + step, hi)]
                yield from self._blocks(which, count, times)

    def _blocks(self, which: Ints, count: int, times: bool) -> Iterator[tuple[Ints, Floats, Ints]]:
        """Windows of `count` values each: runs of them that tile the values as views,
        the rest gathered into one array."""
        a = self.a[which]
        breaks = np.flatnonzero(np.diff(a) != count) + 1
        bounds = [0, *breaks.tolist(), len(which)]
        scattered: list[Ints] = []
        for lo, hi in pairwise(bounds):
            if hi - lo >= _MIN_VIEW:
                start, stop = int(a[lo]), int(a[lo]) + (hi - lo) * count
                yield (
                    which[lo:hi],
                    self.v[start:stop].reshape(hi - lo, count),
                    self.t[start:stop].reshape(hi - lo, count) if times else _NO_TIMES,
                )
            else:
                scattered.append(np.arange(lo, hi))
        if scattered:
            picked = np.concatenate(scattered)
            rows = a[picked][:, None] + np.arange(count, dtype=np.int64)
            yield which[picked], self.v[rows], self.t[rows] if times else _NO_TIMES

    # -- read's aggregations, row-wise ----------------------------------------------------
    @cached_property
    def finite(self) -> bool:
        """Whether every value is finite (the row-wise path's condition: infinities
        follow pandas' rules in `hfdata.read.windows`)."""
        return self._finite or bool(np.isfinite(self.v).all())

    def _part(self, part: str) -> Floats:
        """One result of the sweep (per window), sweeping for it, and for every part
        the wanted features need that is not done yet, the first time."""
        if part not in self._swept:
            wanted = self._wanted[False] | (self._wanted[True] if self.finite else frozenset())
            self._sweep((wanted | {part}) - self._swept.keys())
        return self._swept[part]

    def _sweep(self, parts: frozenset[str]) -> None:
        """One pass over the windows grouped by count (`_groups`), `ROWS` values at a
        time so that a block stays in the cache while every part is computed on it:
        per window `sum`, `squares` (the sum of squares), `min`, `max`, `m2` (the sum of
        squared deviations from the mean: two passes, as pandas), `zero_crossings` and
        `dominant_frequency`. Each row's sum is numpy's pairwise sum, so its mean has the
        bits `np.mean` gives that window alone. Empty windows: sums 0, the others NaN."""
        size = len(self.a)
        out = {p: np.full(size, 0.0 if p in _ZERO_WHEN_EMPTY else np.nan) for p in parts}
        centred = bool(parts & _CENTRED)
        spectral = "dominant_frequency" in parts
        with np.errstate(all="ignore"):  # infinities give inf/NaN, quietly
            for which_all, values, times_all in self._groups(1, times=spectral):
                count = values.shape[1]
                step = max(1, ROWS // count)
                for lo in range(0, len(which_all), step):
                    which, block = which_all[lo : lo + step], values[lo : lo + step]
                    total = block.sum(axis=1)
                    if "sum" in out:
                        out["sum"][which] = total
                    if "squares" in out:
                        out["squares"][which] = np.einsum("ij,ij->i", block, block)
                    if "min" in out:
                        out["min"][which] = block.min(axis=1)
                    if "max" in out:
                        out["max"][which] = block.max(axis=1)
                    if not centred:
                        continue
                    x = block - (total / count)[:, None]
                    if "m2" in out:
                        out["m2"][which] = np.einsum("ij,ij->i", x, x)
                    if "zero_crossings" in out:
                        out["zero_crossings"][which] = _crossings(x)
                    if spectral and count >= 2:
                        out["dominant_frequency"][which] = _peak_frequency(
                            x, times_all[lo : lo + step]
                        )
        self._swept.update(out)

    def aggregate(self, name: str) -> Floats:
        """One of `ROW_WISE` (read's aggregation of that name: pandas' on the window's
        values, missing ones skipped), from the sweep's parts."""
        part = self._part
        n = self.n.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            if name == "count":
                return n
            if name == "sum":
                return part("sum")
            if name == "mean":
                return part("sum") / n
            if name in ("min", "max"):
                return part(name)
            if name == "ptp":
                return part("max") - part("min")
            if name == "rms":
                return np.sqrt(part("squares") / n)
            var = part("m2") / (n - 1.0)
            var[self.n < 2] = np.nan
            if name == "var":
                return var
            if name == "std":
                return np.sqrt(var)
            if name == "sem":
                return np.sqrt(var) / np.sqrt(n)
        raise InvalidArgument(f"{name!r} is not computed row-wise", argument="funcs")

    # -- the kernels ----------------------------------------------------------------------
    def _abs_energy(self) -> Floats:
        return self._reduce(np.add, self.v * self.v, 0.0)

    def _skew(self) -> Floats:
        m2, m3, _ = self.moments
        n = self.n.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = m3 / (m2 * np.sqrt(m2)) * (n * np.sqrt(n - 1.0) / (n - 2.0))
        out[(self.n < 3) | self.constant] = np.nan
        return out

    def _kurt(self) -> Floats:
        m2, _, m4 = self.moments
        n = self.n.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            inner = n * (n + 1.0) * (m4 / (m2 * m2)) - 3.0 * (n - 1.0)
            out = (n - 1.0) / ((n - 2.0) * (n - 3.0)) * inner
        out[(self.n < 4) | self.constant] = np.nan
        return out

    def _slope(self) -> Floats:
        sxy = np.zeros(len(self.a))
        sxx = np.zeros(len(self.a))
        for which, sizes, offsets, dv, rows in self._laid():
            since = self.t[rows] - np.repeat(self.t[self.a[which]], sizes)  # exact int64
            seconds = since / _NS_PER_S
            centred = seconds - np.repeat(np.add.reduceat(seconds, offsets) / sizes, sizes)
            sxy[which] = np.add.reduceat(centred * dv, offsets)
            sxx[which] = np.add.reduceat(centred * centred, offsets)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = sxy / sxx
        out[(self.n < 2) | (sxx == 0)] = np.nan
        return out

    def _zero_crossings(self) -> Floats:
        return self._part("zero_crossings")

    def _dominant_frequency(self) -> Floats:
        return self._part("dominant_frequency")


def _crossings(x: Floats) -> Floats:
    """Per row of `x` (de-meaned values), the sign changes between its nonzero values."""
    positive = x > 0
    if not (x == 0).any():  # no exact zero: compare neighbours in place
        changes: Ints = np.count_nonzero(positive[:, 1:] != positive[:, :-1], axis=1)
        return changes.astype(np.float64)
    flat = x.ravel()
    kept = np.flatnonzero(flat)  # row-major: each row's nonzeros in order
    row = kept // x.shape[1]
    sign = flat[kept] > 0
    change = (sign[1:] != sign[:-1]) & (row[1:] == row[:-1])
    return np.bincount(row[1:][change], minlength=len(x)).astype(np.float64)


def _peak_frequency(x: Floats, times: Ints) -> Floats:
    """Per row of `x` (de-meaned values, 2 or more a row) and their `times`, the
    frequency (Hz) of the largest |rfft| bin after DC (the first on ties), as
    `np.fft.rfftfreq(count, d)` at `d` the median spacing; NaN where `d` is 0."""
    count = x.shape[1]
    magnitude = np.abs(np.fft.rfft(x, axis=1)[:, 1:])  # the reference's |X|: the same peak
    peak = 1 + np.argmax(magnitude, axis=1)
    spacing = _median_spacing(times) / _NS_PER_S
    freq: Floats = peak * (1.0 / (count * spacing))  # as np.fft.rfftfreq(count, d)
    freq[spacing == 0] = np.nan
    return freq


def _median_spacing(times: Ints) -> Floats:
    """Per row of `times` (sorted ns), the median of its differences; a row whose
    differences are all equal (a regular stream's) needs no sort, and rows that are
    consecutive runs of one regular stream are found so in one pass over all of them."""
    flat = np.diff(times.ravel())  # within the rows, and from each row to the next
    if len(flat) and flat.min() == flat.max():
        return np.full(len(times), float(flat[0]))
    steps = np.diff(times, axis=1)
    low, high = steps.min(axis=1), steps.max(axis=1)
    out: Floats = low.astype(np.float64)
    uneven = np.flatnonzero(low != high)
    if len(uneven):
        out[uneven] = np.median(steps[uneven], axis=1)
    return out
