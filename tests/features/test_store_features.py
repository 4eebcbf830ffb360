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
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest
from featureref import CALLABLES, REFERENCE, assert_close, p90, reference
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets, point_lists

import hfdata
from hfdata.errors import AggregationFailed, InvalidArgument, ResultTooLarge, VariableNotFound
from hfdata.features import run as features_run
from hfdata.read import lookback
from hfdata.read.bins import utc_index

BASE = pd.Timestamp("2026-11-25T22:58:07.25", tz="UTC")
NS = 1_000_000_000

Values = npt.NDArray[np.float64]


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
        "p90": p90,
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


def test_workers_see_the_versions_of_as_of(tmp_path: Path) -> None:
    """With a variable for every worker, the workers plan (look up the spans) and compute
    from the versions a reader at `as_of` sees: points appended after `as_of` (one earlier
    than all, which would move the grid's start) and a later deletion count for neither."""
    minute = pd.date_range(BASE, periods=240, freq="1s", tz="UTC")
    with hfdata.open_store(tmp_path / "s") as store:
        for name, scale in (("x", 1.0), ("y", 2.0)):
            values = np.arange(len(minute), dtype=np.float64) * scale
            store.append_many(name, pd.DataFrame({"value": values}, index=minute))
        store.compact(include_active=True)
        as_of = pd.Timestamp(time.time_ns(), tz="UTC")
        for name in ("x", "y"):
            store.append(name, BASE - pd.Timedelta("5min"), 1e6)  # earlier than all
            store.append(name, BASE + pd.Timedelta("30s"), -1e6)  # a correction
        store.delete("x", BASE, BASE + pd.Timedelta("2min"))
        for how in ("long", "wide"):
            kwargs: dict[str, Any] = {"window": "1min", "funcs": ["count", "max"], "how": how}
            one = store.features(["x", "y"], workers=1, as_of=as_of, **kwargs)
            two = store.features(["x", "y"], workers=2, as_of=as_of, **kwargs)
            pd.testing.assert_frame_equal(one, two)
            now = store.features(["x", "y"], workers=2, **kwargs)
            assert min(one.index) == BASE.floor("1min") > min(now.index)
        long = store.features(["x", "y"], workers=2, as_of=as_of, window="1min", funcs="max")
    x = long[long["variable"] == "x"]["max"]
    want = pd.Series(np.arange(len(minute), dtype=np.float64), index=minute)
    assert x.tolist() == want.resample("1min").max().tolist()


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
        for workers in (1, 2):  # two: the workers look up the variables, and say the same
            with pytest.raises(InvalidArgument, match="holds string values") as info:
                store.features(["x", "status"], window="10s", workers=workers)
            assert info.value.argument == "variables"
            with pytest.raises(VariableNotFound):
                store.features(["x", "nope"], window="10s", workers=workers)
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
