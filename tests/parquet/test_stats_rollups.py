"""Per-file stats and rollups (issue 19) against pandas on the same rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists

from hfdata.parquet.rollups import build, combine
from hfdata.parquet.stats import FileStats, file_stats

BASE = pd.Timestamp("2026-11-25T23:58:07.25", tz="UTC").value


def frame_of(points: list[tuple[int, float]]) -> tuple[np.ndarray, pa.Array, pd.Series]:
    ns = np.array([BASE + p for p, _ in points], dtype=np.int64)
    values = np.array([v for _, v in points], dtype=np.float64)
    order = np.argsort(ns, kind="stable")
    ns, values = ns[order], values[order]
    s = pd.Series(values, index=pd.DatetimeIndex(ns, tz="UTC"))
    return ns, pa.array(values, from_pandas=False), s


pts = point_lists(grid_offsets(400, 250_000_000), float_values(ties=3), min_size=1, max_size=80)


@settings(max_examples=200, deadline=None)
@given(points=pts)
def test_file_stats_equal_pandas(points: list[tuple[int, float]]) -> None:
    ns, values, s = frame_of(points)
    stats = FileStats.from_json(file_stats(ns, values, "float").to_json())
    valid = s.dropna()
    assert stats.rows == len(s) and stats.count == len(valid)
    assert stats.nan_count == int(s.isna().sum())
    if len(valid):
        assert stats.min == valid.min() and stats.max == valid.max()
        assert stats.sum == np.float64(pa.compute.sum(pa.array(valid.to_numpy())).as_py())
        assert stats.first_valid == [int(pd.DatetimeIndex(valid.index).asi8[0]), valid.iloc[0]]
        assert stats.last_valid == [int(pd.DatetimeIndex(valid.index).asi8[-1]), valid.iloc[-1]]
    assert stats.duplicate_timestamps == int(s.index.duplicated().sum())
    assert stats.conflicting_duplicates == int((s.groupby(level=0).nunique() > 1).sum())
    distinct = np.unique(ns)
    intervals = np.diff(distinct)
    if len(intervals):
        assert stats.median_interval == round(float(np.median(intervals)))
        hist = dict(zip(*np.unique(intervals, return_counts=True), strict=True))
        assert {d: c for d, c in stats.histogram or []} == {int(k): int(v) for k, v in hist.items()}
        floor = 10 * stats.median_interval
        want = [[int(distinct[i]), int(distinct[i + 1])] for i in np.flatnonzero(intervals > floor)]
        assert stats.gaps == want
    # runs of one counted value: the longest in time
    keys = s.to_numpy()
    runs = []
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and not np.isnan(keys[i]) and keys[j + 1] == keys[i]:
            j += 1
        if j > i:
            runs.append((int(ns[j] - ns[i]), int(ns[i]), int(ns[j]), j - i + 1, keys[i]))
        i = j + 1
    got = sorted((r[1] - r[0], r[0], r[1], r[2]) for r in stats.runs)
    assert got == sorted((r[0], r[1], r[2], r[3]) for r in runs)


@settings(max_examples=200, deadline=None)
@given(points=pts, split=st.integers(0, 80), resolution=st.sampled_from([1, 7, 60]))
def test_rollups_build_and_combine_equal_pandas(
    points: list[tuple[int, float]], split: int, resolution: int
) -> None:
    ns, values, s = frame_of(points)
    r = resolution * 1_000_000_000
    split = min(split, len(ns))
    parts = [
        build(ns[:split], values[:split], "float", r),
        build(ns[split:], values[split:], "float", r),
    ]
    got = combine(parts).to_pandas().set_index("bin")
    grouped = s.groupby((pd.DatetimeIndex(s.index).asi8 // r) * r)
    want: dict[str, Any] = {
        "rows": grouped.size(),
        "count": grouped.count(),
        "sum": grouped.sum(),
        "mean": grouped.mean(),
        "min": grouped.min(),
        "max": grouped.max(),
        "first": grouped.first(),
        "last": grouped.last(),
    }
    assert list(got.index.asi8) == list(want["rows"].index)
    for name, series in want.items():
        np.testing.assert_allclose(
            got[name].to_numpy(float), series.to_numpy(float), rtol=1e-12, atol=1e-9, err_msg=name
        )
    var = grouped.var()
    with np.errstate(invalid="ignore", divide="ignore"):
        got_var = got["m2"].to_numpy(float) / (got["count"].to_numpy(float) - 1)
    got_var[got["count"].to_numpy() < 2] = np.nan
    np.testing.assert_allclose(got_var, var.to_numpy(float), rtol=1e-9, atol=1e-3, err_msg="var")
