"""Every feature of a run of windows, from one variable's sorted rows.

The rows are a time span of the variable read from one consistent snapshot (points of
`[lo, hi)`, the caller's `start`/`end`, and, when `twa` is asked for, the points just
before the span, whose value is in force at its start). Each window is a range of row
indices found by binary search; then each feature is computed for all windows at once:
`read`'s aggregations by `hfdata.read.windows.aggregate_windows`, the kernels by
`hfdata.features.kernels`, `twa` by `hfdata.read.twa` (one pass when the windows do not
overlap), and callables one window at a time. Every result is float64; a window with
fewer than `min_points` points gets NaN for every feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.errors import AggregationFailed, InvalidArgument
from hfdata.features.grid import Placement
from hfdata.features.kernels import ROW_WISE, WindowKernels
from hfdata.features.spec import Feature
from hfdata.read.bins import Side
from hfdata.read.twa import twa
from hfdata.read.windows import aggregate_windows
from hfdata.timeparse import format_ns

__all__ = ["NUMERIC_KINDS", "WINDOW", "Job", "compute"]

WINDOW: Final = "window"  # the label column
NUMERIC_KINDS: Final = frozenset({"float", "int", "bool"})
_UTC_NS: Final = pa.timestamp("ns", tz="UTC")


@dataclass(frozen=True, slots=True)
class Job:
    """What one run of windows needs besides its rows: the features, the placement,
    the caller's bounds `[lo, hi)` (ns), `min_points`, and `max_hold` (ns) for twa."""

    features: tuple[Feature, ...]
    placement: Placement
    lo: int
    hi: int
    min_points: int = 1
    max_hold: int | None = None


def compute(
    job: Job,
    variable: str,
    ns: npt.NDArray[np.int64],
    values: pa.Array,
    starts: npt.NDArray[np.int64],
) -> pa.Table:
    """The features of the windows starting at `starts` (sorted), from the variable's
    sorted rows `ns`/`values`: a table of `window` (the labels) and one float64 column
    per feature."""
    placement = job.placement
    floats = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    side: Side = placement.closed
    floor = int(np.searchsorted(ns, job.lo, side="left"))
    ceiling = int(np.searchsorted(ns, job.hi, side="left"))
    first = np.maximum(np.searchsorted(ns, starts, side=side), floor).astype(np.int64)
    final = np.minimum(np.searchsorted(ns, starts + placement.window, side=side), ceiling)
    final = np.maximum(final, first).astype(np.int64)
    labels = placement.labels(starts)
    short = (final - first) < job.min_points
    wanted = [f.kernel or (f.agg.op if f.agg is not None else "") for f in job.features]
    kernels = WindowKernels(floats, ns, first, final, wanted)
    row_wise = kernels.finite  # read's aggregations row-wise, when no value is infinite
    plain = tuple(
        f.agg
        for f in job.features
        if f.agg is not None and f.agg.op != "twa" and not (row_wise and f.agg.op in ROW_WISE)
    )
    aggregated = (
        aggregate_windows(
            pa.array(floats), "float", first, final, plain, variable=variable, events=labels
        )
        if plain
        else {}
    )
    columns: dict[str, Any] = {WINDOW: pa.array(labels.view("M8[ns]"), _UTC_NS)}
    for feature in job.features:
        if feature.agg is not None and feature.agg.op == "twa":
            result = _twa(job, ns, floats, starts)
        elif feature.agg is not None and feature.name not in aggregated:
            result = kernels.aggregate(feature.agg.op)
        elif feature.agg is not None:
            result = _floats(aggregated[feature.name])
        elif feature.kernel is not None:
            result = kernels.compute(feature.kernel)
        else:
            result = _call(feature, variable, ns, floats, starts, first, final, labels)
        result = np.array(result, dtype=np.float64, copy=True)
        result[short] = np.nan
        columns[feature.name] = pa.array(result, pa.float64())
    return pa.table(columns)


def _floats(array: pa.Array) -> npt.NDArray[np.float64]:
    return np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _twa(
    job: Job,
    ns: npt.NDArray[np.int64],
    floats: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Time-weighted means over the windows, restricted to `[lo, hi)` as `read` restricts
    a twa resample to its window. Windows that do not overlap are bins of one `twa` call
    (with the gaps between them as bins of their own, dropped); overlapping ones take a
    call each."""
    window, stride = job.placement.window, job.placement.stride
    a = np.maximum(starts, job.lo)
    b = np.maximum(np.minimum(starts + window, job.hi), a)
    if not len(starts):
        return np.empty(0)
    if stride == window:
        edges = np.append(a, b[-1])
        return twa(ns, floats, edges, max_hold=job.max_hold)
    if stride > window and bool(np.all(b[:-1] < a[1:])) and bool(np.all(b > a)):
        edges = np.empty(2 * len(a), np.int64)
        edges[0::2], edges[1::2] = a, b
        return twa(ns, floats, edges, max_hold=job.max_hold)[0::2]
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        if b[i] > a[i]:
            out[i] = twa(ns, floats, np.array([a[i], b[i]]), max_hold=job.max_hold)[0]
    return out


def _call(
    feature: Feature,
    variable: str,
    ns: npt.NDArray[np.int64],
    floats: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    first: npt.NDArray[np.int64],
    final: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """A callable, once per non-empty window: with the window's values, or with
    `(values, seconds since the window's start)`."""
    func = feature.func
    assert func is not None
    out = np.full(len(starts), np.nan)
    for i in np.flatnonzero(final > first).tolist():
        s, e = int(first[i]), int(final[i])
        try:
            if feature.timed:
                result = func(floats[s:e], (ns[s:e] - starts[i]) / 1e9)
            else:
                result = func(floats[s:e])
        except Exception as exc:
            label = format_ns(int(labels[i]))
            raise AggregationFailed(
                f"funcs {feature.name!r} raised {type(exc).__name__} ({exc}) on {variable!r} "
                f"in the window labelled {label}",
                agg=feature.name,
                label=label,
            ) from exc
        out[i] = _number(result, feature.name, variable)
    return out


def _number(result: Any, name: str, variable: str) -> float:
    """A callable's result as a float, or `InvalidArgument` (features are numbers)."""
    if isinstance(result, np.ndarray) and result.ndim == 0:
        result = result.item()
    if result is None:
        return float("nan")
    if isinstance(result, bool | np.bool_ | int | float | np.integer | np.floating):
        return float(result)
    raise InvalidArgument(
        f"funcs {name!r} must return one number per window; on {variable!r} it returned "
        f"{type(result).__name__} ({result!r:.60})",
        argument="funcs",
    )
