"""Workload 2: batch append of a 1 M-row frame, and the memory of a 10 M-row one.

Contenders (the same seeded frame, converted outside the timed region): hfdata
``append_many`` of the pandas frame (and of the polars frame), polars
``write_ndjson``, ``pyarrow.parquet.write_table`` and ArcticDB ``Library.write``
(in its own venv, see ``_arctic.py``; skipped with a note when missing). The memory
probe runs ``append_many`` in a fresh process (``_memprobe.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import hfdata
from benchmarks import _data
from benchmarks._arctic import ArcticWorker
from benchmarks._harness import (
    Contender,
    compare,
    fresh_dir,
    note,
    remove,
    scratch_dir,
    target,
)

__all__ = ["memory_probe", "run"]

VARIABLE = "sensor_temp_celsius"
_ROOT = Path(__file__).resolve().parent.parent


def _hfdata(name: str, data: Any, rows: int, work: Path) -> Contender:
    def prepare() -> tuple[Path, hfdata.Store]:
        root = fresh_dir(work, "hf")
        return root, hfdata.open_store(root)

    def fn(state: tuple[Path, hfdata.Store]) -> None:
        state[1].append_many(VARIABLE, data)

    def cleanup(state: tuple[Path, hfdata.Store]) -> None:
        state[1].close()
        remove(state[0])

    return Contender(name, "hfdata", fn, rows, prepare, cleanup)


def _file_writer(name: str, write: Any, rows: int, work: Path, suffix: str) -> Contender:
    def prepare() -> Path:
        return fresh_dir(work, "peer")

    def fn(directory: Path) -> None:
        write(directory / f"out.{suffix}")

    return Contender(name, "peer", fn, rows, prepare, remove)


def memory_probe(rows: int, work: Path) -> dict[str, Any]:
    """Run ``_memprobe`` in a fresh interpreter; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._memprobe", str(rows), str(work)],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 2 measurements, the memory probe and the issue 2 targets."""
    rows = 100_000 if quick else 1_000_000
    mem_rows = 1_000_000 if quick else 10_000_000
    repeats = 3 if quick else 11
    case = f"{rows:,} rows"
    frame = _data.frame(rows)
    polars_frame = pl.from_pandas(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    out: list[dict[str, Any]] = []
    with scratch_dir("w2") as work:
        parquet = work / "input.parquet"
        pq.write_table(table, parquet)
        arctic, why = ArcticWorker.start(work, parquet)
        try:
            contenders = [
                _hfdata("hfdata append_many (pandas)", frame, rows, work),
                _file_writer("polars write_ndjson", polars_frame.write_ndjson, rows, work, "jsonl"),
                _hfdata("hfdata append_many (polars)", polars_frame, rows, work),
                _file_writer(
                    "pyarrow write_table",
                    lambda path: pq.write_table(table, path),
                    rows,
                    work,
                    "parquet",
                ),
                Contender(
                    "arcticdb write",
                    "peer",
                    lambda _: arctic.timed(op="write") if arctic else 0.0,
                    rows,
                    skip=None if arctic else why,
                ),
            ]
            out += compare("2", case, contenders, repeats=repeats)
        finally:
            if arctic is not None:
                arctic.close()
        if arctic is not None:
            out.append(note("2", f"ArcticDB ran in its own venv: {arctic.versions}"))
        try:
            probe = memory_probe(mem_rows, work)
        except (subprocess.CalledProcessError, ValueError) as exc:
            err = getattr(exc, "stderr", "") or str(exc)
            out.append(note("2", f"memory probe failed: {err.strip()[-500:]}"))
            probe = None
    out.append(
        target(
            "2",
            case,
            "append_many vs polars write_ndjson of the same frame",
            subject="hfdata append_many (pandas)",
            reference="polars write_ndjson",
            minimum=0.8,
            aim=1.5,
            source="issue 2",
        )
    )
    if probe is not None:
        mem_case = f"memory, {mem_rows:,} rows"
        out.append(
            note(
                "2",
                f"memory: append_many of {mem_rows:,} rows raised peak RSS by "
                f"{probe['increase_bytes'] / 2**20:.0f} MiB over a "
                f"{probe['frame_bytes'] / 2**20:.0f} MiB input frame "
                f"({probe['ratio']:.2f}x; {probe['method']}; fresh process)",
            )
        )
        out.append(
            target(
                "2",
                mem_case,
                f"append_many of {mem_rows:,} rows: peak RSS increase / frame size"
                + (" (quick size; the target is set for 10,000,000)" if quick else ""),
                subject="hfdata append_many",
                value=round(probe["ratio"], 3),
                maximum=3.0,
                source="issue 2",
            )
        )
    return out
