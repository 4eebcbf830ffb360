"""Workloads 4, 5 and 6: a one-hour slice, a 1-minute OHLC, and reading the log tail.

Data (issue 4): one variable, 2,000,000 points at 20 Hz (about 28 hours; 200,000 in the
quick run), written with ``append_many`` and compacted with ``Store.compact()``, so
every contender reads what hfdata really writes. Peers read the same data:

* ArcticDB (LMDB, in its own venv, see ``_arctic.py``): the same frame written once
  (untimed) as one symbol; ``read(date_range=…)`` and a ``QueryBuilder`` resample. Its
  times are measured inside its worker process, so they exclude the pipe.
* polars ``scan_parquet`` and DuckDB ``read_parquet`` over hfdata's Parquet files
  (polars and Arrow output), pandas ``read_parquet`` + ``resample().ohlc()``.
* pandas ``read_json(lines=True)`` over the raw JSON Lines (the compacted segments):
  what users of the original module did (few repetitions: it is slow).

Workload 6 reads a store whose 1,000,000 points are all in closed log segments, written
by hfdata's line encoder in two shapes (as in workload 3), against polars
``read_ndjson`` + ``str.to_datetime`` with an explicit format. hfdata's parse cache is
cleared before each timed read (untimed); a warm read (cache kept) is shown beside it.

    python -m benchmarks.bench_read [--quick]      these workloads alone, printed
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import hfdata
from benchmarks import _data
from benchmarks._arctic import ArcticWorker
from benchmarks._harness import Contender, compare, note, scratch_dir, target
from benchmarks.bench_compact import make_segments
from hfdata.read.query import clear_cache

__all__ = ["build_store", "duckdb_or_reason", "run"]

VARIABLE = "sensor"
_SOURCE = "issue 4"
_OHLC = {
    "open": pl.col("value").first(),
    "high": pl.col("value").max(),
    "low": pl.col("value").min(),
    "close": pl.col("value").last(),
}


def duckdb_or_reason() -> tuple[Any, str]:
    """A DuckDB connection in UTC, or None and why DuckDB is skipped."""
    try:
        import duckdb
    except ImportError:
        return None, "duckdb not installed (`pip install -e '.[bench]'` or `make bench-env`)"
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con, ""


def build_store(root: Path, frame: pd.DataFrame, variable: str = VARIABLE) -> None:
    """Append ``frame`` with ``append_many`` and compact it; compacted segments are kept."""
    with hfdata.open_store(root, log_retention=None) as store:
        store.append_many(variable, frame)
    with hfdata.open_store(root) as store:
        report = store.compact(progress=False)
    if report.rows != len(frame):
        raise RuntimeError(f"compacted {report.rows} rows, expected {len(frame)}")


def _call(fn: Callable[[], Any], rows: int | None = None) -> Callable[[Any], None]:
    """A timed body that runs ``fn`` and checks the row count (a wrong answer fails)."""

    def body(_: Any) -> None:
        got = len(fn())
        if rows is not None and got != rows:
            raise RuntimeError(f"got {got} rows, expected {rows}")

    return body


def _arctic_contender(
    name: str, arctic: ArcticWorker | None, why: str, rows: int, **request: Any
) -> Contender:
    def body(_: Any) -> float:
        assert arctic is not None
        reply = arctic.call(**request)
        if int(reply["rows"]) != rows:
            raise RuntimeError(f"ArcticDB returned {reply['rows']} rows, expected {rows}")
        return float(reply["seconds"])

    return Contender(name, "peer", body, rows, skip=None if arctic else why)


def _duck(name: str, con: Any, why: str, sql: str, rows: int) -> Contender:
    body = _call(lambda: con.sql(sql).to_arrow_table(), rows)
    return Contender(name, "peer", body, rows, skip=None if con is not None else why)


def _slice(
    store: hfdata.Store,
    root: Path,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    arctic: ArcticWorker | None,
    why: str,
    con: Any,
    duck_why: str,
    repeats: int,
    slow_repeats: int,
    total: int,
) -> list[dict[str, Any]]:
    rows = int((hi - lo) / pd.Timedelta(milliseconds=50))
    case = f"1 hour ({rows:,} rows) of {total:,} points"
    files = str(root / "parquet" / "kind=float" / f"variable={VARIABLE}" / "**" / "*.parquet")
    in_window = (pl.col("timestamp") >= lo) & (pl.col("timestamp") < hi)
    duck_sql = (
        f"SELECT timestamp, value FROM read_parquet('{files}') "
        f"WHERE timestamp >= TIMESTAMPTZ '{lo.isoformat()}' "
        f"AND timestamp < TIMESTAMPTZ '{hi.isoformat()}'"
    )
    last = hi - pd.Timedelta(1, "ns")  # ArcticDB's date_range includes its end

    def read(output: str) -> Callable[[Any], None]:
        return _call(lambda: store.read(VARIABLE, lo, hi, output=output), rows)  # type: ignore[arg-type]

    contenders = [
        Contender("hfdata read (pandas)", "hfdata", read("pandas"), rows),
        _arctic_contender(
            "arcticdb read(date_range) (pandas)",
            arctic,
            why,
            rows,
            op="read",
            symbol=VARIABLE,
            start=lo.isoformat(),
            end=last.isoformat(),
        ),
        Contender("hfdata read (polars)", "hfdata", read("polars"), rows),
        Contender(
            "polars scan_parquet+filter",
            "peer",
            _call(lambda: pl.scan_parquet(files).filter(in_window).collect(), rows),
            rows,
        ),
        Contender("hfdata read (arrow)", "hfdata", read("arrow"), rows),
        _duck("duckdb read_parquet WHERE (arrow)", con, duck_why, duck_sql, rows),
        Contender(
            "hfdata read (pandas, caches cleared)",
            "hfdata",
            read("pandas"),
            rows,
            prepare=clear_cache,
        ),
    ]
    out = compare("4", case, contenders, repeats=repeats)

    segments = sorted((root / "log" / VARIABLE / "compacted").glob("*.jsonl"))

    def pandas_json() -> pd.DataFrame:
        # read_json converts a column named "timestamp" to datetimes by itself
        frame = pd.concat([pd.read_json(path, lines=True) for path in segments])
        return frame[(frame["timestamp"] >= lo) & (frame["timestamp"] < hi)]

    out += compare(
        "4",
        case,
        [Contender("pandas read_json of the JSONL", "baseline", _call(pandas_json, rows), rows)],
        repeats=slow_repeats,
        warmup=0,
    )
    out.append(
        target(
            "4",
            case,
            "one-hour slice, pandas output: hfdata vs ArcticDB read(date_range)",
            subject="hfdata read (pandas)",
            reference="arcticdb read(date_range) (pandas)",
            minimum=1.0,
            aim=2.0,
            source=_SOURCE,
        )
    )
    return out


def _ohlc(
    store: hfdata.Store,
    root: Path,
    arctic: ArcticWorker | None,
    why: str,
    con: Any,
    duck_why: str,
    repeats: int,
    total: int,
) -> list[dict[str, Any]]:
    expected = store.read(VARIABLE, resample="1min", agg="ohlc")
    bins = len(expected)
    case = f"1-minute OHLC of {total:,} points ({bins:,} bins)"
    folder = root / "parquet" / "kind=float" / f"variable={VARIABLE}"
    files = str(folder / "**" / "*.parquet")
    duck_sql = (
        "SELECT time_bucket(INTERVAL '1 minute', timestamp) AS t, "
        "first(value ORDER BY timestamp) AS open, max(value) AS high, "
        "min(value) AS low, last(value ORDER BY timestamp) AS close "
        f"FROM read_parquet('{files}') GROUP BY t ORDER BY t"
    )

    def polars_ohlc() -> pl.DataFrame:
        lazy = pl.scan_parquet(files).select("timestamp", "value")
        return lazy.group_by_dynamic("timestamp", every="1m").agg(**_OHLC).collect()

    def pandas_ohlc() -> pd.DataFrame:
        frame = pd.read_parquet(folder, columns=["timestamp", "value"])
        return frame.set_index("timestamp")["value"].resample("1min").ohlc()

    out: list[dict[str, Any]] = []
    reference = pandas_ohlc()
    if not np.allclose(expected.to_numpy(), reference.to_numpy(), equal_nan=True):
        out.append(note("5", "hfdata's OHLC differs from pandas resample().ohlc()!"))
    contenders = [
        Contender(
            "hfdata read(resample='1min', agg='ohlc')",
            "hfdata",
            _call(lambda: store.read(VARIABLE, resample="1min", agg="ohlc"), bins),
            bins,
        ),
        _arctic_contender(
            "arcticdb QueryBuilder resample",
            arctic,
            why,
            bins,
            op="ohlc",
            symbol=VARIABLE,
            rule="1min",
        ),
        Contender("polars group_by_dynamic", "peer", _call(polars_ohlc, bins), bins),
        _duck("duckdb time_bucket", con, duck_why, duck_sql, bins),
        Contender("pandas read_parquet+resample().ohlc()", "peer", _call(pandas_ohlc, bins), bins),
    ]
    out += compare("5", case, contenders, repeats=repeats, unit="bins")
    out.append(
        target(
            "5",
            case,
            "1-minute OHLC of the whole variable: hfdata vs ArcticDB QueryBuilder resample",
            subject="hfdata read(resample='1min', agg='ohlc')",
            reference="arcticdb QueryBuilder resample",
            minimum=1.0,
            aim=2.0,
            source=_SOURCE,
        )
    )
    return out


def _timestamp_format(path: Path) -> str:
    """The strftime format of a segment's timestamps (writers end them `Z` or `+00:00`)."""
    with open(path, "rb") as fh:
        first = fh.readline()
    return "%Y-%m-%dT%H:%M:%S%.fZ" if b'Z"' in first else "%Y-%m-%dT%H:%M:%S%.f%:z"


def _log_tail(points: int, metadata: bool, repeats: int, work: Path) -> list[dict[str, Any]]:
    root = work / f"log-{int(metadata)}"
    segments = make_segments(root, points, metadata=metadata)
    variable = segments[0].parent.name
    fmt = _timestamp_format(segments[0])
    shape = "…Z lines, metadata on 2 in 3" if metadata else "…+00:00 lines (append_many)"
    case = f"{points:,} points in the log ({shape})"

    def polars_read() -> pl.DataFrame:
        frame = pl.concat([pl.read_ndjson(f) for f in segments], how="diagonal_relaxed")
        return frame.with_columns(
            pl.col("timestamp").str.to_datetime(fmt, time_unit="ns", time_zone="UTC")
        )

    store = hfdata.open_store(root)
    try:

        def read(output: str) -> Callable[[Any], None]:
            return _call(lambda: store.read(variable, output=output), points)  # type: ignore[arg-type]

        contenders = [
            Contender(
                "hfdata read (pandas, parse cache cleared)",
                "hfdata",
                read("pandas"),
                points,
                prepare=clear_cache,
            ),
            Contender(
                "polars read_ndjson+str.to_datetime", "peer", _call(polars_read, points), points
            ),
            Contender(
                "hfdata read (polars, parse cache cleared)",
                "hfdata",
                read("polars"),
                points,
                prepare=clear_cache,
            ),
            Contender("hfdata read (pandas, parse cache warm)", "hfdata", read("pandas"), points),
        ]
        out = compare("6", case, contenders, repeats=repeats)
    finally:
        store.close()
    out.append(
        target(
            "6",
            case,
            f"log-tail read ({shape}): hfdata vs polars read_ndjson+str.to_datetime",
            subject="hfdata read (pandas, parse cache cleared)",
            reference="polars read_ndjson+str.to_datetime",
            minimum=1.5,
            aim=3.0,
            source=_SOURCE,
        )
    )
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    """Workloads 4, 5 and 6 with the issue 4 targets."""
    points = 200_000 if quick else 2_000_000
    log_points = 100_000 if quick else 1_000_000
    repeats = 5 if quick else 25
    ohlc_repeats = 3 if quick else 11
    slow_repeats = 1 if quick else 2
    log_repeats = 2 if quick else 5
    frame = _data.regular(points)
    hours = points // (20 * 3600)
    lo = pd.Timestamp(_data.START) + pd.Timedelta(hours=min(10, hours - 1))
    hi = lo + timedelta(hours=1)
    out: list[dict[str, Any]] = []
    con, duck_why = duckdb_or_reason()
    with scratch_dir("w4") as work:
        root = work / "store"
        build_store(root, frame)
        parquet = work / "frame.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet)
        arctic, why = ArcticWorker.start(work, parquet)
        try:
            if arctic is not None:
                arctic.call(op="write", symbol=VARIABLE)
                out.append(note("4", f"ArcticDB ran in its own venv: {arctic.versions}"))
            with hfdata.open_store(root) as store:
                out += _slice(
                    store,
                    root,
                    lo,
                    pd.Timestamp(hi),
                    arctic,
                    why,
                    con,
                    duck_why,
                    repeats,
                    slow_repeats,
                    points,
                )
                out += _ohlc(store, root, arctic, why, con, duck_why, ohlc_repeats, points)
        finally:
            if arctic is not None:
                arctic.close()
        for metadata in (False, True):
            out += _log_tail(log_points, metadata, log_repeats, work)
    if con is not None:
        con.close()
    return out


def main(argv: list[str]) -> None:
    from benchmarks._report import console

    print(console(run(quick="--quick" in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
