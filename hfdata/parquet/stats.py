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
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    "QUANTILES",
    "STATS_VERSION",
    "FileStats",
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
    (10x the file's median interval)."""
    ns = np.asarray(ns, dtype=np.int64)
    rows = len(ns)
    if rows == 0:
        raise ValueError("a Parquet file holds at least one row")
    numeric = kind in ("float", "int", "bool")
    keys, valid = _comparable(values, kind)
    count = int(valid.sum())
    out: dict[str, Any] = {
        "rows": rows,
        "count": count,
        "nan_count": rows - count,
        "first_ts": int(ns[0]),
        "last_ts": int(ns[-1]),
    }
    present = np.flatnonzero(valid)
    if count:
        out["first_valid"] = [int(ns[present[0]]), _py(values, int(present[0]))]
        out["last_valid"] = [int(ns[present[-1]]), _py(values, int(present[-1]))]
        if numeric:
            counted = values if count == rows else values.filter(pa.array(valid))
            if kind == "bool":
                counted = counted.cast(pa.int64())
            extremes = pc.min_max(counted)  # one pass for both
            out["min"] = extremes["min"].as_py()
            out["max"] = extremes["max"].as_py()
            out["sum"] = pc.sum(counted).as_py()
    same_ts = ns[1:] == ns[:-1]
    out["duplicate_timestamps"] = int(same_ts.sum())
    out["conflicting_duplicates"] = _conflicts(ns, keys, valid, same_ts)
    out["edge_values"] = [
        _distinct_at(ns, values, valid, int(ns[0])),
        _distinct_at(ns, values, valid, int(ns[-1])),
    ]
    duplicated = out["duplicate_timestamps"] > 0
    distinct = ns[np.concatenate(([True], ~same_ts))] if duplicated else ns
    intervals = np.diff(distinct)
    out |= _intervals(intervals)
    median = out["median_interval"]
    floor = gap_threshold
    if floor is None:
        floor = AUTO_GAP_FACTOR * median if median else 0
    out["gap_floor"] = int(floor)
    out |= _gaps(distinct, intervals, int(floor))
    out |= _runs(ns, keys, valid, values, "")
    out |= _runs(ns, None, ~valid, None, "nan_")
    return FileStats(**out)


# -- the pieces ---------------------------------------------------------------------------------


def _comparable(values: pa.Array, kind: Kind) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """Values as a numpy array where equal values are equal elements (floats; text for
    string and json), and which of them count (not null, not NaN)."""
    if kind in ("float", "int", "bool"):
        if kind == "int":  # exact: int64 with nulls as 0 (masked by `valid`)
            keys = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
            valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
            return keys, valid
        floats = np.asarray(
            values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        return floats, ~np.isnan(floats)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
    text = np.asarray(values.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
    return text, valid


def _py(values: pa.Array, i: int) -> Any:
    return values[i].as_py()


def _conflicts(
    ns: npt.NDArray[np.int64],
    keys: npt.NDArray[Any],
    valid: npt.NDArray[np.bool_],
    same_ts: npt.NDArray[np.bool_],
) -> int:
    """Timestamps whose counted values are not all equal (only rows sharing a timestamp
    can conflict, so only those are looked at)."""
    if not same_ts.any():
        return 0
    shared = np.zeros(len(ns), bool)
    shared[1:] |= same_ts
    shared[:-1] |= same_ts
    rows = np.flatnonzero(shared & valid)
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
    ns: npt.NDArray[np.int64], values: pa.Array, valid: npt.NDArray[np.bool_], t: int
) -> list[Any]:
    a = int(np.searchsorted(ns, t, side="left"))
    b = int(np.searchsorted(ns, t, side="right"))
    seen: list[Any] = []
    for i in range(a, b):
        if valid[i]:
            v = values[i].as_py()
            if v not in seen:
                seen.append(v)
    return seen


def _intervals(intervals: npt.NDArray[np.int64]) -> dict[str, Any]:
    if not len(intervals):
        return {"histogram": [], "quantiles": None, "median_interval": None}
    distinct, counts = _histogram(intervals)
    # the median from the histogram: of an even count, the middle two's mean (np.median's)
    ends = np.cumsum(counts)
    n = len(intervals)
    low = int(distinct[int(np.searchsorted(ends, (n - 1) // 2, side="right"))])
    high = int(distinct[int(np.searchsorted(ends, n // 2, side="right"))])
    median = round((float(low) + float(high)) / 2)
    if len(distinct) <= EXACT_INTERVALS:
        histogram = [[int(d), int(c)] for d, c in zip(distinct, counts, strict=True)]
        return {"histogram": histogram, "quantiles": None, "median_interval": median}
    ranks = np.linspace(0, len(intervals) - 1, QUANTILES + 1).round().astype(np.int64)
    quantiles = np.sort(intervals)[ranks]
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


def _gaps(
    distinct: npt.NDArray[np.int64], intervals: npt.NDArray[np.int64], floor: int
) -> dict[str, Any]:
    wide = np.flatnonzero(intervals > floor) if floor > 0 else np.flatnonzero(intervals > 0)
    truncated = len(wide) > MAX_LISTED
    if truncated:
        longest = np.argsort(-intervals[wide], kind="stable")[:MAX_LISTED]
        wide = np.sort(wide[longest])
    gaps = [[int(distinct[i]), int(distinct[i + 1])] for i in wide.tolist()]
    return {"gaps": gaps, "gaps_truncated": bool(truncated)}


def _runs(
    ns: npt.NDArray[np.int64],
    keys: npt.NDArray[Any] | None,
    member: npt.NDArray[np.bool_],
    values: pa.Array | None,
    prefix: str,
) -> dict[str, Any]:
    """Runs of consecutive member rows holding one key (None: every member row holds
    the same): the longest (in time, at least two rows), and the first and last run of
    any length."""
    rows = len(ns)
    key = "nan_runs" if prefix else "runs"
    if not member.any():  # no member, no run (most files have no missing value)
        return {
            key: [],
            f"{key}_truncated": False,
            f"{prefix}head" if prefix else "head_run": None,
            f"{prefix}tail" if prefix else "tail_run": None,
        }
    # same[i]: rows i and i + 1 are members holding one key (one run); a block of Trues
    # same[a..b-1] is the run of rows a..b. Only boolean passes over the rows: the runs
    # themselves are few where it matters (values that change).
    same = member[1:] & member[:-1]
    if keys is not None:
        same &= keys[1:] == keys[:-1]
    flips = np.diff(same.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    long_starts = np.flatnonzero(flips == 1)  # runs of two rows or more
    long_ends = np.flatnonzero(flips == -1)

    def run(s: int, e: int) -> Run:
        value = None if values is None else values[s].as_py()
        return [int(ns[s]), int(ns[e]), e - s + 1, value]

    head = tail = None
    whole = bool(same.all())  # one run of every row
    if member[0]:  # the first run: up to the first row that does not continue it
        head = run(0, rows - 1 if whole else int(np.argmin(same)))
    if member[-1]:  # the last: from the row after the last break
        tail = run(0 if whole else len(same) - int(np.argmin(same[::-1])), rows - 1)
    span = ns[long_ends] - ns[long_starts]
    order = np.argsort(-span, kind="stable")
    truncated = len(order) > MAX_LISTED
    runs = [run(int(long_starts[i]), int(long_ends[i])) for i in order[:MAX_LISTED].tolist()]
    return {
        key: runs,
        f"{key}_truncated": bool(truncated),
        f"{prefix}head" if prefix else "head_run": head,
        f"{prefix}tail" if prefix else "tail_run": tail,
    }
