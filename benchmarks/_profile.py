"""Hot loops to profile with py-spy or pyinstrument.

    py-spy record -o out.txt -f raw -- python -m benchmarks._profile MODE [N]

MODE ``flush``, ``buffered`` or ``fsync``: N single-point appends of the seeded points
(default 1,000,000; keep fsync small). MODE ``many``: ``append_many`` of an N-row
frame five times (default 1,000,000). Read modes build a store of N points at 20 Hz
(default 2,000,000) with ``append_many`` and ``compact`` first, then loop: ``slice``
(one hour, pandas output, 300 times), ``ohlc`` (1-minute OHLC, 20 times). ``logread``
reads N points (default 1,000,000) from the log with the parse cache cleared (10
times); ``compact`` compacts N points of metadata lines (default 2,000,000) 3 times;
``logread-plain`` and ``compact-plain`` do the same with plain ``…+00:00`` lines.
Prints the rate so the run can be compared.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

import hfdata
from benchmarks import _data

__all__ = ["main"]


def _reads(mode: str, n: int, root: Path) -> None:
    from benchmarks.bench_read import build_store

    build_store(root, _data.regular(n))
    lo = pd.Timestamp(_data.START) + timedelta(hours=10)
    hi = lo + timedelta(hours=1)
    with hfdata.open_store(root) as store:
        loops = 300 if mode == "slice" else 20
        start = time.perf_counter()
        for _ in range(loops):
            if mode == "slice":
                store.read("sensor", lo, hi)
            else:
                store.read("sensor", resample="1min", agg="ohlc")
        print(f"{mode}: {(time.perf_counter() - start) / loops * 1e3:.2f} ms per read")


def _log(mode: str, n: int, root: Path) -> None:
    from benchmarks.bench_compact import make_segments, reset
    from hfdata.read.query import clear_cache

    segments = make_segments(root, n, metadata=not mode.endswith("-plain"))
    mode = mode.removesuffix("-plain")
    with hfdata.open_store(root) as store:
        for _ in range(10 if mode == "logread" else 3):
            clear_cache()
            reset(root, segments)
            start = time.perf_counter()
            if mode == "logread":
                store.read(segments[0].parent.name)
            else:
                store.compact(progress=False)
            print(f"{mode}: {n / (time.perf_counter() - start):,.0f} rows/s")


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "flush"
    big = ("slice", "ohlc", "compact", "compact-plain")
    default = 2_000_000 if mode in big else 1_000_000
    n = int(argv[1]) if len(argv) > 1 else default
    root = tempfile.mkdtemp(prefix="profile-")
    try:
        if mode in ("slice", "ohlc"):
            _reads(mode, n, Path(root) / "store")
            return
        if mode.removesuffix("-plain") in ("logread", "compact"):
            _log(mode, n, Path(root) / "store")
            return
        if mode == "many":
            frame = _data.frame(n)
            for i in range(5):
                with hfdata.open_store(f"{root}/s{i}") as store:
                    start = time.perf_counter()
                    store.append_many("sensor", frame)
                    print(f"append_many: {n / (time.perf_counter() - start):,.0f} rows/s")
            return
        pts = _data.points(n)
        with hfdata.open_store(root, durability=mode) as store:  # type: ignore[arg-type]
            append = store.append
            start = time.perf_counter()
            for ts, value, meta in pts:
                append("sensor", ts, value, meta)
            store.flush()
            print(f"append ({mode}): {n / (time.perf_counter() - start):,.0f} rows/s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
