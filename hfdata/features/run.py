"""`Store.features`: plan the windows, compute them partition by partition, assemble.

1. Arguments are checked before anything is read (`spec`, `grid`).
2. Each variable's first and last point in `[start, end)` are looked up (the lookback
   reads only the row groups that can hold them), giving its grid of windows
   (`how="wide"`: one grid over all the variables' span, as `read(how="wide")`).
   An in-memory result is counted against `max_rows` before anything is computed.
3. Each grid is cut at the store's partition boundaries (`grid.chunks`); a task is one
   variable's windows starting in one period. Its worker reads that span of the
   variable (plus the `window` its last windows reach past it, and for `twa` the
   point before it) from one consistent snapshot and computes every feature
   (`compute`). Memory is one partition per worker, whatever the store's size.
4. Tasks run in `workers` processes (forked on Linux, so callables need not pickle;
   spawned elsewhere) or, with one worker or one task, in this process. Results come
   back in task order, so every `workers` gives the same frame: long, variable by
   variable (the caller's order), each period after period; wide, period by period,
   the variables of each side by side. `to=` writes each task's result (wide: each
   period's) as it completes. With at least as many variables as workers, the pool
   starts before step 2 and the workers look up the spans too (in the caller's
   process they took 27 ms for 10 variables, before any task could start).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from hfdata.compact.progress import progress_bar
from hfdata.errors import InvalidArgument, ResultTooLarge
from hfdata.features.compute import NUMERIC_KINDS, WINDOW, Job, compute
from hfdata.features.grid import Chunk, Grid, Placement, chunks, make_grid, parse_placement
from hfdata.features.sink import Sink, open_sink
from hfdata.features.spec import HOWS, Feature, parse_features, parse_workers
from hfdata.parquet.root import PartsRoot
from hfdata.read.events import variable_names
from hfdata.read.files import single_threaded
from hfdata.read.frames import OUTPUTS
from hfdata.read.lookback import Reach, load_reach, rows_and_kind
from hfdata.read.query import MAX_ROWS, window
from hfdata.read.rows import timestamps
from hfdata.read.twa import max_hold_ns
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, format_ns, to_ns

__all__ = ["features"]

_UTC_NS: Final = pa.timestamp("ns", tz="UTC")


@dataclass(frozen=True, slots=True)
class _Context:
    """What every task needs (inherited by forked workers, pickled for spawned ones)."""

    root: Path
    parts: PartsRoot
    settings: StoreSettings
    job: Job
    as_of: int | None = None  # the reader's `as_of` (issue 20): versions known by then


@dataclass(frozen=True, slots=True)
class _Task:
    variable: str
    grid: Grid
    chunk: Chunk


_CONTEXT: _Context | None = None  # set in each worker by `_init`


def features(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    variables: str | Sequence[str],
    start: Any = None,
    end: Any = None,
    *,
    window: Any,
    stride: Any = None,
    funcs: Any = ("mean", "std", "min", "max"),
    how: str = "long",
    output: str = "pandas",
    workers: int | None = None,
    min_points: int = 1,
    to: Any = None,
    closed: Any = None,
    label: Any = None,
    origin: Any = "start_day",
    offset: Any = None,
    max_hold: Any = None,
    progress: bool | None = None,
    as_of: Any = None,
) -> Any:
    """The features of `variables` over windows, as `Store.features` documents, of the
    versions a reader at `as_of` sees (tombstones and arrival times, issue 20)."""
    names = variable_names(variables)
    specs = parse_features(funcs)
    _check_choice(how, HOWS, "how")
    _check_choice(output, OUTPUTS, "output")
    count = parse_workers(workers, os.cpu_count() or 1)
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 0:
        raise InvalidArgument(
            f"min_points={min_points!r} must be a whole number, 0 or more", argument="min_points"
        )
    rules = settings.time_rules()
    placement = parse_placement(
        window,
        stride,
        settings.partition,
        closed=closed,
        label=label,
        origin=origin,
        offset=offset,
        to_ns=lambda t: to_ns(t, rules),
    )
    hold = max_hold_ns(max_hold, any(f.agg is not None and f.agg.op == "twa" for f in specs))
    lo, last = _window(settings, start, end)
    job = Job(specs, placement, lo, min(last, NS_MAX - 1) + 1, max(min_points, 0), hold)
    known = None if as_of is None else to_ns(as_of, rules)
    context = _Context(root, parts, settings, job, known)
    # with a variable for every worker, the pool starts now and looks up the spans too
    pool = _pool(context, count) if 1 < count <= len(names) else None
    try:
        return _features(context, names, specs, how, output, count, progress, to, pool)
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _features(
    context: _Context,
    names: list[str],
    specs: tuple[Feature, ...],
    how: str,
    output: str,
    count: int,
    progress: bool | None,
    to: Any,
    pool: Executor | None,
) -> Any:
    """Plan, compute and assemble, with the worker processes `pool` if already started."""
    settings, placement = context.settings, context.job.placement
    grids = _grids(context, names, wide=how == "wide", pool=pool)
    if to is None:
        _check_size(grids, placement, how)
    schema = _schema(specs, names, how)
    sink = open_sink(to, schema, tuple(names)) if to is not None else None
    if how == "long":  # variable by variable: a single file's rows are the frame's
        tasks = [
            _Task(name, grid, chunk)
            for name, grid in grids.items()
            for chunk in chunks(grid, settings.partition)
        ]
    else:  # period by period: a period's row is complete once its group is done
        tasks = [
            _Task(name, grid, chunk)
            for chunk_group in _periods(grids, settings)
            for name, grid, chunk in chunk_group
        ]
    try:
        tables = _collect(context, tasks, count, progress, how, names, specs, sink, pool)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    if sink is not None:
        return sink.close(tuple(f.name for f in specs))
    return _frame(tables, names, schema, how, output)


# -- arguments -------------------------------------------------------------------------------


def _check_choice(value: Any, allowed: Sequence[str], argument: str) -> None:
    if value not in allowed:
        raise InvalidArgument(
            f"{argument}={value!r} is not one of {', '.join(map(repr, allowed))}",
            argument=argument,
        )


def _window(settings: StoreSettings, start: Any, end: Any) -> tuple[int, int]:
    try:
        return window(settings, start, end)
    except ValueError as exc:
        if isinstance(exc, InvalidArgument):
            raise
        raise InvalidArgument(str(exc), argument="start") from exc


def _schema(specs: tuple[Feature, ...], names: list[str], how: str) -> pa.Schema:
    """The result's columns: `window`, then `variable` and the features (long), or
    `<variable>__<feature>` for each variable and feature (wide)."""
    fields = [pa.field(WINDOW, _UTC_NS)]
    if how == "long":
        fields.append(pa.field("variable", pa.string()))
        fields += [pa.field(f.name, pa.float64()) for f in specs]
    else:
        fields += [pa.field(f"{n}__{f.name}", pa.float64()) for n in names for f in specs]
    return pa.schema(fields)


# -- planning ---------------------------------------------------------------------------------


def _grids(
    context: _Context, names: list[str], *, wide: bool, pool: Executor | None
) -> dict[str, Grid]:
    """Each variable's grid (wide: one grid over the span of all of them); the spans are
    looked up in the worker processes when they are already started."""
    if pool is not None:
        spans = dict(zip(names, pool.map(_span_of, names), strict=True))
    else:
        spans = {name: _span(context, name) for name in names}
    placement = context.job.placement
    if wide:
        known = [s for s in spans.values() if s is not None]
        if not known:
            return {name: Grid(0, 0, placement.stride) for name in names}
        common = make_grid(min(a for a, _ in known), max(b for _, b in known), placement)
        return dict.fromkeys(names, common)
    return {
        name: make_grid(*span, placement) if span is not None else Grid(0, 0, placement.stride)
        for name, span in spans.items()
    }


def _span(context: _Context, name: str) -> tuple[int, int] | None:
    """The first and last point of `name` in the job's `[lo, hi)`, or None; refuses a
    variable whose values are not numbers."""
    job = context.job
    parts, root, partition = context.parts, context.root, context.settings.partition
    after = Reach(((job.lo, job.lo),), after=True)
    as_of = context.as_of
    rows, kind = load_reach(root, parts, partition, [name], after, rows_and_kind, as_of=as_of)[name]
    if kind is not None and kind not in NUMERIC_KINDS:
        raise InvalidArgument(
            f"features are numbers, and {name!r} holds {kind} values; read it with read() "
            "or around() instead",
            argument="variables",
        )
    ns = timestamps(rows)
    if not len(ns) or ns[0] >= job.hi:
        return None
    before = Reach(((job.hi - 1, job.hi - 1),), before=True)
    rows, _ = load_reach(root, parts, partition, [name], before, rows_and_kind, as_of=as_of)[name]
    last_ns = timestamps(rows)
    return int(ns[0]), int(last_ns[-1])


def _check_size(grids: dict[str, Grid], placement: Placement, how: str) -> None:
    """`ResultTooLarge` before an in-memory result of more than `MAX_ROWS` rows."""
    unique = (
        {id(g): g for g in grids.values()} if how == "wide" else dict(enumerate(grids.values()))
    )
    rows = sum(g.count for g in unique.values())
    if rows <= MAX_ROWS:
        return
    first = min(g.first for g in grids.values() if g.count)
    raise ResultTooLarge(
        f"features from {format_ns(first)} would make {rows:,} rows of "
        f"{placement.stride / 1e9:g} s windows, more than {MAX_ROWS:,} in memory; write them "
        "with to='features/' (no limit), or use start=/end= or a longer stride",
        rows=rows,
        limit=MAX_ROWS,
    )


def _periods(
    grids: dict[str, Grid], settings: StoreSettings
) -> Iterator[list[tuple[str, Grid, Chunk]]]:
    """The tasks period by period (keys in time order), variables in the caller's order
    within each: a period is complete once its group is done."""
    cuts = {name: list(chunks(grid, settings.partition)) for name, grid in grids.items()}
    keys = sorted({c.key for found in cuts.values() for c in found}, key=_key_order)
    where = {name: {c.key: c for c in found} for name, found in cuts.items()}
    for key in keys:
        yield [(n, grids[n], where[n][key]) for n in grids if key in where[n]]


def _key_order(key: str) -> tuple[int, str]:
    """Partition keys sort as text, but a year before 1000 is shorter; years first."""
    year = key.split("-", 1)[0]
    return (int(year) if year.lstrip("-").isdigit() else 0, key)


# -- running ------------------------------------------------------------------------------------


def _init(context: _Context) -> None:
    """A worker: the context, and one decoding thread (the workers share the cores)."""
    global _CONTEXT
    _CONTEXT = context
    single_threaded()


def _run(task: _Task) -> pa.Table:
    assert _CONTEXT is not None
    return _compute(_CONTEXT, task)


def _span_of(name: str) -> tuple[int, int] | None:
    assert _CONTEXT is not None
    return _span(_CONTEXT, name)


def _compute(context: _Context, task: _Task) -> pa.Table:
    """One task: its span of rows, then every feature of its windows."""
    job = context.job
    starts = task.grid.starts(task.chunk.begin, task.chunk.stop)
    # the rows of [first start, last start + window), or of (.., ..] closed right: a
    # closed-left task whose windows end at its partition's end opens no other file
    reach_end = int(starts[-1]) + job.placement.window - (job.placement.closed == "left")
    a = max(int(starts[0]), job.lo)
    b = min(reach_end, job.hi - 1)
    twa = any(f.agg is not None and f.agg.op == "twa" for f in job.features)
    if b >= a:
        reach = Reach(((a, b),), before=twa)
        loaded = load_reach(
            context.root,
            context.parts,
            context.settings.partition,
            [task.variable],
            reach,
            rows_and_kind,
            as_of=context.as_of,
        )
        rows = loaded[task.variable][0]
        ns = timestamps(rows)
        values = rows.column("value").combine_chunks()
    else:
        ns = np.empty(0, np.int64)
        values = pa.array([], pa.float64())
    return compute(job, task.variable, ns, values, starts)


def _collect(
    context: _Context,
    tasks: list[_Task],
    workers: int,
    progress: bool | None,
    how: str,
    names: list[str],
    specs: tuple[Feature, ...],
    sink: Sink | None,
    pool: Executor | None,
) -> dict[str, list[pa.Table]]:
    """Run the tasks (in `pool` if started); return each variable's tables (long) or
    each period's (wide, under the key), unless a sink takes them."""
    out: dict[str, list[pa.Table]] = {}
    bar = progress_bar(progress, len(tasks), "features", "chunk")
    pending: list[tuple[_Task, pa.Table]] = []  # the current period's tables (wide)
    try:
        for task, table in zip(tasks, _results(context, tasks, workers, pool), strict=True):
            if bar is not None:
                bar.update(1)
            if how == "long":
                if sink is not None:
                    sink.write(task.chunk.key, task.variable, table)
                else:
                    out.setdefault(task.variable, []).append(table)
                continue
            if pending and pending[0][0].chunk.key != task.chunk.key:
                _wide_period(pending, names, specs, sink, out)
                pending = []
            pending.append((task, table))
        if pending:
            _wide_period(pending, names, specs, sink, out)
    finally:
        if bar is not None:
            bar.close()
    return out


def _results(
    context: _Context, tasks: list[_Task], workers: int, started: Executor | None
) -> Iterator[pa.Table]:
    """The tasks' tables in task order: here, or in a pool of processes (`started`, the
    caller's, which shuts it down, or one of its own)."""
    workers = min(workers, len(tasks))
    if workers <= 1:
        for task in tasks:
            yield _compute(context, task)
        return
    if started is not None:
        yield from started.map(_run, tasks)
        return
    with _pool(context, workers) as pool:
        try:
            yield from pool.map(_run, tasks)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _pool(context: _Context, workers: int) -> Executor:
    """Processes that hold the context: forked on Linux (they inherit it, callables
    included), spawned elsewhere (it must pickle)."""
    if sys.platform.startswith("linux"):
        method = "fork"
    else:  # pragma: no cover - macOS and Windows
        method = "spawn"
        try:
            pickle.dumps(context)
        except Exception as exc:
            raise InvalidArgument(
                f"funcs cannot be sent to worker processes ({exc}); define the functions at "
                "a module's top level, or pass workers=1",
                argument="funcs",
            ) from exc
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_init,
        initargs=(context,),
    )


# -- assembling ---------------------------------------------------------------------------------


def _wide_period(
    pending: list[tuple[_Task, pa.Table]],
    names: list[str],
    specs: tuple[Feature, ...],
    sink: Sink | None,
    out: dict[str, list[pa.Table]],
) -> None:
    """One period's tables side by side (the variables share one grid): `window`, then
    `<variable>__<feature>` for each variable in the caller's order."""
    by_name = {task.variable: table for task, table in pending}
    first = pending[0][1]
    columns: dict[str, pa.Array] = {WINDOW: first.column(WINDOW)}
    for name in names:
        table = by_name.get(name)
        for spec in specs:
            column = (
                table.column(spec.name)
                if table is not None
                else pa.nulls(first.num_rows, pa.float64())
            )
            columns[f"{name}__{spec.name}"] = column
    wide = pa.table(columns)
    key = pending[0][0].chunk.key
    if sink is not None:
        sink.write(key, None, wide)
    else:
        out.setdefault("", []).append(wide)


def _frame(
    tables: dict[str, list[pa.Table]], names: list[str], schema: pa.Schema, how: str, output: str
) -> Any:
    """The long or wide result in the requested form (`window` the pandas index)."""
    if how == "wide":
        pieces = tables.get("", [])
    else:
        pieces = [
            t.add_column(1, "variable", pa.array([name] * t.num_rows, pa.string()))
            for name in names
            for t in tables.get(name, [])
        ]
    table = pa.concat_tables(pieces) if pieces else schema.empty_table()
    if output == "arrow":
        return table
    if output == "polars":
        import polars as pl

        return pl.from_arrow(table)
    frame = table.to_pandas()
    frame.index = pd.DatetimeIndex(frame.pop(WINDOW), name=WINDOW)
    return frame
