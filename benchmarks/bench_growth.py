"""Workload 7 (store part): slice time and compaction rows/s as the store grows to 30 days.

One store grows a day at a time (20 Hz, 1,728,000 points a day; 2 Hz and 3 days in the
quick run). Each day is written by ``append_many`` into a side store, and its closed
segments are hard-linked into the growing store and compacted with ``Store.compact()``
(``log_retention=0``: compacted segments are deleted). At the checkpoints (1, 2, 5, 10,
20 and 30 days):

* slice: the same one hour of day 1 read by hfdata (caches warm, and caches cleared
  before each read) and by polars ``scan_parquet`` + filter over the variable's files;
* compaction: the next day's segments compacted into the d-day store (linked in,
  compacted, then the new partition removed, untimed, so the store stays at d days),
  beside the polars baseline of workload 3 on the same segments.

At the end, the slice from the 30-day store and from a copy of the 1-day store are
timed in alternation for the issue 4 target (30-day time at most 1.1x the 1-day time).

    python -m benchmarks.bench_growth [--quick]      this part alone, printed
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

import hfdata
from benchmarks import _data
from benchmarks._harness import Contender, compare, fresh_dir, note, scratch_dir, target
from benchmarks.bench_compact import polars_baseline
from hfdata.layout import parquet_dir, partition_key_ns
from hfdata.read.query import clear_cache

__all__ = ["run"]

VARIABLE = "sensor"
SLICE_CURVE = "one-hour slice rows/s by store days"
COMPACT_CURVE = "compaction rows/s by store days"
_DAY_NS = 86_400 * 1_000_000_000
_START_NS = int(pd.Timestamp(_data.START).value)


def _day_segments(index: int, hz: int, work: Path) -> list[Path]:
    """Day ``index`` written by ``append_many`` into a side store: its closed segments."""
    side = fresh_dir(work, f"day{index}")
    with hfdata.open_store(side) as store:
        store.append_many(VARIABLE, _data.day(index, hz=hz))
    return sorted((side / "log" / VARIABLE).glob("*.jsonl"))


def _link(segments: list[Path], root: Path) -> None:
    target_dir = root / "log" / VARIABLE
    if not target_dir.exists():  # the first day also brings the variable's _schema.json
        target_dir.mkdir(parents=True)
        shutil.copy2(segments[0].parent / "_schema.json", target_dir / "_schema.json")
    for seg in segments:
        os.link(seg, target_dir / seg.name)


def _unlink_day(root: Path, index: int, segments: list[Path]) -> None:
    """Undo a timed compaction of day ``index``: its partition and any segment left."""
    key = partition_key_ns(_START_NS + index * _DAY_NS, "day")
    shutil.rmtree(parquet_dir(root, "float", VARIABLE, key), ignore_errors=True)
    directory = root / "log" / VARIABLE
    for seg in segments:
        (directory / seg.name).unlink(missing_ok=True)
        (directory / "compacted" / seg.name).unlink(missing_ok=True)


def _slice_contenders(
    store: hfdata.Store, root: Path, lo: pd.Timestamp, hi: pd.Timestamp, rows: int, days: int
) -> list[Contender]:
    files = str(root / "parquet" / "kind=float" / f"variable={VARIABLE}" / "**" / "*.parquet")
    in_window = (pl.col("timestamp") >= lo) & (pl.col("timestamp") < hi)

    def body(fn: Callable[[], Any]) -> Callable[[Any], None]:
        def timed(_: Any) -> None:
            got = len(fn())
            if got != rows:
                raise RuntimeError(f"got {got} rows, expected {rows}")

        return timed

    read = body(lambda: store.read(VARIABLE, lo, hi))
    x = float(days)
    return [
        Contender("hfdata read (pandas)", "hfdata", read, rows, x=x, curve=SLICE_CURVE),
        Contender(
            "hfdata read (pandas, caches cleared)",
            "hfdata",
            read,
            rows,
            prepare=clear_cache,
            x=x,
            curve=SLICE_CURVE,
        ),
        Contender(
            "polars scan_parquet+filter",
            "peer",
            body(lambda: pl.scan_parquet(files).filter(in_window).collect()),
            rows,
            x=x,
            curve=SLICE_CURVE,
        ),
    ]


def _compact_contenders(
    store: hfdata.Store, root: Path, index: int, segments: list[Path], rows: int, work: Path
) -> list[Contender]:
    out = work / "baseline"

    def hf_prepare() -> None:
        _unlink_day(root, index, segments)
        _link(segments, root)

    def hf_run(_: None) -> None:
        got = store.compact(progress=False).rows
        if got != rows:
            raise RuntimeError(f"compacted {got} rows, expected {rows}")

    def pl_prepare() -> None:
        shutil.rmtree(out, ignore_errors=True)

    def pl_run(_: None) -> None:
        polars_baseline(segments, out, VARIABLE)

    x = float(index)
    return [
        Contender(
            "hfdata compact (one more day)",
            "hfdata",
            hf_run,
            rows,
            hf_prepare,
            lambda _: _unlink_day(root, index, segments),
            x=x,
            curve=COMPACT_CURVE,
        ),
        Contender(
            "polars read_ndjson+to_datetime+write_parquet",
            "baseline",
            pl_run,
            rows,
            pl_prepare,
            x=x,
            curve=COMPACT_CURVE,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """The slice and compaction curves of workload 7, and the flat-slice target."""
    hz = 2 if quick else 20
    checkpoints = (1, 3) if quick else (1, 2, 5, 10, 20, 30)
    slice_repeats = 5 if quick else 15
    compact_repeats = 1 if quick else 2
    pair_repeats = 9 if quick else 41
    per_day = 86_400 * hz
    lo = pd.Timestamp(_data.START) + timedelta(hours=10)
    hi = lo + timedelta(hours=1)
    rows = 3600 * hz
    last = checkpoints[-1]
    pair_case = f"one-hour slice, {last}-day store vs 1-day store"
    out: list[dict[str, Any]] = []
    with scratch_dir("w7g") as work:
        root = work / "store"
        one_day = work / "store-1d"
        store = hfdata.open_store(root, log_retention=timedelta(0))
        try:
            for days in range(last + 1):
                segments = _day_segments(days, hz, work)
                if days in checkpoints:
                    case = f"{days}-day store"
                    out += compare(
                        "7",
                        f"slice, {case}",
                        _slice_contenders(store, root, lo, hi, rows, days),
                        repeats=slice_repeats,
                    )
                    out += compare(
                        "7",
                        f"compaction, {case}",
                        _compact_contenders(store, root, days, segments, per_day, work),
                        repeats=compact_repeats,
                        warmup=0,  # the store's own daily compactions warm it up
                    )
                    if days == 1:
                        shutil.copytree(root, one_day)
                if days == last:
                    break
                _link(segments, root)
                if store.compact(progress=False).rows != per_day:
                    raise RuntimeError(f"day {days} did not compact {per_day} rows")
                shutil.rmtree(segments[0].parent.parent.parent, ignore_errors=True)
            with hfdata.open_store(one_day) as small:
                pair = [
                    Contender(
                        f"hfdata read (pandas), {last}-day store",
                        "hfdata",
                        lambda _: store.read(VARIABLE, lo, hi),
                        rows,
                    ),
                    Contender(
                        "hfdata read (pandas), 1-day store",
                        "hfdata",
                        lambda _: small.read(VARIABLE, lo, hi),
                        rows,
                    ),
                ]
                out += compare("7", pair_case, pair, repeats=pair_repeats)
        finally:
            store.close()
    out.append(
        target(
            "7",
            pair_case,
            f"one-hour slice: {last}-day store rate / 1-day store rate (time ≤ 1.1x)"
            + (" (quick size; the target is set for 30 days)" if quick else ""),
            subject=f"hfdata read (pandas), {last}-day store",
            reference="hfdata read (pandas), 1-day store",
            minimum=round(1 / 1.1, 3),
            source="issue 4",
        )
    )
    out.append(
        note(
            "7",
            f"store growth: {hz} Hz ({per_day:,} points a day), one day compacted at a time; "
            "slice = hour 10 of day 1; compaction = the next day's segments into the store",
        )
    )
    return out


def main(argv: list[str]) -> None:
    from benchmarks._report import console

    print(console(run(quick="--quick" in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
