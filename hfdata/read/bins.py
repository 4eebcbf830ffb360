"""Bins of a resample as pandas makes them: edges, labels, and the closed side.

`pandas.Series.resample(rule, closed=, label=, origin=, offset=)` places its bins from
the first and the last timestamp only: a two-point series spanning the data has the
same bins. `make_bins` gives those bins for `[first, last]` as `Bins`: `n` labels and
`n + 1` edges, bin `i` holding `edges[i] <= t < edges[i+1]` (closed left) or
`edges[i] < t <= edges[i+1]` (closed right). Fixed-length rules (1s, 15min, 2h; not
'D') are placed by arithmetic, a port of pandas' `_adjust_dates_anchored` in integer
nanoseconds (a probe resample costs milliseconds); calendar rules ('D', 'W', 'MS',
'ME', 'B', ...) take the labels from pandas' own probe resample and the edges from the
labels, with pandas' end-of-period rule ('ME', 'W', 'QE', 'YE' closed right: a bin
ends at the last nanosecond of its label's day). `tests/test_bins.py` checks both
against pandas' own grouping. `count_bins` sizes a grid before it is built, so a read
can refuse a runaway one instead of allocating it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.tseries.frequencies import to_offset

from hfdata.errors import InvalidArgument

__all__ = [
    "ORIGINS",
    "SIDES",
    "BinRule",
    "Bins",
    "Side",
    "count_bins",
    "fixed_anchor",
    "make_bins",
    "parse_bin_rule",
    "parse_rule",
    "utc_index",
]

Side = Literal["left", "right"]
SIDES: Final = ("left", "right")
ORIGINS: Final = ("start_day", "epoch", "start", "end", "end_day")
_DAY_NS: Final = 86_400_000_000_000
_UTC_NS: Final = pd.DatetimeTZDtype("ns", "UTC")
_RULE_HELP: Final = (
    "use a pandas frequency such as '100ms', '1s', '1min', '15min', '1h', '1D', 'W' or 'MS'"
)
# pandas' `TimeGrouper._adjust_bin_edges`: rules ending a super-daily period
_END_OF_PERIOD: Final = frozenset({"BME", "ME", "W", "BQE", "BYE", "QE", "YE"})


@dataclass(frozen=True, slots=True)
class BinRule:
    """Where the bins of a resample go: pandas' `resample` arguments, resolved.

    `closed` and `label` are pandas' defaults when not given ('right' for 'ME', 'W',
    'QE', 'YE' and origin 'end'); `origin` is one of `ORIGINS` or UTC nanoseconds;
    `shift` is pandas' `offset=` in nanoseconds. Origin and shift only move
    fixed-length rules (`fixed`), as in pandas.
    """

    freq: pd.DateOffset
    closed: Side = "left"
    label: Side = "left"
    origin: str | int = "start_day"
    shift: int = 0

    @property
    def fixed(self) -> bool:
        """A fixed-length rule (1s, 15min, 2h, ...; not 'D', a calendar day in pandas 3)."""
        return isinstance(self.freq, pd.offsets.Tick) and not isinstance(self.freq, pd.offsets.Day)


@dataclass(frozen=True, slots=True)
class Bins:
    """`n` bins: their labels (int64 UTC ns), `n + 1` edges and the closed side."""

    labels: npt.NDArray[np.int64]
    edges: npt.NDArray[np.int64]
    closed: Side = "left"

    def __len__(self) -> int:
        return len(self.labels)

    def bounds(
        self, ns: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Per bin, the first and one-past-last position of its points in sorted `ns`
        (bins are contiguous: one bin's end is the next one's start)."""
        pos = np.searchsorted(ns, self.edges, side=self.closed)
        return pos[:-1], pos[1:]


EMPTY_NS: Final = np.empty(0, np.int64)


def utc_index(ns: npt.NDArray[np.int64], name: str | None = "timestamp") -> pd.DatetimeIndex:
    """A tz-aware UTC DatetimeIndex over int64 nanoseconds, without a copy.

    Uses pandas' own `_simple_new` constructors (pandas 2.2 and 3.x have them): the
    public constructor validates and converts, which on a cold cache is most of the cost
    of turning a one-hour slice into a frame. Falls back to the public constructor;
    `tests/test_resample.py` checks that both give the same index.
    """
    values = np.asarray(ns, dtype=np.int64).view("M8[ns]")
    try:
        array = pd.arrays.DatetimeArray._simple_new(values, dtype=_UTC_NS)  # type: ignore[attr-defined]
        index: pd.DatetimeIndex = pd.DatetimeIndex._simple_new(array, name=name)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - a pandas without them
        index = pd.DatetimeIndex(values, dtype=_UTC_NS, name=name, copy=False)
    return index


# -- the arguments ---------------------------------------------------------------------------


def parse_rule(rule: Any) -> pd.DateOffset:
    """The pandas offset for `rule`, or an InvalidArgument saying what is allowed."""
    try:
        offset = to_offset(rule)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"resample={rule!r} is not understood; {_RULE_HELP}", argument="resample"
        ) from exc
    if offset is None or offset.n <= 0:
        raise InvalidArgument(
            f"resample={rule!r} must be a positive frequency; {_RULE_HELP}", argument="resample"
        )
    return offset  # type: ignore[no-any-return]


def parse_bin_rule(
    rule: Any,
    *,
    closed: Any = None,
    label: Any = None,
    origin: Any = "start_day",
    offset: Any = None,
    to_ns: Callable[[Any], int] | None = None,
) -> BinRule:
    """Check and resolve `resample=` and its bin placement, as pandas would.

    `to_ns` turns a timestamp `origin` into UTC nanoseconds (the store's time rules);
    without it only pandas Timestamps and ISO strings with a zone are read.
    """
    freq = parse_rule(rule)
    for name, side in (("closed", closed), ("label", label)):
        if side is not None and side not in SIDES:
            raise InvalidArgument(
                f"{name}={side!r} is not a side; use 'left', 'right' or None (pandas' "
                "default for the rule)",
                argument=name,
            )
    origin_value = _origin(origin, to_ns)
    shift = _shift(offset)
    fixed = BinRule(freq).fixed
    if not fixed and (origin_value != "start_day" or shift):
        what = "origin=" + repr(origin) if origin_value != "start_day" else f"offset={offset!r}"
        raise InvalidArgument(
            f"{what} moves fixed-length rules only (pandas ignores it for calendar rules "
            f"such as resample={rule!r}); use a fixed rule such as '24h' or '7D' as hours "
            "('168h'), or leave it out",
            argument="origin" if origin_value != "start_day" else "offset",
        )
    # pandas' own defaults: 'right' for end-of-period rules and origin 'end'
    ends = isinstance(origin_value, str) and origin_value in ("end", "end_day")
    if ends and shift:
        raise InvalidArgument(
            f"offset={offset!r} with origin={origin!r} is refused: pandas places these bins "
            "so that the first point falls outside them (or raises 'Values falls before "
            "first bin'); use origin='start', 'epoch' or a timestamp with offset=, or "
            "origin='end' without it",
            argument="offset",
        )
    grouper: Any = pd.Grouper(
        freq=freq, closed=closed, label=label, origin="end" if ends else "start_day"
    )
    return BinRule(freq, grouper.closed, grouper.label, origin_value, shift)


def _origin(origin: Any, to_ns: Callable[[Any], int] | None) -> str | int:
    if isinstance(origin, str) and origin in ORIGINS:
        return origin
    help_ = f"use one of {', '.join(map(repr, ORIGINS))} or a timestamp"
    if origin is None or isinstance(origin, bool | int | float):
        raise InvalidArgument(f"origin={origin!r} is not understood; {help_}", argument="origin")
    try:
        if to_ns is not None:
            return int(to_ns(origin))
        stamp = pd.Timestamp(origin)
        if stamp.tz is None:
            raise ValueError("a timestamp without a zone")
        return int(stamp.as_unit("ns").value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidArgument(
            f"origin={origin!r} is not understood ({exc}); {help_}", argument="origin"
        ) from exc


def _shift(offset: Any) -> int:
    if offset is None:
        return 0
    try:
        if isinstance(offset, bool):
            raise TypeError("a bool")
        delta = pd.Timedelta(offset)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"offset={offset!r} is not a duration; use e.g. '15min', '-2h' or a timedelta",
            argument="offset",
        ) from exc
    if pd.isna(delta):
        raise InvalidArgument(f"offset={offset!r} is not a duration", argument="offset")
    return int(delta.as_unit("ns").value)


# -- the bins --------------------------------------------------------------------------------


def make_bins(first: int, last: int, rule: BinRule) -> Bins:
    """The bins pandas makes for data spanning `[first, last]` (int64 UTC ns)."""
    if last < first:
        return Bins(EMPTY_NS, EMPTY_NS, rule.closed)
    if rule.fixed:
        step = int(rule.freq.nanos)
        lo, count = _fixed_range(first, last, rule)
        # integer steps: `np.arange(start, stop, step)` sizes its result in float64, which
        # drops the last bin of some spans over 2**53 ns (e.g. 2**21 bins of 5 s)
        edges = lo + np.arange(count + 1, dtype=np.int64) * step
        labels = edges[:-1] if rule.label == "left" else edges[1:]
        return Bins(labels, edges, rule.closed)
    return _calendar_bins(first, last, rule)


def fixed_anchor(first: int, last: int, rule: BinRule) -> int:
    """The first edge pandas places for a fixed rule over `[first, last]`: every other
    edge is this plus a whole number of steps (`Store.features` lays its windows'
    starts on that grid)."""
    return _fixed_range(first, last, rule)[0]


def _fixed_range(first: int, last: int, rule: BinRule) -> tuple[int, int]:
    """First edge and number of bins of a fixed rule over `[first, last]`: pandas'
    `_adjust_dates_anchored` (origin, offset, closed side) in integer nanoseconds."""
    step = int(rule.freq.nanos)
    origin = rule.origin
    if origin == "start_day":
        base = first - first % _DAY_NS
    elif origin == "start":
        base = first
    elif origin == "epoch":
        base = 0
    elif origin in ("end", "end_day"):
        end = last if origin == "end" else -(-last // _DAY_NS) * _DAY_NS
        times = (end - first) // step + (1 if rule.closed == "left" else 0)
        first = end - times * step
        base = first
    else:
        base = int(origin)
    base += rule.shift
    foff = (first - base) % step
    loff = (last - base) % step
    if rule.closed == "right":
        lo = first - foff if foff else first - step
        hi = last + (step - loff) if loff else last
    else:
        lo = first - foff
        hi = last + (step - loff) if loff else last + step
    return lo, (hi - lo) // step


def _calendar_bins(first: int, last: int, rule: BinRule) -> Bins:
    """Labels from pandas' probe resample; edges one step past them (pandas' `binner`),
    ending a day later less 1 ns for end-of-period rules closed right (its
    `_adjust_bin_edges`)."""
    probe = pd.Series([0, 0], index=utc_index(np.array([first, last], dtype=np.int64)))
    resampled = probe.resample(rule.freq, closed=rule.closed, label=rule.label).count()
    stamps = pd.DatetimeIndex(resampled.index)
    labels = np.asarray(stamps.as_unit("ns").asi8, dtype=np.int64)
    if rule.label == "left":
        extra = _ns_or_limit(lambda: stamps[-1] + rule.freq)
        binner = np.append(labels, np.int64(extra))
    else:
        extra = _ns_or_limit(lambda: stamps[0] - rule.freq)
        binner = np.insert(labels, 0, np.int64(extra))
    if rule.closed == "right" and rule.freq.rule_code.split("-")[0] in _END_OF_PERIOD:
        binner = binner + (_DAY_NS - 1)
    return Bins(labels, binner, rule.closed)


def _ns_or_limit(make: Callable[[], pd.Timestamp]) -> int:
    """A timestamp past pandas' range becomes its nearest end (only ever an outer edge)."""
    try:
        return int(make().as_unit("ns").value)
    except (OverflowError, ValueError):
        return int(np.iinfo(np.int64).max)


def count_bins(first: int, last: int, rule: BinRule, limit: int) -> int:
    """How many bins `make_bins(first, last, rule)` gives, without building them.

    Exact for fixed-length rules (arithmetic). Calendar rules ('D', 'W', 'MS', business
    days, ...) are sized by galloping `freq * k` (a few dozen offset additions): an
    upper bound, a few bins over. Above `limit` (by more than that slack) the answer is
    that bound and the grid is never built; otherwise pandas' own probe counts it exactly
    (a grid of about `limit` labels at most).
    """
    if last < first:
        return 0
    if rule.fixed:
        return _fixed_range(first, last, rule)[1]
    bound = _calendar_bound(first, last, rule.freq)
    return bound if bound > limit + _SLACK else len(_calendar_bins(first, last, rule))


_SLACK: Final = 16  # more than `_calendar_bound` ever counts over the exact number


def _calendar_bound(first: int, last: int, freq: pd.DateOffset) -> int:
    """An upper bound of the bins of a calendar rule over `[first, last]`: the steps
    `k` with `base + freq * k <= last`, from one whole step before midnight of the
    first day (at or before pandas' first edge, closed either side), plus slack for
    the edge bins."""
    end = pd.Timestamp(last, tz="UTC")
    try:
        base = pd.Timestamp(first, tz="UTC").normalize() - freq
    except (OverflowError, ValueError):  # before 1677: pandas' first label is the day itself
        base = pd.Timestamp(first, tz="UTC").normalize()

    def within(k: int) -> bool:
        try:
            return bool(base + freq * k <= end)
        except (OverflowError, ValueError):  # beyond 2262: past `last`
            return False

    hi = 1
    while within(hi):
        hi *= 2
    lo = hi // 2  # within(lo) or lo == 0; not within(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if within(mid):
            lo = mid
        else:
            hi = mid
    return lo + 2
