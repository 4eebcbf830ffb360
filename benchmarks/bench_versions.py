"""Workload 13 (issue 20): reads that honour arrival times and deletions.

Data: two variables with the same day of points (`--quick`: 200,000 each, about 2.3 Hz;
full: 4,320,000 each, 50 Hz), compacted. One of them then gets 1,000 deletions of one
second each, spread over the day, compacted too (their tombstone file is read by every
read of the variable). The store is kept open (a read's own cost, not opening's).

* `read(start, end, as_of=T)` of a one-hour slice against the same read without `as_of`
  (target: within 1.2x, a rate of at least 0.83x): `as_of` reads the `arrived` column
  and filters on it.
* the one-hour slice of the variable with 1,000 tombstones against the same slice of the
  untouched one (target: within 1.5x, a rate of at least 0.67x).
* `Store.delete` on the large variable (target: under 5 ms, whatever its size).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hfdata
from benchmarks._harness import Contender, compare, measurement, note, scratch_dir, target

__all__ = ["run"]

_SOURCE = "issue 20"
_DAY = pd.Timestamp("2026-11-26", tz="UTC")
_PLAIN, _DELETED = "plain", "deleted"
_TOMBSTONES = 1_000


def _frame(points: int) -> pd.DataFrame:
    ns = _DAY.value + np.linspace(0, 86_400e9, points, endpoint=False).astype(np.int64)
    values = 20.0 + np.cumsum(np.random.default_rng(20).normal(0.0, 0.01, points))
    return pd.DataFrame({"value": values}, index=pd.DatetimeIndex(ns, tz="UTC", name="timestamp"))


def _build(root: Path, points: int) -> pd.Timestamp:
    """The store; returns a time after every point arrived (the `as_of` read)."""
    with hfdata.open_store(root) as store:
        frame = _frame(points)
        store.append_many(_PLAIN, frame)
        store.append_many(_DELETED, frame)
        starts = _DAY + pd.to_timedelta(np.linspace(0, 86_000, _TOMBSTONES).astype(int), "s")
        for start in starts:
            store.delete(_DELETED, start, start + pd.Timedelta("1s"))
        store.compact(include_active=True, progress=False)
    return pd.Timestamp(time.time_ns(), tz="UTC")


def _slice(store: hfdata.Store, name: str, as_of: Any = None) -> Any:
    start = _DAY + pd.Timedelta("12h")
    return store.read(name, start, start + pd.Timedelta("1h"), output="arrow", as_of=as_of)


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 13 with the issue 20 targets."""
    points = 200_000 if quick else 4_320_000
    repeats = 5 if quick else 15
    out: list[dict[str, Any]] = []
    with scratch_dir("w13") as work:
        root = work / "store"
        known = _build(root, points)
        store = hfdata.open_store(root)
        try:
            rows = _slice(store, _PLAIN).num_rows
            same = _slice(store, _PLAIN, known).equals(_slice(store, _PLAIN))
            deleted_rows = _slice(store, _DELETED).num_rows
            out.append(
                note(
                    "13",
                    f"2 variables of {points:,} compacted points over one day; "
                    f"{_TOMBSTONES:,} one-second deletions on '{_DELETED}' (compacted); "
                    f"the one-hour slice holds {rows:,} points ({deleted_rows:,} after "
                    "the deletions); store kept open",
                )
            )
            case = f"one-hour slice ({rows:,} points): as_of against none"
            contenders = [
                Contender(
                    "hfdata read(as_of=T)", "hfdata", lambda _: _slice(store, _PLAIN, known), rows
                ),
                Contender("hfdata read", "baseline", lambda _: _slice(store, _PLAIN), rows),
            ]
            out += compare("13", case, contenders, repeats=repeats)
            out.append(
                target(
                    "13",
                    case,
                    "read(as_of=T) of a one-hour slice within 1.2x of the same read without as_of",
                    subject="hfdata read(as_of=T)",
                    reference="hfdata read",
                    minimum=round(1 / 1.2, 3),
                    source=_SOURCE,
                    failures=[] if same else ["read(as_of=now) differs from read()"],
                )
            )
            case = f"one-hour slice ({rows:,} points): {_TOMBSTONES:,} tombstones against none"
            contenders = [
                Contender(
                    f"hfdata read after {_TOMBSTONES:,} tombstones",
                    "hfdata",
                    lambda _: _slice(store, _DELETED),
                    rows,
                ),
                Contender(
                    "hfdata read (no tombstones)", "baseline", lambda _: _slice(store, _PLAIN), rows
                ),
            ]
            out += compare("13", case, contenders, repeats=repeats)
            expected = rows - 3 * round(rows / 86_400)  # 1 s deleted every 86 s: ~42 per hour
            out.append(
                target(
                    "13",
                    case,
                    f"a read after {_TOMBSTONES:,} tombstones within 1.5x of one without",
                    subject=f"hfdata read after {_TOMBSTONES:,} tombstones",
                    reference="hfdata read (no tombstones)",
                    minimum=round(1 / 1.5, 3),
                    source=_SOURCE,
                    failures=[]
                    if deleted_rows < rows
                    else [f"the deletions hid nothing ({deleted_rows} of {rows}, ~{expected})"],
                )
            )
            out += _delete_time(store, points, repeats)
        finally:
            store.close()
    return out


def _delete_time(store: hfdata.Store, points: int, repeats: int) -> list[dict[str, Any]]:
    """`delete` on the large variable, of a range before its points (nothing hidden)."""
    case = f"delete on a variable of {points:,} points"
    times = []
    for i in range(repeats * 4):
        start = pd.Timestamp("2000-01-01", tz="UTC") + pd.Timedelta(seconds=i)
        began = time.perf_counter()
        store.delete(_PLAIN, start, start + pd.Timedelta("1s"))
        times.append(time.perf_counter() - began)
    median_ms = float(np.median(times)) * 1000
    return [
        measurement("13", case, "hfdata delete", "hfdata", n=1, times=times, unit="calls"),
        target(
            "13",
            case,
            "delete() under 5 ms whatever the variable's size (median, ms)",
            subject="hfdata delete",
            value=round(median_ms, 3),
            maximum=5.0,
            unit="ms",
            source=_SOURCE,
        ),
    ]


def main(argv: list[str]) -> None:
    from benchmarks._report import console

    print(console(run(quick="--quick" in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
