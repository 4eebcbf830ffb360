"""`Store.features` (issue 18) against plain pandas, end to end through the store.

The reference is what a pandas user writes: the variable read back as a Series (points
sorted by time, duplicates kept), each window's points selected by its bounds, and the
feature computed on them with pandas or numpy. Windows come from pandas too: with
`stride == window` they are `Series.resample(window, closed=, label=, origin=,
offset=)`'s bins; with another stride, starts on the grid of `resample(stride)`'s bin
edges, every window that holds a point. Data has duplicates, gaps, NaN and
out-of-order arrivals, part compacted and part in the log, in an hourly-partitioned
store, so windows cross partition boundaries.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists

import hfdata
from hfdata.errors import AggregationFailed, InvalidArgument, ResultTooLarge, VariableNotFound
from hfdata.features import run as features_run
from hfdata.read import lookback
from hfdata.read.bins import Side, utc_index

BASE = pd.Timestamp("2026-11-25T22:58:07.25", tz="UTC")
NS = 1_000_000_000

Values = npt.NDArray[np.float64]


# -- the reference -----------------------------------------------------------------------------


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


def _p90(v: Values) -> float:
    v = v[~np.isnan(v)]
    return float(np.quantile(v, 0.9)) if len(v) else np.nan


def _late_mean(v: Values, t: Values) -> float:
    """A two-argument callable: the mean of the values in the window's second half."""
    keep = t >= t.max() / 2 if len(t) else t
    return float(np.nanmean(v[keep])) if np.isfinite(v[keep]).any() else np.nan


CALLABLES: dict[str, Callable[..., float]] = {"p90": _p90, "late_mean": _late_mean}


def _call_reference(name: str, w: pd.Series, start: int) -> float:
    if not len(w):
        return np.nan
    if name == "p90":
        return _p90(w.to_numpy())
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


# -- the store ---------------------------------------------------------------------------------


def series_of(points: list[tuple[int, float]]) -> pd.Series:
    ns = np.array([BASE.value + p for p, _ in points], dtype=np.int64)
    values = np.array([v for _, v in points], dtype=np.float64)
    order = np.argsort(ns, kind="stable")
    return pd.Series(values[order], index=utc_index(ns[order]))


def fill_store(store: hfdata.Store, name: str, points: list[tuple[int, float]], split: int) -> None:
    """The first `split` points compacted, the rest in the log, each in drawn order."""
    frame = pd.DataFrame(
        {
            "timestamp": [BASE + pd.Timedelta(p, "ns") for p, _ in points],
            "value": [v for _, v in points],
        }
    )
    if split:
        store.append_many(name, frame.iloc[:split])
        store.compact(include_active=True, progress=False)
    if split < len(points):
        store.append_many(name, frame.iloc[split:])


# quarter seconds over 40 s (duplicates), or seconds over ~3 hours (gaps, partitions)
points = st.one_of(
    point_lists(grid_offsets(160, 250_000_000), float_values(ties=3), min_size=1, max_size=60),
    point_lists(
        grid_offsets(3 * 3600, 1_000_000_000), float_values(ties=3), min_size=1, max_size=60
    ),
)
SHAPES = [
    ("10s", "10s"),
    ("10s", "5s"),
    ("7s", "3s"),
    ("3s", "7s"),
    ("1min", "1min"),
    ("90s", "30s"),
]
PLACEMENTS: list[dict[str, Any]] = [
    {},
    {"closed": "right"},
    {"closed": "right", "label": "right"},
    {"label": "right"},
    {"origin": "epoch"},
    {"origin": "start"},
    {"origin": "end"},
    {"origin": "start_day", "offset": "2s"},
    {"origin": pd.Timestamp("2026-11-25T00:00:03.5Z"), "offset": "-17s", "closed": "right"},
]
ALL = list(REFERENCE)


@settings(max_examples=150, deadline=None)
@given(
    pts=points,
    split=st.floats(0, 1),
    shape=st.sampled_from(SHAPES),
    placement=st.sampled_from(PLACEMENTS),
    funcs=st.lists(st.sampled_from([*ALL, *CALLABLES]), min_size=1, max_size=6, unique=True),
    min_points=st.sampled_from([0, 1, 3]),
)
def test_features_equal_pandas(
    pts: list[tuple[int, float]],
    split: float,
    shape: tuple[str, str],
    placement: dict[str, Any],
    funcs: list[str],
    min_points: int,
) -> None:
    window, stride = shape
    if placement.get("origin") == "end" and window != stride:
        placement = {}
    series = series_of(pts)
    want = reference(series, window, stride, placement, funcs, min_points)
    spec = {name: CALLABLES.get(name, name) for name in funcs}
    with tempfile.TemporaryDirectory() as tmp, hfdata.open_store(tmp, partition="hour") as store:
        fill_store(store, "x", pts, int(split * len(pts)))
        got = store.features(
            "x",
            window=window,
            stride=stride,
            funcs=spec,
            min_points=min_points,
            workers=1,
            **placement,
        )
    assert (got["variable"] == "x").all()
    scale = max(1.0, float(np.nanmax(np.abs(series.to_numpy()), initial=0.0)))
    assert_close(got.drop(columns="variable"), want, scale)


# -- a fixed store: twa, start/end, wide, workers, to= --------------------------------------------

FIXED: list[tuple[int, float]] = [
    (k * 250_000_000, float(np.sin(k * 0.7) * 10 + (k % 5)))
    for k in range(0, 4 * 3600 * 3, 3)  # 3 hours at 0.75 s, crossing hour partitions
] + [(1_000_000_000, np.nan), (3_000_000_000, 4.0), (7_200_000_000_000, 2.5)]  # NaN, dups


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.Series]:
    root = tmp_path_factory.mktemp("fixed")
    with hfdata.open_store(root, partition="hour") as store:
        fill_store(store, "x", FIXED, len(FIXED) * 2 // 3)
        y = [(p + 100_000_000, v * 2) for p, v in FIXED[::2]]
        fill_store(store, "y", y, len(y) // 2)
    return root, series_of(FIXED)


def test_twa_equals_read(fixed: tuple[Path, pd.Series]) -> None:
    root, _ = fixed
    start, end = BASE + pd.Timedelta("17min"), BASE + pd.Timedelta("2h")
    with hfdata.open_store(root) as store:
        for kwargs in ({}, {"start": start, "end": end}, {"max_hold": "2s"}):
            got = store.features("x", window="1min", funcs="twa", workers=1, **kwargs)
            want = store.read("x", resample="1min", agg="twa", **kwargs)
            np.testing.assert_allclose(got["twa"], want["value"], rtol=1e-12)
            assert list(got.index) == list(want.index)
        # overlapping windows: each the twa of its own span, as a one-bin read gives
        got = store.features("x", start=start, end=end, window="2min", stride="1min", funcs="twa")
        for label, value in got["twa"].items():
            a, b = max(label, start), min(label + pd.Timedelta("2min"), end)
            bins = store.read("x", a, b, resample="2min", agg="twa", origin=a)
            assert value == pytest.approx(bins["value"].iloc[0], rel=1e-12)


def test_start_end_wide_and_outputs(fixed: tuple[Path, pd.Series]) -> None:
    root, series = fixed
    start, end = BASE + pd.Timedelta("30min"), BASE + pd.Timedelta("95min")
    funcs = ["mean", "std", "zero_crossings", "slope"]
    with hfdata.open_store(root) as store:
        long = store.features(["x", "y"], start, end, window="30s", stride="10s", funcs=funcs)
        wide = store.features(
            ["x", "y"], start, end, window="30s", stride="10s", funcs=funcs, how="wide"
        )
        y = store.read("y", start, end)["value"]
        arrow = store.features("x", start, end, window="30s", funcs=funcs, output="arrow")
        polars = store.features("x", start, end, window="30s", funcs=funcs, output="polars")
    part = series[(series.index >= start) & (series.index < end)]
    want = reference(part, "30s", "10s", {}, funcs, 1)
    assert_close(long[long["variable"] == "x"].drop(columns="variable"), want, 20.0)
    assert list(long["variable"].unique()) == ["x", "y"]
    # wide: one grid over both variables; each column equals the long result's windows
    assert list(wide.columns) == [f"{v}__{f}" for v in ("x", "y") for f in funcs]
    want_y = reference(y, "30s", "10s", {}, funcs, 1)
    wide_y = wide[[f"y__{f}" for f in funcs]].rename(columns=lambda c: c[3:])
    assert_close(wide_y.loc[want_y.index], want_y, 40.0)
    assert wide_y.drop(want_y.index).isna().all().all()  # the grid's other windows: no y
    assert isinstance(arrow, pa.Table) and arrow.column_names[:2] == ["window", "variable"]
    assert polars.columns[:2] == ["window", "variable"]
    assert arrow.num_rows == polars.height


def test_workers_give_identical_frames(fixed: tuple[Path, pd.Series]) -> None:
    root, _ = fixed
    funcs = {
        "mean": "mean",
        "dominant_frequency": "dominant_frequency",
        "p90": _p90,
        "late": lambda v, t: float(np.nansum(v * t)),
    }
    with hfdata.open_store(root) as store:
        for how in ("long", "wide"):
            one = store.features(
                ["x", "y"], window="20s", stride="5s", funcs=funcs, how=how, workers=1
            )
            two = store.features(
                ["x", "y"], window="20s", stride="5s", funcs=funcs, how=how, workers=2
            )
            pd.testing.assert_frame_equal(one, two)
            assert len(one) > 0


def test_to_reads_back_equal(fixed: tuple[Path, pd.Series], tmp_path: Path) -> None:
    root, _ = fixed
    funcs = ["mean", "rms", "ptp", "skew"]
    with hfdata.open_store(root) as store:
        for how in ("long", "wide"):
            frame = store.features(["x", "y"], window="45s", funcs=funcs, how=how)
            for target in (tmp_path / f"{how}-dir", tmp_path / f"{how}.parquet"):
                written = store.features(
                    ["x", "y"], window="45s", funcs=funcs, how=how, to=target, workers=2
                )
                assert written.rows == len(frame) and written.path == str(target)
                assert written.variables == ("x", "y") and written.features == tuple(funcs)
                back = pd.read_parquet(target)
                if "variable" in back:
                    back["variable"] = back["variable"].astype(str)
                    back = back.sort_values(["variable", "window"], kind="stable")
                back = back.set_index("window")[list(frame.columns)]
                pd.testing.assert_frame_equal(
                    back, frame, check_index_type=False, check_dtype=False
                )
            assert written.files == 1
            assert len(list((tmp_path / f"{how}-dir").rglob("*.parquet"))) >= 3  # hourly
        with pytest.raises(InvalidArgument, match="never overwrite") as info:
            store.features("x", window="45s", to=tmp_path / "long.parquet")
        assert info.value.argument == "to"


def test_each_task_reads_one_partition_and_the_overlap(
    fixed: tuple[Path, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory is bounded by a partition: every span read is at most an hour (the
    store's partition) plus one window."""
    root, _ = fixed
    spans: list[tuple[int, int]] = []
    real = lookback.load_reach

    def recording(*args: Any, **kwargs: Any) -> Any:
        spans.extend(args[4].spans)
        return real(*args, **kwargs)

    monkeypatch.setattr(features_run, "load_reach", recording)
    with hfdata.open_store(root) as store:
        got = store.features("x", window="2min", stride="30s", funcs="mean", workers=1)
    tasks = [(a, b) for a, b in spans if b > a]
    assert len(tasks) >= 3
    assert max(b - a for a, b in tasks) <= 3600 * NS + 120 * NS
    assert len(got) > 3 * 120


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument", "words"),
    [
        ({"funcs": "avg"}, "funcs", "not a feature"),
        ({"funcs": ["mean", "mean"]}, "funcs", "distinct"),
        ({"funcs": {"a": "nope"}}, "funcs", "not a feature"),
        ({"funcs": lambda v: 1.0}, "funcs", "needs a column name"),
        ({"funcs": {"f": lambda a, b, c: 1}}, "funcs", "values, seconds"),
        ({"window": "0s"}, "window", "positive"),
        ({"window": "ME"}, "window", "calendar"),
        ({"window": "soon"}, "window", "not a duration"),
        ({"window": "10s", "stride": "2h"}, "stride", "partition"),
        ({"window": "2h"}, "window", "partition"),
        ({"how": "tall"}, "how", "long"),
        ({"output": "excel"}, "output", "pandas"),
        ({"workers": 0}, "workers", "at least 1"),
        ({"min_points": -1}, "min_points", "0 or more"),
        ({"closed": "middle"}, "closed", "side"),
        ({"max_hold": "1s"}, "max_hold", "twa"),
        ({"to": 3}, "to", "directory"),
    ],
)
def test_bad_arguments_name_them(
    fixed: tuple[Path, pd.Series], kwargs: dict[str, Any], argument: str, words: str
) -> None:
    root, _ = fixed
    kwargs = {"window": "10s", **kwargs}
    with hfdata.open_store(root) as store, pytest.raises(InvalidArgument, match=words) as info:
        store.features("x", **kwargs)
    assert info.value.argument == argument


def test_a_raising_callable_names_itself_the_variable_and_the_window(
    fixed: tuple[Path, pd.Series],
) -> None:
    root, _ = fixed

    def boom(v: Values) -> float:
        if len(v) > 50:
            raise ZeroDivisionError("too many")
        return 0.0

    with hfdata.open_store(root) as store:
        for workers in (1, 2):
            with pytest.raises(AggregationFailed, match=r"'boom' raised ZeroDivisionError") as info:
                store.features("x", window="1min", funcs=boom, workers=workers)
            assert "'x'" in str(info.value) and "window labelled 2026-11-25" in str(info.value)
            assert info.value.agg == "boom" and info.value.label.startswith("2026-11-25")


def test_other_refusals(fixed: tuple[Path, pd.Series], monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = fixed
    with hfdata.open_store(root) as store:
        store.append("status", BASE, "ok")
        with pytest.raises(InvalidArgument, match="holds string values") as info:
            store.features(["x", "status"], window="10s")
        assert info.value.argument == "variables"
        with pytest.raises(VariableNotFound):
            store.features("nope", window="10s")
        with pytest.raises(InvalidArgument, match="one number per window"):
            store.features("x", window="10s", funcs={"pair": lambda v: (1, 2)})
        monkeypatch.setattr(features_run, "MAX_ROWS", 100)
        with pytest.raises(ResultTooLarge, match="to="):
            store.features("x", window="10s")
        assert (
            store.features("x", window="10s", start=BASE, end=BASE + pd.Timedelta("5min"))["mean"]
            .notna()
            .all()
        )


def test_empty_range_gives_an_empty_frame(fixed: tuple[Path, pd.Series]) -> None:
    root, _ = fixed
    with hfdata.open_store(root) as store:
        long = store.features("x", "2030-01-01", "2030-01-02", window="10s")
        wide = store.features(["x", "y"], "2030-01-01", "2030-01-02", window="10s", how="wide")
    assert long.empty and list(long.columns) == ["variable", "mean", "std", "min", "max"]
    assert wide.empty and len(wide.columns) == 8
