"""Compaction throughput against a polars baseline, and peak memory.

    python -m benchmarks.bench_compact --rows 2000000 --repeats 3 [--plain]
    python -m benchmarks.bench_compact --rows 2000000 --memory-rows 20000000

Both sides read the same closed segments (written as hfdata's writers write them)
and write day-partitioned zstd Parquet. The baseline is polars `read_ndjson`, then
`str.to_datetime`, then `write_parquet` per partition. Runs alternate A/B after a
warm-up and the medians are compared, so a busy machine slows both alike. Peak
memory is `ru_maxrss` of a child process that only opens the store and compacts.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

import hfdata
from hfdata.encode import encode_frame
from hfdata.kinds import store_schema

SEGMENT_ROWS = 600_000  # about 64 MB of JSON, the default rotation size
VARIABLE = "sensor_temp_celsius"


def make_store(root: Path, rows: int, plain: bool = False) -> list[Path]:
    """A store holding `rows` points (10 ms apart, so about 2.3 days per 20 M) in segments.

    Lines carry metadata (`…Z` timestamps), or none with `plain` (`…+00:00`), as
    `append_many` writes them.
    """
    hfdata.open_store(root, log_retention=None).close()
    directory = root / "log" / VARIABLE
    store_schema(directory, "float")
    rng = np.random.default_rng(0)
    start = np.int64(1_795_737_600_000_000_000)  # 2026-11-26T00:00:00Z
    rooms = pa.array(['{"location":"room_a"}', '{"location":"room_b"}', None])
    segments = []
    for seq, first in enumerate(range(0, rows, SEGMENT_ROWS), start=1):
        n = min(SEGMENT_ROWS, rows - first)
        ns = start + (first + np.arange(n, dtype=np.int64)) * 10_000_000
        values = pa.array(rng.normal(20, 5, n).round(3))
        meta = rooms.take(pa.array(rng.integers(0, 3, n)))
        path = directory / f"bench-{seq:06d}.jsonl"
        with open(path, "wb") as fh:
            encode_frame(ns, values, None if plain else meta, "float").write_to(fh)
        segments.append(path)
    return segments


def reset(root: Path, segments: list[Path]) -> None:
    """Put the segments back and remove every output, so a run starts from the same state."""
    for seg in segments:
        done = seg.parent / "compacted" / seg.name
        if done.exists():
            done.rename(seg)
    shutil.rmtree(root / "parquet", ignore_errors=True)
    shutil.rmtree(root / "_quarantine", ignore_errors=True)


def run_hfdata(root: Path) -> int:
    with hfdata.open_store(root) as store:
        return store.compact(progress=False).rows


def run_baseline(segments: list[Path], out: Path) -> int:
    shutil.rmtree(out, ignore_errors=True)
    frame = pl.concat([pl.read_ndjson(seg) for seg in segments], how="diagonal_relaxed")
    frame = frame.with_columns(
        pl.col("timestamp").str.to_datetime(time_unit="ns", time_zone="UTC"),
    ).with_columns(pl.col("timestamp").dt.date().alias("_date"))
    rows = 0
    for (key,), part in frame.group_by("_date", maintain_order=True):
        directory = out / f"variable={VARIABLE}" / f"date={key}"
        directory.mkdir(parents=True)
        part = part.drop("_date").sort("timestamp", maintain_order=True)
        part.write_parquet(directory / "part-0.parquet", compression="zstd")
        rows += part.height
    return rows


def throughput(rows: int, repeats: int, plain: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hfbench-") as tmp:
        root = Path(tmp) / "store"
        segments = make_store(root, rows, plain)
        out = Path(tmp) / "baseline"
        times: dict[str, list[float]] = {"hfdata": [], "baseline": []}

        def timed(name: str) -> float:
            reset(root, segments)
            started = time.perf_counter()
            got = run_hfdata(root) if name == "hfdata" else run_baseline(segments, out)
            elapsed = time.perf_counter() - started
            assert got == rows, (name, got, rows)
            return elapsed

        timed("hfdata")
        timed("baseline")  # warm-up
        for i in range(repeats):
            order = ("hfdata", "baseline") if i % 2 == 0 else ("baseline", "hfdata")
            for name in order:
                times[name].append(timed(name))
    med = {name: statistics.median(values) for name, values in times.items()}
    return {
        "rows": rows,
        "metadata": float(not plain),
        "hfdata_s": med["hfdata"],
        "baseline_s": med["baseline"],
        "hfdata_rows_per_s": rows / med["hfdata"],
        "baseline_rows_per_s": rows / med["baseline"],
        "speedup": med["baseline"] / med["hfdata"],
    }


def peak_memory(rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hfbench-mem-") as tmp:
        root = Path(tmp) / "store"
        make_store(root, rows)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_compact", "--child", str(root)],
            capture_output=True,
            check=True,
            text=True,
        )
    result: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def child(root: Path) -> None:
    started = time.perf_counter()
    rows = run_hfdata(root)
    seconds = time.perf_counter() - started
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": maxrss_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, default=0, help="0 skips the memory run")
    parser.add_argument("--plain", action="store_true", help="lines without metadata")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    print(json.dumps({"throughput": throughput(args.rows, args.repeats, args.plain)}, indent=2))
    if args.memory_rows:
        print(json.dumps({"memory": peak_memory(args.memory_rows)}, indent=2))


if __name__ == "__main__":
    main()
