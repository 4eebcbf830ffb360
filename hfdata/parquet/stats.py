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

import itertools
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
    (10x the file's median interval).

    Cost matters (compaction computes this for every file it writes): one difference of
    the timestamps serves the duplicates, the intervals and the gaps; the missing values,
    usually few, are handled by their indices rather than by masks over every row; and
    numpy's reductions stand in for slower Arrow kernels where the result is the same."""
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
    out |= _runs(ns, _value_runs(keys, valid, kind), keys, kind, "")
    out |= _runs(ns, _missing_runs(missing, rows), None, kind, "nan_")
    return FileStats(**out)


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
