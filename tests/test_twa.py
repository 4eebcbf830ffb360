"""`hfdata.read.twa.twa` against a slow reference that walks time point by point."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

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
