"""One writer process of the scaling workload (``python -m benchmarks._writer``).

``python -m benchmarks._writer MODE ROOT POINTS SEED``: builds its points and opens
its store (or file), prints ``ready``, waits for a line on stdin, appends every point,
and prints ``{"start_ns": …, "end_ns": …}`` from ``time.monotonic_ns`` (one clock for
every process on Linux), so the harness can time the whole group from the first
start to the last end without counting interpreter start-up.

MODE ``hfdata``: ``Store.append`` with ``durability="flush"`` into the shared store
at ROOT (every writer the same variable: each gets its own segment). MODE ``bare``:
``os.write(fd, orjson.dumps(point))`` into a file of its own under ROOT.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import orjson

__all__ = ["main"]


def main(argv: list[str]) -> None:
    from benchmarks import _data

    mode, root, count, seed = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    pts = _data.points(count, seed=seed)
    opts = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
    if mode == "hfdata":
        import hfdata

        store = hfdata.open_store(root, durability="flush")
        append = store.append
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.monotonic_ns()
        for ts, value, meta in pts:
            append("sensor", ts, value, meta)
        end = time.monotonic_ns()
        store.close()
    elif mode == "bare":
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(root / f"bare-{os.getpid()}.jsonl", flags, 0o644)
        write, dumps = os.write, orjson.dumps
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.monotonic_ns()
        for ts, value, meta in pts:
            point = (
                {"timestamp": ts, "value": value}
                if meta is None
                else {"timestamp": ts, "value": value, "metadata": meta}
            )
            write(fd, dumps(point, option=opts))
        end = time.monotonic_ns()
        os.close(fd)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps({"start_ns": start, "end_ns": end}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
