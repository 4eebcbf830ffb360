"""Resample grids of `Store.read`: bounded by `max_rows` (`ResultTooLarge`, counted before
anything is built) and, given both `start` and `end`, covering exactly that window.

Everything is checked against plain pandas: `series.resample(rule).agg(...)` (with the
window's origin), reindexed onto the bins of a series spanning the window.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hfdata
from hfdata.read import query as read_module
from hfdata.read.bins import count_bins, make_bins, parse_bin_rule, parse_rule
from hfdata.tools.cli import main

T0 = pd.Timestamp("2024-03-09T22:00:00Z")
TICKS = ["250ms", "1s", "7s", "30s", "1min", "7min", "1h"]
CALENDAR = ["1D", "2D", "W", "MS", "2MS", "QS", "B"]


def _frame(offsets_s: list[float], values: list[Any]) -> pd.DataFrame:
    ts = pd.DatetimeIndex(
        [T0 + pd.Timedelta(seconds=x) for x in offsets_s], dtype="datetime64[ns, UTC]"
    )
    return pd.DataFrame({"timestamp": ts, "value": values})


# -- max_rows / ResultTooLarge ---------------------------------------------------------------


def _no_grid(*args: Any) -> Any:
    raise AssertionError("a grid was built before its size was checked")


def test_wide_over_a_year_is_refused_before_any_grid_is_built(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append("a", "2020-01-01T00:00:00Z", 1.0)
    store.append("b", "2021-01-01T00:00:00Z", 2.0)
    monkeypatch.setattr(read_module, "make_bins", _no_grid)
    with pytest.raises(hfdata.ResultTooLarge) as err:  # default max_rows: 20,000,000
        store.read(["a", "b"], resample="1s", how="wide")
    message = str(err.value)
    assert "31,622,401 rows" in message  # 366 days of seconds, both ends included
    assert "max_rows=20,000,000" in message
    for way_out in ("start=/end=", "coarser rule", "how='long'", "larger max_rows="):
        assert way_out in message
    assert (err.value.rows, err.value.limit) == (31_622_401, 20_000_000)
    assert isinstance(err.value, MemoryError) and isinstance(err.value, hfdata.HfdataError)
    with pytest.raises(hfdata.ResultTooLarge, match="more than max_rows=1;") as err:
        store.read(["a", "b"], resample="1D", how="wide", max_rows=1)  # 'D' is a calendar rule
    assert err.value.rows >= 367  # above the limit, a calendar rule's count is an upper bound


def test_a_point_dated_2239_is_refused_not_a_52_gib_allocation(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append("x", "2020-01-01T00:00:00Z", 1.0)
    store.append("x", "2239-06-01T00:00:00Z", 2.0)
    monkeypatch.setattr(read_module, "make_bins", _no_grid)
    with pytest.raises(hfdata.ResultTooLarge, match=r"6,9\d\d,\d{3},\d{3} rows") as err:
        store.read("x", resample="1s")
    assert "how='long'" not in str(err.value)  # already long: not offered
    with pytest.raises(hfdata.ResultTooLarge):
        store.read("x", resample="1s", max_rows=10)
    store.append("y", "2020-01-01T00:00:00Z", 1.0)
    store.append("y", "2020-01-01T00:00:05Z", 1.0)
    with pytest.raises(hfdata.ResultTooLarge, match="6 rows, more than max_rows=5"):
        store.read("y", resample="1s", max_rows=5)
    monkeypatch.undo()
    assert len(store.read("y", resample="1s", max_rows=6)) == 6
    assert len(store.read("x", resample="YS")) == 220  # a coarse rule is fine
    assert len(store.read("x", "2020-01-01", "2020-01-02", resample="1s")) == 86_400


def test_long_form_counts_every_variable(store: hfdata.Store) -> None:
    for name in ("p", "q"):
        store.append(name, "2024-01-01T00:00:00Z", 1.0)
        store.append(name, "2024-01-01T00:00:09Z", 1.0)
    assert len(store.read(["p", "q"], resample="1s", max_rows=20)) == 20
    with pytest.raises(hfdata.ResultTooLarge, match="20 rows, more than max_rows=19"):
        store.read(["p", "q"], resample="1s", max_rows=19)
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        store.read("p", resample="1s", max_rows=0)
    with pytest.raises(TypeError, match="max_rows must be an int or None"):
        store.read("p", resample="1s", max_rows=1.5)  # type: ignore[arg-type]
    assert len(store.read("p", max_rows=1)) == 2  # stored points are not made-up rows


rules = st.sampled_from(TICKS + CALENDAR)


@settings(max_examples=200, deadline=None)
@given(
    first=st.integers(-(10**18), 10**18),
    span=st.one_of(st.integers(0, 10**13), st.integers(0, 10**17)),
    rule=rules,
    closed=st.sampled_from([None, "left", "right"]),
    label=st.sampled_from([None, "left", "right"]),
)
def test_count_bins_is_exact_at_the_limit_and_an_upper_bound_above(
    first: int, span: int, rule: str, closed: Any, label: Any
) -> None:
    bin_rule = parse_bin_rule(rule, closed=closed, label=label)
    span = min(span, 200_000 * 86_400_000_000_000 // max(1, 86_400_000_000_000 // _step(rule)))
    exact = len(make_bins(first, first + span, bin_rule))
    assert count_bins(first, first + span, bin_rule, exact) == exact
    assert count_bins(first, first + span, bin_rule, 10**12) == exact
    if exact > 1:
        assert count_bins(first, first + span, bin_rule, exact - 1) >= exact


def _step(rule: str) -> int:
    """About how long one bin of `rule` is, in ns (to keep test grids small)."""
    offset = parse_rule(rule)
    return int(offset.nanos) if isinstance(offset, pd.offsets.Tick) else 86_400_000_000_000


def test_fixed_bins_over_2_to_the_53_ns_keep_the_last_bin() -> None:
    """`np.arange` sized this grid in float64 and lost the bin holding `last`."""
    last = 2**21 * 5_000_000_000
    labels = make_bins(0, last, parse_bin_rule("5s")).labels
    assert len(labels) == 2**21 + 1 == count_bins(0, last, parse_bin_rule("5s"), 10**9)
    assert labels[-1] == last


def _pandas_bins(
    rule: str, start: pd.Timestamp, end: pd.Timestamp, **placement: Any
) -> pd.DatetimeIndex:
    """The window's bins, as pandas makes them for a series spanning `[start, end)`."""
    probe = pd.Series([0, 0], index=pd.DatetimeIndex([start, end - pd.Timedelta(1, "ns")]))
    return pd.DatetimeIndex(probe.resample(rule, **placement).count().index)


def _reference(
    series: pd.Series, rule: str, agg: str, window: tuple[pd.Timestamp, pd.Timestamp] | None
) -> pd.Series:
    """pandas' resample of the points in the window, reindexed onto the window's bins."""
    if window is None:
        return series.resample(rule, closed="left", label="left").agg(agg)
    start, end = window
    inside = series[(series.index >= start) & (series.index < end)]
    origin: Any = "start_day"
    if isinstance(parse_rule(rule), pd.offsets.Tick):
        origin = start.normalize()
    res = inside.resample(rule, closed="left", label="left", origin=origin).agg(agg)
    res = res.reindex(_pandas_bins(rule, start, end))
    if agg in ("count", "sum"):
        res = res.fillna(0).astype(series.dtype if agg == "sum" else np.int64)
    return res


points = st.lists(st.integers(0, 6 * 3600), min_size=0, max_size=30)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pts=points,
    values=st.lists(st.integers(-50, 50), min_size=30, max_size=30),
    rule=st.sampled_from(["1s", "7s", "30s", "1min", "7min", "1h", "1D"]),
    agg=st.sampled_from(["mean", "sum", "count", "min", "max", "first", "last", "std"]),
    window=st.tuples(st.integers(-3 * 3600, 7 * 3600), st.integers(1, 5 * 3600)),
    limit_slack=st.integers(0, 3),
)
def test_a_result_under_the_limit_is_pandas_own(
    pts: list[int],
    values: list[int],
    rule: str,
    agg: str,
    window: tuple[int, int],
    limit_slack: int,
) -> None:
    """With and without a window: equal to pandas, refused only above max_rows."""
    if not pts:  # an empty window is tested on its own below
        return
    frame = _frame([float(p) for p in pts], [float(v) / 4 for v in values[: len(pts)]])
    series = frame.set_index("timestamp")["value"].sort_index(kind="stable")
    start = T0 + pd.Timedelta(seconds=window[0])
    end = start + pd.Timedelta(seconds=window[1])
    with tempfile.TemporaryDirectory() as tmp, hfdata.open_store(tmp) as s:
        s.append_many("v", frame)
        for bounds in (None, (start, end)):
            expected = _reference(series, rule, agg, bounds)
            kwargs: dict[str, Any] = {"resample": rule, "agg": agg}
            if bounds is not None:
                kwargs.update(start=start, end=end)
            got = s.read("v", max_rows=len(expected) + limit_slack, **kwargs)["value"]
            pd.testing.assert_series_equal(
                got, expected, check_names=False, check_freq=False, check_index_type=False
            )
            if len(expected) > 1:
                with pytest.raises(hfdata.ResultTooLarge):
                    s.read("v", max_rows=len(expected) - 1, **kwargs)


def test_cli_names_its_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with hfdata.open_store(tmp_path) as s:
        s.append("a", "2020-01-01T00:00:00Z", 1.0)
        s.append("b", "2021-01-01T00:00:00Z", 2.0)
    argv = [str(tmp_path), "a", "b", "--resample", "1s", "--how", "wide"]
    assert main(["read", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "31,622,401 rows" in err and "--max-rows 20000000" in err
    for flag in ("--start/--end", "--how long", "--max-rows"):
        assert flag in err
    assert main(["read", *argv, "--max-rows", "10", "--start", "2020-01-01"]) == 1
    assert main(["read", *argv, "--start", "2020-06-01", "--end", "2020-06-01T00:00:03Z"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "timestamp,a,b" and len(out) == 4  # three bins of the window, all empty
    assert main(["read", *argv, "--max-rows", "0"]) == 2


# -- a resample with start and end covers the window ---------------------------------------------


def test_30s_count_over_a_3_minute_window_has_6_rows(store: hfdata.Store) -> None:
    store.append_many("w", _frame([65, 70, 95, 130, 175], [1.0, 2.0, 3.0, 4.0, 5.0]))
    got = store.read("w", T0, T0 + pd.Timedelta(minutes=3), resample="30s", agg="count")
    assert got.index.tolist() == [T0 + pd.Timedelta(seconds=30 * i) for i in range(6)]
    assert got["value"].tolist() == [0, 0, 2, 1, 1, 1]
    mean = store.read("w", T0, T0 + pd.Timedelta(minutes=3), resample="30s")["value"]
    assert mean.isna().tolist() == [True, True, False, False, False, False]
    # one bound only: pandas' rule, first to last data bin
    assert len(store.read("w", T0, resample="30s")) == 4
    assert len(store.read("w", end=T0 + pd.Timedelta(minutes=3), resample="30s")) == 4


def test_window_bins_hold_start_and_end_minus_1ns(store: hfdata.Store) -> None:
    store.append_many("w", _frame([100], [1.0]))
    start, end = T0 + pd.Timedelta(seconds=12), T0 + pd.Timedelta(seconds=61)
    got = store.read("w", start, end, resample="30s", agg=["count", "sum"])
    assert got.index.tolist() == [T0, T0 + pd.Timedelta(seconds=30), T0 + pd.Timedelta(seconds=60)]
    assert got["count"].tolist() == [0, 0, 0] and got["sum"].tolist() == [0.0, 0.0, 0.0]


def test_window_in_long_and_wide_form_with_an_empty_variable(store: hfdata.Store) -> None:
    store.append_many("a", _frame([40, 50], [1.0, 3.0]))
    store.append_many("z", _frame([10_000], [9.0]))  # outside the window
    start, end = T0, T0 + pd.Timedelta(minutes=2)
    wide = store.read(["a", "z"], start, end, resample="1min", agg=["mean", "count"], how="wide")
    assert wide.columns.tolist() == ["a.mean", "a.count", "z.mean", "z.count"]
    assert wide["a.mean"].iloc[0] == 2.0
    assert np.isnan(wide["a.mean"].iloc[1]) and wide["a.count"].tolist() == [2, 0]
    assert wide["z.mean"].isna().all() and wide["z.count"].tolist() == [0, 0]
    long = store.read(["a", "z"], start, end, resample="1min", agg="count")
    assert long["variable"].tolist() == ["a", "z", "a", "z"]
    assert long["value"].tolist() == [2, 0, 0, 0]
    with pytest.raises(hfdata.ResultTooLarge):
        store.read(["a", "z"], start, end, resample="1min", max_rows=3)  # 2 bins x 2


@pytest.mark.parametrize(
    ("kind", "values", "agg"),
    [
        ("int", [3, 4, 5], "sum"),
        ("int", [3, 4, 5], "mean"),
        ("bool", [True, False, True], "count"),
        ("string", ["x", "y", "z"], "last"),
        ("string", ["x", "y", "z"], "count"),
    ],
)
def test_window_for_other_kinds_matches_pandas(
    store: hfdata.Store, kind: str, values: list[Any], agg: str
) -> None:
    frame = _frame([200, 210, 400], values)
    store.append_many("k", frame, kind=kind)  # type: ignore[arg-type]
    start, end = T0 + pd.Timedelta(seconds=30), T0 + pd.Timedelta(minutes=10)
    series = frame.set_index("timestamp")["value"]
    expected = _reference(series, "2min", agg, (start, end))
    got = store.read("k", start, end, resample="2min", agg=agg)["value"]
    assert got.index.tolist() == expected.index.tolist()
    assert [None if pd.isna(x) else x for x in got] == [None if pd.isna(x) else x for x in expected]


@pytest.mark.parametrize("rule", ["MS", "2MS", "W", "2D"])
def test_window_of_calendar_rules(store: hfdata.Store, rule: str) -> None:
    """A multiple of a calendar rule steps from the window's first bin, not the data's."""
    store.append_many("c", _frame([86_400 * d for d in (40, 41, 100)], [1.0, 2.0, 4.0]))
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-09-01", tz="UTC")
    left: dict[str, Any] = {"closed": "left", "label": "left"}  # 'W' is right-closed by default
    got = store.read("c", start, end, resample=rule, agg="sum", **left)["value"]
    bins = _pandas_bins(rule, start, end, **left)
    assert got.index.tolist() == bins.tolist()
    assert got.sum() == 7.0 and (got >= 0).all()
    edges = [*bins.as_unit("ns").asi8, 2**62]
    ts = [(T0 + pd.Timedelta(days=d)).value for d in (40, 41, 100)]
    expected = [
        sum(v for t, v in zip(ts, (1.0, 2.0, 4.0), strict=True) if lo <= t < hi)
        for lo, hi in itertools.pairwise(edges)
    ]
    assert got.tolist() == expected


@pytest.mark.parametrize("rule", ["7min", "2MS"])
def test_wide_mean_of_a_later_variable_lands_on_the_common_bins(
    store: hfdata.Store, rule: str
) -> None:
    """pandas' bins for the later variable alone are out of phase with the grid (7 min
    does not divide a day; '2MS' steps from its own first month): its values were lost."""
    store.append_many("a", _frame([0.0], [1.0]))
    store.append_many("b", _frame([86_400 * 40 + 5.0, 86_400 * 40 + 6.0], [2.0, 4.0]))
    wide = store.read(["a", "b"], resample=rule, how="wide")
    assert wide["b"].dropna().tolist() == [3.0]
    ts = T0 + pd.Timedelta(seconds=86_400 * 40 + 5)
    assert wide["b"].dropna().index[0] == wide.index[wide.index <= ts][-1]
