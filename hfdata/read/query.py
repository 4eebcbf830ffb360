"""`Store.read`: the points of one or several variables in a window, in the form asked.

The options are checked first, then the window (`[start, end)` as inclusive
nanoseconds) and every variable's rows are read from one consistent snapshot
(`snapshot.read_snapshot`, `rows.variable_rows`). What follows works on those sorted
Arrow tables only: dedupe, then raw points in long form, `asof` alignment, or
resampling on pandas' bins (`bins`: closed, label, origin, offset) with the
aggregations of `aggregate`, in long or wide form, sized before any grid is built
(`max_rows`), then the fills of `fill`; `frames.to_output` makes the frame. A
resample that composes from rollups (`fromrollups.choose`) reads, per numeric
variable, its rollup over the window instead of its points (`fromrollups.rollup_rows`)
and merges it into the bins (`fromrollups.resample_rollup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from hfdata.errors import InvalidArgument, ResultTooLarge
from hfdata.kinds import Kind
from hfdata.layout import Partition, validate_name
from hfdata.log.parse import table_schema
from hfdata.parquet.reader import clear_footers
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.sidecars import clear_sidecar_cache
from hfdata.read.aggregate import NO_HOLDING, Agg, Holding, agg_columns, parse_aggs
from hfdata.read.bins import BinRule, Bins, Side, count_bins, make_bins, parse_bin_rule
from hfdata.read.fill import Fill, fill_table, parse_fill
from hfdata.read.frames import OUTPUTS, Output, expand_metadata, to_output
from hfdata.read.fromrollups import (
    Rollup,
    choose,
    resample_rollup,
    rollup_rows,
    rollup_span,
)
from hfdata.read.lookback import last_before
from hfdata.read.resample import asof_align, resample_column
from hfdata.read.rows import (
    clear_tombstones,
    time_span,
    timestamps,
    variable_rows,
    variable_view,
)
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
from hfdata.read.tail import clear_segments
from hfdata.read.twa import max_hold_ns
from hfdata.read.versions import Dedupe
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN, format_ns, to_ns

__all__ = [
    "HOWS",
    "MAX_ROWS",
    "Dedupe",
    "How",
    "Loaded",
    "as_of_ns",
    "clear_cache",
    "load",
    "read",
    "window",
]

How = Literal["long", "wide", "asof"]
HOWS: Final = ("long", "wide", "asof")
MAX_ROWS: Final = 20_000_000
_TS: Final = "timestamp"
_NUMERIC: Final = ("float", "int")


def clear_cache() -> None:
    """Forget cached footers, rollup and stats sidecars, parsed log segments and
    tombstone files (benchmarks use it for cold reads)."""
    clear_footers()
    clear_sidecar_cache()
    clear_segments()
    clear_tombstones()


# -- the rows of a snapshot ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loaded:
    """The merged, sorted, sliced rows of each requested variable, and its kind; a
    variable read from its rollups has its rollup over the window in `rolled` instead
    (and an empty table in `tables`)."""

    tables: dict[str, pa.Table]
    kinds: dict[str, Kind | None]
    rolled: dict[str, pa.Table] = field(default_factory=dict)


def load(
    root: Path,
    parts: PartsRoot,
    partition: Partition,
    names: Sequence[str],
    lo: int,
    last: int,
    *,
    include_log: bool = True,
    with_metadata: bool = False,
    rollup: Rollup | None = None,
    as_of: int | None = None,
    dedupe: Dedupe | None = None,
) -> Loaded:
    """Merged, stable-sorted visible rows of each variable in `[lo, last]` for a reader
    at `as_of` (deduplicated by arrival with `dedupe`), from one consistent snapshot (a
    listed file that vanished makes the whole read start again). With `rollup`, each
    variable that has one, and no tombstone over the window, is read as its rollup over
    the window (rollups describe stored versions: a deletion makes them stale)."""

    def list_files() -> list[VariableFiles]:
        return [
            list_variable(root, parts, n, partition, lo, last, include_log=include_log)
            for n in names
        ]

    def read_files(listed: list[VariableFiles], locked: bool) -> Loaded:
        if rollup is not None and as_of is None and dedupe is None:
            return _read_rolled(parts, listed, lo, last, rollup, locked=locked)
        return _read_all(listed, lo, last, with_metadata, as_of, dedupe, locked=locked)

    return read_snapshot(root, list_files, read_files)


def _read_all(
    listing: list[VariableFiles],
    lo: int,
    last: int,
    with_metadata: bool,
    as_of: int | None,
    dedupe: Dedupe | None,
    *,
    locked: bool = False,
) -> Loaded:
    tables = {
        f.name: variable_rows(
            f, lo, last, with_metadata=with_metadata, locked=locked, as_of=as_of, dedupe=dedupe
        )
        for f in listing
    }
    return Loaded(tables, {f.name: f.kind for f in listing})


def _read_rolled(
    parts: PartsRoot,
    listing: list[VariableFiles],
    lo: int,
    last: int,
    rollup: Rollup,
    *,
    locked: bool,
) -> Loaded:
    """Each variable's rollup over the window, or its rows where it has none or a
    tombstone deletes points in the window."""
    tables: dict[str, pa.Table] = {}
    rolled: dict[str, pa.Table] = {}
    for f in listing:
        deleting = variable_view(f, lo, last, None, locked=locked).active
        table = None if deleting else rollup_rows(f, parts, lo, last, rollup, locked=locked)
        if table is None:
            tables[f.name] = variable_rows(f, lo, last, with_metadata=False, locked=locked)
        else:
            rolled[f.name] = table
            tables[f.name] = table_schema(f.kind).empty_table()
    return Loaded(tables, {f.name: f.kind for f in listing}, rolled)


# -- options ---------------------------------------------------------------------------------


def window(settings: StoreSettings, start: Any, end: Any) -> tuple[int, int]:
    """`[start, end)` as inclusive nanoseconds `(lo, last)`; InvalidArgument (a
    ValueError) naming `start` if empty."""
    rules = settings.time_rules()
    lo = NS_MIN if start is None else to_ns(start, rules)
    hi = None if end is None else to_ns(end, rules)
    if hi is not None and lo >= hi:
        raise InvalidArgument(
            f"start ({format_ns(lo)}) must be before end ({format_ns(hi)}); "
            "reads take the half-open interval [start, end)",
            argument="start",
        )
    return lo, NS_MAX if hi is None else hi - 1


def as_of_ns(settings: StoreSettings, as_of: Any) -> int | None:
    """`as_of` (anything `start`/`end` accept; None: now, every version) as UTC ns."""
    return None if as_of is None else to_ns(as_of, settings.time_rules())


def _tolerance_ns(tolerance: Any) -> int | None:
    if tolerance is None:
        return None
    try:
        delta = pd.Timedelta(tolerance)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"tolerance {tolerance!r} is not a duration; use e.g. '5s' or a timedelta",
            argument="tolerance",
        ) from exc
    if pd.isna(delta) or delta.value < 0:
        raise InvalidArgument(
            f"tolerance must be a non-negative duration, got {tolerance!r}", argument="tolerance"
        )
    return int(delta.value)


def _check_options(
    names: list[str],
    how: str,
    resample: Any,
    tolerance: Any,
    output: str,
    metadata: Any,
    dedupe: Any,
    placement: dict[str, Any],
) -> None:
    if not names:
        raise InvalidArgument("read needs at least one variable name", argument="variables")
    if len(set(names)) != len(names):
        raise InvalidArgument(f"variables must be distinct, got {names!r}", argument="variables")
    for name in names:
        validate_name(name)
    if how not in HOWS:
        raise InvalidArgument(f"how must be one of {', '.join(HOWS)}, got {how!r}", argument="how")
    if output not in OUTPUTS:
        raise InvalidArgument(
            f"output must be one of {', '.join(OUTPUTS)}, got {output!r}", argument="output"
        )
    if metadata not in (False, True, "expand"):
        raise InvalidArgument(
            f"metadata must be False, True or 'expand', got {metadata!r}", argument="metadata"
        )
    if dedupe not in (None, "last", "first"):
        raise InvalidArgument(
            f"dedupe must be None, 'last' or 'first', got {dedupe!r}", argument="dedupe"
        )
    if how == "wide" and resample is None:
        raise InvalidArgument(
            "how='wide' needs resample=...; use how='asof' to align raw points", argument="how"
        )
    if how == "asof" and resample is not None:
        raise InvalidArgument(
            "how='asof' aligns raw points; use how='wide' with resample", argument="how"
        )
    if tolerance is not None and how != "asof":
        raise InvalidArgument("tolerance applies to how='asof' only", argument="tolerance")
    if metadata and (resample is not None or how != "long"):
        raise InvalidArgument(
            "metadata can be read with raw points in long form only (no resample)",
            argument="metadata",
        )
    if resample is None:
        for option, value in placement.items():
            if value is not None and not (option == "origin" and value == "start_day"):
                raise InvalidArgument(
                    f"{option}={value!r} places the bins of a resample; pass resample= too",
                    argument=option,
                )


def read(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: str | Sequence[str],
    start: Any = None,
    end: Any = None,
    *,
    resample: Any = None,
    agg: Any = "mean",
    closed: Side | None = None,
    label: Side | None = None,
    origin: Any = "start_day",
    offset: Any = None,
    fill: Any = None,
    limit: int | None = None,
    max_hold: Any = None,
    how: How = "long",
    tolerance: Any = None,
    output: Output = "pandas",
    metadata: bool | Literal["expand"] = False,
    dedupe: Dedupe | None = None,
    include_log: bool = True,
    max_rows: int | None = MAX_ROWS,
    rollups: bool = True,
    as_of: Any = None,
) -> Any:
    """The rows of `variables` in `[start, end)`, in the shape `Store.read` documents.

    Options are checked before any file is read; the rows come from one snapshot
    (`load`); a resample grid is counted against `max_rows` (`_check_rows`) before it
    is built, on the bins `_grid_spans` chooses; fills come last, per variable. With
    `rollups`, a resample that composes from them (`_rollup_for`) reads numeric
    variables' rollups instead of their points. `as_of` and `dedupe` are applied to each
    variable's rows as `versions.visible` says (arrival times and tombstones).
    """
    single = isinstance(variables, str)
    names = [variables] if isinstance(variables, str) else list(variables)
    placement = {"closed": closed, "label": label, "origin": origin, "offset": offset}
    _check_options(names, how, resample, tolerance, output, metadata, dedupe, placement)
    _check_max_rows(max_rows)
    aggs = parse_aggs(agg)
    filler = parse_fill(fill, limit, resample=resample)
    rules = settings.time_rules()
    rule = None
    if resample is not None:
        rule = parse_bin_rule(
            resample,
            closed=closed,
            label=label,
            origin=origin,
            offset=offset,
            to_ns=lambda t: to_ns(t, rules),
        )
    tol = _tolerance_ns(tolerance)
    hold = max_hold_ns(max_hold, any(a.method == "twa" for a in aggs))
    lo, last = window(settings, start, end)
    known = as_of_ns(settings, as_of)
    bounded = start is not None and end is not None
    rollup = None
    if rollups and known is None:
        rollup = _rollup_for(settings, rule, aggs, dedupe, lo, last, bounded)
    loaded = load(
        root,
        parts,
        settings.partition,
        names,
        lo,
        last,
        include_log=include_log,
        with_metadata=bool(metadata),
        rollup=rollup,
        as_of=known,
        dedupe=dedupe,
    )
    tables = loaded.tables
    kinds = loaded.kinds
    rolled = loaded.rolled
    if how == "asof" and not single:
        grid, cols = asof_align(
            [(timestamps(tables[n]), tables[n].column("value")) for n in names], tol
        )
        result = _with_ts(grid, dict(zip(names, cols, strict=True)))
        json_cols = [n for n in names if kinds[n] == "json"]
    elif rule is not None:
        wide = how == "wide" and not single
        bounds = (lo, last) if bounded else None
        spans = _grid_spans(tables, rolled, names, bounds, wide=wide)
        _check_rows(spans, rule, resample, max_rows, wide=wide)
        grids = {span: _grid(span, rule) for span in set(spans.values())}
        holdings = _holdings(
            root, parts, settings, names, aggs, hold, start, lo, last, include_log, dedupe, known
        )
        if wide:
            common = grids[spans[names[0]]]
            result = _filled(_wide(tables, rolled, kinds, names, aggs, common, holdings), filler)
        else:
            binned = {
                n: _filled(
                    _with_ts(
                        grids[spans[n]].labels,
                        _columns(
                            tables[n], rolled.get(n), kinds[n], aggs, grids[spans[n]], holdings[n]
                        ),
                    ),
                    filler,
                )
                for n in names
            }
            result = binned[names[0]] if single else _long(binned, names)
        json_cols = []
    else:
        if metadata == "expand":
            tables = {n: expand_metadata(t, ["value", "variable"]) for n, t in tables.items()}
        result = tables[names[0]] if single else _long(_common_values(tables, kinds), names)
        json_cols = ["metadata"] if metadata is True else []
        if kinds[names[0]] == "json" and len({kinds[n] for n in names}) == 1:
            json_cols.append("value")
    return to_output(result, output, json_cols)


def _with_ts(ns: npt.NDArray[np.int64], columns: dict[str, Any]) -> pa.Table:
    ts = pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    return pa.table({_TS: ts, **columns})


Span = tuple[int, int] | None  # first and last nanosecond a grid covers; None: no bins


def _rollup_for(
    settings: StoreSettings,
    rule: BinRule | None,
    aggs: Sequence[Agg],
    dedupe: Dedupe | None,
    lo: int,
    last: int,
    bounded: bool,
) -> Rollup | None:
    """The rollups a resample reads (None: the points). `dedupe=` reads the points: a
    rollup counts every row."""
    if rule is None or dedupe is not None:
        return None
    return choose(rule, aggs, settings.rollups, lo, last, bounded=bounded)


def _grid_spans(
    tables: dict[str, pa.Table],
    rolled: dict[str, pa.Table],
    names: list[str],
    bounds: Span,
    *,
    wide: bool,
) -> dict[str, Span]:
    """What each variable's bins cover: the window when both `start` and `end` were
    given, else its first to last point (in wide form, those of all variables); of a
    variable read from rollups, its first and last rollup bin (the same bins)."""
    if bounds is not None:
        return dict.fromkeys(names, bounds)
    spans: dict[str, Span] = {}
    for n in names:
        if n in rolled:
            spans[n] = rollup_span(rolled[n])
        else:
            spans[n] = time_span(tables[n]) if tables[n].num_rows else None
    if wide:
        known = [s for s in spans.values() if s is not None]
        union = (min(a for a, _ in known), max(b for _, b in known)) if known else None
        return dict.fromkeys(names, union)
    return spans


def _grid(span: Span, rule: BinRule) -> Bins:
    if span is None:
        return make_bins(0, -1, rule)  # no bins
    return make_bins(span[0], span[1], rule)


def _filled(table: pa.Table, filler: Fill | None) -> pa.Table:
    """`table`'s aggregated columns filled (every column but the timestamp)."""
    if filler is None:
        return table
    return fill_table(table, filler, [c for c in table.column_names if c != _TS])


def _check_max_rows(max_rows: Any) -> None:
    if max_rows is None:
        return
    if isinstance(max_rows, bool) or not isinstance(max_rows, int):
        raise TypeError(f"max_rows must be an int or None, got {max_rows!r}")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1 (or None for no limit), got {max_rows}")


def _check_rows(
    spans: dict[str, Span], rule: BinRule, resample: Any, max_rows: int | None, *, wide: bool
) -> None:
    """`ResultTooLarge` when the bins would be more than `max_rows` rows, counted
    (not built): one grid in wide form, the sum of each variable's in long form.
    Rows, not cells: several aggregations or variables side by side widen a row."""
    if max_rows is None:
        return
    limit = max_rows + 1  # counted exactly up to here; beyond, an upper bound
    if wide:
        first = next(iter(spans.values()))
        rows = 0 if first is None else count_bins(first[0], first[1], rule, limit)
    else:
        rows = sum(count_bins(s[0], s[1], rule, limit) for s in spans.values() if s is not None)
    if rows <= max_rows:
        return
    spans_known = [s for s in spans.values() if s is not None]
    lo = min(a for a, _ in spans_known)
    hi = max(b for _, b in spans_known)
    ways = "read a shorter window with start=/end=, use a coarser rule than resample=" + repr(
        resample
    )
    if wide:
        ways += ", use how='long' (each variable on its own bins)"
    raise ResultTooLarge(
        f"resample={resample!r} from {format_ns(lo)} to {format_ns(hi)} would make {rows:,} rows, "
        f"more than max_rows={max_rows:,}; {ways}, or pass a larger max_rows= "
        "(None: no limit)",
        rows=rows,
        limit=max_rows,
    )


def _columns(
    table: pa.Table,
    rolled: pa.Table | None,
    kind: Kind | None,
    aggs: Sequence[Agg],
    grid: Bins,
    holding: Holding,
) -> dict[str, pa.Array]:
    """One variable's aggregated columns on `grid`: from its rollup if it was read as
    one, else from its points."""
    if rolled is not None and kind is not None:
        return resample_rollup(rolled, kind, grid, aggs)
    return resample_column(timestamps(table), table.column("value"), kind, grid, aggs, holding)


def _holdings(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    names: list[str],
    aggs: Sequence[Agg],
    max_hold: int | None,
    start: Any,
    lo: int,
    last: int,
    include_log: bool,
    dedupe: Dedupe | None,
    as_of: int | None,
) -> dict[str, Holding]:
    """`twa`'s context per variable: with a `start`, the step function is read inside
    `[start, end)` and the value in force at `start` is the last point before it (looked
    up in earlier partitions and the log, reading only the row groups that can hold it)."""
    if not any(a.method == "twa" for a in aggs):
        return dict.fromkeys(names, NO_HOLDING)
    if start is None:
        return dict.fromkeys(names, Holding(max_hold=max_hold))
    span = (lo, last + 1)
    return {
        n: Holding(
            last_before(
                root,
                parts,
                settings.partition,
                n,
                lo,
                first=dedupe == "first",
                include_log=include_log,
                as_of=as_of,
            ),
            max_hold,
            span,
        )
        for n in names
    }


def _wide(
    tables: dict[str, pa.Table],
    rolled: dict[str, pa.Table],
    kinds: dict[str, Kind | None],
    names: list[str],
    aggs: Sequence[Agg],
    grid: Bins,
    holdings: dict[str, Holding],
) -> pa.Table:
    """One column per variable (or `<variable>.<agg>` for several aggs) on a common grid."""
    columns: dict[str, Any] = {}
    single = agg_columns(aggs) == ["value"]
    for n in names:
        cols = _columns(tables[n], rolled.get(n), kinds[n], aggs, grid, holdings[n])
        for c, arr in cols.items():
            columns[n if single else f"{n}.{c}"] = arr
    return _with_ts(grid.labels, columns)


def _common_values(
    tables: dict[str, pa.Table], kinds: dict[str, Kind | None]
) -> dict[str, pa.Table]:
    """Make the value columns of several variables concatenable (int+float -> float64)."""
    distinct = {k or "float" for k in kinds.values()}
    if len(distinct) <= 1:
        return tables
    if distinct <= set(_NUMERIC):
        out = {}
        for n, t in tables.items():
            i = t.column_names.index("value")
            out[n] = t.set_column(i, "value", t.column("value").cast(pa.float64()))
        return out
    raise InvalidArgument(
        f"variables of different kinds ({', '.join(sorted(distinct))}) cannot share one value "
        "column; read them separately, or use how='asof'"
    )


def _long(parts: dict[str, pa.Table], names: list[str]) -> pa.Table:
    """Stack variables with a `variable` column, stable-sorted by timestamp."""
    pieces = []
    for n in names:
        t = parts[n]
        pieces.append(t.add_column(1, "variable", pa.array([n] * t.num_rows, pa.string())))
    table = pa.concat_tables(pieces, promote_options="permissive")
    ns = timestamps(table)
    if len(ns) > 1:
        table = table.take(pa.array(np.argsort(ns, kind="stable")))
    return table
