"""Issue 17's resample options against plain pandas: bin placement (`closed`, `label`,
`origin`, `offset`), every aggregation (named, quantile, callable) and the fills
(`fill`, `limit`), on data with duplicates, gaps, NaN and out-of-order arrivals, part
compacted and part in the log; and the typed errors of bad arguments.

The reference is what a pandas user writes: `series.resample(rule, closed=, label=,
origin=, offset=)`, the aggregation, then `ffill(limit=)` / `bfill` /
`interpolate(method=, limit=)` / `fillna(value, limit=)` on the aggregated frame.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists

import hfdata
from hfdata.errors import AggregationFailed, InvalidArgument
from hfdata.read.aggregate import PANDAS_AGGS
from hfdata.read.bins import make_bins, parse_bin_rule, utc_index
from hfdata.tools.cli import main

BASE = pd.Timestamp("2026-11-25T23:58:07.25", tz="UTC")
TICKS = ["1s", "7s", "1min", "7min", "1h"]
CALENDAR = ["1D", "W", "MS", "ME", "2D", "B"]
ORIGINS: list[Any] = ["start_day", "epoch", "start", "end", "end_day", "2026-11-25T00:00:03.5Z"]
OFFSETS = [None, "3s", "-17min"]
FILLS: list[Any] = [None, "ffill", "bfill", "nearest", "linear", "time", -1.5]
SIDES = [None, "left", "right"]


def _q90(a: npt.NDArray[np.float64]) -> float:
    return float(np.nanquantile(a, 0.9)) if np.isfinite(a).any() else float("nan")


CALLABLES: dict[str, Callable[[npt.NDArray[np.float64]], Any]] = {
    "np.mean": np.mean,  # NaN in, NaN out: the function gets the raw values
    "q90": _q90,
    "len": len,
}
AGG_SPECS: list[Any] = [
    *PANDAS_AGGS,
    "rms",
    "ptp",
    "q90",
    "q2.5",
    ("quantile", 0.5),
    "np.mean",
    "q90-callable",
    "len",
]


def spec_of(name: Any) -> Any:
    """The `agg=` argument a test name stands for."""
    if name == "q90-callable":
        return {"p90": _q90}
    return CALLABLES.get(name, name) if isinstance(name, str) else name


def reference_agg(sampler: Any, series: pd.Series, placement: dict[str, Any], name: Any) -> Any:
    """pandas' result of one aggregation (a Series, or the OHLC frame)."""
    if isinstance(name, tuple):
        return sampler.quantile(name[1])
    if name in PANDAS_AGGS:
        return getattr(sampler, name)()
    if name == "rms":
        return np.sqrt((series**2).resample(**placement).mean())
    if name == "ptp":
        return sampler.max() - sampler.min()
    if name in ("q90", "q2.5"):
        return sampler.quantile(float(name[1:]) / 100)
    func = _q90 if name == "q90-callable" else CALLABLES[name]
    return sampler.apply(lambda x: func(x.to_numpy()) if len(x) else np.nan)


def reference(
    series: pd.Series, placement: dict[str, Any], name: Any, fill: Any, limit: int | None
) -> pd.DataFrame:
    sampler = series.resample(**placement)
    res = reference_agg(sampler, series, placement, name)
    frame = res if isinstance(res, pd.DataFrame) else res.rename("value").to_frame()
    if fill == "ffill":
        frame = frame.ffill(limit=limit)
    elif fill == "bfill":
        frame = frame.bfill(limit=limit)
    elif isinstance(fill, str):
        frame = frame.apply(lambda c: c.interpolate(method=fill, limit=limit))
    elif fill is not None:
        frame = frame.fillna(fill, limit=limit)  # type: ignore[arg-type]
    frame.index = frame.index.rename("timestamp")
    return frame


def placement_of(rule: str, closed: Any, label: Any, origin: Any, offset: Any) -> dict[str, Any]:
    """pandas' resample keywords (origin and offset only for fixed rules, not with 'end')."""
    out: dict[str, Any] = {"rule": rule, "closed": closed, "label": label}
    if rule in TICKS:
        out["origin"] = pd.Timestamp(origin) if origin.startswith("20") else origin
        if not origin.startswith("end"):
            out["offset"] = offset
    return out


def read_kwargs(placement: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(placement)
    kwargs["resample"] = kwargs.pop("rule")
    return kwargs


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = got.astype({c: float for c in got.columns if got[c].dtype == object})
    expected = expected.astype({c: float for c in expected.columns})
    pd.testing.assert_frame_equal(
        got.astype(float),
        expected,
        check_freq=False,
        check_names=False,
        check_index_type=False,
        rtol=1e-9,
        atol=1e-9,
    )


def series_of(points: list[tuple[int, float]]) -> pd.Series:
    """The points in arrival order, stable-sorted by time (as a read orders them)."""
    ns = np.array([BASE.value + p for p, _ in points], dtype=np.int64)
    values = np.array([v for _, v in points], dtype=np.float64)
    order = np.argsort(ns, kind="stable")
    return pd.Series(values[order], index=utc_index(ns[order]))


def fill_store(store: hfdata.Store, points: list[tuple[int, float]], split: int) -> None:
    """The first `split` points compacted, the rest in the log, each in drawn order."""
    frame = pd.DataFrame(
        {
            "timestamp": [BASE + pd.Timedelta(p, "ns") for p, _ in points],
            "value": [v for _, v in points],
        }
    )
    if split:
        store.append_many("x", frame.iloc[:split])
        store.compact(include_active=True)
    if split < len(points):
        store.append_many("x", frame.iloc[split:])


# Offsets in quarter seconds over ~3 days: duplicates (with the small grid), gaps, NaN.
points = st.one_of(
    point_lists(grid_offsets(40, 250_000_000), float_values(ties=3), min_size=1, max_size=30),
    point_lists(
        grid_offsets(3 * 86_400, 1_000_000_000), float_values(ties=3), min_size=1, max_size=30
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    pts=points,
    split=st.floats(0, 1),
    rule=st.sampled_from(TICKS + CALENDAR),
    closed=st.sampled_from(SIDES),
    label=st.sampled_from(SIDES),
    origin=st.sampled_from(ORIGINS),
    offset=st.sampled_from(OFFSETS),
    agg=st.sampled_from(AGG_SPECS),
    fill=st.sampled_from(FILLS),
    limit=st.sampled_from([None, 1, 2]),
)
def test_read_equals_pandas(
    pts: list[tuple[int, float]],
    split: float,
    rule: str,
    closed: Any,
    label: Any,
    origin: str,
    offset: Any,
    agg: Any,
    fill: Any,
    limit: int | None,
) -> None:
    if rule in CALENDAR and (rule.startswith("2D") or rule == "B") and len(pts) > 20:
        rule = "1D"  # keep calendar probes small
    limit = None if fill is None else limit
    placement = placement_of(rule, closed, label, origin, offset)
    expected = reference(series_of(pts), placement, agg, fill, limit)
    with tempfile.TemporaryDirectory() as tmp, hfdata.open_store(tmp) as store:
        fill_store(store, pts, int(split * len(pts)))
        got = store.read("x", agg=spec_of(agg), fill=fill, limit=limit, **read_kwargs(placement))
    if agg == "q90-callable":
        got = got.rename(columns={"p90": "value"})
    assert_same(got, expected)


# -- every combination, on one store ---------------------------------------------------------

FIXED_POINTS: list[tuple[int, float]] = [
    (0, 1.0),
    (0, float("nan")),
    (2_000_000_000, 2.5),
    (2_500_000_000, -1.0),
    (9_000_000_000, 4.0),  # a gap of several bins before it
    (9_000_000_000, 4.0),  # a duplicate
    (31_000_000_000, float("nan")),  # a bin holding only NaN
    (40_000_000_000, 7.0),
    (700_000_000, 3.0),  # out of order: arrives after later points
]


@pytest.fixture(scope="module")
def fixed_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with hfdata.open_store(tmp_path_factory.mktemp("fixed")) as store:
        fill_store(store, FIXED_POINTS, 4)
        yield store


@pytest.mark.parametrize(
    ("closed", "label", "origin", "offset"),
    [
        (c, lab, o, off)
        for c, lab, o, off in itertools.product(SIDES, SIDES, ORIGINS, OFFSETS)
        if not (o.startswith("end") and off is not None)
    ],
)
def test_every_placement_and_fill(
    fixed_store: hfdata.Store, closed: Any, label: Any, origin: str, offset: Any
) -> None:
    series = series_of(FIXED_POINTS)
    placement = placement_of("3s", closed, label, origin, offset)
    for fill, limit in itertools.product(FILLS, [None, 1, 3]):
        if fill is None and limit is not None:
            continue
        for agg in ("mean", "last"):
            expected = reference(series, placement, agg, fill, limit)
            got = fixed_store.read("x", agg=agg, fill=fill, limit=limit, **read_kwargs(placement))
            assert_same(got, expected)


@pytest.mark.parametrize("agg", AGG_SPECS, ids=str)
@pytest.mark.parametrize("rule", ["3s", "ME", "W"])
def test_every_aggregation(fixed_store: hfdata.Store, agg: Any, rule: str) -> None:
    series = series_of(FIXED_POINTS)
    placement = {"rule": rule}
    got = fixed_store.read("x", agg=spec_of(agg), **read_kwargs(placement))
    if agg == "q90-callable":
        got = got.rename(columns={"p90": "value"})
    expected = reference(series, placement, agg, None, None)
    assert_same(got, expected)
    if rule == "3s":
        assert len(got) == 14  # 3 s bins from :06 to :45, the empty ones included


def test_wide_fills_each_column_on_the_common_grid(store: hfdata.Store) -> None:
    fill_store(store, [(0, 1.0), (2_000_000_000, 3.0), (9_000_000_000, 5.0)], 1)
    late = pd.DataFrame({"timestamp": [BASE + pd.Timedelta(seconds=6)], "value": [10.0]})
    store.append_many("y", late)
    wide = store.read(["x", "y"], resample="1s", how="wide", fill="ffill", limit=2)
    x = series_of([(0, 1.0), (2_000_000_000, 3.0), (9_000_000_000, 5.0)])
    grid = x.resample("1s").mean().index
    assert wide.index.equals(grid.rename("timestamp"))
    np.testing.assert_array_equal(wide["x"], x.resample("1s").mean().ffill(limit=2))
    assert wide["y"].isna().tolist() == [True] * 6 + [False] * 3 + [True]
    assert wide["y"].iloc[6:9].tolist() == [10.0, 10.0, 10.0]
    long = store.read(["x", "y"], resample="1s", fill="linear")
    ys = long[long["variable"] == "y"]["value"]
    assert ys.tolist() == [10.0]  # y alone has one bin: nothing to fill
    xs = long[long["variable"] == "x"]["value"]
    np.testing.assert_array_equal(xs, x.resample("1s").mean().interpolate())


def test_agg_np_mean_and_a_dict(store: hfdata.Store) -> None:
    fill_store(store, [(0, 1.0), (1, 3.0), (2_000_000_000, 5.0)], 0)
    got = store.read("x", resample="1s", agg=np.mean)
    assert got.columns.tolist() == ["value"]
    assert got["value"].tolist()[0] == 2.0 and np.isnan(got["value"].iloc[1])
    both = store.read("x", resample="1s", agg=[np.mean, "max", ("quantile", 0.9)])
    assert both.columns.tolist() == ["mean", "max", "q90"]
    named = store.read("x", resample="1s", agg={"p90": lambda a: np.quantile(a, 0.9)})
    assert named.columns.tolist() == ["p90"]
    assert named["p90"].iloc[0] == pytest.approx(2.8)


def test_a_callable_that_raises_names_the_agg_and_the_bin(store: hfdata.Store) -> None:
    fill_store(store, [(0, 1.0), (2_000_000_000, 5.0)], 0)

    def picky(a: npt.NDArray[np.float64]) -> float:
        if a[0] > 2:
            raise ZeroDivisionError("too big")
        return float(a[0])

    with pytest.raises(
        AggregationFailed,
        match=r"agg 'picky' \(column 'value'\) raised ZeroDivisionError: too big on the bin",
    ) as err:
        store.read("x", resample="1s", agg=picky)
    assert err.value.agg == "picky"
    assert err.value.label.startswith("2026-11-25T23:58:09")
    assert isinstance(err.value.__cause__, ZeroDivisionError)
    with pytest.raises(AggregationFailed, match="one value per bin"):
        store.read("x", resample="1s", agg={"twice": lambda a: np.array([a[0], a[0]])})


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"resample": "1s", "fill": "pad"}, "fill"),
        ({"resample": "1s", "fill": True}, "fill"),
        ({"resample": "1s", "limit": 2}, "limit"),
        ({"resample": "1s", "fill": "ffill", "limit": -1}, "limit"),
        ({"resample": "1s", "fill": "ffill", "limit": 0}, "limit"),
        ({"resample": "1s", "fill": "ffill", "limit": 1.5}, "limit"),
        ({"fill": "ffill"}, "fill"),
        ({"closed": "right"}, "closed"),
        ({"offset": "1s"}, "offset"),
        ({"origin": "epoch"}, "origin"),
        ({"resample": "1s", "closed": "middle"}, "closed"),
        ({"resample": "1s", "label": "centre"}, "label"),
        ({"resample": "1s", "origin": "start_dya"}, "origin"),
        ({"resample": "1s", "origin": 5}, "origin"),
        ({"resample": "1s", "offset": "soon"}, "offset"),
        ({"resample": "1s", "origin": "end", "offset": "1s"}, "offset"),
        ({"resample": "MS", "origin": "epoch"}, "origin"),
        ({"resample": "1D", "offset": "2h"}, "offset"),
        ({"resample": "1s", "agg": "mode"}, "agg"),
        ({"resample": "1s", "agg": ("quantile", 1.5)}, "agg"),
        ({"resample": "1s", "agg": "twa", "max_hold": "-1s"}, "max_hold"),
        ({"resample": "1s", "agg": "mean", "max_hold": "1s"}, "max_hold"),
        ({"resample": "fortnightly"}, "resample"),
    ],
)
def test_bad_arguments_are_typed_and_named(
    store: hfdata.Store, kwargs: dict[str, Any], option: str
) -> None:
    store.append("x", BASE, 1.0)
    with pytest.raises(InvalidArgument) as err:
        store.read("x", **kwargs)
    assert err.value.argument == option
    assert option in str(err.value)
    assert isinstance(err.value, ValueError)


def test_interpolating_strings_is_refused(store: hfdata.Store) -> None:
    store.append("s", BASE, "a")
    store.append("s", BASE + pd.Timedelta(seconds=3), "b")
    got = store.read("s", resample="1s", agg="last", fill="ffill")
    assert got["value"].tolist() == ["a", "a", "a", "b"]
    with pytest.raises(InvalidArgument, match="interpolates numbers") as err:
        store.read("s", resample="1s", agg="last", fill="linear")
    assert err.value.argument == "fill"


# -- the bins alone, against pandas' grouping ------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 40), min_size=1, max_size=8),
    scale=st.sampled_from([10**9, 60 * 10**9, 86_400 * 10**9, 30 * 86_400 * 10**9]),
    divisor=st.sampled_from([1, 3]),
    shift=st.integers(-(10**15), 10**15),
    rule=st.sampled_from([*TICKS, "5h", "7us", *CALENDAR, "QE", "YE", "W-MON", "2MS"]),
    closed=st.sampled_from(SIDES),
    label=st.sampled_from(SIDES),
    origin=st.sampled_from(ORIGINS),
    offset=st.sampled_from(OFFSETS),
)
def test_bins_equal_pandas_grouping(
    offsets: list[int],
    scale: int,
    divisor: int,
    shift: int,
    rule: str,
    closed: Any,
    label: Any,
    origin: str,
    offset: Any,
) -> None:
    ns = np.sort(np.array([BASE.value + shift + o * scale // divisor for o in offsets]))
    fixed = parse_bin_rule(rule).fixed
    placement: dict[str, Any] = {"closed": closed, "label": label}
    if fixed:
        placement["origin"] = pd.Timestamp(origin) if origin.startswith("20") else origin
        placement["offset"] = None if origin.startswith("end") else offset
    if fixed and (ns[-1] - ns[0]) // parse_bin_rule(rule).freq.nanos > 200_000:
        return  # a huge pandas reference; the arithmetic is the same
    counts = pd.Series(np.zeros(len(ns)), index=utc_index(ns)).resample(rule, **placement).count()
    bins = make_bins(int(ns[0]), int(ns[-1]), parse_bin_rule(rule, **placement))
    starts, ends = bins.bounds(ns)
    want = cast(pd.DatetimeIndex, counts.index).as_unit("ns").asi8
    np.testing.assert_array_equal(bins.labels, want)
    np.testing.assert_array_equal(ends - starts, counts.to_numpy())
    assert starts[0] == 0 and ends[-1] == len(ns)  # every point in a bin


# -- the command line ------------------------------------------------------------------------


def test_cli_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with hfdata.open_store(tmp_path) as s:
        fill_store(s, [(0, 1.0), (2_000_000_000, 3.0), (9_000_000_000, 5.0)], 1)
    argv = ["read", str(tmp_path), "x", "--resample", "2s"]
    flags = ["--closed", "right", "--label", "right", "--origin", "epoch", "--offset", "1s"]
    assert main([*argv, *flags, "--fill", "ffill", "--limit", "1", "--agg", "mean,q90,ptp"]) == 0
    out = capsys.readouterr().out.splitlines()
    series = series_of([(0, 1.0), (2_000_000_000, 3.0), (9_000_000_000, 5.0)])
    ref = series.resample("2s", closed="right", label="right", origin="epoch", offset="1s")
    expected = ref.mean().ffill(limit=1)
    assert out[0] == "timestamp,mean,q90,ptp"
    assert len(out) == 1 + len(expected)
    assert [float(x.split(",")[1]) if x.split(",")[1] else None for x in out[1:]] == [
        None if np.isnan(v) else v for v in expected
    ]
    assert main([*argv, "--fill", "0"]) == 0
    assert ",0.0" in capsys.readouterr().out
    cases = [
        (["--fill", "pad"], "--fill"),
        (["--limit", "2"], "--limit"),
        (["--origin", "whenever"], "--origin"),
        (["--offset", "soon"], "--offset"),
        (["--agg", "q101"], "--agg"),
    ]
    for extra, flag in cases:
        assert main([*argv, *extra]) == 2
        err = capsys.readouterr().err
        assert flag in err and err.count("\n") == 1, err
    assert main(["read", str(tmp_path), "x", "--fill", "ffill"]) == 2
    assert "--fill" in capsys.readouterr().err
