"""Read benchmarks against ArcticDB (LMDB) and polars, as ratios measured in one run.

Run in a venv with ArcticDB (it needs pandas < 3), e.g.::

    python -m venv .venv-arctic && .venv-arctic/bin/pip install arcticdb 'pandas<3' \\
        pyarrow polars orjson tqdm numpy && .venv-arctic/bin/pip install -e .
    .venv-arctic/bin/python -m benchmarks.bench_read

Data: one variable, 2,000,000 points at 20 Hz. Until `hfdata.compact` lands, the
"compacted" store is written here directly in the DESIGN layout with the Parquet
settings under test (`PARQUET_VARIANTS`). Without ArcticDB only the hfdata figures
and the polars log baseline are printed.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import hfdata
from hfdata.layout import parquet_dir, partition_key_ns
from hfdata.read import clear_cache

__all__ = ["main"]

WORK = Path(__file__).parent / "_work"
START = pd.Timestamp("2026-11-25T00:00:00Z")
STEP_NS = 50_000_000  # 20 Hz
VAR = "sensor"
PARQUET_VARIANTS: dict[str, dict[str, Any]] = {
    # encodings: "default" = pyarrow's defaults (dictionary on every column);
    # "plain" = dictionary for metadata only (the compact branch's current writer);
    # "delta-bss" = plain + DELTA_BINARY_PACKED timestamps, BYTE_STREAM_SPLIT values.
    "rg64k-default": {"row_group_size": 65_536, "encodings": "default"},
    "rg128k-plain": {"row_group_size": 131_072, "encodings": "plain"},
    "rg16k-plain": {"row_group_size": 16_384, "encodings": "plain"},
    "rg16k-delta-bss": {"row_group_size": 16_384, "encodings": "delta-bss"},
    "rg64k-delta-bss": {"row_group_size": 65_536, "encodings": "delta-bss"},
    "rg256k-delta-bss": {"row_group_size": 262_144, "encodings": "delta-bss"},
    "rg1M-delta-bss": {"row_group_size": 1_048_576, "encodings": "delta-bss"},
}


def timeit(fn: Callable[[], Any], repeat: int = 7, cold: bool = False) -> float:
    """Median seconds of `repeat` calls (after one warm-up unless `cold`)."""
    if not cold:
        fn()
    times = []
    for _ in range(repeat):
        if cold:
            clear_cache()
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compare(
    ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int = 15
) -> tuple[float, float]:
    """Median seconds of each, calls interleaved so both see the same machine load."""
    ours()
    theirs()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, out in ((ours, a), (theirs, b)):
            gc.collect()
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def make_points(n: int, start: pd.Timestamp = START, step: int = STEP_NS) -> pa.Table:
    rng = np.random.default_rng(7)
    ns = start.value + np.arange(n, dtype=np.int64) * step
    values = 20.0 + np.cumsum(rng.normal(0, 0.01, n))
    return pa.table(
        {
            "timestamp": pa.array(ns).cast(pa.timestamp("ns", tz="UTC")),
            "value": pa.array(values),
            "metadata": pa.nulls(n, pa.string()),
        }
    )


def write_compacted(root: Path, table: pa.Table, row_group_size: int, encodings: str) -> None:
    """Parquet in the DESIGN layout (`parquet/variable=…/date=…/part-….parquet`)."""
    with hfdata.open_store(root):
        pass
    ns = table.column("timestamp").cast(pa.int64()).to_numpy()
    day = 86_400 * 1_000_000_000
    first_day = ns[0] // day
    options: dict[str, Any] = {"compression": "zstd", "write_statistics": True}
    if encodings == "default":
        options["use_dictionary"] = True
    else:
        options["use_dictionary"] = ["metadata"]
    if encodings == "delta-bss":
        options["column_encoding"] = {
            "timestamp": "DELTA_BINARY_PACKED",
            "value": "BYTE_STREAM_SPLIT",
        }
    for d in range(int(first_day), int(ns[-1] // day) + 1):
        a, b = np.searchsorted(ns, [d * day, (d + 1) * day])
        if a == b:
            continue
        key = partition_key_ns(d * day, "day")
        path = parquet_dir(root, VAR, key) / "part-000000000001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(a, b - a), path, row_group_size=row_group_size, **options)


def size_of(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "parquet").rglob("*.parquet"))


def bench_parquet(n: int, arctic: Any) -> None:
    table = make_points(n)
    frame = pd.DataFrame(
        {"value": table.column("value").to_numpy()},
        index=pd.DatetimeIndex(table.column("timestamp").to_pandas(), name="timestamp"),
    )
    lo = START + pd.Timedelta(hours=10)
    hi = lo + pd.Timedelta(hours=1)
    read_slice: Callable[[], Any] = lambda: None  # noqa: E731
    read_ohlc: Callable[[], Any] = lambda: None  # noqa: E731
    if arctic is not None:
        from arcticdb import QueryBuilder

        lib = arctic.get_library("bench", create_if_missing=True)
        lib.write(VAR, frame)
        q = (
            QueryBuilder()
            .resample("1min")
            .agg(
                {
                    "open": ("value", "first"),
                    "high": ("value", "max"),
                    "low": ("value", "min"),
                    "close": ("value", "last"),
                }
            )
        )
        closed_hi = hi - pd.Timedelta(1, "ns")  # ArcticDB's date_range includes its end
        assert len(lib.read(VAR, date_range=(lo, closed_hi)).data) == 72_000

        def read_slice() -> Any:
            return lib.read(VAR, date_range=(lo, closed_hi)).data

        def read_ohlc() -> Any:
            return lib.read(VAR, query_builder=q).data

    for name, variant in PARQUET_VARIANTS.items():
        root = WORK / f"store-{name}"
        shutil.rmtree(root, ignore_errors=True)
        write_compacted(root, table, variant["row_group_size"], variant["encodings"])
        with hfdata.open_store(root) as store:
            got = store.read(VAR, lo, hi)
            assert len(got) == 72_000, len(got)
            if arctic is not None:
                expected = read_ohlc()
                ours = store.read(VAR, resample="1min", agg="ohlc")
                np.testing.assert_allclose(ours.to_numpy(), expected[list(ours.columns)].to_numpy())
            t_slice, r_slice = compare(lambda s=store: s.read(VAR, lo, hi), read_slice, 25)
            t_ohlc, r_ohlc = compare(
                lambda s=store: s.read(VAR, resample="1min", agg="ohlc"), read_ohlc, 7
            )
            t_cold = timeit(lambda s=store: s.read(VAR, lo, hi), cold=True)
        line = (
            f"{name:18s} slice 1h {t_slice * 1e3:7.2f} ms (cold footers {t_cold * 1e3:6.2f})"
            f"  ohlc 1min {t_ohlc * 1e3:7.2f} ms  size {size_of(root) / 2**20:5.1f} MiB"
        )
        if arctic is not None:
            line += (
                f" | arcticdb slice {r_slice * 1e3:6.2f} ms ohlc {r_ohlc * 1e3:7.2f} ms"
                f" | ratio slice {t_slice / r_slice:.2f}x ohlc {t_ohlc / r_ohlc:.2f}x"
            )
        print(line, flush=True)


def bench_log(n: int) -> None:
    root = WORK / "store-log"
    shutil.rmtree(root, ignore_errors=True)
    table = make_points(n)
    with hfdata.open_store(root) as store:
        store.append_many(VAR, table.select(["timestamp", "value"]))
    files = sorted(str(p) for p in (root / "log").rglob("*.jsonl"))
    with open(files[0], "rb") as fh:  # writers end timestamps with "Z" or "+00:00"
        fmt = "%Y-%m-%dT%H:%M:%S%.fZ" if b'Z"' in fh.readline() else "%Y-%m-%dT%H:%M:%S%.f%:z"

    def polars_read() -> pl.DataFrame:
        return pl.concat([pl.read_ndjson(f) for f in files]).with_columns(
            pl.col("timestamp").str.to_datetime(fmt, time_unit="ns", time_zone="UTC")
        )

    with hfdata.open_store(root) as store:
        assert len(store.read(VAR)) == n

        def cold_read() -> Any:
            clear_cache()
            return store.read(VAR)

        t_cold, t_ref = compare(cold_read, polars_read, 3)
        t_warm = timeit(lambda: store.read(VAR), repeat=3)
    print(
        f"log {n:,} points: polars ndjson {t_ref * 1e3:8.1f} ms, hfdata cold {t_cold * 1e3:8.1f}"
        f" ms (speed-up {t_ref / t_cold:.2f}x, target >= 1.5x), warm (cached parse)"
        f" {t_warm * 1e3:6.1f} ms",
        flush=True,
    )


def bench_growth(hz: int) -> None:
    step = 1_000_000_000 // hz
    per_day = 86_400 * hz
    lo = START + pd.Timedelta(hours=10)
    hi = lo + pd.Timedelta(hours=1)
    stores = {}
    for days in (1, 30):
        root = WORK / f"store-{days}d"
        shutil.rmtree(root, ignore_errors=True)
        for d in range(days):
            t = make_points(per_day, START + pd.Timedelta(days=d), step)
            write_compacted(root, t, 16_384, "delta-bss") if d == 0 else _append_day(root, t)
        stores[days] = hfdata.open_store(root)
        assert len(stores[days].read(VAR, lo, hi)) == 3600 * hz
    t30, t1 = compare(lambda: stores[30].read(VAR, lo, hi), lambda: stores[1].read(VAR, lo, hi), 41)
    for store in stores.values():
        store.close()
    print(
        f"growth ({hz} Hz): 1-day store {t1 * 1e3:.2f} ms, 30-day store "
        f"{t30 * 1e3:.2f} ms, ratio {t30 / t1:.2f}x (target <= 1.1x)",
        flush=True,
    )


def _append_day(root: Path, table: pa.Table) -> None:
    ns0 = table.column("timestamp").cast(pa.int64())[0].as_py()
    path = parquet_dir(root, VAR, partition_key_ns(ns0, "day")) / "part-000000000001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        row_group_size=16_384,
        compression="zstd",
        use_dictionary=["metadata"],
        column_encoding={"timestamp": "DELTA_BINARY_PACKED", "value": "BYTE_STREAM_SPLIT"},
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--log-points", type=int, default=1_000_000)
    parser.add_argument("--growth-hz", type=int, default=5)
    parser.add_argument("--only", choices=["parquet", "log", "growth"], action="append")
    args = parser.parse_args(argv)
    parts = set(args.only or ["parquet", "log", "growth"])
    WORK.mkdir(exist_ok=True)
    try:
        import arcticdb

        shutil.rmtree(WORK / "arctic", ignore_errors=True)
        arctic: Any = arcticdb.Arctic(f"lmdb://{WORK / 'arctic'}?map_size=4GB")
        print(f"arcticdb {arcticdb.__version__}, pandas {pd.__version__}")
    except ImportError:
        arctic = None
        print("arcticdb not installed: hfdata figures only")
    if "parquet" in parts:
        bench_parquet(args.points, arctic)
    if "log" in parts:
        bench_log(args.log_points)
    if "growth" in parts:
        bench_growth(args.growth_hz)


if __name__ == "__main__":
    main()
