"""Hypothesis strategies shared by the test modules: values with NaN and ties, and
timestamps on a grid that yields duplicates and gaps.

Points are `(offset_ns, value)` tuples; each test adds its own base time. A strategy
here keeps the exact domain its tests were written against (the bounds are arguments),
so moving a test onto it never changes what the test draws.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["HALF_SECOND", "Point", "float_values", "grid_offsets", "point_lists"]

HALF_SECOND = 500_000_000
Point = tuple[int, float]


def float_values(ties: int) -> st.SearchStrategy[float]:
    """Finite floats in ±1e6, NaN, and the whole numbers -ties..ties as floats (so equal
    values, which aggregations and dedupe must keep apart by time, are common)."""
    return st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        st.just(float("nan")),
        st.integers(-ties, ties).map(float),
    )


def grid_offsets(steps: int, step_ns: int = HALF_SECOND) -> st.SearchStrategy[int]:
    """Offsets `k * step_ns` for k in 0..steps: few steps give duplicate timestamps,
    many give gaps."""
    return st.integers(0, steps).map(lambda k: k * step_ns)


def point_lists(
    offsets: st.SearchStrategy[int],
    values: st.SearchStrategy[float],
    *,
    min_size: int = 0,
    max_size: int = 40,
) -> st.SearchStrategy[list[Point]]:
    """Lists of `(offset_ns, value)` points in drawn (not time) order."""
    return st.lists(st.tuples(offsets, values), min_size=min_size, max_size=max_size)
