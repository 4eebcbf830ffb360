"""Peak memory and time of `optimize` on one large partition, against merging it whole.

    python -m benchmarks.optimize_memory                 24,000,000 rows in one month
    python -m benchmarks.optimize_memory --rows 1000000

Not a workload of the harness and no target: the figures behind "optimize in bounded
memory" in docs/decisions.md. A month-partitioned store gets two interleaved
compactions of `rows / 2` points each (the second 0.1 s after the first, as late data
lands), so the partition holds several files whose timestamps interleave. Each side
runs in a fresh process on its own copy of the store: `Store.optimize()`, and the
baseline, what `optimize` did before (every file read whole, one stable sort of the
concatenation, one write). Peak RSS is the child's `VmHWM` (Linux), reset after the
store is opened; both sides must produce the same table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import hfdata

__all__ = ["main"]

_CHILD = """
import json, sys, time
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
import hfdata
from hfdata.parquet.files import sort_stable, write_parquet

root, side = Path(sys.argv[1]), sys.argv[2]
store = hfdata.open_store(root)
files = sorted((root / "parquet").glob("kind=*/**/*.parquet"))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

with open("/proc/self/clear_refs", "w") as f:  # the peak so far (inherited too) is now
    f.write("5")
before = status("VmRSS")
start = time.perf_counter()
if side == "optimize":
    store.optimize(progress=False)
else:
    table = sort_stable(pa.concat_tables(pq.read_table(f) for f in files))
    write_parquet(table, files[0].with_name("whole.parquet"))
    del table
    for f in files:
        f.unlink()
seconds = time.perf_counter() - start
peak = status("VmHWM")
[out] = (root / "parquet").glob("kind=*/**/*.parquet")
print(json.dumps({"seconds": seconds, "peak_mb": peak, "start_mb": before,
                  "rows": pq.read_metadata(out).num_rows, "out": str(out)}))
"""


def _build(root: Path, rows: int) -> None:
    half = rows // 2
    step = 2_400_000_000_000_000 // max(rows, 1)  # the month's first ~28 days
    with hfdata.open_store(root, partition="month") as store:
        for k in range(2):
            ns = pd.Timestamp("2026-10-01").value + np.arange(half, dtype=np.int64) * step
            values = np.random.default_rng(k).normal(20, 5, half).round(3)
            frame = pd.DataFrame(
                {"timestamp": pd.to_datetime(ns + k * 100_000_000, utc=True), "value": values}
            )
            store.append_many("x", frame)
            store.compact(include_active=True, progress=False)


def _run(root: Path, side: str) -> dict[str, float | int | str]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), side], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.optimize_memory")
    parser.add_argument("--rows", type=int, default=24_000_000)
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        _build(source, args.rows)
        files = len(list((source / "parquet").glob("kind=*/**/*.parquet")))
        results = {}
        for side in ("whole", "optimize"):
            copy = Path(tmp) / side
            shutil.copytree(source, copy)
            results[side] = _run(copy, side)
        same = pq.read_table(results["whole"]["out"]).equals(
            pq.read_table(results["optimize"]["out"])
        )
    print(f"{args.rows:,} rows in {files} files of one month partition; same table: {same}")
    for side, label in (("whole", "merge whole (before)"), ("optimize", "Store.optimize()")):
        r = results[side]
        print(
            f"  {label:22} peak RSS {r['peak_mb']:7.0f} MB "
            f"(+{float(r['peak_mb']) - float(r['start_mb']):5.0f} MB)  {r['seconds']:6.2f} s"
        )
    if not same:
        raise SystemExit("optimize and the whole merge disagree")


if __name__ == "__main__":
    main()
