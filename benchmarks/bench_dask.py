"""Dask past memory: `to_dask` over a store larger than its workers' memory (issue 16).

    python -m benchmarks.bench_dask            full size (the store is built once: 157 s here)
    python -m benchmarks.bench_dask --quick    a small store

What Dask is for is data that does not fit. One variable of float points at 20 Hz over
90 days (153,424,200 points: a day missing, a few hours and minutes missing, NaN now
and then and for a whole minute), 16 bytes a point as timestamp and value, 2.29 GiB: more
than the two workers' 1 GiB each. A `distributed.LocalCluster` of 2 worker processes
(1 thread, `memory_limit="1GiB"` each) computes
`store.to_dask("x").resample("1min")` mean and count, which must equal
`store.read("x", start=day, end=day + 1, resample="1min", agg=["mean", "count"])` read
one day at a time and concatenated, exactly (both are pandas' mean over the same rows in
the same order: each Dask partition holds whole days, so no bin is split), with no worker
killed or restarted (the workers' addresses and pids are the same after, and the
scheduler logged no worker removed or added). Reported: the wall time of the
computation (graph building included, cluster start not), each worker's peak resident
set (its `ru_maxrss` since it started, the cluster being new) against the limit, and the
time building the store took. The target is met when all of that holds and both peaks
are under the limit.

The store is built through the public API (`append_many` a day at a time, `compact`
every five days, log retention 0 so the log never holds more than five days) and cached
under the scratch directory (`benchmarks/_work/`, or `--dir`) with a marker naming the
store format version (`hfdata.settings.FORMAT_VERSION`), the recipe and the point count:
a later run reuses it; a new format, recipe or count builds it again. `--quick` builds a
two-day store (3,384,000 points, in memory many times over) in a scratch directory that
is removed after: it checks the machinery, not the memory bound.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hfdata
from benchmarks._harness import Contender, cache_dir, compare, note, scratch_dir, target
from hfdata.settings import FORMAT_VERSION

__all__ = ["FULL", "QUICK", "Recipe", "cached", "run"]

W = "8"  # object storage and Dask
VARIABLE = "x"
LIMIT = "1GiB"
LIMIT_BYTES = 1 << 30
POINT_BYTES = 16  # int64 timestamp + float64 value
DAY_NS = 86_400_000_000_000
MINUTE_NS = 60_000_000_000
HOUR_NS = 60 * MINUTE_NS


@dataclass(frozen=True)
class Recipe:
    """The generated store: `hz` points a second over `days` days from `start`, with
    gaps (whole days, and `[from, to)` spans of nanoseconds within a day) and NaN
    values (one in `nan_every` at random, and one whole minute of them)."""

    name: str
    start: str
    days: int
    hz: int
    missing_days: tuple[int, ...]
    gaps: tuple[tuple[int, int, int], ...]  # (day, from ns, to ns) within the day
    nan_minute: tuple[int, int]  # (day, minute) whose values are all NaN
    nan_every: int

    def key(self) -> dict[str, Any]:
        """What the cache marker must match (besides the format version and count)."""
        return {
            "recipe": self.name,
            "start": self.start,
            "days": self.days,
            "hz": self.hz,
            "missing_days": list(self.missing_days),
            "gaps": [list(g) for g in self.gaps],
            "nan_minute": list(self.nan_minute),
            "nan_every": self.nan_every,
        }

    def day_start(self, day: int) -> int:
        return int(pd.Timestamp(self.start, tz="UTC").value) + day * DAY_NS

    def timestamps(self, day: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The day's timestamps (UTC ns), gaps removed."""
        if day in self.missing_days:
            return np.empty(0, np.int64)
        step = 1_000_000_000 // self.hz
        offsets = np.arange(DAY_NS // step, dtype=np.int64) * step
        keep = np.ones(len(offsets), bool)
        for d, a, b in self.gaps:
            if d == day:
                keep &= (offsets < a) | (offsets >= b)
        return self.day_start(day) + offsets[keep]

    def frame(self, day: int) -> pd.DataFrame:
        """The day's points: seeded values, NaN where the recipe says."""
        ns = self.timestamps(day)
        rng = np.random.default_rng(day)
        values = rng.normal(20, 5, len(ns)).round(3)
        values[rng.random(len(ns)) < 1 / self.nan_every] = np.nan
        if self.nan_minute[0] == day:
            lo = self.day_start(day) + self.nan_minute[1] * MINUTE_NS
            values[(ns >= lo) & (ns < lo + MINUTE_NS)] = np.nan
        return pd.DataFrame({"timestamp": pd.to_datetime(ns, utc=True), "value": values})

    def points(self) -> int:
        return sum(len(self.timestamps(d)) for d in range(self.days))


FULL = Recipe(
    name="dask-past-memory-1",
    start="2026-06-01",
    days=90,
    hz=20,
    missing_days=(30,),
    # three hours at night; six and a half minutes starting mid-minute; the last two
    # hours of the day before the missing one
    gaps=(
        (10, 3 * HOUR_NS, 6 * HOUR_NS),
        (45, 12 * HOUR_NS + 30_000_000_000, 12 * HOUR_NS + 7 * MINUTE_NS),
        (29, 22 * HOUR_NS, DAY_NS),
    ),
    nan_minute=(60, 600),
    nan_every=10_000,
)
QUICK = Recipe(
    name="dask-past-memory-quick-1",
    start="2026-06-01",
    days=2,
    hz=20,
    missing_days=(),
    gaps=((0, 3 * HOUR_NS, 4 * HOUR_NS),),
    nan_minute=(1, 600),
    nan_every=10_000,
)
COMPACT_EVERY = 5  # days appended between compactions (the log never holds more)


def _build(path: Path, recipe: Recipe) -> int:
    """Build the store at `path` through the public API; its point count."""
    total = 0
    with hfdata.open_store(path, log_retention=timedelta(0)) as store:
        for day in range(recipe.days):
            frame = recipe.frame(day)
            if len(frame):
                total += store.append_many(VARIABLE, frame)
            if (day + 1) % COMPACT_EVERY == 0 or day == recipe.days - 1:
                store.compact(include_active=True, progress=False)
    return total


def _marker(recipe: Recipe, points: int) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "points": points, **recipe.key()}


def cached(recipe: Recipe, home: Path) -> tuple[Path, float | None]:
    """The recipe's store under `home`, built unless a finished one is there; its path and
    the seconds building it took now (None if reused).

    Reused while `home/store.json` names this format version, recipe and point count and
    the store holds that many points. A store being built lives in `home/building/`
    until its marker is written, so an interrupted build is never taken for a finished
    one.
    """
    marker_path, path, building = home / "store.json", home / "store", home / "building"
    expected = _marker(recipe, recipe.points())
    try:
        saved = json.loads(marker_path.read_text())
    except (OSError, ValueError):
        saved = None
    if isinstance(saved, dict) and {k: saved.get(k) for k in expected} == expected:
        with hfdata.open_store(path) as store:
            if store.info(VARIABLE).rows == expected["points"]:
                return path, None
    marker_path.unlink(missing_ok=True)
    for old in (path, building):
        shutil.rmtree(old, ignore_errors=True)
    started = time.perf_counter()
    built = _build(building, recipe)
    seconds = time.perf_counter() - started
    if built != expected["points"]:
        raise RuntimeError(f"built {built:,} points, the recipe says {expected['points']:,}")
    building.rename(path)
    marker_path.write_text(json.dumps({**expected, "build_seconds": round(seconds, 1)}) + "\n")
    return path, seconds


@contextlib.contextmanager
def _store(recipe: Recipe, quick: bool) -> Iterator[tuple[hfdata.Store, float | None]]:
    """The recipe's store, open, and the seconds building it took now (None if reused):
    full size, cached under the scratch root (`_work/dask-past-memory/`, see `cached`);
    quick, built in a scratch directory that is removed after."""
    if quick:
        with scratch_dir("hfbench-dask-quick") as tmp:
            started = time.perf_counter()
            _build(tmp / "store", recipe)
            seconds = time.perf_counter() - started
            with hfdata.open_store(tmp / "store") as store:
                yield store, seconds
        return
    path, built = cached(recipe, cache_dir("dask-past-memory"))
    with hfdata.open_store(path) as store:
        yield store, built


def _reference(store: hfdata.Store, recipe: Recipe) -> pd.DataFrame:
    """`Store.read` one day at a time (mean and count of 1-minute bins), concatenated;
    from the points (`rollups=False`): compared exactly with pandas' resample of the
    same points, which a rollup's mean matches to 1e-12 only."""
    days = []
    for day in range(recipe.days):
        lo = pd.Timestamp(recipe.day_start(day), tz="UTC")
        days.append(
            store.read(
                VARIABLE,
                start=lo,
                end=lo + pd.Timedelta(days=1),
                resample="1min",
                agg=["mean", "count"],
                rollups=False,
            )
        )
    joined: pd.DataFrame = pd.concat(days)
    return joined


def _peak_rss() -> int:
    """This process's resident-set high-water mark in bytes: `VmHWM`, its own address
    space's. Not `ru_maxrss`: Linux carries that across `exec` from the forked copy of
    the parent, so a worker spawned by a 500 MiB process starts at 500 MiB (seen here)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _identity(dask_worker: Any) -> tuple[int, str, int]:
    return os.getpid(), str(dask_worker.id), int(dask_worker.memory_manager.memory_limit)


def _workers(client: Any) -> dict[str, tuple[int, str, int]]:
    """Each worker's address -> (pid, worker id, memory limit in bytes)."""
    return {a: tuple(v) for a, v in sorted(client.run(_identity).items())}


def _membership_events(client: Any) -> list[str]:
    """The scheduler's add-worker/remove-worker events so far."""
    return [
        f"{msg.get('action')} {msg.get('worker', '')}".strip()
        for _, msg in client.get_events("all")
        if isinstance(msg, dict) and msg.get("action") in {"add-worker", "remove-worker"}
    ]


def _mib(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def _log_lines(client: Any) -> list[tuple[str, str, str]]:
    """The workers' and nannies' log entries: (address, level, text)."""
    lines: list[tuple[str, str, str]] = []
    for nanny in (False, True):
        with contextlib.suppress(Exception):  # a dead cluster has no logs to give
            for address, entries in client.get_worker_logs(nanny=nanny).items():
                lines += [(address, level, text) for level, text in entries]
    return lines


def _after(
    client: Any, before: dict[str, tuple[int, str, int]], failures: list[str]
) -> tuple[dict[str, int], int, list[str]]:
    """After the computation: each worker's peak RSS, the bytes spilled to disk and what
    to say about the workers; a failure added for a worker replaced, restarted or lost,
    or a limit that is not `LIMIT`. On any failure the logs go to
    `_work/dask-past-memory/worker-logs.txt`."""
    try:
        after = _workers(client)
        peaks: dict[str, int] = client.run(_peak_rss)
        events = _membership_events(client)
        metrics = client.scheduler_info()["workers"]
    except Exception as exc:  # the cluster itself broke: say so, keep the logs
        after, peaks, events, metrics = {}, {}, [f"{type(exc).__name__}: {exc}"], {}
    spilled = sum(
        int(m.get("metrics", {}).get("spilled_bytes", {}).get("disk", 0)) for m in metrics.values()
    )
    if {v[2] for v in before.values()} != {LIMIT_BYTES}:
        failures.append(f"worker memory limits are not {LIMIT}: {before}")
    if after != before:
        failures.append(
            f"workers changed: pids {sorted(v[0] for v in before.values())} -> "
            f"{sorted(v[0] for v in after.values())}"
        )
    actions = [e.split()[0] for e in events]
    if actions != ["add-worker", "add-worker"]:
        failures.append(
            f"the scheduler added {actions.count('add-worker')} workers and removed "
            f"{actions.count('remove-worker')} (2 and 0 expected)"
            + "".join(
                f"; {e}" for e in events if e.split()[0] not in {"add-worker", "remove-worker"}
            )
        )
    if len(peaks) != 2:
        failures.append(f"peak memory read from {len(peaks)} workers, not 2")
    logs = _log_lines(client)
    warned = [t for _, level, t in logs if level in {"WARNING", "ERROR", "CRITICAL"}]
    details = [
        f"{len(warned)} warnings in the worker and nanny logs"
        + (f" (first: {' '.join(warned[0].split())[:200]})" if warned else ""),
        f"workers (pid, id) before and after: {sorted(v[:2] for v in before.values())}"
        + ("" if after == before else f" and {sorted(v[:2] for v in after.values())}"),
    ]
    if failures:
        log = cache_dir("dask-past-memory") / "worker-logs.txt"
        log.write_text("".join(f"{a} {level}: {t}\n" for a, level, t in logs))
        details.append(f"worker and nanny logs: {log}")
    return peaks, spilled, details


def _case(store: hfdata.Store, recipe: Recipe, quick: bool, build: float | None) -> list[Any]:
    from distributed import Client, LocalCluster

    points = store.info(VARIABLE).rows
    data_bytes = points * POINT_BYTES
    case = f"past memory: 1-min resample of {points:,} points"
    expected: list[pd.DataFrame] = []
    got: list[pd.DataFrame] = []

    def read_days(_: Any) -> None:
        expected.append(_reference(store, recipe))

    def with_dask(_: Any) -> None:
        from dask.base import compute

        frame = store.to_dask(VARIABLE)
        sampled = frame["value"].resample("1min")
        # one pass over the files for both aggregations
        mean, count = compute(sampled.mean(), sampled.count())
        got.append(pd.DataFrame({"mean": mean, "count": count}))

    # Store.read first, with no cluster running (its scheduler would share this process)
    reading = Contender("Store.read one day at a time", "baseline", read_days, points)
    dasking = Contender(f"to_dask on 2 workers x {LIMIT}", "hfdata", with_dask, points)
    out = compare(W, case, [reading], repeats=1, warmup=0)
    failures: list[str] = []
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit=LIMIT,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        before = _workers(client)
        out += compare(W, case, [dasking], repeats=1, warmup=0)
        if dasking.error is not None:
            failures.append(f"compute failed: {dasking.error[:300]}")
        peaks, spilled, worker_details = _after(client, before, failures)
    peak = max(peaks.values(), default=0)
    if expected and got:
        try:
            pd.testing.assert_frame_equal(
                got[0], expected[0], check_exact=True, check_freq=False, check_names=False
            )
        except AssertionError as exc:
            failures.append(f"not equal to Store.read day by day: {str(exc)[:300]}")
    elif not failures:
        failures.append("nothing to compare: Store.read day by day failed")
    if not quick and data_bytes <= 2 * LIMIT_BYTES:
        failures.append(f"the data ({data_bytes:,} bytes) fits in the workers' memory")
    partitions = store.to_dask(VARIABLE).npartitions
    bins = len(expected[0]) if expected else 0
    details = [
        f"{points:,} points x {POINT_BYTES} bytes = {data_bytes / (1 << 30):.2f} GiB "
        f"against 2 workers x {LIMIT}",
        f"{store.info(VARIABLE).parquet_bytes / (1 << 20):,.0f} MiB of Parquet in "
        f"{store.info(VARIABLE).parquet_files} files",
        f"{partitions} Dask partitions, {bins:,} 1-minute bins",
        "peak worker RSS " + ", ".join(_mib(p) for p in sorted(peaks.values())),
        f"spilled to disk {_mib(spilled)}",
        *worker_details,
        "store built in "
        + (f"{build:.0f} s" if build is not None else "an earlier run (cached; reused)"),
    ]
    scope = "quick: a small store, in memory" if quick else f"{data_bytes / (1 << 30):.2f} GiB"
    out.append(
        target(
            W,
            case,
            f"to_dask over {points:,} points ({scope}) on 2 workers x {LIMIT}: 1-min "
            "resample computes, equals Store.read day by day, no worker lost, peak worker "
            "RSS under the limit",
            subject=dasking.name,
            value=peak / (1 << 20),
            maximum=LIMIT_BYTES / (1 << 20),
            unit="MiB",
            source="issue 16",
            failures=failures,
        )
    )
    out.append(note(W, f"{case}: " + "; ".join(details)))
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    """Records for the harness (see benchmarks/_harness.py)."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        return [note(W, f"past memory: skipped: {exc.name} is not installed")]
    recipe = QUICK if quick else FULL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dask on pandas 3.1 warns about its own calls
        with _store(recipe, quick) as (store, build):
            return _case(store, recipe, quick, build)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from benchmarks._report import console

    print(console(run(args.quick)))


if __name__ == "__main__":
    main()
