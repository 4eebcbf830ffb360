"""Store.summary, gaps, coverage and quality against pandas on the raw points (issue 19):
random data with gaps, duplicates, NaN, late data, optimize, part compacted and part in
the log; and again with tiny stats limits, so that quantile sketches, truncated gap and
run lists and the fallbacks to points are exercised."""

from __future__ import annotations

import math
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportref import ref_coverage, ref_gaps, ref_runs, ref_spikes, ref_summary, series, series_ns

import hfdata
from hfdata.parquet import stats as stats_module
from hfdata.parquet.stats import FileStats, file_stats
from hfdata.report import pieces as pieces_module

BASE = pd.Timestamp("2026-11-25T22:58:00", tz="UTC").value
SECOND = 1_000_000_000

# offsets in seconds: mostly 1 s steps, with repeats (duplicates) and jumps (gaps)
steps = st.lists(st.sampled_from([0, 1, 1, 1, 1, 2, 30, 900, 4000]), min_size=1, max_size=60)
values = st.sampled_from(
    [0.0, 1.0, 1.0, 2.5, -3.0, math.nan, 1000.0, math.inf, -math.inf, 1.0, 2.5]
)
ints = st.sampled_from([0, 1, 1, 2, -3, None, 1000, 2**40])
Batch = list[tuple[int, Any]]


@st.composite
def scenarios(draw: st.DrawFn, numbers: st.SearchStrategy[Any] = values) -> list[tuple[Batch, str]]:
    """Batches of points, each followed by an action; later batches may go back in time
    (late data)."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 3)) * 3_000 * SECOND
        offsets = np.cumsum(draw(steps)) * SECOND + start
        batch = [(BASE + int(o), draw(numbers)) for o in offsets]
        out.append((batch, draw(st.sampled_from(["compact", "compact", "optimize", "none"]))))
    return out


def fill(
    store: hfdata.Store, scenario: list[tuple[Batch, str]], kind: str = "float"
) -> list[tuple[int, Any]]:
    points: list[tuple[int, Any]] = []
    for batch, action in scenario:
        for ns, v in batch:
            store.append("v", pd.Timestamp(ns, tz="UTC"), v, kind=kind)  # type: ignore[arg-type]
        points.extend(batch)
        if action != "none":
            store.compact(include_active=True)
        if action == "optimize":
            store.optimize()
    store.flush()
    return points


def same(got: Any, want: Any) -> bool:
    if want is None or want is pd.NaT:
        return got is None or got is pd.NaT or (isinstance(got, float) and math.isnan(got))
    if isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12) or (
            math.isnan(want) and math.isnan(got)
        )
    return bool(got == want)


def check_all(
    store: hfdata.Store, points: list[tuple[int, Any]], exact: bool, kind: str = "float"
) -> None:
    s = series(points)
    got_values = store.read("v")["value"].to_numpy(np.float64)  # an int without nulls: int64
    assert got_values.tobytes() == s.to_numpy().tobytes()
    row = store.summary().loc["v"]
    want = ref_summary(s)
    if not exact:  # a sketched median: gaps are counted from the store's own median
        median = row["median_interval"]
        gaps = ref_gaps(s, None if median is pd.NaT else 10 * median.value)
        want["median_interval"] = median
        want["gap_count"] = len(gaps)
        want["longest_gap"] = (
            pd.Timedelta(max(b - a for a, b in gaps), unit="ns") if gaps else pd.NaT
        )
        span = int(series_ns(s)[-1] - series_ns(s)[0])
        want["coverage"] = 1.0 - sum(b - a for a, b in gaps) / span if span else 0.0
    for column, value in want.items():
        assert same(row[column], value), (column, row[column], value)
    assert row["kind"] == kind
    info = store.info("v")
    assert (row["parquet_rows"], row["log_rows"]) == (info.parquet_rows, info.log_rows)
    assert row["parquet_bytes"] == info.parquet_bytes
    assert (row["log_bytes"] > 0) == (info.log_rows > 0)

    # gaps: the default floor, and a given one
    median = row["median_interval"]
    default = None if median is pd.NaT else 10 * median.value
    got = store.gaps("v")
    listed = [(a.value, b.value) for a, b in zip(got["start"], got["end"], strict=True)]
    assert listed == ref_gaps(s, default)
    assert (got["duration"] == got["end"] - got["start"]).all()
    got = store.gaps("v", min_gap="20s")
    every = ref_gaps(s, 20 * SECOND)
    assert [(a.value, b.value) for a, b in zip(got["start"], got["end"], strict=True)] == every
    lo, hi = BASE + 3_000 * SECOND, BASE + 7_000 * SECOND
    got = store.gaps("v", pd.Timestamp(lo, tz="UTC"), pd.Timestamp(hi, tz="UTC"), min_gap="20s")
    assert [(a.value, b.value) for a, b in zip(got["start"], got["end"], strict=True)] == [
        g for g in every if g[1] > lo and g[0] < hi - 1
    ]

    # coverage by 10-minute bins
    cov = store.coverage(freq="10min", min_gap="20s")
    step = 600 * SECOND
    first, last = int(series_ns(s)[0]), int(series_ns(s)[-1])
    edges = list(range(first // step * step, last // step * step + 2 * step, step))
    assert [t.value for t in cov.index] == edges[:-1]
    np.testing.assert_allclose(cov["v"].to_numpy(), ref_coverage(s, every, edges), atol=1e-12)
    # a window cutting bins, gaps and the variable's span: whole bins from start's to end's
    cov = store.coverage(
        "v",
        pd.Timestamp(lo + 7 * SECOND, tz="UTC"),
        pd.Timestamp(hi, tz="UTC"),
        freq="10min",
        min_gap="20s",
    )
    edges = list(range((lo + 7 * SECOND) // step * step, (hi - 1) // step * step + 2 * step, step))
    assert [t.value for t in cov.index] == edges[:-1]
    np.testing.assert_allclose(cov["v"].to_numpy(), ref_coverage(s, every, edges), atol=1e-12)

    # quality: runs, NaN runs and spikes
    found = store.quality(
        stuck_for="2s",
        nan_run="1s",
        spike_z=3.0,
        spike_window=5,
        now=pd.Timestamp(BASE, tz="UTC"),
        max_span="1D",
    )
    for check, want_runs in (
        ("stuck", ref_runs(s, 2 * SECOND, nan=False)),
        ("nan_run", ref_runs(s, 1 * SECOND, nan=True)),
    ):
        rows = found[found["check"] == check]
        assert [(a.value, b.value) for a, b in zip(rows["start"], rows["end"], strict=True)] == [
            (a, b) for a, b, _ in want_runs
        ], check
        phrase = "{:,} missing values" if check == "nan_run" else "repeated by {:,} rows"
        for detail, (_, _, n) in zip(rows["detail"], want_runs, strict=True):
            assert phrase.format(n) in detail
    spikes = found[found["check"] == "spike"]
    assert [t.value for t in spikes["start"]] == ref_spikes(s, 5, 3.0)
    conflicts = found[found["check"] == "conflicting_duplicates"]
    assert len(conflicts) == (1 if want["conflicting_duplicates"] else 0)
    for check, hit in (
        ("far_future", series_ns(s) > BASE + 86_400 * SECOND),
        ("before_1970", series_ns(s) < 0),
    ):
        rows = found[found["check"] == check]
        times = series_ns(s)[hit]
        assert len(rows) == (1 if len(times) else 0), check
        if len(times):
            assert (rows["start"].iloc[0].value, rows["end"].iloc[0].value) == (
                times.min(),
                times.max(),
            )
            assert rows["detail"].iloc[0].startswith(f"{len(times):,} points"), check


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios(), with_sidecars=st.booleans())
def test_reports_equal_pandas(scenario: list[tuple[Batch, str]], with_sidecars: bool) -> None:
    """With the stats sidecars compaction writes, and without (every file computed)."""
    check_exact(scenario, with_sidecars, "float")


def check_exact(scenario: list[tuple[Batch, str]], with_sidecars: bool, kind: str) -> None:
    """Fill an hourly store with `scenario` as `kind` and check every report exactly
    against pandas, from the stats sidecars or (`with_sidecars` False) from every file's
    points."""
    with pytest.MonkeyPatch.context() as mp:
        if not with_sidecars:
            mp.setattr(
                pieces_module,
                "load_stats",
                lambda parts, files: dict.fromkeys((f.rel for f in files), None),
            )
        with (
            tempfile.TemporaryDirectory() as d,
            hfdata.open_store(Path(d) / "s", partition="hour") as store,
        ):
            points = fill(store, scenario, kind)
            check_all(store, points, exact=True, kind=kind)


@settings(max_examples=20, deadline=None)
@given(scenario=scenarios())
def test_reports_with_sketches_and_truncated_lists(scenario: list[tuple[Batch, str]]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stats_module, "EXACT_INTERVALS", 1)
        mp.setattr(stats_module, "QUANTILES", 4)
        mp.setattr(stats_module, "MAX_LISTED", 1)
        with (
            tempfile.TemporaryDirectory() as d,
            hfdata.open_store(Path(d) / "s", partition="hour") as store,
        ):
            points = fill(store, scenario)
            check_all(store, points, exact=False)


@settings(max_examples=20, deadline=None)
@given(scenario=scenarios(ints), with_sidecars=st.booleans())
def test_int_reports_equal_pandas(scenario: list[tuple[Batch, str]], with_sidecars: bool) -> None:
    """An int variable (nulls its missing values): the same answers as pandas' on floats."""
    check_exact(scenario, with_sidecars, "int")


def stored_stats(threshold: int | None) -> Any:
    """A `load_stats` that finds every file's sidecar, as compaction writes it (JSON round
    trip, the store's `gap_threshold`)."""

    def load(parts: Any, files: Any) -> dict[str, FileStats | None]:
        out: dict[str, FileStats | None] = {}
        for f in files:
            table = f.root.parquet_file(f).read(columns=["timestamp", "value"])
            ns = np.asarray(table.column("timestamp").cast("int64").to_numpy())
            values = table.column("value").combine_chunks()
            out[f.rel] = FileStats.from_json(file_stats(ns, values, "float", threshold).to_json())
        return out

    return load


@settings(max_examples=25, deadline=None)
@given(
    scenario=scenarios(),
    threshold=st.sampled_from([None, 1_000, 5 * SECOND, 3_600 * SECOND]),
    tiny=st.booleans(),
)
def test_reports_from_stats_sidecars(
    scenario: list[tuple[Batch, str]], threshold: int | None, tiny: bool
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pieces_module, "load_stats", stored_stats(threshold))
        if tiny:
            mp.setattr(stats_module, "EXACT_INTERVALS", 1)
            mp.setattr(stats_module, "QUANTILES", 4)
            mp.setattr(stats_module, "MAX_LISTED", 1)
        with (
            tempfile.TemporaryDirectory() as d,
            hfdata.open_store(
                Path(d) / "s",
                partition="hour",
                gap_threshold=None
                if threshold is None
                else timedelta(microseconds=threshold // 1000),
            ) as store,
        ):
            points = fill(store, scenario)
            check_all(store, points, exact=not tiny)
