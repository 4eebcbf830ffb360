"""A resample answered from rollups (issue 19): `read(resample=..., rollups=True)`.

A numeric variable's rollups (`hfdata.parquet.rollups`: per bin of a fixed resolution
`R`, rows, count, sum, mean and m2, extremes, first and last with their times) compose
into any coarser bin made of whole `R`-bins. `choose` says whether a read qualifies and
which `R` it uses (the largest one whose grid holds every bin edge); then, for one
variable of one snapshot, `rollup_rows` gathers its `R`-rollup over the window, in read
order (Parquet files by partition key and name, then the log tail):

- a file with a rollup sidecar gives its rows of the `R`-bins wholly inside the window,
  and a rollup built from its points in the window's two cut `R`-bins (at most `R` of
  points at each end);
- a file without one (written before issue 19, or its sidecar not built yet), and the
  log tail, give a rollup built from their points in the window.

`combine` merges them bin by bin (late data: several sources in one bin), and
`resample_rollup` merges the `R`-bins into the read's bins, with pandas' result types
(what `rollups=False` returns, column for column). count, min, max, first, last and
ohlc are comparisons and integer sums: exactly the point read's. sum, mean, std, var
and sem add floats in another order than pandas (per file and `R`-bin, then across;
var from Chan's pairwise update of the m2s): they agree within 1e-12 relative to the
size of the bin's values (sum: to the sum of their magnitudes; mean and std: to the
largest magnitude; var: to its square). Int sums are exact.

What does not qualify reads the points, as `rollups=False` (`choose` gives None, or
`rollup_rows` gives None inside the snapshot: no rollup rows in the window, or a bool
variable holding nulls, whose pandas result types depend on them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.parquet.rollups import ROLLUP_KINDS, build, combine, rollup_schema
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.sidecars import load_rollups
from hfdata.read.aggregate import OHLC, Agg, agg_columns
from hfdata.read.bins import BinRule, Bins, fixed_anchor
from hfdata.read.files import read_parquets
from hfdata.read.rows import tail_rows, timestamps
from hfdata.read.snapshot import VariableFiles
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = [
    "COMPOSABLE",
    "Rollup",
    "choose",
    "resample_rollup",
    "rollup_rows",
    "rollup_span",
]

COMPOSABLE: Final = frozenset(
    {"count", "sum", "mean", "min", "max", "first", "last", "ohlc", "std", "var", "sem"}
)
_DAY_NS: Final = 86_400_000_000_000
_COLUMNS: Final = ("timestamp", "value")
_I64: Final = np.iinfo(np.int64)


@dataclass(frozen=True, slots=True)
class Rollup:
    """The rollups a read uses: the store's rule text (`"1h"`, the sidecars' `res=`)
    and its length in ns."""

    rule: str
    ns: int


# -- whether a read qualifies ----------------------------------------------------------------


def choose(
    rule: BinRule,
    aggs: Sequence[Agg],
    rules: Sequence[str],
    lo: int,
    last: int,
    *,
    bounded: bool,
) -> Rollup | None:
    """The rollup a resample reads, or None when it must read the points.

    It qualifies when the rule is fixed-length and closed on the left (a rollup bin holds
    its start), every aggregation composes (`COMPOSABLE`), and some resolution `R` of the
    store's `rules` divides the rule with every bin edge on `R`'s grid: decided here,
    before anything is read (with `bounded`, both `start` and `end` given, the grid is
    the window's; else it is anchored at the origin, `start_day` a midnight). Origins
    `start`, `end` and `end_day` of a window not bounded on both sides depend on the
    exact first or last point: those read the points. The largest such `R` wins.
    """
    if not rule.fixed or rule.closed != "left":
        return None
    if not aggs or any(a.method not in COMPOSABLE for a in aggs):
        return None
    step = int(rule.freq.nanos)
    if bounded:
        anchor: int | None = fixed_anchor(lo, last, rule)
    elif rule.origin == "epoch":
        anchor = rule.shift
    elif isinstance(rule.origin, int):
        anchor = rule.origin + rule.shift
    elif rule.origin == "start_day":
        anchor = rule.shift  # midnights: on the grid of any R dividing a day (checked below)
    else:
        anchor = None
    if anchor is None:
        return None
    best: Rollup | None = None
    for text in rules:
        size = int(pd.Timedelta(text).value)
        if size <= 0 or step % size or anchor % size:
            continue
        if not bounded and rule.origin == "start_day" and _DAY_NS % size:
            continue
        if best is None or size > best.ns:
            best = Rollup(text, size)
    return best


# -- one variable's rollup over a window ----------------------------------------------------


def rollup_rows(
    files: VariableFiles,
    parts: PartsRoot,
    lo: int,
    last: int,
    rollup: Rollup,
    *,
    locked: bool = False,
) -> pa.Table | None:
    """The variable's rollup at `rollup` over `[lo, last]` (one row per `R`-bin holding a
    point of the window; the cut bins at either end only the window's points), or None
    when the read must read the points (not a numeric kind, no point in the window, a
    bool variable with nulls)."""
    kind = files.kind
    if kind not in ROLLUP_KINDS:
        return None
    size = rollup.ns
    schema = rollup_schema(kind)
    # the R-bins wholly inside [lo, last] come from sidecars; the cut ones from points
    inner_lo = lo if lo == NS_MIN else -(-lo // size) * size
    inner_hi = NS_MAX if last == NS_MAX else (last + 1) - (last + 1) % size  # exclusive
    edges = []
    if inner_lo > lo:
        edges.append((lo, min(inner_lo - 1, last)))
    right = max(inner_hi, inner_lo)
    if last != NS_MAX and right <= last:
        edges.append((right, last))
    sidecars = load_rollups(parts, files.parquet, rollup.rule) if files.parquet else {}
    sources: list[pa.Table] = []
    for f in files.parquet:
        stored = sidecars.get(f.rel)
        if stored is None:
            sources.append(_built(_points(f, [(lo, last)]), kind, size))
            continue
        bins = _bins(stored)
        inside = (bins >= inner_lo) & (bins <= inner_hi - size)
        if not inside.all():
            stored = stored.filter(pa.array(inside))
        if not stored.schema.equals(schema):
            stored = stored.select(schema.names).cast(schema)
        # a cut R-bin's points are read only from files whose rollup holds that bin
        cut = [
            _built(_points(f, [r]) if (bins == r[0] - r[0] % size).any() else None, kind, size)
            for r in edges
        ]  # in time order
        sources.extend([*cut[:1], stored, *cut[1:]])
    if files.segments:
        tail = tail_rows(files, lo, last, with_metadata=False, locked=locked)
        sources.append(_built(tail, kind, size))
    present = [s for s in sources if s.num_rows]
    if not present:
        return None
    table = _merged(present)
    if kind == "bool" and _sum(table, "nan_count"):
        return None  # pandas' bool results take other types with nulls: read the points
    return table


def _merged(sources: list[pa.Table]) -> pa.Table:
    """Sources (in read order) merged bin by bin; when no two share a bin and they come
    in time order (a file per partition, no late data), simply concatenated."""
    if len(sources) == 1:
        return sources[0]
    bins = np.concatenate([_bins(t) for t in sources])
    if bool(np.all(bins[1:] > bins[:-1])):
        return pa.concat_tables(sources)
    with np.errstate(invalid="ignore", over="ignore"):  # infinities: NaN sums and m2s
        return combine(sources)


def _points(file: PartFile, ranges: Sequence[tuple[int, int]]) -> pa.Table | None:
    pieces = []
    for a, b in ranges:
        (piece,) = read_parquets([file], a, b, _COLUMNS)
        if piece is not None and piece.num_rows:
            pieces.append(piece)
    if not pieces:
        return None
    return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)


def _built(table: pa.Table | None, kind: Kind, size: int) -> pa.Table:
    if table is None or not table.num_rows:
        return rollup_schema(kind).empty_table()
    with np.errstate(invalid="ignore", over="ignore"):  # infinities: NaN m2, as pandas' var
        return build(timestamps(table), table.column("value").combine_chunks(), kind, size)


def _bins(table: pa.Table) -> npt.NDArray[np.int64]:
    column = table.column("bin").combine_chunks().cast(pa.timestamp("ns", tz="UTC"))
    return np.asarray(column.view(pa.int64()).to_numpy(zero_copy_only=False), np.int64)


def _sum(table: pa.Table, name: str) -> int:
    return int(np.sum(table.column(name).to_numpy()))


def rollup_span(table: pa.Table) -> tuple[int, int]:
    """The first and last `R`-bin start of a non-empty rollup: where the grid goes (for
    the origins `choose` accepts, the same bins as the first and last point's)."""
    bins = _bins(table)
    return int(bins[0]), int(bins[-1])


# -- the read's bins from the R-bins ----------------------------------------------------------


def resample_rollup(
    table: pa.Table, kind: Kind, grid: Bins, aggs: Sequence[Agg]
) -> dict[str, pa.Array]:
    """Each aggregation on `grid` (closed left, every edge on the rollup's grid) from the
    variable's `R`-rollup: one Arrow column per result column, typed as the point read's
    (`hfdata.read.aggregate`: numpy for floats' extremes, pandas' groupby otherwise)."""
    with np.errstate(invalid="ignore", over="ignore"):  # infinities: NaN sums and m2s
        merged = _Merged(table, grid)
    nulls = kind != "float" and merged.nan_rows > 0
    # pandas reindexes a groupby of int values onto the bins: a bin without rows makes
    # an int result float; bool extremes stay bool (object with NaN, back to bool)
    gaps = bool((merged.rows == 0).any())
    data: dict[str, Any] = {}
    for a in aggs:
        if a.method == "count":
            data[a.column] = merged.count
        elif a.method == "sum":
            data[a.column] = _total(merged, kind, nulls=nulls, gaps=gaps)
        elif a.method in ("mean", "std", "var", "sem"):
            data[a.column] = merged.moment(a.method)
        elif a.method == "ohlc":
            picked = (merged.first, merged.high, merged.low, merged.last)
            data.update(
                {c: _typed(v, merged, kind, nulls, gaps) for c, v in zip(OHLC, picked, strict=True)}
            )
        else:
            value = {"min": merged.low, "max": merged.high, "first": merged.first}.get(
                a.method, merged.last
            )
            data[a.column] = _typed(value, merged, kind, nulls, gaps)
    return {c: _arrow(data[c]) for c in agg_columns(aggs)}


def _arrow(values: Any) -> pa.Array:
    """An Arrow column, NaN as null (as `resample_column` makes them)."""
    return values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True)


def _total(merged: _Merged, kind: Kind, *, nulls: bool, gaps: bool) -> npt.NDArray[Any]:
    """pandas' sum: 0 for an empty bin (and for a float NaN sum); int64 for int values
    without nulls, and for bool values when no bin is empty; float64 otherwise."""
    if kind == "float":
        total = np.asarray(merged.total, np.float64)
        return np.where(np.isnan(total), 0.0, total)
    total = np.asarray(merged.total, np.int64)
    if (kind == "int" and not nulls) or (kind == "bool" and not gaps):
        return total
    return total.astype(np.float64)


def _typed(value: npt.NDArray[Any], merged: _Merged, kind: Kind, nulls: bool, gaps: bool) -> Any:
    """An extreme or edge value as pandas types it: float64 with NaN where missing
    (floats; ints with nulls or an empty bin), int64 (ints, every bin holding a value),
    bool with nulls (bools)."""
    missing = merged.count == 0
    if kind == "bool":
        return pa.array(np.asarray(value, np.int64) != 0, pa.bool_(), mask=missing)
    if kind == "int" and not nulls and not gaps:
        return np.asarray(value, np.int64)
    out = np.asarray(value, np.float64).copy()
    out[missing] = np.nan
    return out


class _Merged:
    """The `R`-rows of each bin of `grid` merged: rows, count, sum, extremes, first and
    last value, and Chan's mean and m2, one entry per bin (missing entries where the
    bin holds no value: NaN, or 0 for the integer columns)."""

    def __init__(self, table: pa.Table, grid: Bins) -> None:
        bins = _bins(table)
        n = len(grid)
        pos = np.searchsorted(bins, grid.edges, side="left")
        starts, ends = pos[:-1], pos[1:]
        held = ends > starts
        at = starts[held]
        # every R-row lies in some bin: the grid covers the window, or the rows' own span
        assert len(at) and pos[0] == 0 and pos[-1] == len(bins), "rollup rows outside the bins"
        floats = pa.types.is_floating(table.schema.field("min").type)

        def column(name: str, missing: float | int) -> npt.NDArray[Any]:
            return np.asarray(table.column(name).fill_null(missing).to_numpy())

        def per_bin(reduced: npt.NDArray[Any], empty: float | int) -> npt.NDArray[Any]:
            out = np.full(n, empty, dtype=reduced.dtype)
            out[held] = reduced
            return out

        counts = column("count", 0).astype(np.int64)
        self.nan_rows = int(column("nan_count", 0).sum())
        self.rows = per_bin(np.add.reduceat(column("rows", 0), at), 0)
        self.count = per_bin(np.add.reduceat(counts, at), 0).astype(np.int64)
        self.total = per_bin(np.add.reduceat(column("sum", 0), at), 0)
        if floats:
            low = per_bin(np.fmin.reduceat(column("min", np.nan), at), np.nan)
            high = per_bin(np.fmax.reduceat(column("max", np.nan), at), np.nan)
        else:
            low = per_bin(np.minimum.reduceat(column("min", _I64.max), at), 0)
            high = per_bin(np.maximum.reduceat(column("max", _I64.min), at), 0)
        self.low, self.high = low, high
        valued = np.flatnonzero(counts > 0)  # R-rows with a value, in time order
        firsts = column("first", np.nan if floats else 0)
        lasts = column("last", np.nan if floats else 0)
        self.first = np.zeros(n, firsts.dtype)
        self.last = np.zeros(n, lasts.dtype)
        has = self.count > 0
        if len(valued):
            k_first = np.minimum(np.searchsorted(valued, starts, side="left"), len(valued) - 1)
            k_last = np.maximum(np.searchsorted(valued, ends, side="left") - 1, 0)
            self.first[has] = firsts[valued[k_first[has]]]
            self.last[has] = lasts[valued[k_last[has]]]
        # Chan et al.: the bin's mean from each R-row's count and mean, then its m2 as the
        # R-rows' m2s plus each one's count times its mean's squared distance from it
        means = column("mean", 0.0)
        m2s = column("m2", 0.0)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            weighted = per_bin(np.add.reduceat(counts * means, at), 0.0)
            self.mean = weighted / self.count
            centre = np.repeat(self.mean[held], ends[held] - starts[held])
            spread = np.where(counts > 0, counts * (means - centre) ** 2, 0.0)
            self.m2 = per_bin(np.add.reduceat(m2s + spread, at), 0.0)

    def moment(self, method: str) -> npt.NDArray[np.float64]:
        """mean (the sum over the count, as pandas), std, var or sem (ddof 1) per bin;
        NaN where pandas gives none (no value; one value for the spread)."""
        count = self.count.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "mean":
                return np.asarray(self.total, np.float64) / count
            var = np.where(count > 1, self.m2 / (count - 1), np.nan)
            if method == "var":
                return var
            std = np.sqrt(var)
            return std if method == "std" else std / np.sqrt(count)
