"""Where `Store.features` puts its windows, and how it cuts them into partition-sized work.

Window `i` of a variable covers `[s_i, s_i + window)` (closed left) or
`(s_i, s_i + window]` (closed right); the starts `s_i` lie on the grid of
`read(resample=stride, closed=, label=, origin=, offset=)`'s bin edges (pandas'
placement, `hfdata.read.bins`), so with `stride == window` the windows are exactly a
resample's bins. They run from the first window holding the variable's first point to
the last one holding its last point (as pandas' bins do); windows between them are kept
empty or not. A `Grid` holds only the first start and the count: the starts of a long
span are never all in memory at once.

`chunks` cuts a grid into runs of windows whose starts fall in one partition period of
the store (an hour, a day or a month): the unit of work of one worker, which reads that
partition plus the `window` after it that its last windows reach into.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from hfdata.errors import InvalidArgument
from hfdata.features.spec import parse_duration
from hfdata.layout import Partition, partition_key_ns
from hfdata.read.bins import BinRule, Side, fixed_anchor, parse_bin_rule

__all__ = ["Chunk", "Grid", "Placement", "chunks", "make_grid", "parse_placement"]

_HOUR: Final = 3_600_000_000_000
_DAY: Final = 24 * _HOUR
# the shortest period of each partition granularity: a stride may not skip one
_PERIOD: Final[dict[str, int]] = {"hour": _HOUR, "day": _DAY, "month": 28 * _DAY}


@dataclass(frozen=True, slots=True)
class Placement:
    """The windows' length and stride (ns) and their placement (`rule`: the stride as
    a fixed resample rule with `closed`, `label`, `origin` and `offset` resolved)."""

    window: int
    stride: int
    rule: BinRule

    @property
    def closed(self) -> Side:
        return self.rule.closed

    def labels(self, starts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each window's label: its start (label 'left') or its end ('right')."""
        return starts if self.rule.label == "left" else starts + self.window


def parse_placement(
    window: Any,
    stride: Any,
    partition: Partition,
    *,
    closed: Any = None,
    label: Any = None,
    origin: Any = "start_day",
    offset: Any = None,
    to_ns: Callable[[Any], int] | None = None,
) -> Placement:
    """Check `window`, `stride` and the bin options; a stride longer than the store's
    partition is refused (each worker computes the windows starting in one partition)."""
    window_ns = parse_duration(window, "window")
    stride_ns = window_ns if stride is None else parse_duration(stride, "stride")
    if stride_ns > _PERIOD[partition]:
        what = f"stride={stride!r}" if stride is not None else f"window={window!r} (the stride)"
        raise InvalidArgument(
            f"{what} is longer than the store's partition ({partition}): windows are "
            f"computed one partition at a time; use a stride of at most one {partition} "
            "(windows may still be longer), or read(resample=...) for coarser bins",
            argument="stride" if stride is not None else "window",
        )
    rule = parse_bin_rule(
        pd.offsets.Nano(stride_ns),
        closed=closed,
        label=label,
        origin=origin,
        offset=offset,
        to_ns=to_ns,
    )
    return Placement(window_ns, stride_ns, rule)


@dataclass(frozen=True, slots=True)
class Grid:
    """One variable's windows: `count` starts, `first + k * stride`."""

    first: int
    count: int
    stride: int

    def starts(self, begin: int = 0, stop: int | None = None) -> npt.NDArray[np.int64]:
        """The starts of windows `[begin, stop)`."""
        stop = self.count if stop is None else stop
        return self.first + np.arange(begin, stop, dtype=np.int64) * np.int64(self.stride)


def make_grid(first: int, last: int, placement: Placement) -> Grid:
    """The windows holding points in `[first, last]`: closed left, the starts `s` with
    `first - window < s <= last`; closed right, `first - window <= s < last`."""
    step = placement.stride
    anchor = fixed_anchor(first, last, placement.rule)
    if placement.closed == "left":
        low, high = first - placement.window + 1, last
    else:
        low, high = first - placement.window, last - 1
    k_low = -((anchor - low) // step)  # ceil((low - anchor) / step)
    k_high = (high - anchor) // step
    count = max(0, k_high - k_low + 1)
    return Grid(anchor + k_low * step, count, step)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Windows `[begin, stop)` of a grid, whose starts all lie in partition `key`."""

    key: str
    begin: int
    stop: int


def chunks(grid: Grid, partition: Partition) -> Iterator[Chunk]:
    """The grid cut at the store's partition boundaries, in time order (one period after
    another; a period without a window start gives no chunk)."""
    begin = 0
    while begin < grid.count:
        start = grid.first + begin * grid.stride
        boundary = _next_period(start, partition)
        stop = min(grid.count, -((grid.first - boundary) // grid.stride))  # starts < boundary
        yield Chunk(partition_key_ns(start, partition), begin, max(stop, begin + 1))
        begin = max(stop, begin + 1)


def _next_period(ns: int, partition: Partition) -> int:
    """The first nanosecond of the partition period after the one holding `ns`."""
    if partition == "hour":
        return (ns // _HOUR + 1) * _HOUR
    if partition == "day":
        return (ns // _DAY + 1) * _DAY
    when = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
