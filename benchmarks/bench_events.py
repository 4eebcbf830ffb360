"""Workload 10 (issue 17): values at and around many event times.

Data: 10 variables of 2,000,000 points each at an irregular 20 Hz (steps of 25-75 ms),
compacted, plus 50,000 more points each still in the log (`--quick`: 200,000 and
5,000). Contenders read the same Parquet files (their reads are timed too):

* `asof` of 1,000,000 unsorted event times over the 10 variables: hfdata
  `Store.asof` against polars `scan_parquet` + `join_asof` and DuckDB `read_parquet`
  + `ASOF JOIN` (one join per variable; target: at least 2x the faster of them).
  The peers read the Parquet files only; hfdata reads the log tail as well.
* `around` of 10,000 events with +-5 s windows, mean and std: hfdata `Store.around`
  against DuckDB joining the events to `read_parquet` on the time range and grouping
  by event (target: at least 3x).
* `read(resample="1min", agg="twa")` of one variable against the same read with
  `agg="mean"` (target: within 2x, i.e. a rate of at least 0.5x). Both read the points:
  since issue 19 a mean can come from the rollups, a twa cannot, and the target is about
  what the twa computation adds over a mean's, so the mean runs with `rollups=False`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

import hfdata
from benchmarks._harness import Contender, compare, note, scratch_dir, target
from benchmarks.bench_read import duckdb_or_reason

__all__ = ["run"]

_SOURCE = "issue 17"
_START = pd.Timestamp("2026-11-26", tz="UTC").value
_VARIABLES = [f"v{i}" for i in range(10)]


def _stream(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ns = _START + np.cumsum(rng.integers(25_000_000, 75_000_000, n, dtype=np.int64))
    values = 20.0 + np.cumsum(rng.normal(0.0, 0.01, n))
    return pd.DataFrame({"timestamp": pd.DatetimeIndex(ns, tz="UTC"), "value": values})


def _build(root: Path, points: int, log_points: int) -> tuple[int, int]:
    """The store; returns the first and last timestamp of the compacted data."""
    with hfdata.open_store(root) as store:
        for i, name in enumerate(_VARIABLES):
            store.append_many(name, _stream(points + log_points, i)[:points])
        store.compact(include_active=True, progress=False)
        for i, name in enumerate(_VARIABLES):
            store.append_many(name, _stream(points + log_points, i)[points:])
    first = _stream(1, 0)["timestamp"].iloc[0].value
    last = int(_stream(points, 0)["timestamp"].iloc[-1].value)
    return first, last


def _files(root: Path, name: str) -> str:
    return str(root / "parquet" / "kind=float" / f"variable={name}" / "**" / "*.parquet")


def _asof(root: Path, at: pd.DatetimeIndex, repeats: int, con: Any, why: str) -> list[Any]:
    events = pl.DataFrame(
        {"timestamp": pl.Series(at.tz_convert(None).to_numpy()).dt.replace_time_zone("UTC")}
    )
    rows = len(at)
    case = f"asof of {rows:,} unsorted times over {len(_VARIABLES)} variables"

    def ours(_: Any) -> None:
        with hfdata.open_store(root) as store:
            got = store.asof(_VARIABLES, at, output="polars")
        if got.height != rows:
            raise RuntimeError(f"got {got.height} rows")

    def polars_join(_: Any) -> None:
        left = events.with_row_index("row").sort("timestamp")
        for name in _VARIABLES:
            right = (
                pl.scan_parquet(_files(root, name), hive_partitioning=False)
                .select("timestamp", pl.col("value").alias(name))
                .sort("timestamp")
                .collect()
            )
            left = left.join_asof(right, on="timestamp", strategy="backward")
        left = left.sort("row")
        if left.height != rows:
            raise RuntimeError(f"got {left.height} rows")

    def duck_join(_: Any) -> None:
        con.register("events", events.with_row_index("row").to_arrow())
        joins = " ".join(
            f"ASOF LEFT JOIN (SELECT timestamp AS t{i}, value AS {name} FROM "
            f"read_parquet('{_files(root, name)}', hive_partitioning=false)) p{i} "
            f"ON e.timestamp >= p{i}.t{i}"
            for i, name in enumerate(_VARIABLES)
        )
        columns = ", ".join(_VARIABLES)
        table = con.sql(
            f"SELECT e.row, e.timestamp, {columns} FROM events e {joins} ORDER BY e.row"
        ).to_arrow_table()
        if table.num_rows != rows:
            raise RuntimeError(f"got {table.num_rows} rows")

    contenders = [
        Contender("hfdata asof (polars)", "hfdata", ours, rows),
        Contender("polars scan_parquet+join_asof", "peer", polars_join, rows),
        Contender("duckdb read_parquet ASOF JOIN", "peer", duck_join, rows, skip=why or None),
    ]
    out = compare("10", case, contenders, repeats=repeats)
    done = {r["contender"]: r for r in out if r["status"] == "ok"}
    peers = [
        n for n in ("polars scan_parquet+join_asof", "duckdb read_parquet ASOF JOIN") if n in done
    ]
    if peers:
        fastest = min(peers, key=lambda n: float(np.median(done[n]["times"])))
        out.append(
            target(
                "10",
                case,
                "asof: hfdata vs the faster of polars join_asof and DuckDB ASOF JOIN",
                subject="hfdata asof (polars)",
                reference=fastest,
                minimum=2.0,
                source=_SOURCE,
            )
        )
    return out


def _around(root: Path, events: pd.DatetimeIndex, repeats: int, con: Any, why: str) -> list[Any]:
    rows = len(events)
    case = f"around of {rows:,} events, +-5 s, mean and std, {len(_VARIABLES)} variables"

    def ours(_: Any) -> None:
        with hfdata.open_store(root) as store:
            got = store.around(
                _VARIABLES, events, before="5s", after="5s", agg=["mean", "std"], output="polars"
            )
        if got.height != rows:
            raise RuntimeError(f"got {got.height} rows")

    frame = pl.DataFrame(
        {"t": pl.Series(events.tz_convert(None).to_numpy()).dt.replace_time_zone("UTC")}
    )

    def duck(_: Any) -> None:
        con.register("ev", frame.with_row_index("row").to_arrow())
        for name in _VARIABLES:  # one query per variable (one join of 10 would be wider)
            table = con.sql(
                f"SELECT e.row, avg(p.value) AS mean, stddev_samp(p.value) AS std "
                f"FROM ev e LEFT JOIN read_parquet('{_files(root, name)}', "
                "hive_partitioning=false) p ON p.timestamp >= e.t - INTERVAL 5 SECOND "
                "AND p.timestamp < e.t + INTERVAL 5 SECOND GROUP BY e.row ORDER BY e.row"
            ).to_arrow_table()
            if table.num_rows != rows:
                raise RuntimeError(f"got {table.num_rows} rows")

    contenders = [
        Contender("hfdata around (polars)", "hfdata", ours, rows),
        Contender("duckdb range join+group by", "peer", duck, rows, skip=why or None),
    ]
    out = compare("10", case, contenders, repeats=repeats)
    out.append(
        target(
            "10",
            case,
            "around: hfdata vs DuckDB range join + group by event",
            subject="hfdata around (polars)",
            reference="duckdb range join+group by",
            minimum=3.0,
            source=_SOURCE,
        )
    )
    return out


def _twa(root: Path, repeats: int) -> list[Any]:
    name = _VARIABLES[0]
    case = f"1-minute resample of one variable ({name}): twa against mean"

    def read(agg: str) -> Any:
        def timed(_: Any) -> None:
            with hfdata.open_store(root) as store:
                got = store.read(name, resample="1min", agg=agg, output="polars", rollups=False)
            if got.height == 0:
                raise RuntimeError("no bins")

        return timed

    contenders = [
        Contender("hfdata read agg=twa", "hfdata", read("twa"), 1),
        Contender("hfdata read agg=mean (points: rollups=False)", "baseline", read("mean"), 1),
    ]
    out = compare("10", case, contenders, repeats=repeats)
    out.append(
        target(
            "10",
            case,
            "read(resample='1min', agg='twa') within 2x of agg='mean'",
            subject="hfdata read agg=twa",
            reference="hfdata read agg=mean (points: rollups=False)",
            minimum=0.5,
            source=_SOURCE,
        )
    )
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 10 with the issue 17 targets."""
    points = 200_000 if quick else 2_000_000
    log_points = 5_000 if quick else 50_000
    n_at = 100_000 if quick else 1_000_000
    n_events = 1_000 if quick else 10_000
    repeats = 3 if quick else 7
    con, why = duckdb_or_reason()
    out: list[dict[str, Any]] = []
    with scratch_dir("w10") as work:
        root = work / "store"
        first, last = _build(root, points, log_points)
        rng = np.random.default_rng(17)
        at = pd.DatetimeIndex(rng.integers(first, last, n_at), tz="UTC")
        events = pd.DatetimeIndex(rng.integers(first, last, n_events), tz="UTC")
        out.append(
            note(
                "10",
                f"{len(_VARIABLES)} variables of {points:,} compacted points (irregular 20 Hz) "
                f"+ {log_points:,} in the log each; peers read the Parquet only",
            )
        )
        out += _asof(root, at, repeats, con, why)
        out += _around(root, events, repeats, con, why)
        out += _twa(root, repeats)
    if con is not None:
        con.close()
    return out


def main(argv: list[str]) -> None:
    from benchmarks._report import console

    print(console(run(quick="--quick" in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
