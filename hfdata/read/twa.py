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

Computation, in one pass over the points without sorting or masking: each point's
holding interval is clipped to the bins and split into the part in its first bin and
the part in its last (the same bin for most), each adding `value * length` (length in
exact int64 ns) to its bin's integral and `length` to its covered time
(`numpy.bincount`); a bin lying wholly inside one long interval takes that value times
its width (found per bin by binary search: intervals do not overlap, so at most one
covers a bin). No running sum spans bins, so nothing cancels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.errors import InvalidArgument

__all__ = ["max_hold_ns", "twa"]


def max_hold_ns(max_hold: Any, with_twa: bool) -> int | None:
    """`max_hold` (a timedelta or a pandas rule such as '5s') in positive ns, or None;
    an `InvalidArgument` naming it when it is not one, or is given without `twa`."""
    if max_hold is None:
        return None
    if not with_twa:
        raise InvalidArgument(
            "max_hold applies to agg='twa' only (how long a value holds); drop it or add "
            "'twa' to agg",
            argument="max_hold",
        )
    try:
        ns = int(pd.Timedelta(max_hold).value)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"max_hold={max_hold!r} is not a duration; give a timedelta or a rule such as '5s'",
            argument="max_hold",
        ) from exc
    if ns <= 0:
        raise InvalidArgument(f"max_hold={max_hold!r} must be positive", argument="max_hold")
    return ns


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
    edges = np.asarray(edges, np.int64)
    t = np.asarray(ns, np.int64)
    v = np.asarray(values, np.float64)
    if carry is not None:
        t = np.concatenate(([np.int64(carry[0])], t))
        v = np.concatenate(([np.float64(carry[1])], v))
    if not len(t):
        return np.full(bins, np.nan)
    last = np.append(t[1:] != t[:-1], True)  # of equal timestamps, the last row holds
    if not last.all():
        t, v = t[last], v[last]
    until = np.empty_like(t)  # each value holds until the next point; the last to the end
    until[:-1] = t[1:]
    until[-1] = max(int(t[-1]), int(edges[-1]))
    if max_hold is not None:
        until = np.minimum(until, t + max_hold)
    # clip to the bins only where needed (a read's bins cover its points)
    lo = t if t[0] >= edges[0] else np.maximum(t, edges[0])
    hi = until if until.max() <= edges[-1] else np.minimum(until, edges[-1])
    length = hi - lo
    use = (length > 0) & ~np.isnan(v)  # no masks on the many: unused intervals weigh 0
    if use.all():
        value, weight = v, length.astype(np.float64)
    else:
        value = np.where(use, v, 0.0)
        weight = np.where(use, length, 0).astype(np.float64)
    first = _bin_of(lo, edges, bins)  # the bin holding lo
    cross = np.flatnonzero(use & (hi > edges[first + 1]))  # the few crossing an edge
    final = np.zeros(len(lo), np.int64)
    final[cross] = _bin_of(hi[cross] - 1, edges, bins)  # the bin holding hi - 1 ns
    weight[cross] = 0.0  # counted below, piece by piece
    integral = _sorted_sums(first, value * weight, bins)
    time = _sorted_sums(first, weight, bins)
    if len(cross):
        a, b, cv, clo = first[cross], final[cross], value[cross], lo[cross]
        head = (edges[a + 1] - clo).astype(np.float64)
        tail = (hi[cross] - edges[b]).astype(np.float64)
        integral += _per_bin(a, cv * head, bins) + _per_bin(b, cv * tail, bins)
        time += _per_bin(a, head, bins) + _per_bin(b, tail, bins)
        # bins covered whole: by the crossing interval starting last at or before the
        # bin's start, if it reaches past the bin (intervals do not overlap)
        k = np.arange(bins)
        j = np.maximum(np.searchsorted(clo, edges[:-1], side="right") - 1, 0)
        whole = (a[j] < k) & (b[j] > k)
        if whole.any():
            width = (edges[1:] - edges[:-1]).astype(np.float64)
            integral[whole] += cv[j[whole]] * width[whole]
            time[whole] += width[whole]
    out = np.full(bins, np.nan)
    np.divide(integral, time, out=out, where=time > 0)
    return out


def _sorted_sums(
    which: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], bins: int
) -> npt.NDArray[np.float64]:
    """`_per_bin` for non-decreasing `which`: one `add.reduceat` over each bin's run."""
    starts = np.searchsorted(which, np.arange(bins), side="left")
    ends = np.append(starts[1:], len(which))
    out = np.zeros(bins, np.float64)
    nonempty = ends > starts
    if nonempty.any():
        out[nonempty] = np.add.reduceat(weights, starts[nonempty])
    return out


def _per_bin(
    which: npt.NDArray[np.intp], weights: npt.NDArray[np.float64], bins: int
) -> npt.NDArray[np.float64]:
    """The sum of `weights` per bin (floats even when there is nothing to sum)."""
    return np.bincount(which, weights=weights, minlength=bins).astype(np.float64, copy=False)


def _bin_of(
    sorted_ns: npt.NDArray[np.int64], edges: npt.NDArray[np.int64], bins: int
) -> npt.NDArray[np.int64]:
    """Per sorted time, its bin (clipped to the bins): by division when the bins are of
    one width (fixed rules), else by searching the few edges in the many times and
    spreading the answer with a running count (much faster than a search per time)."""
    width = edges[1] - edges[0]
    if bool(np.all(edges[1:] - edges[:-1] == width)):
        found = (sorted_ns - edges[0]) // width
    else:
        at = np.searchsorted(sorted_ns, edges, side="left")  # edge k counts from here on
        marks = np.bincount(at, minlength=len(sorted_ns) + 1)
        found = np.cumsum(marks[: len(sorted_ns)]) - 1
    clipped: npt.NDArray[np.int64] = np.clip(found, 0, bins - 1, out=found)
    return clipped
