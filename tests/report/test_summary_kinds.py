"""Store.summary and coverage on every kind and on edge cases (issue 19)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import hfdata
from hfdata.report.summary import COLUMNS

T0 = pd.Timestamp("2026-04-01T00:00:00", tz="UTC")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def test_every_kind_keeps_its_values(store: hfdata.Store) -> None:
    big = 2**62 + 1  # not a float: an int's min/max/last stay exact
    for i, v in enumerate([big, -5, big - 7]):
        store.append("count", at(i), v, kind="int")
    for i, v in enumerate([True, False, True, True]):
        store.append("flag", at(i), v)
    for i, w in enumerate(["b", "a", "b"]):
        store.append("word", at(i), w)
    store.append("doc", at(0), {"a": 1})
    store.compact(include_active=True)
    store.append("word", at(1), "c")  # a conflict with the Parquet's "a", from the log
    store.append("word", at(5), None)
    frame = store.summary()
    assert list(frame.columns) == list(COLUMNS)
    assert frame.index.name == "variable" and list(frame.index) == ["count", "doc", "flag", "word"]
    count = frame.loc["count"]
    assert (count["min"], count["max"], count["last_value"]) == (-5, big, big - 7)
    assert type(count["max"]) is int
    assert count["mean"] == (2 * big - 12) / 3
    flag = frame.loc["flag"]
    assert (flag["min"], flag["max"], flag["mean"], flag["last_value"]) == (0, 1, 0.75, True)
    word = frame.loc["word"]
    assert (
        word["min"] is None and bool(frame["mean"].isna().loc["word"]) and word["last_value"] == "b"
    )
    assert (word["rows"], word["log_rows"], word["nan_count"]) == (5, 2, 1)
    assert (word["duplicate_timestamps"], word["conflicting_duplicates"]) == (1, 1)
    assert word["median_interval"] == pd.Timedelta(seconds=1)
    assert frame.loc["doc", "last_value"] == '{"a":1}'
    assert frame.loc["doc", "coverage"] == 0.0 and frame.loc["doc", "median_interval"] is pd.NaT
    assert frame["rows"].dtype == np.int64 and frame["first"].dt.tz is not None
    assert store.summary("flag").index.tolist() == ["flag"]  # one name, not its letters


def test_empty_store_and_missing_only(store: hfdata.Store) -> None:
    assert store.summary().empty and list(store.summary().columns) == list(COLUMNS)
    store.append("later", at(0), None)  # no kind yet
    row = store.summary().loc["later"]
    assert row["kind"] is None and row["rows"] == 1 and row["nan_count"] == 1
    assert row["last_value"] is None and bool(store.summary()["mean"].isna().loc["later"])
    assert store.gaps("later").empty


def test_coverage_window_and_freq(store: hfdata.Store) -> None:
    for s in [0, 1, 2, 3, 60, 61, 62, 63]:  # a gap from 3 s to 60 s
        store.append("a", at(s), 1.0)
    store.append("b", at(30), 1.0)
    cov = store.coverage(freq="30s", min_gap="5s")
    assert cov.index.name == "bin" and list(cov.columns) == ["a", "b"]
    assert [t - T0 for t in cov.index] == [pd.Timedelta(seconds=s) for s in (0, 30, 60)]
    np.testing.assert_allclose(cov["a"], [3 / 30, 0.0, 3 / 30])
    np.testing.assert_allclose(cov["b"], [0.0, 0.0, 0.0])  # one instant covers no time
    window = store.coverage(["a"], at(60), at(90), freq="10s", min_gap="5s")
    assert [t - T0 for t in window.index] == [pd.Timedelta(seconds=s) for s in (60, 70, 80)]
    np.testing.assert_allclose(window["a"], [0.3, 0.0, 0.0])
    default = store.coverage("a", freq="1min")  # min_gap: 10x the 1 s median
    np.testing.assert_allclose(default["a"], [3 / 60, 3 / 60])


def test_infinities_as_pandas_gives_them(store: hfdata.Store) -> None:
    """JSON has no infinity: a sidecar written for a file holding one cannot keep its min,
    max or sum, so that file's stats come from its points and the summary is pandas'."""
    cases = {
        "both": [1.0, math.inf, -math.inf, 2.0, math.nan],
        "high": [1.0, math.inf, 3.0],
        "low": [-math.inf, 4.0, math.nan],
        "flat": [math.inf, math.inf],
    }
    for name, values in cases.items():
        for i, v in enumerate(values):
            store.append(name, at(i), v)
    store.compact(include_active=True)
    store.append("high", at(10), 5.0)  # a finite piece in the log after the infinite file
    cases["high"].append(5.0)
    sidecars = sorted((store.root / "parquet" / "_stats").rglob("*.json"))
    assert len(sidecars) == 4  # compaction wrote them: the fallback, not their absence
    frame = store.summary()
    for name, values in cases.items():
        ref = pd.Series(values).dropna()
        with np.errstate(invalid="ignore"):
            mean = float(ref.to_numpy().mean()) if len(ref) else math.nan
        row = frame.loc[name]
        got = float(frame["mean"].loc[name])
        assert (row["min"], row["max"]) == (ref.min(), ref.max()), name
        assert got == mean or (math.isnan(mean) and math.isnan(got)), name
        assert row["last_value"] == ref.iloc[-1], name
    means = frame["mean"].to_dict()
    assert math.isnan(means["both"]) and means["high"] == math.inf


def test_one_instant_covers_no_time(store: hfdata.Store) -> None:
    """A variable whose points share one timestamp has no span: summary's coverage and
    coverage()'s bin agree that it covers none of it (0), NaN only without points."""
    store.append("one", at(30), 1.0)
    for _ in range(3):
        store.append("same", at(30), 2.0)  # duplicates of one instant
    store.append("two", at(0), 1.0)
    store.append("two", at(60), 1.0)
    store.compact(include_active=True)
    store.append("later", at(90), 1.0)  # in the log only
    frame = store.summary()
    for name in ("one", "same", "later"):
        assert frame.loc[name, "coverage"] == 0.0, name
    assert frame.loc["two", "coverage"] == 1.0
    cov = store.coverage(freq="1min")
    for name in ("one", "same", "later"):
        assert (cov[name] == 0.0).all(), name
    # the summary's covered time is the bins' covered time, for every variable
    span = (frame["last"] - frame["first"]).dt.total_seconds()
    covered = cov.sum() * 60
    np.testing.assert_allclose(covered.to_numpy(), (frame["coverage"] * span).to_numpy())


def test_int_mean_past_int64(store: hfdata.Store) -> None:
    """Arrow's int64 sum wraps around; the mean is pandas' (a float sum) all the same."""
    big = [2**62, 2**62 + 3, 2**62, -(2**62), 2**62, 2**62]
    for i, v in enumerate(big[:4]):
        store.append("count", at(i), v, kind="int")
    store.compact(include_active=True)
    for i, v in enumerate(big[4:]):
        store.append("count", at(10 + i), v)  # in the log
    ref = pd.Series(big, dtype="int64")
    assert int(ref.sum()) != sum(big)  # pandas' own int sum wraps too
    frame = store.summary()
    row = frame.loc["count"]
    assert math.isclose(frame["mean"].to_dict()["count"], float(ref.mean()), rel_tol=1e-12)
    assert (row["min"], row["max"]) == (-(2**62), 2**62 + 3)
