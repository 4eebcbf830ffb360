"""The plain pandas reference of `Store.features` (issue 18), shared by its tests: each
window's points selected by its bounds, each feature computed on them with pandas or
numpy, windows placed by pandas' own resample."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.read.bins import Side, utc_index

__all__ = ["CALLABLES", "REFERENCE", "assert_close", "p90", "reference", "reference_windows"]

Values = npt.NDArray[np.float64]


def _num(x: Any) -> float:
    return float(x)


def _clean(w: pd.Series) -> pd.Series:
    return w.dropna()


def _slope(w: pd.Series) -> float:
    v = _clean(w)
    if len(v) < 2:
        return np.nan
    t = (pd.DatetimeIndex(v.index).asi8 - pd.DatetimeIndex(v.index).asi8[0]) / 1e9
    if np.ptp(t) == 0:
        return np.nan
    return float(np.polyfit(t, v.to_numpy(), 1)[0])


def _zero_crossings(w: pd.Series) -> float:
    v = _clean(w).to_numpy()
    if not len(v):
        return np.nan
    x = v - v.mean()
    x = x[x != 0]
    return float(np.count_nonzero(np.diff(np.sign(x))))


def _dominant_frequency(w: pd.Series) -> float:
    v = _clean(w)
    if len(v) < 2:
        return np.nan
    d = float(np.median(np.diff(pd.DatetimeIndex(v.index).asi8))) / 1e9
    if d <= 0:
        return np.nan
    spectrum = np.abs(np.fft.rfft(v.to_numpy() - v.to_numpy().mean()))[1:]
    top = np.sort(spectrum)[::-1]
    if len(top) > 1 and top[0] - top[1] <= 1e-6 * max(top[0], 1e-300):
        return -1.0  # a tie (within rounding): any of the peaks is right; not compared
    return float(np.fft.rfftfreq(len(v), d)[1 + int(np.argmax(spectrum))])


def _first(w: pd.Series) -> float:
    v = _clean(w)
    return float(v.iloc[0]) if len(v) else np.nan


def _last(w: pd.Series) -> float:
    v = _clean(w)
    return float(v.iloc[-1]) if len(v) else np.nan


REFERENCE: dict[str, Callable[[pd.Series], float]] = {
    "mean": lambda w: _num(w.mean()),
    "sum": lambda w: _num(w.sum()),
    "min": lambda w: _num(w.min()),
    "max": lambda w: _num(w.max()),
    "count": lambda w: _num(w.count()),
    "first": _first,
    "last": _last,
    "median": lambda w: _num(w.median()),
    "std": lambda w: _num(w.std()),
    "var": lambda w: _num(w.var()),
    "sem": lambda w: _num(w.sem()),
    "nunique": lambda w: _num(w.nunique()),
    "rms": lambda w: _num(np.sqrt((w**2).mean())),
    "ptp": lambda w: _num(w.max() - w.min()),
    "q90": lambda w: _num(w.quantile(0.9)),
    "skew": lambda w: _num(w.skew()),
    "kurt": lambda w: _num(w.kurt()),
    "slope": _slope,
    "abs_energy": lambda w: _num((w**2).sum()),
    "zero_crossings": _zero_crossings,
    "dominant_frequency": _dominant_frequency,
}
SQUARED = {"var", "abs_energy", "kurt"}  # compared on the square of the data's scale


def p90(v: Values) -> float:
    v = v[~np.isnan(v)]
    return float(np.quantile(v, 0.9)) if len(v) else np.nan


def _late_mean(v: Values, t: Values) -> float:
    """A two-argument callable: the mean of the values in the window's second half."""
    keep = t >= t.max() / 2 if len(t) else t
    return float(np.nanmean(v[keep])) if np.isfinite(v[keep]).any() else np.nan


CALLABLES: dict[str, Callable[..., float]] = {"p90": p90, "late_mean": _late_mean}


def _call_reference(name: str, w: pd.Series, start: int) -> float:
    if not len(w):
        return np.nan
    if name == "p90":
        return p90(w.to_numpy())
    t = (pd.DatetimeIndex(w.index).asi8 - start) / 1e9
    return _late_mean(w.to_numpy(), t)


def sides(placement: dict[str, Any]) -> tuple[Side, Side]:
    """pandas' defaults: right for origin 'end' and 'end_day', else left."""
    ends = placement.get("origin") in ("end", "end_day")
    default = "right" if ends else "left"
    closed = cast(Side, placement.get("closed") or default)
    label = cast(Side, placement.get("label") or default)
    return closed, label


def reference_windows(
    series: pd.Series, window: str, stride: str, placement: dict[str, Any]
) -> list[tuple[int, int]]:
    """(label, start) of every window, as pandas places them."""
    w, s = pd.Timedelta(window).value, pd.Timedelta(stride).value
    closed, label = sides(placement)
    kwargs = {k: v for k, v in placement.items() if v is not None}
    kwargs.pop("closed", None)
    kwargs.pop("label", None)
    bins = series.resample(stride, closed=closed, label="left", **kwargs).count()
    anchor = int(pd.DatetimeIndex(bins.index).asi8[0])
    ns = pd.DatetimeIndex(series.index).asi8
    first, last = int(ns[0]), int(ns[-1])
    # every start on the grid whose window holds a point of [first, last]
    low, high = (first - w + 1, last) if closed == "left" else (first - w, last - 1)
    k = -((anchor - low) // s)
    out = []
    while anchor + k * s <= high:
        start = anchor + k * s
        out.append((start + w if label == "right" else start, start))
        k += 1
    if w == s:  # the windows ARE pandas' bins
        bins = series.resample(window, closed=closed, label=label, **kwargs).count()
        assert [a for a, _ in out] == list(pd.DatetimeIndex(bins.index).asi8)
    return out


def reference(
    series: pd.Series,
    window: str,
    stride: str,
    placement: dict[str, Any],
    funcs: list[str],
    min_points: int,
) -> pd.DataFrame:
    w = pd.Timedelta(window).value
    closed, _ = sides(placement)
    ns = pd.DatetimeIndex(series.index).asi8
    rows = []
    labels = []
    for label, start in reference_windows(series, window, stride, placement):
        if closed == "left":
            mask = (ns >= start) & (ns < start + w)
        else:
            mask = (ns > start) & (ns <= start + w)
        part = series[mask]
        row = {}
        for name in funcs:
            if len(part) < min_points:
                row[name] = np.nan
            elif name in CALLABLES:
                row[name] = _call_reference(name, part, start)
            else:
                row[name] = REFERENCE[name](part)
        rows.append(row)
        labels.append(label)
    frame = pd.DataFrame(rows, index=utc_index(np.array(labels, np.int64), "window"), columns=funcs)
    return frame.astype(float)


def assert_close(got: pd.DataFrame, want: pd.DataFrame, scale: float) -> None:
    assert list(pd.DatetimeIndex(got.index).asi8) == list(pd.DatetimeIndex(want.index).asi8)
    for name in want.columns:
        g = got[name].to_numpy(dtype=float)
        e = want[name].to_numpy(dtype=float)
        if name == "dominant_frequency":
            keep = e != -1.0  # ties
            g, e = g[keep], e[keep]
        atol = 1e-9 * (scale**2 if name in SQUARED else scale)
        if name in ("skew", "kurt"):
            atol = 1e-6  # dimensionless, and ill-conditioned where a window barely varies
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=atol, err_msg=name)
