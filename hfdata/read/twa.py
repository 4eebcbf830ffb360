"""The time-weighted average of a step function over bins (`agg="twa"`).

Definition (docs/decisions.md, "Issue 17: the time-weighted average"). Each point's value
holds from its timestamp until the next point's (step, "last observation carried
forward", as TimescaleDB's `time_weight('LOCF')`); of several points at one timestamp the
last holds (the others hold for no time). With `max_hold`, a value holds at most that
long: past it, until the next point, nothing is known. A missing value (NaN or None)
holds "unknown" until the next point. A bin's value is the integral of the step function
over the bin's known (covered) time divided by that time; a bin with no covered time is
NaN. The value in force at a bin's start comes from the last point before it, which may
lie in an earlier bin, partition or the log (the caller passes it as `carry`). Whether a
bin is closed on the left or the right changes nothing: a single instant has no length.

Computation: every point, every bin edge and every end of a `max_hold` is a breakpoint;
between two breakpoints the step function is constant, so each elementary interval adds
`value * length` (length in exact int64 ns) to its bin's integral and `length` to its
bin's covered time (`numpy.bincount`). No running sum spans bins, so nothing cancels.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["twa"]


def twa(
    ns: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    edges: npt.NDArray[np.int64],
    *,
    carry: tuple[int, float] | None = None,
    max_hold: int | None = None,
) -> npt.NDArray[np.float64]:
    """Time-weighted averages of sorted points over the bins `[edges[k], edges[k + 1])`.

    `ns` (sorted) and `values` are the points; `carry` is the last point before them
    (before `edges[0]` at least), if any; `max_hold` (ns, positive) caps how long a value
    holds. Returns one float per bin (`len(edges) - 1`), NaN where no time is covered.
    """
    bins = len(edges) - 1
    if bins <= 0:
        return np.empty(0, np.float64)
    t = np.asarray(ns, np.int64)
    v = np.asarray(values, np.float64)
    if carry is not None:
        t = np.concatenate(([np.int64(carry[0])], t))
        v = np.concatenate(([np.float64(carry[1])], v))
    if not len(t):
        return np.full(bins, np.nan)
    last = np.append(t[1:] != t[:-1], True)  # of equal timestamps, the last row holds
    t, v = t[last], v[last]
    holds_to = np.append(t[1:], np.iinfo(np.int64).max)
    if max_hold is not None:
        holds_to = np.minimum(holds_to, t + max_hold)
    points = np.concatenate((t, holds_to[holds_to < np.iinfo(np.int64).max], edges))
    cuts = np.unique(points[(points >= edges[0]) & (points <= edges[-1])])
    if len(cuts) < 2:
        return np.full(bins, np.nan)
    left, length = cuts[:-1], np.diff(cuts)
    at = np.searchsorted(t, left, side="right") - 1  # the point in force on [left, next)
    valid = at >= 0
    src = np.where(valid, at, 0)
    covered = valid & (left < holds_to[src]) & ~np.isnan(v[src])
    which = np.searchsorted(edges, left, side="right") - 1
    weight = np.where(covered, length, 0).astype(np.float64)
    integral = np.bincount(which, weights=np.where(covered, v[src], 0.0) * weight, minlength=bins)
    time = np.bincount(which, weights=weight, minlength=bins)
    out = np.full(bins, np.nan)
    np.divide(integral, time, out=out, where=time > 0)
    return out[:bins]
