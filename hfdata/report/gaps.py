"""`Store.gaps`: the stretches of time without points, from the stats.

A gap is an interval between consecutive distinct timestamps longer than `min_gap`; it
runs from the last point before it (`start`) to the first point after (`end`). By
default `min_gap` is 10x the variable's median interval (`hfdata.report.merge`), so a
variable sampled at 1 Hz has gaps of more than 10 s, whatever the store's
`gap_threshold` (which only decides what each file's stats list).

Each piece's gaps come from its stats when they list every interval longer than
`min_gap` (their floor is at most `min_gap` and the list was not cut at `MAX_LISTED`);
otherwise that piece's points are read. Counting them (`gap_totals`, for the summary)
needs no positions: an exact interval histogram answers it too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.errors import InvalidArgument
from hfdata.layout import validate_name
from hfdata.parquet.root import PartsRoot
from hfdata.read.events import duration_ns
from hfdata.read.query import window
from hfdata.report.merge import Merged, merge
from hfdata.report.pieces import Piece, Pieces, with_pieces
from hfdata.settings import StoreSettings

__all__ = ["GAP_FACTOR", "duration_arg", "gap_totals", "gaps", "iter_gaps", "min_gap_ns"]

GAP_FACTOR: Final = 10  # the default min_gap: this many median intervals


def duration_arg(value: Any, argument: str) -> int:
    """A non-negative duration in ns, or `InvalidArgument` with `.argument` set."""
    try:
        return duration_ns(value, argument)
    except InvalidArgument as exc:
        raise InvalidArgument(str(exc), argument=argument) from exc


def min_gap_ns(min_gap: Any, merged: Merged) -> int | None:
    """`min_gap` in ns: as given, else `GAP_FACTOR` x the median interval (None: the
    variable has fewer than two distinct timestamps, so no gaps)."""
    if min_gap is not None:
        return duration_arg(min_gap, "min_gap")
    if merged.median_interval is None:
        return None
    return GAP_FACTOR * merged.median_interval


def _distinct(ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    if not len(ns):
        return ns
    return ns[np.concatenate(([True], ns[1:] != ns[:-1]))]


def _inner(piece: Piece, min_gap: int) -> Iterator[tuple[int, int]]:
    """The gaps inside one piece, in time order."""
    s = piece.stats
    if s.gap_floor <= min_gap and not s.gaps_truncated:  # every one is listed
        for a, b in s.gaps:
            if b - a > min_gap:
                yield int(a), int(b)
        return
    distinct = _distinct(piece.load()[0])
    wide = np.flatnonzero(np.diff(distinct) > min_gap)
    for i in wide.tolist():
        yield int(distinct[i]), int(distinct[i + 1])


def iter_gaps(pieces: Sequence[Piece], min_gap: int | None) -> Iterator[tuple[int, int]]:
    """Every gap longer than `min_gap` (ns) as `(last point before, first after)`, in time
    order, piece by piece; none when `min_gap` is None."""
    if min_gap is None:
        return
    previous: int | None = None
    for piece in pieces:
        if previous is not None and piece.stats.first_ts - previous > min_gap:
            yield previous, piece.stats.first_ts
        yield from _inner(piece, min_gap)
        previous = piece.stats.last_ts


def gap_totals(pieces: Sequence[Piece], min_gap: int | None) -> tuple[int, int | None, int]:
    """How many gaps, the longest (None without any) and their total time (ns)."""
    if min_gap is None:
        return 0, None, 0
    count = total = 0
    longest: int | None = None

    def add(interval: int, times: int = 1) -> None:
        nonlocal count, total, longest
        count += times
        total += interval * times
        longest = interval if longest is None else max(longest, interval)

    previous: int | None = None
    for piece in pieces:
        s = piece.stats
        if previous is not None and s.first_ts - previous > min_gap:
            add(s.first_ts - previous)
        previous = s.last_ts
        if s.histogram is not None and not (s.gap_floor <= min_gap and not s.gaps_truncated):
            for interval, times in s.histogram:
                if interval > min_gap:
                    add(interval, times)
            continue
        for a, b in _inner(piece, min_gap):
            add(b - a)
    return count, longest, total


def gaps(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variable: str,
    start: Any = None,
    end: Any = None,
    *,
    min_gap: Any = None,
) -> pd.DataFrame:
    """The gaps of `variable` that reach into `[start, end)` (the whole variable's gaps,
    so one that begins before `start` is listed whole)."""
    validate_name(variable)
    lo, last = window(settings, start, end)
    if min_gap is not None:
        duration_arg(min_gap, "min_gap")  # checked before any reading

    def found(pieces: Pieces) -> list[tuple[int, int]]:
        floor = min_gap_ns(min_gap, merge(pieces.pieces))
        return [(a, b) for a, b in iter_gaps(pieces.pieces, floor) if b > lo and a < last]

    listed = with_pieces(root, parts, settings, variable, found)
    return gaps_frame(listed)


def gaps_frame(listed: Sequence[tuple[int, int]]) -> pd.DataFrame:
    """Gaps as a frame: `start`, `end` (UTC timestamps) and `duration` (Timedelta)."""
    a = np.array([g[0] for g in listed], np.int64)
    b = np.array([g[1] for g in listed], np.int64)
    starts = pd.to_datetime(a, unit="ns", utc=True)
    ends = pd.to_datetime(b, unit="ns", utc=True)
    return pd.DataFrame({"start": starts, "end": ends, "duration": ends - starts})
