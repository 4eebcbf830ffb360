"""`Store.asof` against `pandas.merge_asof` and `Store.around` against a per-event slice
and pandas' Series methods, on stores whose points are part compacted (over several
hourly partitions, so a lookback crosses them) and part in the log (arriving out of
order), with duplicates, gaps and NaN; and their bad arguments."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists
from test_twa import reference

import hfdata
from hfdata.parquet import reader
from hfdata.read import lookback, windows

T0 = pd.Timestamp("2024-03-09T21:10:00Z")
STEP = 7 * 60 * 1_000_000_000  # 7 minutes: a few points per hourly partition, and gaps

values = float_values(ties=3)
compacted = point_lists(grid_offsets(40, STEP), values, max_size=30)
in_log = point_lists(grid_offsets(40, STEP), values, max_size=10)
at_offsets = st.lists(st.integers(-5, 90).map(lambda k: k * STEP // 2), min_size=1, max_size=25)
TOLERANCES = [None, "0s", "1min", "7min", "20min", "3h"]
ALL_AGGS = [*windows.NAMED, "q90", ("quantile", 0.25)]


def _times(offsets: list[int]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(T0.value + np.asarray(offsets, dtype=np.int64), tz="UTC")


def _frame(points: list[tuple[int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": _times([p for p, _ in points]), "value": [v for _, v in points]}
    )


def _filled(path: Path, first: list[tuple[int, float]], then: list[tuple[int, float]]) -> Any:
    """A store with `first` compacted (hourly partitions) and `then` in its log."""
    store = hfdata.open_store(path, partition="hour")
    if first:
        store.append_many("x", _frame(first))
        store.compact(include_active=True)
    if then:
        store.append_many("x", _frame(then))
    if not first and not then:
        store.append("x", T0 - pd.Timedelta("30D"), 0.0)  # one far point: the variable exists
    return store


def _reference_points(first: list[tuple[int, float]], then: list[tuple[int, float]]) -> Any:
    """Every point in arrival order, stably sorted by time: what `merge_asof` joins."""
    points = _frame(first + then)
    if not first and not then:
        points = _frame([(-30 * 86_400_000_000_000, 0.0)])
    return points.sort_values("timestamp", kind="stable", ignore_index=True)


def _expected_asof(points: pd.DataFrame, at: pd.DatetimeIndex, **options: Any) -> np.ndarray:
    left = pd.DataFrame({"timestamp": at, "row": np.arange(len(at))})
    left = left.sort_values("timestamp", kind="stable")
    if options.get("tolerance") is not None:
        options["tolerance"] = pd.Timedelta(options["tolerance"])
    joined = pd.merge_asof(left, points, on="timestamp", allow_exact_matches=True, **options)
    return joined.sort_values("row")["value"].to_numpy(dtype=np.float64)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=compacted,
    then=in_log,
    at=at_offsets,
    direction=st.sampled_from(["backward", "forward", "nearest"]),
    tolerance=st.sampled_from(TOLERANCES),
)
def test_asof_matches_merge_asof(
    first: list[tuple[int, float]],
    then: list[tuple[int, float]],
    at: list[int],
    direction: str,
    tolerance: str | None,
) -> None:
    times = _times(at)
    with tempfile.TemporaryDirectory() as tmp:
        store = _filled(Path(tmp) / "s", first, then)
        try:
            got = store.asof("x", times, direction=direction, tolerance=tolerance)
        finally:
            store.close()
    expected = _expected_asof(
        _reference_points(first, then), times, direction=direction, tolerance=tolerance
    )
    assert list(got.index) == list(times)
    np.testing.assert_array_equal(got["value"].to_numpy(dtype=np.float64), expected)


def test_asof_looks_back_across_partitions_reading_only_what_it_needs(
    make_store: Callable[..., hfdata.Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(partition="day")
    days = pd.date_range("2024-01-01", periods=30, freq="D", tz="UTC")
    store.append_many("x", pd.DataFrame({"timestamp": days, "value": np.arange(30.0)}))
    store.compact(include_active=True)
    store.append("x", "2024-03-01T00:00:00Z", 99.0)  # the log tail, after a gap
    decoded: list[tuple[int, int]] = []
    real = reader.read_parquet

    def spy(file: Any, lo: int, last: int, columns: Any) -> Any:
        decoded.append((lo, last))
        return real(file, lo, last, columns)

    monkeypatch.setattr(lookback, "read_parquet", spy)
    at = ["2024-02-20T00:00:00Z", "2024-02-25T12:00:00Z"]
    got = store.asof("x", at)
    assert got["value"].tolist() == [29.0, 29.0]  # 30 days back, in another partition
    assert len(decoded) == 1  # one partition's file looked into, for its last point
    got = store.asof("x", at, direction="forward")
    assert got["value"].tolist() == [99.0, 99.0]  # ahead: the log tail
    got = store.asof("x", ["2023-12-01T00:00:00Z"], direction="nearest")
    assert got["value"].tolist() == [0.0]


def test_asof_of_several_variables_and_kinds_in_every_output(store: hfdata.Store) -> None:
    store.append("f", "2024-01-01T00:00:01Z", 1.5)
    store.append("i", "2024-01-01T00:00:02Z", 7, kind="int")
    store.append("i", "2024-01-01T00:00:04Z", 8, kind="int")
    store.append("s", "2024-01-01T00:00:00Z", "on")
    store.append("b", "2024-01-01T00:00:03Z", True)
    store.append("j", "2024-01-01T00:00:00Z", {"a": [1, 2]})
    store.compact(include_active=True)
    at = pd.Series(
        pd.to_datetime(
            ["2024-01-01T00:00:03.0", "2024-01-01T00:00:01.5"], utc=True, format="ISO8601"
        )
    )
    names = ["f", "i", "s", "b", "j"]
    got = store.asof(names, at)
    assert list(got.columns) == names
    assert got["f"].tolist() == [1.5, 1.5]
    assert got["i"].tolist()[0] == 7 and np.isnan(got["i"].tolist()[1])
    assert got["s"].tolist() == ["on", "on"]
    assert got["b"].tolist()[1] is None and got["b"].tolist()[0] is True
    assert got["j"].tolist() == [{"a": [1, 2]}, {"a": [1, 2]}]
    exact = store.asof("i", ["2024-01-01T00:00:05Z"], output="arrow")
    assert exact.column("value").type == pa.int64() and exact.column("value").to_pylist() == [8]
    frame = store.asof(names, pl.Series(at.to_list()), output="polars")
    assert isinstance(frame, pl.DataFrame) and frame.columns == ["timestamp", *names]
    assert frame["j"].to_list() == ['{"a":[1,2]}'] * 2
    naive = store.asof("f", np.array(["2024-01-01T00:00:01"], dtype="datetime64[ns]"))
    assert naive["value"].tolist() == [1.5]  # naive: the store's zone (UTC by default)


# -- around ----------------------------------------------------------------------------------


def _pandas_agg(window: pd.Series, agg: Any) -> Any:
    if isinstance(agg, tuple):
        return window.quantile(agg[1])
    if agg == "q90":
        return window.quantile(0.9)
    if agg in ("first", "last"):
        present = window.dropna()
        return np.nan if present.empty else present.iloc[0 if agg == "first" else -1]
    if agg == "rms":
        return np.sqrt((window.dropna() ** 2).mean())
    if agg == "ptp":
        return window.max() - window.min()
    return getattr(window, agg)()


def _expected_around(
    points: pd.DataFrame, events: pd.DatetimeIndex, before: str, after: str, aggs: list[Any]
) -> dict[str, np.ndarray]:
    ts = pd.DatetimeIndex(points["timestamp"])
    out: dict[str, list[Any]] = {windows.parse_window_aggs(a)[0].name: [] for a in aggs}
    for t in events:
        inside = (ts >= t - pd.Timedelta(before)) & (ts < t + pd.Timedelta(after))
        window = points["value"][inside].astype(np.float64)
        for a in aggs:
            out[windows.parse_window_aggs(a)[0].name].append(_pandas_agg(window, a))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=compacted,
    then=in_log,
    events=at_offsets,
    before=st.sampled_from(["0s", "5min", "7min", "30min", "2h"]),
    after=st.sampled_from(["0s", "1min", "7min", "45min"]),
    aggs=st.lists(st.sampled_from(ALL_AGGS), min_size=1, max_size=4, unique=True),
    prefix_sums=st.booleans(),
)
def test_around_matches_a_slice_per_event(
    first: list[tuple[int, float]],
    then: list[tuple[int, float]],
    events: list[int],
    before: str,
    after: str,
    aggs: list[Any],
    prefix_sums: bool,
) -> None:
    times = _times(events)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        if prefix_sums:  # the O(rows) path long overlapping windows take
            patch.setattr(windows, "EXACT_FACTOR", -1)
        store = _filled(Path(tmp) / "s", first, then)
        try:
            got = store.around("x", times, before=before, after=after, agg=aggs)
        finally:
            store.close()
    expected = _expected_around(_reference_points(first, then), times, before, after, aggs)
    assert list(got.index) == list(times)
    for name, want in expected.items():
        column = got["value" if len(aggs) == 1 else name].to_numpy(dtype=np.float64)
        close = name not in ("count", "nunique", "min", "max", "first", "last")
        spread = 1e-6 if not prefix_sums else 1e-3  # prefix sums: near-zero spreads inexact
        if close:
            np.testing.assert_allclose(column, want, rtol=1e-9, atol=spread, err_msg=name)
        else:
            np.testing.assert_array_equal(column, want, err_msg=name)


def test_around_prefix_sums_equal_pandas_on_sensor_like_data(
    make_store: Callable[..., hfdata.Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    ts = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 3_600_000_000_000, 20_000)), unit="ns"
    )
    v = 20 + rng.normal(0, 0.5, len(ts))
    store = make_store()
    store.append_many("t", pd.DataFrame({"timestamp": ts, "value": v}))
    events = ts[rng.integers(0, len(ts), 300)]
    aggs = ["mean", "sum", "std", "var", "sem", "rms"]
    monkeypatch.setattr(windows, "EXACT_FACTOR", -1)
    got = store.around("t", events, before="10min", after="10min", agg=aggs)
    points = pd.DataFrame({"timestamp": ts, "value": v})
    expected = _expected_around(points, pd.DatetimeIndex(events), "10min", "10min", aggs)
    for name in aggs:
        np.testing.assert_allclose(got[name].to_numpy(), expected[name], rtol=1e-11)


def test_around_of_several_variables_callables_and_kinds(store: hfdata.Store) -> None:
    for k in range(10):
        store.append("a", pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=k), k)
        store.append(
            "w", pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=k), f"s{k % 3}"
        )
    events = ["2024-01-01T00:00:05Z", "2024-01-01T00:00:01Z", "2024-01-01T00:00:05Z"]
    got = store.around(["a", "w"], events, before="2s", after="2s", agg=["count", "first"])
    assert list(got.columns) == ["a.count", "a.first", "w.count", "w.first"]
    assert got["a.first"].tolist() == [3.0, 0.0, 3.0]
    assert got["w.first"].tolist() == ["s0", "s0", "s0"]
    one = store.around(["a"], events, before="1s", after="1s", agg={"top": np.max})
    assert list(one.columns) == ["a"] and one["a"].tolist() == [5.0, 1.0, 5.0]
    named = store.around("a", events, before="1s", after="1s", agg=[np.median, "q50"])
    assert list(named.columns) == ["median", "q50"]
    assert named["median"].tolist() == named["q50"].tolist() == [4.5, 0.5, 4.5]
    with pytest.raises(hfdata.InvalidArgument, match=r"'mean' needs numbers.*'w' holds string"):
        store.around("w", events, before="1s", after="1s", agg="mean")


# -- bad arguments ---------------------------------------------------------------------------


def test_bad_arguments_are_typed_errors_naming_the_argument(store: hfdata.Store) -> None:
    store.append("x", "2024-01-01T00:00:00Z", 1.0)
    at = ["2024-01-01T00:00:01Z"]
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: store.asof("x", at, direction="sideways"), "direction must be one of"),  # type: ignore[arg-type]
        (lambda: store.asof("x", at, tolerance="-1s"), "tolerance must be a non-negative"),
        (lambda: store.asof("x", at, tolerance="soon"), "tolerance 'soon' is not a duration"),
        (lambda: store.asof("x", []), "at holds no times"),
        (lambda: store.asof("x", "2024-01-01"), "at must be a sequence of times"),
        (lambda: store.asof("x", at, output="excel"), "output must be one of"),  # type: ignore[arg-type]
        (lambda: store.asof([], at), "variables names no variable"),
        (lambda: store.around("x", at, before="-5s", after="1s"), "before must be a non-neg"),
        (lambda: store.around("x", at, before="5s", after="-1s"), "after must be a non-neg"),
        (lambda: store.around("x", [], before="5s", after="1s"), "events holds no times"),
        (lambda: store.around("x", at, before="1s", after="1s", agg="mode"), "agg 'mode' is not"),
        (lambda: store.around("x", at, before="1s", after="1s", max_hold="1s"), "max_hold"),
        (
            lambda: store.around("x", at, before="1s", after="1s", agg=("quantile", 2)),
            r"agg \('quantile', q\) needs 0 <= q <= 1",
        ),
        (
            lambda: store.around("x", at, before="1s", after="1s", agg=["mean", np.mean]),
            "distinct aggregations",
        ),
    ]
    for call, message in cases:
        with pytest.raises(hfdata.InvalidArgument, match=message):
            call()


def test_a_callable_that_raises_names_the_agg_variable_and_event(store: hfdata.Store) -> None:
    store.append("x", "2024-01-01T00:00:00Z", 1.0)

    def broken(values: np.ndarray) -> float:
        raise ZeroDivisionError("no")

    with pytest.raises(hfdata.InvalidArgument, match="agg 'broken' raised ZeroDivisionError") as e:
        store.around("x", ["2024-01-01T00:00:00Z"], before="1s", after="1s", agg=broken)
    assert "'x'" in str(e.value) and "2024-01-01T00:00:00Z" in str(e.value)
    assert isinstance(e.value.__cause__, ZeroDivisionError)


def test_spans_merge_nearby_windows_and_stay_few() -> None:
    lo = np.array([0, 10, 1_000, 10**15], dtype=np.int64)
    assert lookback.spans_around(lo, lo + 5, gap=100) == (
        (0, 15),
        (1_000, 1_005),
        (10**15, 10**15 + 5),
    )
    many = np.arange(0, 10**6, dtype=np.int64) * 10**12  # a million windows over 31 years
    assert len(lookback.spans_around(many, many + 1)) <= lookback.MAX_SPANS + 1


def test_around_of_int_values_is_exact_and_keeps_ints_where_every_window_has_a_point(
    store: hfdata.Store,
) -> None:
    big = 2**60 + 1  # beyond float64's exact integers
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for k, v in enumerate([big, big + 1, None, big + 3]):
        store.append("n", t0 + pd.Timedelta(seconds=k), v, kind="int")
    events = [t0 + pd.Timedelta(seconds=1), t0 + pd.Timedelta(seconds=3)]
    got = store.around(
        "n",
        events,
        before="1s",
        after="1s",
        agg=["sum", "min", "max", "first", "last", "count"],
        output="arrow",
    )
    assert got.column("min").type == pa.int64()
    assert got.column("min").to_pylist() == [big, big + 3]
    assert got.column("max").to_pylist() == [big + 1, big + 3]
    assert got.column("first").to_pylist() == [big, big + 3]
    assert got.column("last").to_pylist() == [big + 1, big + 3]
    assert got.column("count").to_pylist() == [2, 1]
    assert got.column("sum").to_pylist() == [2 * big + 1, big + 3]
    empty = store.around("n", [t0 + pd.Timedelta(seconds=2)], before="0s", after="1s", agg="min")
    assert np.isnan(empty["value"].iloc[0])  # a window with no point: missing


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=compacted,
    then=in_log,
    events=at_offsets,
    before=st.sampled_from(["0s", "5min", "30min", "2h"]),
    after=st.sampled_from(["1min", "7min", "45min"]),
    max_hold=st.sampled_from([None, "3min", "40min"]),
)
def test_around_twa_matches_the_slow_reference(
    first: list[tuple[int, float]],
    then: list[tuple[int, float]],
    events: list[int],
    before: str,
    after: str,
    max_hold: str | None,
) -> None:
    """Each window's time-weighted mean, the value in force at its start from wherever it
    lies (an earlier partition, the log, another span), as `test_twa.reference` walks it."""
    times = _times(events)
    with tempfile.TemporaryDirectory() as tmp:
        store = _filled(Path(tmp) / "s", first, then)
        try:
            got = store.around("x", times, before=before, after=after, agg="twa", max_hold=max_hold)
        finally:
            store.close()
    points = _reference_points(first, then)
    ns = pd.DatetimeIndex(points["timestamp"]).as_unit("ns").asi8.tolist()
    rows = list(zip(ns, points["value"].astype(float).tolist(), strict=True))
    hold = None if max_hold is None else int(pd.Timedelta(max_hold).value)
    want = []
    for t in times.as_unit("ns").asi8.tolist():
        lo, hi = t - int(pd.Timedelta(before).value), t + int(pd.Timedelta(after).value)
        earlier = [r for r in rows if r[0] < lo]
        inside = [r for r in rows if lo <= r[0] < hi]
        want.extend(reference(inside, [lo, hi], earlier[-1] if earlier else None, hold))
    np.testing.assert_allclose(got["value"].to_numpy(np.float64), want, rtol=1e-9, atol=1e-9)


def test_around_ohlc_is_first_max_min_last(store: hfdata.Store) -> None:
    idx = pd.date_range("2026-01-01", periods=50, freq="1s", tz="UTC")
    values = np.sin(np.arange(50.0))
    store.append_many("o", pd.DataFrame({"timestamp": idx, "value": values}))
    events = [idx[30], idx[10]]
    got = store.around("o", events, before="5s", after="5s", agg="ohlc")
    parts = store.around("o", events, before="5s", after="5s", agg=["first", "max", "min", "last"])
    assert list(got.columns) == ["open", "high", "low", "close"]
    np.testing.assert_array_equal(got.to_numpy(), parts.to_numpy())
    assert got["open"].iloc[0] == values[25] and got["close"].iloc[1] == values[14]
    with pytest.raises(hfdata.InvalidArgument, match="ohlc"):
        store.around("o", events, before="5s", after="5s", agg={"bars": "ohlc"})
