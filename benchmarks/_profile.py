"""A hot loop to profile with py-spy or pyinstrument.

    py-spy record -o out.txt -f raw -- python -m benchmarks._profile MODE [N]

MODE ``flush``, ``buffered`` or ``fsync``: N single-point appends of the seeded points
(default 1,000,000; keep fsync small). MODE ``many``: ``append_many`` of an N-row
frame five times (default 1,000,000). Prints the rate so the run can be compared.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time

import hfdata
from benchmarks import _data

__all__ = ["main"]


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "flush"
    n = int(argv[1]) if len(argv) > 1 else 1_000_000
    root = tempfile.mkdtemp(prefix="profile-")
    try:
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
