"""Workload 12 (issue 19): reports from the stats and rollups kept at compaction.

    python -m benchmarks.bench_reports            full size (the store is built once, cached)
    python -m benchmarks.bench_reports --quick    small sizes, a few seconds

Data (`FULL`): 20 variables over 30 days from 2026-06-01, float values. `fast` at 20 Hz,
every day whole (51,840,000 points, a NaN one in 100,000). `s01` ... `s19` at 1 Hz, each
with: a five-minute gap a day, a two-hour gap on one day, 40 repeated timestamps a day
(half holding the same value, half another: conflicting duplicates), a 30-minute stuck
run on one day, a NaN one in 10,000. The store is built through the public API a day at
a time (`append_many` per variable), compacted every five days (log retention 0: no log
left), with the default settings (stats, rollups `1min` and `1h`), and cached under the
scratch directory (`benchmarks/_work/reports/`) with a marker naming the format version,
the recipe and the point count, as `bench_dask` caches its store. `--quick` builds a
small store (5 variables, 2 days, `fast` at 5 Hz) in a scratch directory removed after.

Cases and targets (issue 19):

* `summary()` of every variable, in a freshly opened store (timed with the open), against
  the same table computed by polars from every point of the Parquet files:
  `scan_parquet` over the store's `kind=float/**/*.parquet` (hive columns), the points
  sorted by variable and time, then `group_by("variable")` (and two small group_bys for
  the repeated timestamps and the gaps; `polars_summary`) computing what polars can from
  points: rows, first, last, min, max, mean, last_value, nan_count,
  duplicate_timestamps, conflicting_duplicates, median_interval, gap_count, longest_gap
  and coverage (as `Store.summary` defines them; `parquet_bytes`/`log_bytes` are file
  sizes, not in the points). Target: at least 50x. A first version in one group_by
  (`unique().sort().diff()` per group, its median and gap filter nested, conflicts as
  distinct (timestamp, value) pairs less distinct timestamps) took 184 s where this
  takes about 75 s: the faster one is the reference.
  The two tables must be equal column by column (mean within 1e-12 relative), else the
  target is NOT MET. Shown beside it (no target): summary() on a store kept open
  (sidecars cached) and a narrow polars pass (rows, first, last, min, max, mean,
  nan_count only).
* The hourly mean of `fast` over its 30 days, `read("fast", resample="1h")`, in a freshly
  opened store (from the rollups: 30 daily files' `1h` sidecars), against ArcticDB's
  `QueryBuilder().resample("1h").agg({"mean": ("value", "mean")})` on the same points
  (written once to an LMDB library in ArcticDB's own venv, see `_arctic.py`) and against
  hfdata's `rollups=False` (every point; store kept open). Targets: at least 20x both.
  Checks: rollups=True equals rollups=False (same bins, means within 1e-12 relative) and
  ArcticDB's means (within 1e-9).
* Compaction of the recipe's first days (`COMPACT_DAYS`: all 20 variables, 6.7 M points
  in the full run) from a copy of a store whose log holds them, with stats and rollups
  (the default) against the same compaction with no sidecars at all. hfdata has no
  switch for the stats (`rollups=()` turns the rollups off only), so "without" is
  compaction with `hfdata.compact.compaction.derive_after_publish` replaced by a no-op
  for the timed call: what compaction cost before issue 19. Also shown: `rollups=()`
  (stats only). Target: with sidecars at least 0.85x the rate of without. Checks: each
  store holds the sidecars its setting says (and the patched one none).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import polars as pl

import hfdata
from benchmarks._arctic import ArcticWorker
from benchmarks._harness import (
    Contender,
    cache_dir,
    compare,
    fresh_dir,
    note,
    remove,
    scratch_dir,
    target,
)
from hfdata.settings import FORMAT_VERSION

__all__ = ["FULL", "QUICK", "Recipe", "cached", "polars_summary", "run"]

W = "12"
_SOURCE = "issue 19"
DAY_NS = 86_400_000_000_000
HOUR_NS = 3_600_000_000_000
SECOND_NS = 1_000_000_000
FAST = "fast"
COMPACT_EVERY = 5  # days appended between compactions while building
_DERIVE = "hfdata.compact.compaction.derive_after_publish"  # off for "no sidecars"
# the columns polars computes from the points, compared with summary()'s
POINT_COLUMNS = (
    "rows",
    "first",
    "last",
    "min",
    "max",
    "mean",
    "last_value",
    "nan_count",
    "duplicate_timestamps",
    "conflicting_duplicates",
    "median_interval",
    "gap_count",
    "longest_gap",
    "coverage",
)


@dataclass(frozen=True)
class Recipe:
    """`fast` at `fast_hz` (whole days) and `slow` variables at 1 Hz with gaps,
    duplicates, a stuck run and NaN, over `days` days from `start`."""

    name: str
    start: str
    days: int
    fast_hz: int
    slow: int
    compact_days: int  # days of every variable in the compaction case

    def key(self) -> dict[str, Any]:
        return {
            "recipe": self.name,
            "start": self.start,
            "days": self.days,
            "fast_hz": self.fast_hz,
            "slow": self.slow,
        }

    def variables(self) -> list[str]:
        return [FAST, *(f"s{i:02d}" for i in range(1, self.slow + 1))]

    def day_start(self, day: int) -> int:
        return int(pd.Timestamp(self.start, tz="UTC").value) + day * DAY_NS

    def frame(self, variable: str, day: int) -> pd.DataFrame:
        """The variable's points of one day, in time order (duplicates adjacent)."""
        if variable == FAST:
            return self._fast(day)
        i = int(variable[1:])
        rng = np.random.default_rng(1900 + 1000 * i + day)
        offsets = np.arange(86_400, dtype=np.int64) * SECOND_NS
        keep = np.ones(len(offsets), bool)
        five = ((i + day) % 24) * HOUR_NS + 30 * 60 * SECOND_NS  # 5 min at hh:30
        keep &= (offsets < five) | (offsets >= five + 5 * 60 * SECOND_NS)
        if day == (3 * i) % self.days:  # two hours from a whole hour, one day
            two = (i % 20) * HOUR_NS
            keep &= (offsets < two) | (offsets >= two + 2 * HOUR_NS)
        ns = self.day_start(day) + offsets[keep]
        values = (rng.normal(10.0 * i, 2.0, len(ns))).round(2)
        if day == (7 * i) % self.days:  # stuck for 30 minutes
            values[36_000 : 36_000 + 1_800] = values[36_000]
        values[rng.random(len(ns)) < 1e-4] = np.nan
        # 40 repeated timestamps (never the day's last row), the repeat right after
        # its original: 20 with the same value, 20 with another (conflicts)
        at = np.sort(rng.choice(len(ns) - 1, 40, replace=False))
        values[at] = np.where(np.isnan(values[at]), 1.0, values[at])
        counts = np.ones(len(ns), np.int64)
        counts[at] = 2
        ns, values = np.repeat(ns, counts), np.repeat(values, counts)
        second = np.cumsum(counts)[at] - 1
        values[second[20:]] += 1.0
        return pd.DataFrame({"timestamp": pd.to_datetime(ns, utc=True), "value": values})

    def _fast(self, day: int) -> pd.DataFrame:
        step = SECOND_NS // self.fast_hz
        n = 86_400 * self.fast_hz
        ns = self.day_start(day) + np.arange(n, dtype=np.int64) * step
        rng = np.random.default_rng(1900 + day)
        values = rng.normal(20.0, 5.0, n).round(3)
        values[rng.random(n) < 1e-5] = np.nan
        return pd.DataFrame({"timestamp": pd.to_datetime(ns, utc=True), "value": values})

    def points(self) -> int:
        return sum(len(self.frame(v, d)) for v in self.variables() for d in range(self.days))

    def fast_points(self) -> int:
        return self.days * 86_400 * self.fast_hz


FULL = Recipe(name="reports-1", start="2026-06-01", days=30, fast_hz=20, slow=19, compact_days=2)
QUICK = Recipe(
    name="reports-quick-1", start="2026-06-01", days=2, fast_hz=5, slow=4, compact_days=1
)


# -- the store --------------------------------------------------------------------------


def _append_days(store: hfdata.Store, recipe: Recipe, days: range, compact: bool) -> int:
    total = 0
    for day in days:
        for v in recipe.variables():
            total += store.append_many(v, recipe.frame(v, day))
        if compact and ((day + 1) % COMPACT_EVERY == 0 or day == days[-1]):
            store.compact(include_active=True, progress=False)
    return total


def _marker(recipe: Recipe, points: int) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "points": points, **recipe.key()}


def cached(recipe: Recipe, home: Path) -> tuple[Path, float | None]:
    """The recipe's compacted store under `home`, built unless a finished one is there
    (marker `home/store.json` naming this format version, recipe and point count; a
    build in progress lives in `home/building/`); its path and build seconds (None:
    reused). `home/fast.parquet` holds `fast`'s points for ArcticDB."""
    marker_path, path, building = home / "store.json", home / "store", home / "building"
    expected = _marker(recipe, recipe.points())
    try:
        saved = json.loads(marker_path.read_text())
    except (OSError, ValueError):
        saved = None
    if (
        isinstance(saved, dict)
        and {k: saved.get(k) for k in expected} == expected
        and (home / "fast.parquet").exists()
    ):
        with hfdata.open_store(path) as store:
            if store.info(FAST).rows == recipe.fast_points():
                return path, None
    marker_path.unlink(missing_ok=True)
    for old in (path, building, home / "fast.parquet"):
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    started = time.perf_counter()
    with hfdata.open_store(building, log_retention=timedelta(0)) as store:
        built = _append_days(store, recipe, range(recipe.days), compact=True)
    seconds = time.perf_counter() - started
    if built != expected["points"]:
        raise RuntimeError(f"built {built:,} points, the recipe says {expected['points']:,}")
    building.rename(path)
    files = str(path / "parquet" / "kind=float" / f"variable={FAST}" / "**" / "*.parquet")
    pl.scan_parquet(files, hive_partitioning=False).select("timestamp", "value").sink_parquet(
        home / "fast.parquet"
    )
    marker_path.write_text(json.dumps({**expected, "build_seconds": round(seconds, 1)}) + "\n")
    return path, seconds


@contextmanager
def _home(quick: bool) -> Iterator[Path]:
    if quick:
        with scratch_dir("hfbench-reports-quick") as tmp:
            yield tmp
        return
    yield cache_dir("reports")


# -- summary ----------------------------------------------------------------------------


def polars_summary(parquet: Path, narrow: bool = False) -> pl.DataFrame:
    """`Store.summary`'s point columns the way a polars user computes them: one scan of
    every float Parquet file (the variable from the hive column), the points sorted by
    variable and time (stable: `read`'s order among equal timestamps) with the step to
    the row before, then group_by("variable"): rows, first, last, min, max, mean,
    last_value, nan_count, duplicate_timestamps (steps of 0), median_interval (of the
    steps above 0: consecutive distinct timestamps); conflicting_duplicates from the rows
    at repeated timestamps (group_by variable and timestamp, more than one distinct
    value); gaps (steps over 10x the median) joined back for gap_count, longest_gap and
    coverage (the share of [first, last] not inside a gap). `narrow`: one pass over the
    scan for the single-pass columns only (rows, first, last, min, max, mean, nan_count).
    """
    scan = pl.scan_parquet(str(parquet / "kind=float" / "**" / "*.parquet"), hive_partitioning=True)
    value = pl.col("value").fill_nan(None)
    if narrow:
        ts = pl.col("timestamp").dt.epoch("ns")
        return (
            scan.group_by("variable")
            .agg(
                rows=pl.len(),
                first=ts.min(),
                last=ts.max(),
                min=value.min(),
                max=value.max(),
                mean=value.mean(),
                nan_count=pl.col("value").is_nan().sum(),
            )
            .sort("variable")
            .collect()
        )
    step = pl.col("d")
    points = (
        scan.select("variable", pl.col("timestamp").dt.epoch("ns").alias("t"), "value")
        .sort("variable", "t", maintain_order=True)
        .with_columns(d=pl.col("t").diff().over("variable"))
    )
    base = points.group_by("variable").agg(
        rows=pl.len(),
        first=pl.col("t").first(),
        last=pl.col("t").last(),
        min=value.min(),
        max=value.max(),
        mean=value.mean(),
        last_value=value.drop_nulls().last(),
        nan_count=pl.col("value").is_nan().sum(),
        duplicate_timestamps=(step == 0).sum(),
        median_interval=step.filter(step > 0).median(),
    )
    repeated = points.filter((step == 0) | (step.shift(-1).over("variable") == 0))
    conflicts = (
        repeated.group_by("variable", "t")
        .agg(n=pl.col("value").n_unique())
        .filter(pl.col("n") > 1)
        .group_by("variable")
        .agg(conflicting_duplicates=pl.len())
    )
    gaps = (
        points.join(base.select("variable", "median_interval"), on="variable")
        .filter(step > 10 * pl.col("median_interval"))
        .group_by("variable")
        .agg(gap_count=pl.len(), longest_gap=step.max(), gap_sum=step.sum())
    )
    table = base.join(conflicts, on="variable", how="left").join(gaps, on="variable", how="left")
    return (
        table.with_columns(
            pl.col("conflicting_duplicates", "gap_count").fill_null(0),
            coverage=1 - pl.col("gap_sum").fill_null(0) / (pl.col("last") - pl.col("first")),
        )
        .drop("gap_sum")
        .sort("variable")
        .collect()
    )


def _summary_differences(ours: pd.DataFrame, theirs: pl.DataFrame) -> list[str]:
    """What differs between `Store.summary()` and the polars table."""
    problems: list[str] = []
    other = theirs.to_pandas().set_index("variable")
    if sorted(other.index) != sorted(ours.index):
        return [f"variables differ: {sorted(ours.index)} vs {sorted(other.index)}"]
    mine = ours.loc[other.index]
    for c in POINT_COLUMNS:
        a, b = mine[c], other[c]
        if c in ("first", "last"):
            left = pd.DatetimeIndex(a).as_unit("ns").asi8
            same = np.array_equal(left, b.to_numpy(np.int64))
        elif c in ("median_interval", "longest_gap"):
            left = pd.TimedeltaIndex(a).as_unit("ns").asi8.astype(float)
            left[pd.isna(a).to_numpy()] = np.nan
            same = np.array_equal(left, b.to_numpy(np.float64), equal_nan=True)
        elif c in ("mean", "coverage"):
            same = np.allclose(a.to_numpy(np.float64), b.to_numpy(np.float64), rtol=1e-12, atol=0)
        else:
            same = np.array_equal(a.to_numpy(np.float64), b.to_numpy(np.float64))
        if not same:
            problems.append(f"summary().{c} differs from polars: {list(a)[:3]} vs {list(b)[:3]}")
    return problems


def _summary(root: Path, recipe: Recipe, points: int, repeats: int) -> list[dict[str, Any]]:
    variables = len(recipe.variables())
    case = f"summary of {variables} variables, {points:,} points in Parquet"
    parquet = root / "parquet"
    got: dict[str, Any] = {}
    names = {
        "fresh": "hfdata summary() (store opened each time)",
        "open": "hfdata summary() (store kept open)",
        "polars": "polars scan_parquet+group_by (same columns)",
        "narrow": "polars scan_parquet+group_by (rows..nan_count only)",
    }

    def fresh(_: Any) -> None:
        with hfdata.open_store(root) as s:
            got["fresh"] = s.summary()

    with hfdata.open_store(root) as store:

        def kept(_: Any) -> None:
            got["open"] = store.summary()

        def polars_full(_: Any) -> None:
            got["polars"] = polars_summary(parquet)

        def polars_narrow(_: Any) -> None:
            got["narrow"] = polars_summary(parquet, narrow=True)

        out = compare(
            W,
            case,
            [
                Contender(names["fresh"], "hfdata", fresh, variables),
                Contender(names["open"], "hfdata", kept, variables),
                Contender(names["polars"], "baseline", polars_full, variables),
                Contender(names["narrow"], "baseline", polars_narrow, variables),
            ],
            repeats=repeats,
            unit="variables",
        )
    failures: list[str] = []
    if "fresh" not in got or "polars" not in got:
        failures.append("summary() or the polars table failed: nothing to compare")
    else:
        failures += _summary_differences(got["fresh"], got["polars"])
        if "open" in got and not got["open"].equals(got["fresh"]):
            failures.append("summary() on an open store differs from a fresh store's")
        if got["fresh"]["parquet_rows"].sum() != points:
            counted = got["fresh"]["parquet_rows"].sum()
            failures.append(f"summary() counts {counted:,} Parquet rows, not {points:,}")
    out.append(
        target(
            W,
            case,
            "summary() vs the same table by polars scanning every point (scan_parquet+group_by)",
            subject=names["fresh"],
            reference=names["polars"],
            minimum=50.0,
            source=_SOURCE,
            failures=failures[:5],
        )
    )
    if not failures:
        out.append(
            note(
                W,
                f"{case}: summary() equals the polars table on "
                f"{', '.join(POINT_COLUMNS)} (mean and coverage within 1e-12 relative)",
            )
        )
    return out


# -- the hourly mean ---------------------------------------------------------------------


def _hourly(
    root: Path, parquet_file: Path, work: Path, recipe: Recipe, repeats: int
) -> list[dict[str, Any]]:
    points = recipe.fast_points()
    bins = recipe.days * 24
    case = f"hourly mean of {FAST} over {recipe.days} days ({points:,} points, {bins} bins)"
    got: dict[str, Any] = {}
    names = {
        "fresh": "hfdata read(resample='1h') (rollups, store opened each time)",
        "open": "hfdata read(resample='1h') (rollups, store kept open)",
        "points": "hfdata read(resample='1h', rollups=False)",
        "arctic": "arcticdb QueryBuilder resample('1h') mean",
    }
    out: list[dict[str, Any]] = []
    arctic, why = ArcticWorker.start(work, parquet_file)
    try:
        if arctic is not None:
            arctic.call(op="write", symbol=FAST)
            out.append(note(W, f"ArcticDB ran in its own venv: {arctic.versions}"))

        def fresh(_: Any) -> None:
            with hfdata.open_store(root) as s:
                got["fresh"] = s.read(FAST, resample="1h")

        def arctic_timed(_: Any) -> float:
            assert arctic is not None
            reply = arctic.call(
                op="resample", symbol=FAST, rule="1h", aggs={"mean": ["value", "mean"]}
            )
            got["arctic"] = reply
            return float(reply["seconds"])

        with hfdata.open_store(root) as store:

            def kept(_: Any) -> None:
                got["open"] = store.read(FAST, resample="1h")

            def from_points(_: Any) -> None:
                got["points"] = store.read(FAST, resample="1h", rollups=False)

            out += compare(
                W,
                case,
                [
                    Contender(names["fresh"], "hfdata", fresh, bins),
                    Contender(names["open"], "hfdata", kept, bins),
                    Contender(names["points"], "baseline", from_points, bins),
                    Contender(
                        names["arctic"],
                        "peer",
                        arctic_timed,
                        bins,
                        skip=None if arctic is not None else why,
                    ),
                ],
                repeats=repeats,
                unit="bins",
            )
    finally:
        if arctic is not None:
            arctic.close()
    failures: list[str] = []
    arctic_failures: list[str] = []
    mine = got.get("fresh")
    if mine is None or "points" not in got:
        failures.append("a read failed: nothing to compare")
    else:
        ns = pd.DatetimeIndex(mine.index).as_unit("ns").asi8
        theirs = got["points"]
        if len(mine) != bins or not np.array_equal(
            ns, pd.DatetimeIndex(theirs.index).as_unit("ns").asi8
        ):
            failures.append(f"{len(mine)} bins from rollups, {len(theirs)} from points")
        elif not np.allclose(mine["value"], theirs["value"], rtol=1e-12, atol=0):
            failures.append("rollups=True and rollups=False means differ beyond 1e-12")
        if "open" in got and not got["open"].equals(mine):
            failures.append("the read on an open store differs from a fresh store's")
        reply = got.get("arctic")
        if reply is not None:
            if not np.array_equal(ns, np.asarray(reply["index"], np.int64)):
                arctic_failures.append(f"ArcticDB gave {reply['rows']} bins, hfdata {len(mine)}")
            elif not np.allclose(
                mine["value"], np.asarray(reply["columns"]["mean"], float), rtol=1e-9
            ):
                arctic_failures.append("ArcticDB's means differ from hfdata's beyond 1e-9")
    out.append(
        target(
            W,
            case,
            "hourly mean of 30 days at 20 Hz: read(resample='1h') vs ArcticDB QueryBuilder "
            "resample('1h')",
            subject=names["fresh"],
            reference=names["arctic"],
            minimum=20.0,
            source=_SOURCE,
            failures=(failures + arctic_failures)[:5],
        )
    )
    out.append(
        target(
            W,
            case,
            "hourly mean of 30 days at 20 Hz: from rollups vs rollups=False",
            subject=names["fresh"],
            reference=names["points"],
            minimum=20.0,
            source=_SOURCE,
            failures=failures[:5],
        )
    )
    if not failures and not arctic_failures:
        checked = " and ArcticDB's (1e-9)" if "arctic" in got else ""
        out.append(
            note(
                W,
                f"{case}: the rollup read equals rollups=False (same {bins} bins, means "
                f"within 1e-12 relative){checked}",
            )
        )
    return out


# -- compaction ---------------------------------------------------------------------------


def _no_derive(*_: Any, **__: Any) -> Any:
    from hfdata.compact.derive import Derived

    return Derived()


def _compaction(recipe: Recipe, work: Path, repeats: int) -> list[dict[str, Any]]:
    """Compaction of `recipe.compact_days` days from copies of a store's log."""
    days = range(recipe.compact_days)
    templates: dict[str, Path] = {}
    points = 0
    for name, rollups in (("default", None), ("stats", ())):
        path = work / f"template-{name}"
        extra: dict[str, Any] = {} if rollups is None else {"rollups": rollups}
        with hfdata.open_store(path, log_retention=timedelta(0), **extra) as store:
            points = _append_days(store, recipe, days, compact=False)
        templates[name] = path
    case = (
        f"compaction of {len(recipe.variables())} variables x {len(days)} days "
        f"({points:,} points, one compact())"
    )
    found: dict[str, list[set[str]]] = {"with": [], "stats": [], "none": []}

    def prepare(template: str) -> Callable[[], Path]:
        def copy() -> Path:
            dest = fresh_dir(work, "copy") / "store"
            shutil.copytree(templates[template], dest)
            return dest

        return copy

    def compact(label: str) -> Callable[[Path], None]:
        def timed(path: Path) -> None:
            off = mock.patch(_DERIVE, _no_derive) if label == "none" else nullcontext()
            with off, hfdata.open_store(path) as store:
                store.compact(include_active=True, progress=False)

        return timed

    def cleanup_as(label: str) -> Callable[[Path], None]:
        def done(path: Path) -> None:
            parquet = path / "parquet"
            seen = {p.name for p in parquet.glob("_*")} | {
                f"_rollups/{p.name}" for p in parquet.glob("_rollups/*")
            }
            found[label].append(seen - {"_spool"})
            remove(path.parent)

        return done

    names = {
        "with": "hfdata compact (stats + rollups 1min, 1h: the default)",
        "stats": "hfdata compact (stats only: rollups=())",
        "none": "hfdata compact (no sidecars: derive off, as before issue 19)",
    }
    out = compare(
        W,
        case,
        [
            Contender(
                names["with"],
                "hfdata",
                compact("with"),
                points,
                prepare("default"),
                cleanup_as("with"),
            ),
            Contender(
                names["stats"],
                "hfdata",
                compact("stats"),
                points,
                prepare("stats"),
                cleanup_as("stats"),
            ),
            Contender(
                names["none"],
                "baseline",
                compact("none"),
                points,
                prepare("default"),
                cleanup_as("none"),
            ),
        ],
        repeats=repeats,
        warmup=0,
        unit="points",
    )
    expected = {
        "with": {"_stats", "_rollups", "_rollups/res=1min", "_rollups/res=1h"},
        "stats": {"_stats"},
        "none": set(),
    }
    failures = [
        f"{names[label]}: sidecars {sorted(seen)}, expected {sorted(expected[label])}"
        for label, runs in found.items()
        for seen in runs
        if seen != expected[label]
    ]
    medians = {r["contender"]: r["median_s"] for r in out if r.get("status") == "ok"}
    if names["with"] in medians and names["none"] in medians:
        files = len(recipe.variables()) * len(days)
        added = medians[names["with"]] - medians[names["none"]]
        out.append(
            note(
                W,
                f"{case}: the sidecars add {added:.2f} s over {files} published files "
                f"({1000 * added / files:.0f} ms a file, medians): {len(days)} files of "
                f"{86_400 * recipe.fast_hz:,} rows ({FAST}), the rest of about 86,400",
            )
        )
    out.append(
        target(
            W,
            case,
            "compaction with stats and rollups vs compaction without sidecars (rate ratio)",
            subject=names["with"],
            reference=names["none"],
            minimum=0.85,
            source=_SOURCE,
            failures=failures[:5],
        )
    )
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 12 with the issue 19 targets."""
    recipe = QUICK if quick else FULL
    out: list[dict[str, Any]] = []
    with _home(quick) as home:
        path, seconds = cached(recipe, home)
        points = recipe.points()
        built = (
            f"built in {seconds:.0f} s through append_many and compact"
            if seconds is not None
            else "built by an earlier run (cached; reused)"
        )
        out.append(
            note(
                W,
                f"{len(recipe.variables())} variables over {recipe.days} days, "
                f"{points:,} points ({recipe.fast_points():,} in {FAST} at "
                f"{recipe.fast_hz} Hz), compacted: {built}",
            )
        )
        out += _summary(path, recipe, points, repeats=3)
        with scratch_dir("w12") as work:
            out += _hourly(path, home / "fast.parquet", work, recipe, repeats=3 if quick else 5)
    with scratch_dir("w12c") as work:
        out += _compaction(recipe, work, repeats=3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from benchmarks._report import console

    print(console(run(args.quick)))


if __name__ == "__main__":
    main()
