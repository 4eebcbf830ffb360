"""hfdata.read.resample against pandas itself: bins, every aggregation, asof alignment."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists

from hfdata.errors import InvalidArgument
from hfdata.read.aggregate import OHLC, PANDAS_AGGS, agg_columns, parse_aggs
from hfdata.read.bins import Bins, make_bins, parse_bin_rule, parse_rule, utc_index
from hfdata.read.resample import asof_align, resample_column

AGGS = PANDAS_AGGS

BASE = pd.Timestamp("2026-11-25T21:13:07.5", tz="UTC").value
RULES = ["250ms", "1s", "7s", "1min", "15min", "1h", "1D"]

values = float_values(ties=5)
points = point_lists(grid_offsets(2 * 86_400_000, step_ns=1_000_000), values)
clustered = point_lists(grid_offsets(30), values)  # many duplicates and short gaps


def series_of(pts: list[tuple[int, float]]) -> pd.Series:
    ns = np.array([BASE + p for p, _ in pts], dtype=np.int64)
    v = np.array([x for _, x in pts], dtype=np.float64)
    order = np.argsort(ns, kind="stable")
    return pd.Series(v[order], index=utc_index(ns[order]))


def bins_of(first: int, last: int, rule: str) -> Bins:
    return make_bins(first, last, parse_bin_rule(rule))


def ours(s: pd.Series, rule: str, aggs: tuple[str, ...]) -> pd.DataFrame:
    ns = cast(pd.DatetimeIndex, s.index).as_unit("ns").asi8
    bins = bins_of(int(ns[0]), int(ns[-1]), rule) if len(ns) else bins_of(0, -1, rule)
    cols = resample_column(ns, pa.array(s.to_numpy()), "float", bins, parse_aggs(list(aggs)))
    return pd.DataFrame({k: v.to_numpy(zero_copy_only=False) for k, v in cols.items()}).set_axis(
        utc_index(bins.labels)
    )


def reference(s: pd.Series, rule: str, aggs: tuple[str, ...]) -> pd.DataFrame:
    sampler = s.resample(rule, closed="left", label="left")
    frames: list[pd.DataFrame] = []
    for a in aggs:
        res = getattr(sampler, a)()
        frames.append(res if a == "ohlc" else res.rename(a).to_frame())
    out = pd.concat(frames, axis=1)
    out.columns = agg_columns(parse_aggs(list(aggs)))
    out.index = out.index.rename("timestamp")
    return out


@settings(max_examples=60, deadline=None)
@given(
    pts=st.one_of(points, clustered),
    rule=st.sampled_from(RULES),
    aggs=st.lists(st.sampled_from(AGGS), min_size=1, max_size=3, unique=True),
)
def test_resample_matches_pandas(pts: list[tuple[int, float]], rule: str, aggs: list[str]) -> None:
    s = series_of(pts)
    expected = reference(s, rule, tuple(aggs))
    got = ours(s, rule, tuple(aggs))
    if len(s) == 0:
        assert len(got) == 0
        return
    pd.testing.assert_frame_equal(got, expected, check_freq=False, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("agg", AGGS)
def test_every_agg_with_empty_bins_and_nan(agg: str) -> None:
    s = series_of([(0, 1.0), (0, float("nan")), (3_000_000_000, 2.0), (9_500_000_000, 4.0)])
    got = ours(s, "2s", (agg,))
    pd.testing.assert_frame_equal(got, reference(s, "2s", (agg,)), check_freq=False)
    assert len(got) == 6  # 2 s bins from :06 to :16; three of them are empty


def test_wider_grid_fills_empty_bins_like_pandas() -> None:
    s = series_of([(10_000_000_000, 1.0), (12_000_000_000, 3.0)])
    ns = cast(pd.DatetimeIndex, s.index).as_unit("ns").asi8
    grid = bins_of(BASE, BASE + 30_000_000_000, "5s")
    cols = resample_column(
        ns, pa.array(s.to_numpy()), "float", grid, parse_aggs(["sum", "count", "max"])
    )
    assert cols["count"].to_pylist()[:3] == [0, 0, 2]
    assert cols["sum"].to_pylist()[0] == 0.0
    assert np.isnan(cols["max"].to_numpy(zero_copy_only=False)[0])


def test_int_values_use_pandas_dtypes() -> None:
    ns = np.array([BASE, BASE + 1, BASE + 3_000_000_000], dtype=np.int64)
    grid = bins_of(int(ns[0]), int(ns[-1]), "1s")
    cols = resample_column(
        ns, pa.array([1, 2, 5]), "int", grid, parse_aggs(["sum", "mean", "count"])
    )
    assert cols["sum"].to_pylist() == [3, 0, 0, 5]
    assert cols["sum"].type == pa.int64()
    assert cols["count"].to_pylist() == [2, 0, 0, 1]


def test_non_numeric_agg_is_a_value_error() -> None:
    ns = np.array([BASE], dtype=np.int64)
    grid = bins_of(BASE, BASE, "1s")
    with pytest.raises(InvalidArgument, match="not defined"):
        resample_column(ns, pa.array(["x"]), "string", grid, parse_aggs("mean"))
    cols = resample_column(ns, pa.array(["x"]), "string", grid, parse_aggs(["first", "count"]))
    assert cols["first"].to_pylist() == ["x"]


@pytest.mark.parametrize("bad", ["fortnight", "0s", "-1min", 12])
def test_bad_rule_says_what_is_allowed(bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="1min"):
        parse_rule(bad)


@pytest.mark.parametrize("bad", ["avg", [], ["mean", "mode"], "q101", "q-1", ("quantile", 2)])
def test_bad_agg_says_what_is_allowed(bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="quantile") as err:
        parse_aggs(bad)
    assert err.value.argument == "agg"


def test_repeated_columns_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="repeated columns"):
        parse_aggs(["mean", "mean"])
    with pytest.raises(InvalidArgument, match="repeated columns"):
        parse_aggs(["mean", np.mean])  # np.mean's __name__ is "mean"


def test_agg_columns() -> None:
    assert agg_columns(parse_aggs("mean")) == ["value"]
    assert agg_columns(parse_aggs(["mean"])) == ["value"]
    assert agg_columns(parse_aggs("ohlc")) == list(OHLC)
    assert agg_columns(parse_aggs(["min", "ohlc"])) == ["min", *OHLC]
    assert agg_columns(parse_aggs(["q90", ("quantile", 0.999), "q2.5"])) == [
        "q90",
        "q99.9",
        "q2.5",
    ]
    assert [a.q for a in parse_aggs(["q90", "q99.9", "q0", "q100"])] == [0.9, 0.999, 0.0, 1.0]
    assert agg_columns(parse_aggs(np.mean)) == ["value"]
    assert agg_columns(parse_aggs([np.mean, "max"])) == ["mean", "max"]
    assert agg_columns(parse_aggs({"p90": np.median, "hi": "max"})) == ["p90", "hi"]


@settings(max_examples=40, deadline=None)
@given(a=clustered, b=clustered, tol=st.sampled_from([None, 0, 1_000_000_000, 4_000_000_000]))
def test_asof_matches_merge_asof(
    a: list[tuple[int, float]], b: list[tuple[int, float]], tol: int | None
) -> None:
    sa, sb = series_of(a), series_of(b)
    cols = [
        (cast(pd.DatetimeIndex, s.index).as_unit("ns").asi8, pa.array(s.to_numpy()))
        for s in (sa, sb)
    ]
    grid, arrays = asof_align(cols, tol)
    target = pd.DataFrame({"timestamp": utc_index(grid, None)})
    for name, s in (("a", sa), ("b", sb)):
        right = pd.DataFrame({"timestamp": s.index, name: s.to_numpy()})
        merged = pd.merge_asof(
            target,
            right,
            on="timestamp",
            direction="backward",
            tolerance=None if tol is None else pd.Timedelta(tol, unit="ns"),
        )
        got = arrays[0 if name == "a" else 1].to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(np.asarray(got, dtype=float), merged[name].to_numpy())
    assert list(grid) == sorted(
        set(cast(pd.DatetimeIndex, sa.index).asi8) | set(cast(pd.DatetimeIndex, sb.index).asi8)
    )


@given(st.lists(st.integers(-(2**62), 2**62), max_size=20), st.sampled_from([None, "t"]))
def test_utc_index_equals_the_public_constructor(ns: list[int], name: str | None) -> None:
    array = np.array(ns, dtype=np.int64)
    got = utc_index(array, name=name)
    want = pd.DatetimeIndex(array.view("M8[ns]"), name=name).tz_localize("UTC")
    pd.testing.assert_index_equal(got, want, exact=True)
    assert got.freq is None
    assert got.asi8.tolist() == ns


@settings(max_examples=300)
@given(
    first=st.integers(-(2**61), 2**61),
    span=st.integers(0, 10**15),
    rule=st.sampled_from(
        ["1ns", "7us", "1ms", "250ms", "1s", "7s", "1min", "7min", "15min", "1h", "5h", "25h"]
    ),
)
def test_tick_bin_labels_equal_pandas_own(first: int, span: int, rule: str) -> None:
    offset = parse_rule(rule)
    last = first + span
    if (last - first) // offset.nanos > 100_000:
        return  # pandas would build a huge probe; the arithmetic is the same
    got = bins_of(first, last, rule).labels
    probe = pd.Series([0, 0], index=utc_index(np.array([first, last], dtype=np.int64)))
    want = pd.DatetimeIndex(probe.resample(rule).count().index).as_unit("ns").asi8
    np.testing.assert_array_equal(got, want)
