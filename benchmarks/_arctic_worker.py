"""ArcticDB side of the benchmarks, run with the interpreter of ``.venv-arctic``.

ArcticDB needs pandas < 3 while the project venv has pandas 3, so the harness starts
this script in the other venv and drives it over stdin/stdout, one JSON object per
line, so that its repetitions alternate with the other contenders' (A B A B):

    -> {"op": "load", "parquet": "<file>"}      read the shared generated data
    <- {"ok": true, "rows": 1000000, "versions": {...}}
    -> {"op": "write"}                          time one ``Library.write`` (new symbol)
    <- {"ok": true, "seconds": 0.123}
    -> {"op": "write", "symbol": "s"}           the same, keeping symbol ``s`` for reads
    -> {"op": "read", "symbol": "s", "start": iso, "end": iso}    time ``read(date_range=)``
    <- {"ok": true, "seconds": 0.01, "rows": 3600}
    -> {"op": "ohlc", "symbol": "s", "rule": "1min"}   time a QueryBuilder resample
    <- {"ok": true, "seconds": 0.2, "rows": 1440}
    -> {"op": "resample", "symbol": "s", "rule": "1h", "aggs": {"mean": ["value", "mean"]}}
    <- {"ok": true, "seconds": 0.3, "rows": 720, "index": [ns, ...], "columns": {"mean": [...]}}
                                                time a QueryBuilder resample with any
                                                aggregations; its result (after the clock)
                                                so the caller can check it
    -> {"op": "quit"}

The frame is the Parquet file's ``timestamp`` column as index plus its other columns.

Like the harness does for contenders in its own process, every timed operation starts
right after ``gc.collect()``, so both sides are timed from the same state.

It imports nothing from hfdata or the benchmarks package.
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
import tempfile
import time
from typing import Any


def main() -> None:
    import arcticdb  # type: ignore[import-not-found]
    import pandas as pd

    work = tempfile.mkdtemp(prefix="arctic-", dir=sys.argv[1] if len(sys.argv) > 1 else None)
    arctic = arcticdb.Arctic(f"lmdb://{work}")
    lib = arctic.get_library("bench", create_if_missing=True)
    frame: Any = None
    count = 0

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                if request["op"] == "load":
                    frame = pd.read_parquet(request["parquet"]).set_index("timestamp")
                    reply({"ok": True, "rows": len(frame), "versions": _versions()})
                elif request["op"] == "write":
                    count += 1
                    symbol = request.get("symbol") or f"sensor_{count}"
                    gc.collect()
                    start = time.perf_counter()
                    lib.write(symbol, frame)
                    elapsed = time.perf_counter() - start
                    if "symbol" not in request:
                        lib.delete(symbol)
                    reply({"ok": True, "seconds": elapsed})
                elif request["op"] == "read":
                    lo, hi = pd.Timestamp(request["start"]), pd.Timestamp(request["end"])
                    gc.collect()
                    start = time.perf_counter()
                    got = lib.read(request["symbol"], date_range=(lo, hi)).data
                    elapsed = time.perf_counter() - start
                    reply({"ok": True, "seconds": elapsed, "rows": len(got)})
                elif request["op"] == "ohlc":
                    q = arcticdb.QueryBuilder().resample(request.get("rule", "1min"))
                    q = q.agg(
                        {
                            "open": ("value", "first"),
                            "high": ("value", "max"),
                            "low": ("value", "min"),
                            "close": ("value", "last"),
                        }
                    )
                    gc.collect()
                    start = time.perf_counter()
                    got = lib.read(request["symbol"], query_builder=q).data
                    elapsed = time.perf_counter() - start
                    reply({"ok": True, "seconds": elapsed, "rows": len(got)})
                elif request["op"] == "resample":
                    aggs = {k: tuple(v) for k, v in request["aggs"].items()}
                    q = arcticdb.QueryBuilder().resample(request["rule"]).agg(aggs)
                    gc.collect()
                    start = time.perf_counter()
                    got = lib.read(request["symbol"], query_builder=q).data
                    elapsed = time.perf_counter() - start
                    index = pd.DatetimeIndex(got.index)
                    index = index.tz_convert("UTC") if index.tz is not None else index
                    reply(
                        {
                            "ok": True,
                            "seconds": elapsed,
                            "rows": len(got),
                            "index": [int(t) for t in index.as_unit("ns").asi8],
                            "columns": {c: got[c].astype(float).tolist() for c in aggs},
                        }
                    )
                elif request["op"] == "quit":
                    reply({"ok": True})
                    return
                else:
                    reply({"ok": False, "error": f"unknown op {request['op']!r}"})
            except Exception as exc:
                reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _versions() -> dict[str, str]:
    import arcticdb
    import pandas as pd

    return {"arcticdb": arcticdb.__version__, "pandas (arctic venv)": pd.__version__}


if __name__ == "__main__":
    main()
