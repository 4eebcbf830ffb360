"""The statistics kept for each Parquet file (issue 19): what `summary`, `gaps`,
`coverage` and `quality` answer from without reading the points.

`file_stats` computes them from a file's rows in stored order (sorted by timestamp,
equal timestamps in arrival order); `FileStats.to_json`/`from_json` are the sidecar's
bytes (`hfdata.parquet.sidecars`). Definitions, each over the file's rows alone:

- `rows`; `count` (values that are not missing: neither null nor NaN); `nan_count`
  (missing ones); `min`, `max`, `sum` of the values that count (numeric kinds; `sum` an
  int for int, the number of trues for bool);
- `first_ts`/`last_ts` (the first and last row's timestamp), `first_valid`/`last_valid`
  (`[ts, value]` of the first and last value that counts, or None);
- `duplicate_timestamps`: rows whose timestamp repeats the row before's (pandas'
  `index.duplicated().sum()` on sorted rows); `conflicting_duplicates`: timestamps
  holding more than one distinct value that counts (pandas'
  `groupby(level=0).nunique() > 1`); `edge_values`: the distinct counted values at
  `first_ts` and at `last_ts` (so the files on either side of a shared timestamp can
  be checked without reading them);
- `intervals`: the differences between consecutive distinct timestamps (ns): an exact
  histogram `[[interval, count], ...]` when there are at most `EXACT_INTERVALS`
  distinct ones, else `quantiles`, the interval at each of `QUANTILES + 1` evenly
  spaced ranks (a sketch: a merged median is then within a rank of 1/QUANTILES);
- `gap_floor` (ns) and `gaps`: every interval longer than the floor, as
  `[last point before, first point after]`, at most `MAX_LISTED` (the longest; then
  `gaps_truncated`); the floor is the store's `gap_threshold` or, by default, 10x this
  file's median interval;
- `runs`: the longest runs of one repeated counted value (consecutive rows, at least
  two), as `[start_ts, end_ts, rows, value]`, longest in time first, at most
  `MAX_LISTED` (`runs_truncated`); `head_run`/`tail_run`: the file's first and last
  run of one value (a single row is a run of one), so runs crossing files join;
- `nan_runs`, `nan_head`, `nan_tail`: the same for runs of missing values (no value).

A file too large to hold whole is described window by window (`WindowedStats`, with
the interval histogram tallied across windows by `IntervalTally`): the same stats, but
a float `sum` is the windows' sums added; none for a file whose intervals are too
varied to tally.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hfdata.kinds import Kind

__all__ = [
    "EXACT_INTERVALS",
    "MAX_LISTED",
    "MAX_TALLIED",
    "QUANTILES",
    "STATS_VERSION",
    "FileStats",
    "IntervalTally",
    "WindowedStats",
    "file_stats",
]

STATS_VERSION: Final = 1
EXACT_INTERVALS: Final = 4096  # distinct intervals kept exactly; beyond, a quantile sketch
QUANTILES: Final = 1024
MAX_LISTED: Final = 1000  # gaps and runs listed per file (the longest)
AUTO_GAP_FACTOR: Final = 10  # the default gap floor: 10x the file's median interval

Run = list[Any]  # [start_ts, end_ts, rows, value]


@dataclass(frozen=True, slots=True)
class FileStats:
    """One Parquet file's statistics (the module docstring defines each field)."""

    rows: int
    count: int
    nan_count: int
    first_ts: int
    last_ts: int
    min: Any = None
    max: Any = None
    sum: Any = None
    first_valid: list[Any] | None = None
    last_valid: list[Any] | None = None
    duplicate_timestamps: int = 0
    conflicting_duplicates: int = 0
    edge_values: list[list[Any]] = field(default_factory=lambda: [[], []])
    histogram: list[list[int]] | None = None
    quantiles: list[int] | None = None
    median_interval: int | None = None
    gap_floor: int = 0
    gaps: list[list[int]] = field(default_factory=list)
    gaps_truncated: bool = False
    runs: list[Run] = field(default_factory=list)
    runs_truncated: bool = False
    head_run: Run | None = None
    tail_run: Run | None = None
    nan_runs: list[Run] = field(default_factory=list)
    nan_runs_truncated: bool = False
    nan_head: Run | None = None
    nan_tail: Run | None = None
    version: int = STATS_VERSION

    def to_json(self) -> bytes:
        """The sidecar's bytes: orjson encodes the dataclass itself, field by field in
        declaration order (the same object `dataclasses.asdict` would give it, without
        the deep copy of every list, which cost more than the stats)."""
        return orjson.dumps(self, option=orjson.OPT_SERIALIZE_NUMPY)

    @classmethod
    def from_json(cls, data: bytes) -> FileStats:
        """The stats of a sidecar; `ValueError` if it is not one this version reads."""
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("version") != STATS_VERSION:
            raise ValueError("not an hfdata stats sidecar of this version")
        return cls(**raw)


def file_stats(
    ns: npt.NDArray[np.int64], values: pa.Array, kind: Kind, gap_threshold: int | None = None
) -> FileStats:
    """The statistics of one file's rows: `ns` sorted (equal timestamps in arrival
    order), `values` of `kind` (nulls allowed), `gap_threshold` the store's (ns) or None
    (10x the file's median interval).

    Cost matters (compaction computes this for every file it writes): one difference of
    the timestamps serves the duplicates, the intervals and the gaps; the missing values,
    usually few, are handled by their indices rather than by masks over every row; and
    numpy's reductions stand in for slower Arrow kernels where the result is the same."""
    return FileStats(**_describe(ns, values, kind, gap_threshold)[0])


def _describe(
    ns: npt.NDArray[np.int64], values: pa.Array, kind: Kind, gap_threshold: int | None
) -> tuple[dict[str, Any], tuple[int, int, int]]:
    """`file_stats`' fields, and how many gaps, runs and runs of missing values there
    are in all (listed or not: what `WindowedStats` adds up)."""
    ns = np.asarray(ns, dtype=np.int64)
    rows = len(ns)
    if rows == 0:
        raise ValueError("a Parquet file holds at least one row")
    keys, missing = _comparable(values, kind)
    count = rows - len(missing)
    valid: npt.NDArray[np.bool_] | None = None  # None: every value counts
    if len(missing):
        valid = np.ones(rows, bool)
        valid[missing] = False
    out: dict[str, Any] = {
        "rows": rows,
        "count": count,
        "nan_count": rows - count,
        "first_ts": int(ns[0]),
        "last_ts": int(ns[-1]),
    }
    if count:
        first = 0 if valid is None else int(np.argmax(valid))
        last = rows - 1 if valid is None else rows - 1 - int(np.argmax(valid[::-1]))
        out["first_valid"] = [int(ns[first]), _py(values, first)]
        out["last_valid"] = [int(ns[last]), _py(values, last)]
        if kind in ("float", "int", "bool"):
            out |= _extremes(values, keys, missing, kind)
    steps = np.diff(ns)
    same_ts = steps == 0
    duplicates = int(np.count_nonzero(same_ts))
    out["duplicate_timestamps"] = duplicates
    out["conflicting_duplicates"] = _conflicts(ns, keys, valid, same_ts) if duplicates else 0
    out["edge_values"] = [
        _distinct_at(ns, values, valid, int(ns[0])),
        _distinct_at(ns, values, valid, int(ns[-1])),
    ]
    # the intervals between distinct timestamps are the steps that are not 0 (sorted)
    out |= _intervals(steps[~same_ts] if duplicates else steps)
    median = out["median_interval"]
    floor = gap_threshold
    if floor is None:
        floor = AUTO_GAP_FACTOR * median if median else 0
    out["gap_floor"] = int(floor)
    out |= _gaps(ns, steps, int(floor))
    found, holes = _value_runs(keys, valid, kind), _missing_runs(missing, rows)
    out |= _runs(ns, found, keys, kind, "")
    out |= _runs(ns, holes, None, kind, "nan_")
    wide = int(np.count_nonzero(steps > floor if floor > 0 else steps > 0))
    totals = (wide, 0 if found is None else len(found[0]), 0 if holes is None else len(holes[0]))
    return out, totals


# -- the pieces ---------------------------------------------------------------------------------


def _comparable(values: pa.Array, kind: Kind) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """Values as a numpy array where equal values are equal elements (floats, NaN for
    a missing one; int64, 0 for a missing one; text for string and json, "" for a
    missing one), and the indices of the values that do not count (null or NaN)."""
    if kind in ("float", "bool"):
        floats = np.asarray(
            values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        nan = np.isnan(floats)
        return floats, np.flatnonzero(nan) if nan.any() else _NONE
    if kind == "int":  # exact: int64 with nulls as 0
        keys = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    else:
        keys = np.asarray(values.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
    if not values.null_count:
        return keys, _NONE
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
    return keys, np.flatnonzero(~valid)


_NONE: Final = np.zeros(0, np.intp)
_NONE_I64: Final = np.zeros(0, np.int64)
_FEW_MISSING: Final = 256  # missing values a copy of the others steps over one by one


def _py(values: pa.Array, i: int) -> Any:
    return values[i].as_py()


def _extremes(
    values: pa.Array, keys: npt.NDArray[Any], missing: npt.NDArray[np.intp], kind: Kind
) -> dict[str, Any]:
    """`min`, `max` and `sum` of the values that count (at least one does). The float
    sum is Arrow's (`pc.sum` of those values alone, the tests' reference: a sum skipping
    NaN or nulls adds in other blocks, so its last bits differ), the rest numpy's
    reductions, which are exact."""
    counted = _without(keys, missing)
    if kind == "float":
        total = pc.sum(pa.array(counted) if len(missing) else values).as_py()
        return {"min": float(counted.min()), "max": float(counted.max()), "sum": total}
    if kind == "bool":  # as 0 and 1, the number of trues the sum
        return {
            "min": int(counted.min()),
            "max": int(counted.max()),
            "sum": int(np.count_nonzero(counted)),
        }
    return {
        "min": int(counted.min()),
        "max": int(counted.max()),
        "sum": pc.sum(values).as_py(),  # int64 sums wrap alike in any order
    }


def _without(keys: npt.NDArray[Any], missing: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """`keys` less the rows at `missing`; when those are few, as the slices between them
    (half the time of a boolean index over every row)."""
    if not len(missing):
        return keys
    if len(missing) > _FEW_MISSING:
        keep = np.ones(len(keys), bool)
        keep[missing] = False
        return keys[keep]
    edges = [-1, *missing.tolist(), len(keys)]
    return np.concatenate([keys[a + 1 : b] for a, b in itertools.pairwise(edges) if b > a + 1])


def _conflicts(
    ns: npt.NDArray[np.int64],
    keys: npt.NDArray[Any],
    valid: npt.NDArray[np.bool_] | None,
    same_ts: npt.NDArray[np.bool_],
) -> int:
    """Timestamps whose counted values are not all equal (only rows sharing a timestamp
    can conflict, so only those are looked at)."""
    shared = np.zeros(len(ns), bool)
    shared[1:] |= same_ts
    shared[:-1] |= same_ts
    if valid is not None:
        shared &= valid
    rows = np.flatnonzero(shared)
    if not len(rows):
        return 0
    t, k = ns[rows], keys[rows]
    conflicts = 0
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    ends = np.append(starts[1:], len(t))
    if k.dtype != object:
        firsts = np.repeat(k[starts], ends - starts)
        differs = k != firsts
        conflicts = int(np.count_nonzero(np.add.reduceat(differs, starts) > 0))
        return conflicts
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if b - a > 1 and len(set(k[a:b].tolist())) > 1:
            conflicts += 1
    return conflicts


def _distinct_at(
    ns: npt.NDArray[np.int64], values: pa.Array, valid: npt.NDArray[np.bool_] | None, t: int
) -> list[Any]:
    a = int(np.searchsorted(ns, t, side="left"))
    b = int(np.searchsorted(ns, t, side="right"))
    seen: list[Any] = []
    for i in range(a, b):
        if valid is None or valid[i]:
            v = values[i].as_py()
            if v not in seen:
                seen.append(v)
    return seen


def _intervals(intervals: npt.NDArray[np.int64]) -> dict[str, Any]:
    if not len(intervals):
        return _from_histogram(_NONE_I64, _NONE_I64)
    return _from_histogram(*_histogram(intervals))


def _from_histogram(
    distinct: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
) -> dict[str, Any]:
    """`histogram`, `quantiles` and `median_interval` from the exact histogram of the
    intervals (`distinct` sorted, `counts` each one's): the median (of an even count, the
    middle two's mean, np.median's) and each quantile rank's interval read from the
    running counts, as `np.sort(intervals)` would give them."""
    if not len(distinct):
        return {"histogram": [], "quantiles": None, "median_interval": None}
    ends = np.cumsum(counts)
    n = int(ends[-1])
    low = int(distinct[int(np.searchsorted(ends, (n - 1) // 2, side="right"))])
    high = int(distinct[int(np.searchsorted(ends, n // 2, side="right"))])
    median = round((float(low) + float(high)) / 2)
    if len(distinct) <= EXACT_INTERVALS:
        histogram = [[int(d), int(c)] for d, c in zip(distinct, counts, strict=True)]
        return {"histogram": histogram, "quantiles": None, "median_interval": median}
    ranks = np.linspace(0, n - 1, QUANTILES + 1).round().astype(np.int64)
    quantiles = distinct[np.searchsorted(ends, ranks, side="right")]
    return {"histogram": None, "quantiles": quantiles.tolist(), "median_interval": median}


def _histogram(
    intervals: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`np.unique(intervals, return_counts=True)` without sorting every interval: a
    sampled series has one interval most of the time, so that one is counted in a pass
    and only the others are sorted."""
    common = intervals[len(intervals) // 2]
    others = intervals[intervals != common]
    if len(others) * 4 > len(intervals):  # no dominant interval: a plain sort is as fast
        return np.unique(intervals, return_counts=True)
    distinct, counts = np.unique(others, return_counts=True)
    at = int(np.searchsorted(distinct, common))
    distinct = np.insert(distinct, at, common)
    counts = np.insert(counts, at, len(intervals) - len(others))
    return distinct, counts


def _gaps(ns: npt.NDArray[np.int64], steps: npt.NDArray[np.int64], floor: int) -> dict[str, Any]:
    """The steps between consecutive rows longer than `floor` (any step but 0 when the
    floor is 0), the longest `MAX_LISTED` of them."""
    wide = np.flatnonzero(steps > floor) if floor > 0 else np.flatnonzero(steps > 0)
    truncated = len(wide) > MAX_LISTED
    if truncated:
        longest = np.argsort(-steps[wide], kind="stable")[:MAX_LISTED]
        wide = np.sort(wide[longest])
    gaps = [[int(ns[i]), int(ns[i + 1])] for i in wide.tolist()]
    return {"gaps": gaps, "gaps_truncated": bool(truncated)}


Runs = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], bool, bool]


def _value_runs(
    keys: npt.NDArray[Any], valid: npt.NDArray[np.bool_] | None, kind: Kind
) -> Runs | None:
    """The runs of one repeated counted value: `_runs_of` the rows equal to the row
    before (NaN never equals anything, so for float and bool the missing values leave
    runs by themselves), and whether the first and last rows count."""
    if valid is not None and not valid.any():
        return None
    same = keys[1:] == keys[:-1]
    if valid is not None and kind in ("int", "string", "json"):  # missing as 0 or ""
        same &= valid[1:]
        same &= valid[:-1]
    first = valid is None or bool(valid[0])
    last = valid is None or bool(valid[-1])
    return (*_runs_of(np.flatnonzero(same)), first, last)


def _missing_runs(missing: npt.NDArray[np.intp], rows: int) -> Runs | None:
    """The runs of missing values, from their indices."""
    if not len(missing):
        return None
    joined = missing[:-1][np.diff(missing) == 1]
    return (*_runs_of(joined), bool(missing[0] == 0), bool(missing[-1] == rows - 1))


def _runs_of(
    joined: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Runs of two rows or more, as their first and last rows, from `joined` (sorted):
    the rows `i` that row `i + 1` continues."""
    if not len(joined):
        return _NONE, _NONE
    breaks = np.flatnonzero(np.diff(joined) != 1) + 1
    starts = joined[np.concatenate(([0], breaks))]
    ends = joined[np.append(breaks - 1, len(joined) - 1)] + 1
    return starts, ends


def _runs(
    ns: npt.NDArray[np.int64],
    found: Runs | None,
    keys: npt.NDArray[Any] | None,
    kind: Kind,
    prefix: str,
) -> dict[str, Any]:
    """The longest runs (in time, at least two rows), and the first and last run of any
    length, from `found` (`_value_runs`, `_missing_runs`; None: no member row). A run's
    value is its key (`keys`; None for missing values)."""
    key = "nan_runs" if prefix else "runs"
    head_key = f"{prefix}head" if prefix else "head_run"
    tail_key = f"{prefix}tail" if prefix else "tail_run"
    if found is None:  # no member, no run (most files have no missing value)
        return {key: [], f"{key}_truncated": False, head_key: None, tail_key: None}
    long_starts, long_ends, first_member, last_member = found
    rows = len(ns)

    def run(s: int, e: int) -> Run:
        return _listed(ns, keys, kind, np.array([s]), np.array([e]))[0]

    head = tail = None
    if first_member:  # the first run: a long one from row 0, or row 0 alone
        head = run(0, int(long_ends[0]) if len(long_starts) and long_starts[0] == 0 else 0)
    if last_member:
        ends_last = len(long_ends) and long_ends[-1] == rows - 1
        tail = run(int(long_starts[-1]) if ends_last else rows - 1, rows - 1)
    span = ns[long_ends] - ns[long_starts]
    order = np.argsort(-span, kind="stable")
    truncated = len(order) > MAX_LISTED
    chosen = order[:MAX_LISTED]
    runs = _listed(ns, keys, kind, long_starts[chosen], long_ends[chosen])
    return {key: runs, f"{key}_truncated": bool(truncated), head_key: head, tail_key: tail}


def _listed(
    ns: npt.NDArray[np.int64],
    keys: npt.NDArray[Any] | None,
    kind: Kind,
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
) -> list[Run]:
    """Runs as `[start_ts, end_ts, rows, value]` lists, the value as `values[s].as_py()`
    gives it (the key: a Python float, int or str; bool for bool; None without keys)."""
    values: list[Any] = [None] * len(starts) if keys is None else keys[starts].tolist()
    if kind == "bool" and keys is not None:
        values = [bool(v) for v in values]
    return [
        [a, b, c, v]
        for a, b, c, v in zip(
            ns[starts].tolist(),
            ns[ends].tolist(),
            (ends - starts + 1).tolist(),
            values,
            strict=True,
        )
    ]


# -- a file too large to hold whole: its stats from windows of its rows ---------------------

MAX_TALLIED: Final = 8_000_000  # distinct intervals a windowed file's stats keep, at most


class IntervalTally:
    """The exact histogram of the intervals between consecutive distinct timestamps of
    a file whose timestamps come window by window, in order (each window's sorted).

    At most `MAX_TALLIED` distinct intervals: a file with more (every timestamp
    jittered) would need as much memory as its rows, so the tally gives up
    (`too_varied`) and the file gets no stats sidecar: readers compute them."""

    def __init__(self) -> None:
        self._distinct: list[npt.NDArray[np.int64]] = []
        self._counts: list[npt.NDArray[np.int64]] = []
        self._held = 0
        self._last: int | None = None
        self.too_varied = False

    def add(self, ns: npt.NDArray[np.int64]) -> None:
        if not len(ns) or self.too_varied:
            return
        steps = np.diff(ns)
        if self._last is not None:  # the step from the window before
            steps = np.concatenate(([int(ns[0]) - self._last], steps))
        self._last = int(ns[-1])
        steps = steps[steps != 0]
        if not len(steps):
            return
        distinct, counts = _histogram(steps)
        self._distinct.append(distinct)
        self._counts.append(counts)
        self._held += len(distinct)
        if len(self._distinct) > 8:  # merged now and then: memory as the distinct ones
            distinct, counts = self.histogram()
            self._distinct, self._counts, self._held = [distinct], [counts], len(distinct)
        if self._held > MAX_TALLIED:
            self.too_varied = True
            self._distinct, self._counts, self._held = [], [], 0

    def histogram(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The distinct intervals, sorted, and how many of each."""
        if not self._distinct:
            return _NONE_I64, _NONE_I64
        if len(self._distinct) == 1:
            return self._distinct[0], self._counts[0]
        distinct, where = np.unique(np.concatenate(self._distinct), return_inverse=True)
        counts = np.zeros(len(distinct), np.int64)
        np.add.at(counts, where, np.concatenate(self._counts))
        return distinct, counts

    def gap_floor(self, gap_threshold: int | None) -> int:
        """The gap floor of the whole file: the store's threshold, or 10x its median
        interval (0 without intervals)."""
        if gap_threshold is not None:
            return int(gap_threshold)
        median = _from_histogram(*self.histogram())["median_interval"]
        return int(AUTO_GAP_FACTOR * median) if median else 0


@dataclass(slots=True)
class _Window:
    """One window's stats (with the whole file's gap floor) and the totals a merge
    needs: every gap and run over the floor or of two rows, listed or not."""

    out: dict[str, Any]
    gaps_total: int
    runs_total: int
    nan_runs_total: int


class WindowedStats:
    """The `FileStats` of a file whose rows come in consecutive windows (sorted, and no
    timestamp in two windows), equal to `file_stats` of all the rows at once but for
    `sum`: a float file's is the windows' sums added (another order of additions than
    Arrow's over every value: equal within float rounding); an int file's wraps as
    int64, as Arrow's. Memory: a window's rows, the lists (at most `MAX_LISTED` gaps
    and runs a window) and the interval histogram (`IntervalTally`).

    `floor` is the whole file's gap floor (`IntervalTally.gap_floor`, from a first pass
    over the timestamps when the store has no `gap_threshold`): gaps are listed against
    it window by window; runs and gaps crossing a window edge are joined here."""

    def __init__(self, kind: Kind, floor: int) -> None:
        self.kind, self.floor = kind, floor
        self._windows: list[_Window] = []
        self._tally = IntervalTally()
        self._edges: list[tuple[int, int]] = []  # each window's first and last timestamp

    def add(self, ns: npt.NDArray[np.int64], values: pa.Array) -> None:
        ns = np.asarray(ns, dtype=np.int64)
        if not len(ns):
            return
        if self._edges and self._edges[-1][1] >= int(ns[0]):
            raise ValueError("windows must be in time order, no timestamp in two")
        self._tally.add(ns)
        if self.too_varied:
            return
        out, (gaps, runs, holes) = _describe(ns, values, self.kind, self.floor)
        stats = FileStats(**out)  # every field, the defaults too
        out = {f.name: getattr(stats, f.name) for f in fields(FileStats)}
        self._windows.append(_Window(out, gaps, runs, holes))
        self._edges.append((int(ns[0]), int(ns[-1])))

    @property
    def too_varied(self) -> bool:
        """Whether the intervals are too varied to tally (no `result`)."""
        return self._tally.too_varied

    def result(self) -> FileStats:
        """The file's stats (at least one row added, not `too_varied`)."""
        parts = [w.out for w in self._windows]
        if not parts:
            raise ValueError("a Parquet file holds at least one row")
        if self.too_varied:
            raise ValueError("too many distinct intervals to tally")
        first, last = parts[0], parts[-1]
        valid = [p for p in parts if p["count"]]
        out: dict[str, Any] = {
            "rows": sum(p["rows"] for p in parts),
            "count": sum(p["count"] for p in parts),
            "nan_count": sum(p["nan_count"] for p in parts),
            "first_ts": first["first_ts"],
            "last_ts": last["last_ts"],
            "first_valid": valid[0]["first_valid"] if valid else None,
            "last_valid": valid[-1]["last_valid"] if valid else None,
            "duplicate_timestamps": sum(p["duplicate_timestamps"] for p in parts),
            "conflicting_duplicates": sum(p["conflicting_duplicates"] for p in parts),
            "edge_values": [first["edge_values"][0], last["edge_values"][1]],
        }
        numbers = [p for p in valid if p["min"] is not None]
        if numbers:
            out["min"] = min(p["min"] for p in numbers)
            out["max"] = max(p["max"] for p in numbers)
            out["sum"] = self._sum([p["sum"] for p in numbers])
        out |= _from_histogram(*self._tally.histogram())
        out["gap_floor"] = self.floor
        out |= self._gaps()
        out |= self._runs("runs", "head_run", "tail_run", "runs_total")
        out |= self._runs("nan_runs", "nan_head", "nan_tail", "nan_runs_total")
        return FileStats(**out)

    def _sum(self, sums: list[Any]) -> Any:
        if self.kind == "float":
            return float(np.sum(np.array(sums, np.float64))) if len(sums) > 1 else sums[0]
        total = sum(int(s) for s in sums)
        if self.kind == "int":  # Arrow's int64 sum wraps around
            total = (total + 2**63) % 2**64 - 2**63
        return total

    def _gaps(self) -> dict[str, Any]:
        """Every window's listed gaps and the steps across window edges over the floor,
        in time order; the longest `MAX_LISTED` of them (of equal length the earliest),
        as `file_stats` picks them over every step."""
        listed: list[list[int]] = []
        total = 0
        for i, window in enumerate(self._windows):
            if i:
                step = self._edges[i][0] - self._edges[i - 1][1]
                if step > self.floor if self.floor > 0 else step > 0:
                    listed.append([self._edges[i - 1][1], self._edges[i][0]])
                    total += 1
            listed.extend(window.out["gaps"])
            total += window.gaps_total
        if total <= MAX_LISTED:
            return {"gaps": listed, "gaps_truncated": False}
        length = np.array([b - a for a, b in listed], np.int64)
        keep = np.sort(np.argsort(-length, kind="stable")[:MAX_LISTED])
        return {"gaps": [listed[i] for i in keep.tolist()], "gaps_truncated": True}

    def _runs(self, key: str, head_key: str, tail_key: str, total_key: str) -> dict[str, Any]:
        """The windows' runs with those meeting at a window edge joined (the last run of
        one and the first of the next, holding one value): the longest `MAX_LISTED` in
        time (of equal span the earliest), and the file's first and last run."""
        blocks: list[list[Run]] = []  # in time order; within a block, of equal span too
        total = 0
        open_run: Run | None = None  # the run at the end of the windows so far
        opens_file = False  # whether it started at the file's first row
        head: Run | None = None

        def close(run: Run | None) -> None:
            nonlocal total
            if run is not None and run[2] > 1:
                blocks.append([run])
                total += 1

        for i, window in enumerate(self._windows):
            out = window.out
            runs = list(out[key])
            count = getattr(window, total_key)
            first, last = out[head_key], out[tail_key]
            whole = first is not None and first[2] == out["rows"]  # one run is the window
            joined: Run | None = None
            if open_run is not None and first is not None and open_run[3] == first[3]:
                if first[2] > 1:
                    count -= _drop(runs, first, from_end=False)
                joined = [open_run[0], first[1], open_run[2] + first[2], open_run[3]]
            else:
                if opens_file:
                    head = open_run
                close(open_run)
                opens_file = False
            if i == 0:
                head, opens_file = first, whole
            if whole:
                if joined is None and first is not None and first[2] > 1:
                    count -= _drop(runs, first, from_end=True)
                open_run = joined if joined is not None else first
            else:
                if joined is not None:
                    if opens_file:
                        head = joined
                    opens_file = False
                    close(joined)
                if last is not None and last[2] > 1:
                    count -= _drop(runs, last, from_end=True)
                open_run = last
            blocks.append(runs)
            total += count
        if opens_file:
            head = open_run
        tail = open_run
        close(open_run)
        listed = [run for block in blocks for run in block]
        order = sorted(range(len(listed)), key=lambda i: -(listed[i][1] - listed[i][0]))
        return {
            key: [listed[i] for i in order[:MAX_LISTED]],
            f"{key}_truncated": total > MAX_LISTED,
            head_key: head,
            tail_key: tail,
        }


def _drop(runs: list[Run], run: Run, *, from_end: bool) -> int:
    """Remove `run` from a window's list if it is listed (the first equal one, or the
    last: a window's first and last run); 1 either way (it was counted)."""
    at = range(len(runs) - 1, -1, -1) if from_end else range(len(runs))
    for i in at:
        if runs[i] == run:
            del runs[i]
            break
    return 1
