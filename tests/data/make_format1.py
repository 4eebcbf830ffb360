"""Make `format1.tar.gz`: stores written by hfdata 0.1.0 at format version 1 (b8f0e16, the
last commit before issue 16), and what that hfdata read from them, for `test_upgrade.py`.

Run with the old hfdata on the path, from a checkout of that commit:
    git worktree add --detach /tmp/v1 b8f0e16
    PYTHONPATH=/tmp/v1 python tests/data/make_format1.py tests/data/format1.tar.gz

Two stores: `local` (Parquet under `<store>/parquet/variable=<var>/...`) and `shared_a` /
`shared_b`, two stores whose Parquet shares one root (`shared_root`, commit records under
`_hfdata/`). Each holds every kind, names that need encoding (`plant/line 1`, `0042`), ints
near 2**53, NaN and None values, metadata, late files, an optimized partition, a variable
whose first compacted points were all None (format 1 wrote them as float64 nulls) and whose
kind was fixed later as string, one of only None values, and a log tail. `expected/` holds
each variable's `read(metadata=True)` as Parquet (timestamps as int64 ns).
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

import hfdata

DAY = 86_400_000_000_000
T0 = 1_780_000_000_000_000_000  # 2026-05-28


def ts(ns: int) -> str:
    import pandas as pd

    return pd.Timestamp(ns, tz="UTC").isoformat()


def fill(store: hfdata.Store, tag: int) -> None:
    step = 3_600_000_000_000 // 7  # about 7 points an hour: several days, several files
    for i in range(60):
        meta = {"i": i, "src": "gw"} if i % 3 == 0 else None
        t = T0 + i * step * 3 + tag
        store.append("plant/line 1", ts(t), float("nan") if i == 7 else i * 0.5 + tag, meta)
        store.append("count", ts(t), 2**53 + i, kind="int")
        store.append("flag", ts(t), i % 2 == 0)
        store.append("status", ts(t), None if i == 5 else f"ok {i}")
        store.append("cfg", ts(t), {"gain": i, "on": [1, 2]})
        store.append("0042", ts(t), float(i))
        store.append("nones", ts(t), None)
        store.append("late kind", ts(t), None)
    store.compact(include_active=True)
    for i in range(60, 80):  # late points into the same days: second files
        t = T0 + (i - 60) * step * 5 + 1 + tag
        store.append("plant/line 1", ts(t), i * 0.25, {"late": True})
        store.append("count", ts(t), -(2**53) - i, kind="int")
        store.append("late kind", ts(t), f"text {i}")
        store.append("status", ts(t), f"late {i}")
    store.compact(include_active=True)
    store.optimize(["count"])
    store.append("plant/line 1", ts(T0 + 9 * DAY), 99.0)  # a log tail
    store.flush()


def expect(store: hfdata.Store, out: Path) -> None:
    out.mkdir(parents=True)
    for name in store.variables():
        table = store.read(name, metadata=True, output="arrow")
        ns = table.column("timestamp").cast(pa.int64())
        table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", ns)
        pq.write_table(table, out / f"{quote(name, safe='')}.parquet")


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "format1"
        with hfdata.open_store(base / "local", partition="day") as store:
            fill(store, 0)
            expect(store, base / "expected" / "local")
        shared = str(base / "shared_root")
        with hfdata.open_store(base / "shared_a", parquet_root=shared) as a:
            fill(a, 0)
        with hfdata.open_store(base / "shared_b", parquet_root=shared) as b:
            fill(b, 1)
            expect(b, base / "expected" / "shared")  # both stores' points: one shared root
        with tarfile.open(target, "w:gz") as tar:
            tar.add(base, arcname="format1")
        shutil.rmtree(base)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
