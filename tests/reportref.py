"""The pandas reference for the report stage: every summary column, gap, coverage share
and finding computed from the raw points in `read`'s order."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "is_quality",
    "ref_coverage",
    "ref_gaps",
    "ref_runs",
    "ref_spikes",
    "ref_summary",
    "series",
    "series_ns",
]


def series(points: list[tuple[int, float]]) -> pd.Series:
    """Points (ns, value) in arrival order as `read` orders them: stable by time."""
    ns = np.array([p for p, _ in points], dtype=np.int64)
    values = np.array([v for _, v in points], dtype=np.float64)
    order = np.argsort(ns, kind="stable")
    return pd.Series(values[order], index=pd.DatetimeIndex(ns[order], tz="UTC"))


def series_ns(s: pd.Series) -> np.ndarray:
    """The index as int64 ns."""
    return _ns(s)


def _ns(s: pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(s.index).asi8, dtype=np.int64)


def median_interval(s: pd.Series) -> int | None:
    distinct = np.unique(_ns(s))
    if len(distinct) < 2:
        return None
    return round(float(np.median(np.diff(distinct))))


def ref_gaps(s: pd.Series, min_gap: int | None) -> list[tuple[int, int]]:
    if min_gap is None:
        return []
    distinct = np.unique(_ns(s))
    d = np.diff(distinct)
    return [(int(distinct[i]), int(distinct[i + 1])) for i in np.flatnonzero(d > min_gap)]


def ref_summary(s: pd.Series) -> dict[str, Any]:
    valid = s.dropna()
    with np.errstate(invalid="ignore"):  # inf + -inf: a NaN mean, as pandas says
        mean = valid.mean() if len(valid) else math.nan
    median = median_interval(s)
    gaps = ref_gaps(s, None if median is None else 10 * median)
    first, last = int(_ns(s)[0]), int(_ns(s)[-1])
    inside = sum(b - a for a, b in gaps)
    return {
        "rows": len(s),
        "nan_count": int(s.isna().sum()),
        "first": s.index[0],
        "last": s.index[-1],
        "min": valid.min() if len(valid) else None,
        "max": valid.max() if len(valid) else None,
        "mean": mean,
        "last_value": valid.iloc[-1] if len(valid) else None,
        "duplicate_timestamps": int(s.index.duplicated().sum()),
        "conflicting_duplicates": int((valid.groupby(level=0).nunique() > 1).sum()),
        "median_interval": pd.NaT if median is None else pd.Timedelta(median, unit="ns"),
        "gap_count": len(gaps),
        "longest_gap": pd.Timedelta(max(b - a for a, b in gaps), unit="ns") if gaps else pd.NaT,
        # an instant covers no time (as coverage()'s bins say); pandas' min/max/mean keep
        # infinities (inf + -inf: a NaN mean)
        "coverage": 1.0 - inside / (last - first) if last > first else 0.0,
    }


def ref_coverage(s: pd.Series, gaps: list[tuple[int, int]], edges: list[int]) -> list[float]:
    """Per bin `[edges[i], edges[i+1])`: its share inside `[first, last]` minus gaps."""
    first, last = int(_ns(s)[0]), int(_ns(s)[-1])
    out = []
    for a, b in itertools.pairwise(edges):
        covered = max(0, min(b, last) - max(a, first))
        for g0, g1 in gaps:
            covered -= max(0, min(b, g1) - max(a, g0))
        out.append(covered / (b - a))
    return out


def ref_runs(s: pd.Series, longer: int, *, nan: bool) -> list[tuple[int, int, int]]:
    """(start, end, rows) of runs of one value (or of missing values) over `longer`."""
    ns = _ns(s)
    values = s.to_numpy()
    out = []
    i = 0
    while i < len(values):
        missing = math.isnan(values[i])
        j = i
        if missing == nan:
            while j + 1 < len(values) and (
                math.isnan(values[j + 1]) if nan else values[j + 1] == values[i]
            ):
                j += 1
            if j > i and ns[j] - ns[i] > longer:
                out.append((int(ns[i]), int(ns[j]), j - i + 1))
        i = j + 1
    return out


def ref_spikes(s: pd.Series, window: int, z: float) -> list[int]:
    valid = s.dropna()
    x = pd.Series(valid.to_numpy())
    m = x.rolling(window, center=True, min_periods=1).median()
    r = x - m
    scale = 1.4826 * r.abs().rolling(window, center=True, min_periods=1).median()
    hit = (scale > 0) & (r.abs() / scale > z)
    return [int(t) for t in _ns(valid)[hit.to_numpy()]]


def is_quality(message: str) -> bool:
    """A `verify` warning of Store.quality's checks (stuck values, spikes, NaN runs)."""
    return any(f": {check} from " in message for check in ("stuck", "spike", "nan_run"))
