"""One variable's statistics merged from its pieces' `FileStats` (`hfdata.report.pieces`).

Counts, sums and extremes add up. Where two neighbouring pieces meet, the interval
between the earlier one's last timestamp and the later one's first joins the
intervals; equal timestamps there are one more duplicate, and a conflict when the
values at that timestamp on both sides (`edge_values`) are not all equal (a conflict
either side already counted at that timestamp is counted once).

`median_interval` (over consecutive distinct timestamps) is exact when every piece
kept an exact interval histogram (at most `EXACT_INTERVALS` distinct intervals); a piece
with more keeps a quantile sketch, and the median is then the weighted median of the
histograms and sketches together, each sketched quantile weighing its share of the
piece's intervals: within about 1/`QUANTILES` of that piece's intervals in rank
(`median_exact` False).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hfdata.parquet.stats import FileStats
from hfdata.report.pieces import Piece

__all__ = ["Merged", "intervals_of", "merge"]


@dataclass(frozen=True, slots=True)
class Merged:
    """A variable's statistics over all its points (`hfdata.report.summary` names each)."""

    rows: int = 0
    parquet_rows: int = 0
    log_rows: int = 0
    count: int = 0
    nan_count: int = 0
    first: int | None = None
    last: int | None = None
    min: Any = None
    max: Any = None
    sum: Any = None
    last_value: Any = None
    duplicate_timestamps: int = 0
    conflicting_duplicates: int = 0
    median_interval: int | None = None
    median_exact: bool = True


def _union(a: list[Any], b: list[Any]) -> list[Any]:
    return a + [v for v in b if v not in a]


def merge(pieces: Sequence[Piece]) -> Merged:
    """The merged statistics of pieces in time order."""
    if not pieces:
        return Merged()
    stats = [p.stats for p in pieces]
    lows = [s.min for s in stats if s.min is not None]
    highs = [s.max for s in stats if s.max is not None]
    sums = [s.sum for s in stats if s.sum is not None]
    last_value = next((s.last_valid[1] for s in reversed(stats) if s.last_valid), None)
    duplicates = sum(s.duplicate_timestamps for s in stats)
    conflicts = stats[0].conflicting_duplicates
    edge = list(stats[0].edge_values[1])  # distinct values at the merged last timestamp
    boundary: Counter[int] = Counter()
    for before, after in itertools.pairwise(stats):
        conflicts += after.conflicting_duplicates
        start, end = list(after.edge_values[0]), list(after.edge_values[1])
        if after.first_ts == before.last_ts:
            duplicates += 1
            joined = _union(edge, start)
            conflicts += (len(joined) > 1) - (len(edge) > 1) - (len(start) > 1)
            edge = _union(joined, end) if after.first_ts == after.last_ts else end
        else:
            boundary[after.first_ts - before.last_ts] += 1
            edge = end
    median, exact = _median(stats, boundary)
    return Merged(
        rows=sum(s.rows for s in stats),
        parquet_rows=sum(p.parquet_rows for p in pieces),
        log_rows=sum(p.log_rows for p in pieces),
        count=sum(s.count for s in stats),
        nan_count=sum(s.nan_count for s in stats),
        first=stats[0].first_ts,
        last=stats[-1].last_ts,
        min=min(lows) if lows else None,
        max=max(highs) if highs else None,
        sum=sum(sums) if sums else None,
        last_value=last_value,
        duplicate_timestamps=duplicates,
        conflicting_duplicates=conflicts,
        median_interval=median,
        median_exact=exact,
    )


def intervals_of(stats: FileStats) -> int:
    """How many intervals (between consecutive distinct timestamps) a piece holds."""
    return stats.rows - stats.duplicate_timestamps - 1


def _median(stats: Sequence[FileStats], boundary: Counter[int]) -> tuple[int | None, bool]:
    """The median interval of the pieces' histograms (and sketches) and the intervals
    between pieces; whether it is exact."""
    weights: Counter[int] = Counter(boundary)
    sketched: list[tuple[int, float]] = []
    for s in stats:
        if s.histogram is not None:
            for interval, count in s.histogram:
                weights[interval] += count
        elif s.quantiles:
            share = intervals_of(s) / len(s.quantiles)
            sketched.extend((q, share) for q in s.quantiles)
    if not weights and not sketched:
        return None, True
    if not sketched:
        values = sorted(weights)
        cumulative: list[int] = []
        total = 0
        for v in values:
            total += weights[v]
            cumulative.append(total)

        def at(rank: int) -> int:  # the interval at a 0-based rank
            return values[bisect.bisect_right(cumulative, rank)]

        if total % 2:
            return at(total // 2), True
        return round((at(total // 2 - 1) + at(total // 2)) / 2), True
    points = sorted([(v, float(c)) for v, c in weights.items()] + sketched)
    half = sum(w for _, w in points) / 2
    running = 0.0
    for value, weight in points:
        running += weight
        if running >= half:
            return value, False
    return points[-1][0], False  # pragma: no cover (rounding)
