"""`Store.coverage`: per variable and time bin, the share of the bin's time that is
covered: inside the variable's `[first, last]` and not inside a gap
(`hfdata.report.gaps`; `min_gap` defaults to 10x the variable's median interval).

Bins are `freq` long, on a grid anchored at the epoch (so hourly bins start on the
hour), from the bin holding `start` (default: the first point of any of the
variables) to the one holding the last instant before `end` (default: the last
point). A share is of the whole bin, also where `start`/`end` cut it. A bin's covered
time summed over the bins is the time `Store.summary`'s `coverage` divides by the
variable's span; points all at one instant cover none (0 here, 0.0 there).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.errors import InvalidArgument
from hfdata.parquet.root import PartsRoot
from hfdata.read.query import window
from hfdata.report.gaps import duration_arg, iter_gaps, min_gap_ns
from hfdata.report.merge import merge
from hfdata.report.pieces import Pieces, names_of, with_pieces
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = ["Covered", "coverage", "covered_time"]

Covered = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]  # segment starts and ends


def covered_time(covered: Covered, at: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The covered time (ns) before each instant of `at`."""
    starts, ends = covered
    if not len(starts):
        return np.zeros(len(at))
    lengths = (ends - starts).astype(np.float64)
    before = np.concatenate(([0.0], np.cumsum(lengths)))
    k = np.searchsorted(starts, at, side="right")  # segments starting at or before
    partial = np.zeros(len(at))
    has = k > 0
    i = k[has] - 1
    partial[has] = (np.minimum(at[has], ends[i]) - starts[i]).astype(np.float64)
    return before[np.maximum(k - 1, 0)] * has + partial


def _covered(pieces: Pieces, min_gap: Any) -> tuple[Covered, int | None, int | None]:
    """`[first, last]` minus the gaps, as disjoint segments; and first and last."""
    merged = merge(pieces.pieces)
    if merged.first is None or merged.last is None:
        empty = np.zeros(0, np.int64)
        return (empty, empty), None, None
    starts = [merged.first]
    ends: list[int] = []
    for a, b in iter_gaps(pieces.pieces, min_gap_ns(min_gap, merged)):
        ends.append(a)
        starts.append(b)
    ends.append(merged.last)
    return (np.array(starts, np.int64), np.array(ends, np.int64)), merged.first, merged.last


def coverage(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    *,
    freq: Any = "1h",
    min_gap: Any = None,
) -> pd.DataFrame:
    """The coverage of `variables` (default: every one) in bins of `freq`, wide: a row per
    bin (index `bin`, its start), a column per variable."""
    step = duration_arg(freq, "freq")
    if step == 0:
        raise InvalidArgument("freq must be a positive duration, e.g. '1h'", argument="freq")
    if min_gap is not None:
        duration_arg(min_gap, "min_gap")
    lo, last = window(settings, start, end)
    names = names_of(root, parts, variables)
    found = [with_pieces(root, parts, settings, n, lambda p: _covered(p, min_gap)) for n in names]
    firsts = [f for _, f, _ in found if f is not None]
    lasts = [x for _, _, x in found if x is not None]
    if lo == NS_MIN:
        lo = min(firsts) if firsts else None  # type: ignore[assignment]
    if last == NS_MAX:
        last = max(lasts) if lasts else None  # type: ignore[assignment]
    index = pd.DatetimeIndex([], tz="UTC", name="bin")
    if lo is None or last is None or last < lo:
        return pd.DataFrame({n: pd.Series([], dtype="float64") for n in names}, index=index)
    first_bin = lo // step * step
    count = (last // step * step - first_bin) // step + 1
    edges = first_bin + step * np.arange(count + 1, dtype=np.int64)
    columns = {}
    for name, (covered, _, _) in zip(names, found, strict=True):
        at = covered_time(covered, edges)
        columns[name] = np.diff(at) / step
    index = pd.DatetimeIndex(pd.to_datetime(edges[:-1], unit="ns", utc=True), name="bin")
    return pd.DataFrame(columns, index=index, columns=names)
