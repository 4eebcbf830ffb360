"""Workload 3: compaction throughput against a polars baseline, and peak memory.

Both contenders read the same closed segments and write day-partitioned zstd
Parquet. The segments are written with hfdata's own line encoder (``encode_frame``,
what ``append_many`` and the writers produce), 600,000 lines each (about the default
64 MiB rotation), at 20 Hz so that the data spans several day partitions. Two cases:
lines with metadata on two rows in three (``…Z`` timestamps, the formatted path) and
plain lines (``…+00:00``, what ``append_many`` of a bare frame writes).

* hfdata: ``Store.compact()`` (journal, fsyncs, quarantine checks and all); the
  segments are put back and the Parquet removed before each repetition (untimed).
* baseline (issue 3): polars ``read_ndjson`` of every segment, ``str.to_datetime``,
  then ``write_parquet`` (zstd) per day partition, sorted.

Peak memory: a fresh process (``--child``) opens the store and compacts 20 M points
(500,000 in the quick run); its peak resident set (``VmHWM``, or ``ru_maxrss``) is the
figure, interpreter and imports included.

    python -m benchmarks.bench_compact [--quick]      this workload alone, printed
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

import hfdata
from benchmarks._harness import Contender, compare, note, scratch_dir, target
from hfdata.log.encode import encode_frame
from hfdata.log.schema import store_schema

__all__ = ["make_segments", "polars_baseline", "reset", "run"]

SEGMENT_ROWS = 600_000  # about 64 MB of JSON with metadata, the default rotation size
VARIABLE = "sensor_temp_celsius"
STEP_NS = 50_000_000  # 20 Hz
_START_NS = 1_795_651_200_000_000_000  # 2026-11-25T00:00:00Z
_ROOT = Path(__file__).resolve().parent.parent
_SOURCE = "issue 3"
_MEMORY_LIMIT = 1.5e9


def make_segments(root: Path, rows: int, *, metadata: bool = True) -> list[Path]:
    """A store at ``root`` holding ``rows`` points in closed segments (nothing compacted).

    ``log_retention=None`` keeps compacted segments, so ``reset`` can put them back.
    """
    hfdata.open_store(root, log_retention=None).close()
    directory = root / "log" / VARIABLE
    store_schema(directory, "float")
    rng = np.random.default_rng(0)
    rooms = pa.array(['{"location":"room_a"}', '{"location":"room_b"}', None])
    segments = []
    for seq, first in enumerate(range(0, rows, SEGMENT_ROWS), start=1):
        n = min(SEGMENT_ROWS, rows - first)
        ns = _START_NS + (first + np.arange(n, dtype=np.int64)) * STEP_NS
        values = pa.array(np.round(rng.normal(20.0, 5.0, n), 3))
        meta = rooms.take(pa.array(rng.integers(0, 3, n))) if metadata else None
        path = directory / f"20261125T000000000_1_bench-{seq:06d}.jsonl"
        with open(path, "wb") as fh:
            encode_frame(ns, values, meta, "float").write_to(fh)
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


def polars_baseline(segments: list[Path], out: Path, variable: str = VARIABLE) -> int:
    """The issue 3 baseline: read_ndjson + str.to_datetime + write_parquet per partition."""
    frame = pl.concat([pl.read_ndjson(seg) for seg in segments], how="diagonal_relaxed")
    frame = frame.with_columns(
        pl.col("timestamp").str.to_datetime(time_unit="ns", time_zone="UTC"),
    ).with_columns(pl.col("timestamp").dt.date().alias("_date"))
    rows = 0
    for (key,), part in frame.group_by("_date", maintain_order=True):
        directory = out / f"variable={variable}" / f"date={key}"
        directory.mkdir(parents=True)
        part = part.drop("_date").sort("timestamp", maintain_order=True)
        part.write_parquet(directory / "part-0.parquet", compression="zstd")
        rows += part.height
    return rows


def _throughput(case: str, rows: int, metadata: bool, repeats: int, work: Path) -> list[Any]:
    root = work / f"store-{int(metadata)}"
    segments = make_segments(root, rows, metadata=metadata)
    out = work / "baseline"

    def hf_prepare() -> hfdata.Store:
        reset(root, segments)
        return hfdata.open_store(root)

    def hf_run(store: hfdata.Store) -> None:
        got = store.compact(progress=False).rows
        if got != rows:
            raise RuntimeError(f"hfdata compacted {got} rows, expected {rows}")

    def pl_prepare() -> None:
        reset(root, segments)
        shutil.rmtree(out, ignore_errors=True)

    def pl_run(_: None) -> None:
        got = polars_baseline(segments, out)
        if got != rows:
            raise RuntimeError(f"baseline wrote {got} rows, expected {rows}")

    contenders = [
        Contender(
            "hfdata compact",
            "hfdata",
            hf_run,
            rows,
            hf_prepare,
            lambda store: store.close(),
        ),
        Contender(
            "polars read_ndjson+to_datetime+write_parquet",
            "baseline",
            pl_run,
            rows,
            pl_prepare,
        ),
    ]
    records = compare("3", case, contenders, repeats=repeats)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return records


def peak_memory(rows: int, work: Path) -> dict[str, Any]:
    """Compact ``rows`` points in a fresh process; its peak RSS and time."""
    root = work / "memory-store"
    make_segments(root, rows)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_compact", "--child", str(root)],
            cwd=_ROOT,
            capture_output=True,
            check=True,
            text=True,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _child(root: Path) -> None:
    with hfdata.open_store(root) as store:
        started = time.perf_counter()
        rows = store.compact(progress=False).rows
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak_kib = int(line.split()[1])
    except OSError:
        pass
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_bytes": peak_kib * 1024}))


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 3 measurements and the issue 3 targets."""
    rows = 200_000 if quick else 2_000_000
    mem_rows = 500_000 if quick else 20_000_000
    repeats = 2 if quick else 3
    out: list[dict[str, Any]] = []
    cases = [
        (f"{rows:,} rows, metadata on 2 lines in 3", True),
        (f"{rows:,} rows, plain lines (append_many)", False),
    ]
    with scratch_dir("w3") as work:
        for case, metadata in cases:
            out += _throughput(case, rows, metadata, repeats, work)
            out.append(
                target(
                    "3",
                    case,
                    f"compact vs polars read_ndjson+to_datetime+write_parquet ({case})",
                    subject="hfdata compact",
                    reference="polars read_ndjson+to_datetime+write_parquet",
                    minimum=1.5,
                    aim=2.5,
                    source=_SOURCE,
                )
            )
        try:
            probe = peak_memory(mem_rows, work)
        except (subprocess.CalledProcessError, ValueError) as exc:
            err = getattr(exc, "stderr", "") or str(exc)
            out.append(note("3", f"memory probe failed: {err.strip()[-500:]}"))
            return out
    peak = probe["peak_bytes"]
    out.append(
        note(
            "3",
            f"memory: compacting {probe['rows']:,} points (metadata lines) in a fresh process "
            f"peaked at {peak / 2**20:,.0f} MiB resident (VmHWM, interpreter included), "
            f"in {probe['seconds']:.1f} s ({probe['rows'] / probe['seconds']:,.0f} rows/s)",
        )
    )
    out.append(
        target(
            "3",
            f"memory, {mem_rows:,} points",
            f"peak RSS compacting {mem_rows:,} points"
            + (" (quick size; the target is set for 20,000,000)" if quick else ""),
            subject="hfdata compact",
            value=round(peak / 1e9, 3),
            maximum=_MEMORY_LIMIT / 1e9,
            unit="GB",
            source=_SOURCE,
        )
    )
    return out


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _child(Path(argv[1]))
        return
    from benchmarks._report import console

    print(console(run(quick="--quick" in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
