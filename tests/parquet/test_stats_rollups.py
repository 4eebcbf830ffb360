"""Per-file stats and rollups (issue 19) against pandas on the same rows."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists

from hfdata.parquet import stats as stats_module
from hfdata.parquet.rollups import build, build_many, combine
from hfdata.parquet.stats import FileStats, IntervalTally, WindowedStats, file_stats

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


COMPOSED_EXACT = ("bin", "rows", "count", "nan_count", "min", "max", "first", "first_ts")
KIND_VALUES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "float": (pa.float64(), float_values(ties=3)),
    "int": (pa.int64(), st.integers(-3, 3)),
    "bool": (pa.bool_(), st.booleans()),
}


def kind_points(kind: str) -> st.SearchStrategy[list[tuple[int, Any]]]:
    """Points of a kind, values None (null) now and then."""
    values = st.one_of(st.none(), KIND_VALUES[kind][1])
    return st.lists(st.tuples(grid_offsets(400, 250_000_000), values), min_size=1, max_size=80)


def sorted_points(kind: str, points: list[tuple[int, Any]]) -> tuple[np.ndarray, pa.Array]:
    order = sorted(range(len(points)), key=lambda i: points[i][0])  # stable
    ns = np.array([BASE + points[i][0] for i in order], dtype=np.int64)
    return ns, pa.array([points[i][1] for i in order], KIND_VALUES[kind][0])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["float", "int", "bool"]))
def test_build_many_composes_coarser_rollups_from_finer(data: st.DataObject, kind: str) -> None:
    """7s from the points (not a multiple of 2s), 14s from 7s, 60s from 2s: every column
    but float sums as from the points, those within 1e-12."""
    ns, values = sorted_points(kind, data.draw(kind_points(kind)))
    seconds = [2, 60, 7, 14]
    many = build_many(ns, values, kind, [s * 1_000_000_000 for s in seconds])  # type: ignore[arg-type]
    for s, got in zip(seconds, many, strict=True):
        want = build(ns, values, kind, s * 1_000_000_000)  # type: ignore[arg-type]
        exact = [*COMPOSED_EXACT, "last", "last_ts"] + ([] if kind == "float" else ["sum"])
        for name in exact:
            assert got.column(name).equals(want.column(name)), (s, name)
        for name in ("sum", "mean", "m2"):
            assert got.column(name).is_null().equals(want.column(name).is_null()), (s, name)
            np.testing.assert_allclose(
                got.column(name).to_numpy(zero_copy_only=False).astype(float),
                want.column(name).to_numpy(zero_copy_only=False).astype(float),
                rtol=1e-12,
                atol=1e-6,
                err_msg=f"{s}s {name}",
            )
        if s == 2:  # the finest: from the points, as build
            assert all(got.column(c).equals(want.column(c)) for c in ("sum", "mean", "m2"))


def runs_of(ns: np.ndarray, keys: list[Any]) -> list[list[Any]]:
    """Every run of one repeated key (None: missing), as [start, end, rows, key]."""
    out: list[list[Any]] = []
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and keys[j + 1] == keys[i]:
            j += 1
        out.append([int(ns[i]), int(ns[j]), j - i + 1, keys[i]])
        i = j + 1
    return out


def run_order(run: list[Any]) -> tuple[int, int, str]:
    """Runs in time order; two runs can start at one duplicated timestamp (True, True,
    then False, False at the next), so the end and the value break ties."""
    return run[0], run[1], repr(run[3])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["int", "bool", "string"]))
def test_file_stats_of_other_kinds_equal_a_reference(data: st.DataObject, kind: str) -> None:
    """int, bool and string files (nulls the missing values) against plain Python."""
    if kind == "string":
        strings = st.one_of(st.none(), st.sampled_from(["a", "b", ""]))
        points = data.draw(
            st.lists(st.tuples(grid_offsets(400, 250_000_000), strings), min_size=1, max_size=80)
        )
        order = sorted(range(len(points)), key=lambda i: points[i][0])
        ns = np.array([BASE + points[i][0] for i in order], dtype=np.int64)
        values = pa.array([points[i][1] for i in order], pa.string())
    else:
        ns, values = sorted_points(kind, data.draw(kind_points(kind)))
    stats = FileStats.from_json(file_stats(ns, values, kind).to_json())  # type: ignore[arg-type]
    raw = values.to_pylist()
    counted = [(int(t), v) for t, v in zip(ns, raw, strict=True) if v is not None]
    assert stats.rows == len(raw) and stats.count == len(counted)
    assert stats.nan_count == len(raw) - len(counted)
    assert stats.first_valid == (list(counted[0]) if counted else None)
    assert stats.last_valid == (list(counted[-1]) if counted else None)
    if kind != "string" and counted:
        plain = [int(v) for _, v in counted]
        assert (stats.min, stats.max, stats.sum) == (min(plain), max(plain), sum(plain))
    groups: dict[int, set[Any]] = {}
    for t, v in counted:
        groups.setdefault(t, set()).add(v)
    assert stats.conflicting_duplicates == sum(len(g) > 1 for g in groups.values())
    assert stats.duplicate_timestamps == len(raw) - len(set(ns.tolist()))
    runs = runs_of(ns, raw)
    values_runs = [r for r in runs if r[3] is not None]
    nan_runs = [[*r[:3], None] for r in runs if r[3] is None]
    longest = sorted((r for r in values_runs if r[2] > 1), key=run_order)
    assert sorted(stats.runs, key=run_order) == longest
    assert sorted(stats.nan_runs, key=run_order) == [r for r in nan_runs if r[2] > 1]
    assert stats.head_run == (runs[0] if runs[0][3] is not None else None)
    assert stats.tail_run == (runs[-1] if runs[-1][3] is not None else None)
    assert stats.nan_head == (nan_runs[0] if runs[0][3] is None else None)
    assert stats.nan_tail == (nan_runs[-1] if runs[-1][3] is None else None)


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    kind=st.sampled_from(["float", "int", "bool"]),
    listed=st.sampled_from([1, 3, 1000]),
    exact=st.sampled_from([2, 4096]),
    threshold=st.sampled_from([None, 0, 600_000_000]),
)
def test_windowed_stats_equal_the_whole_files(
    data: st.DataObject, kind: str, listed: int, exact: int, threshold: int | None
) -> None:
    """A file's stats merged from windows cut anywhere between two timestamps equal
    `file_stats` of all its rows (a float sum within rounding): gaps and runs across
    the cuts joined, the longest of the whole file listed (`MAX_LISTED` small: cut
    lists), the interval histogram or sketch (`EXACT_INTERVALS` small) exact."""
    ns, values = sorted_points(kind, data.draw(kind_points(kind)))
    changes = np.flatnonzero(np.diff(ns) != 0) + 1
    cuts = (
        data.draw(st.lists(st.sampled_from(changes.tolist()), unique=True)) if len(changes) else []
    )
    edges = [0, *sorted(cuts), len(ns)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats_module, "MAX_LISTED", listed)
        patch.setattr(stats_module, "EXACT_INTERVALS", exact)
        want = file_stats(ns, values, kind, threshold)  # type: ignore[arg-type]
        tally = IntervalTally()
        for a, b in itertools.pairwise(edges):
            tally.add(ns[a:b])
        windowed = WindowedStats(kind, tally.gap_floor(threshold))  # type: ignore[arg-type]
        for a, b in itertools.pairwise(edges):
            windowed.add(ns[a:b], values[a:b])
        got = windowed.result()
    assert dataclasses.replace(got, sum=want.sum) == want
    if want.sum is None or kind != "float":
        assert got.sum == want.sum
    else:
        assert got.sum == pytest.approx(want.sum, rel=1e-12, abs=1e-6)
