"""`hfdata.read.twa.twa` against a slow reference that walks time point by point."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hfdata
from hfdata.read.twa import twa


def reference(
    points: list[tuple[int, float]],
    edges: list[int],
    carry: tuple[int, float] | None,
    max_hold: int | None,
) -> list[float]:
    """Per bin: walk each point's holding interval, clip it to the bin, sum value*length."""
    rows = ([carry] if carry else []) + sorted(points, key=lambda p: p[0])  # stable
    held: list[tuple[int, int, float]] = []  # (from, to, value) of each point that holds
    for i, (t, v) in enumerate(rows):
        nxt = rows[i + 1][0] if i + 1 < len(rows) else math.inf
        if nxt == t:
            continue  # an earlier row of an equal timestamp holds for no time
        end = nxt if max_hold is None else min(nxt, t + max_hold)
        if not math.isnan(v):
            held.append((t, end, v))  # type: ignore[arg-type]
    out = []
    for a, b in itertools.pairwise(edges):
        total = 0.0
        time = 0
        for lo, hi, v in held:
            length = min(hi, b) - max(lo, a)
            if length > 0:
                total += v * length
                time += int(length)
        out.append(total / time if time else math.nan)
    return out


values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan))


@settings(max_examples=300, deadline=None)
@given(
    stamps=st.lists(st.integers(0, 200), max_size=25),
    data=st.data(),
    first=st.integers(-20, 150),
    widths=st.lists(st.integers(1, 60), min_size=1, max_size=8),
    carry=st.none() | st.tuples(st.integers(-100, -1), values),
    max_hold=st.none() | st.integers(1, 50),
)
def test_twa_equals_the_reference(
    stamps: list[int],
    data: st.DataObject,
    first: int,
    widths: list[int],
    carry: tuple[int, float] | None,
    max_hold: int | None,
) -> None:
    stamps = sorted(stamps)
    vals = [data.draw(values) for _ in stamps]
    edges = [first, *(first + int(c) for c in np.cumsum(widths))]
    if carry is not None and stamps and carry[0] >= min(stamps):
        carry = None
    got = twa(
        np.array(stamps, np.int64),
        np.array(vals, np.float64),
        np.array(edges, np.int64),
        carry=carry,
        max_hold=max_hold,
    )
    want = reference(list(zip(stamps, vals, strict=True)), edges, carry, max_hold)
    assert len(got) == len(want)
    for g, w in zip(got.tolist(), want, strict=True):
        assert (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-9)


def test_a_value_holds_until_the_next_point() -> None:
    # 1 on [0, 10), 3 on [10, 40): the bin [0, 40) averages (10*1 + 30*3) / 40 = 2.5
    ns = np.array([0, 10], np.int64)
    got = twa(ns, np.array([1.0, 3.0]), np.array([0, 40, 80], np.int64))
    assert got.tolist() == [2.5, 3.0]  # the last value holds on


def test_carry_and_max_hold() -> None:
    edges = np.array([100, 200], np.int64)
    # the value in force at 100 comes from a point at 50, before every bin
    assert twa(np.array([150], np.int64), np.array([4.0]), edges, carry=(50, 2.0)).tolist() == [3.0]
    # held at most 60: 2.0 covers [100, 110), 4.0 covers [150, 200): (10*2 + 50*4) / 60
    got = twa(np.array([150], np.int64), np.array([4.0]), edges, carry=(50, 2.0), max_hold=60)
    assert math.isclose(got[0], 220 / 60)
    # nothing known in a bin: NaN; a NaN value holds "unknown"
    assert math.isnan(twa(np.array([], np.int64), np.array([]), edges)[0])
    nan_then = twa(np.array([100, 150], np.int64), np.array([math.nan, 1.0]), edges)
    assert nan_then.tolist() == [1.0]


# -- through the store: the carry from before `start`, part compacted and part in the log ----

T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00:00Z
SECOND = 1_000_000_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offsets=st.lists(st.integers(0, 7_200), min_size=1, max_size=40),
    data=st.data(),
    window=st.tuples(st.integers(-600, 7_000), st.integers(1, 4_000)),
    rule=st.sampled_from(["7s", "1min", "10min"]),
    max_hold=st.none() | st.integers(1, 900),
    compact_first=st.integers(0, 40),
)
def test_read_twa_equals_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    offsets: list[int],
    data: st.DataObject,
    window: tuple[int, int],
    rule: str,
    max_hold: int | None,
    compact_first: int,
) -> None:
    """Out-of-order arrivals, duplicates, NaN; hour partitions, so the value in force at
    `start` may come from an earlier partition or the log."""
    vals = [data.draw(values) for _ in offsets]
    points = [(T0 + o * SECOND, v) for o, v in zip(offsets, vals, strict=True)]
    root = tmp_path_factory.mktemp("twa")
    with hfdata.open_store(root, partition="hour") as store:
        for i, (ns, v) in enumerate(points):
            store.append("x", pd.Timestamp(ns, tz="UTC"), v)
            if i + 1 == compact_first:
                store.compact(include_active=True)
        start = T0 + window[0] * SECOND
        end = start + window[1] * SECOND
        got = store.read(
            "x",
            pd.Timestamp(start, tz="UTC"),
            pd.Timestamp(end, tz="UTC"),
            resample=rule,
            agg="twa",
            max_hold=None if max_hold is None else pd.Timedelta(seconds=max_hold),
        )
    ordered = sorted(points, key=lambda p: p[0])  # stable: arrival order among equal times
    before = [p for p in ordered if p[0] < start]
    inside = [p for p in ordered if start <= p[0] < end]
    labels = pd.Series([0, 0], index=pd.to_datetime([start, end - 1], utc=True)).resample(rule)
    left = pd.DatetimeIndex(labels.sum().index).as_unit("ns").asi8
    step = int(pd.Timedelta(rule).value)
    edges = [max(min(int(e), end), start) for e in [*left, left[-1] + step]]
    hold = None if max_hold is None else max_hold * SECOND
    want = reference(inside, edges, before[-1] if before else None, hold)
    assert got.index.as_unit("ns").asi8.tolist() == left.tolist()
    for g, w in zip(got["value"].tolist(), want, strict=True):
        assert (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9)


def test_twa_of_strings_and_bad_max_hold_are_typed_errors(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "s") as store:
        store.append("s", pd.Timestamp(T0, tz="UTC"), "on")
        with pytest.raises(hfdata.InvalidArgument, match="twa") as err:
            store.read("s", resample="1s", agg="twa")
        assert err.value.argument == "agg"
        store.append("x", pd.Timestamp(T0, tz="UTC"), 1.0)
        for bad in ("-1s", 0, "soon"):
            with pytest.raises(hfdata.InvalidArgument) as err:
                store.read("x", resample="1s", agg="twa", max_hold=bad)
            assert err.value.argument == "max_hold"


def test_cli_twa_and_max_hold(tmp_path: Path) -> None:
    from cliutil import hfdata_cli

    with hfdata.open_store(tmp_path / "s") as store:
        # 0 on [0 s, 15 s), 10 on [15 s, ...); with --max-hold 2s each holds 2 s only
        store.append("x", pd.Timestamp(T0, tz="UTC"), 0.0)
        store.append("x", pd.Timestamp(T0 + 15 * SECOND, tz="UTC"), 10.0)
    end = pd.Timestamp(T0 + 20 * SECOND, tz="UTC").isoformat()
    args = ("read", tmp_path / "s", "x", "--resample", "20s", "--agg", "twa", "--end", end)
    start = pd.Timestamp(T0, tz="UTC").isoformat()
    held = hfdata_cli(*args, "--start", start)
    assert held.returncode == 0, held.stderr
    assert held.stdout.splitlines()[1].endswith(",2.5")  # (15*0 + 5*10) / 20
    capped = hfdata_cli(*args, "--start", start, "--max-hold", "2s")
    assert capped.stdout.splitlines()[1].endswith(",5.0")  # (2*0 + 2*10) / 4
    bad = hfdata_cli(*args, "--max-hold", "-5s")
    assert bad.returncode == 2 and "--max-hold" in bad.stderr
