"""Peak memory of one ``append_many``, measured in a fresh process.

``python -m benchmarks._memprobe ROWS DIR`` builds the seeded frame, then resets the
kernel's peak-RSS mark (``/proc/self/clear_refs``) so that building the frame does not
count, runs ``append_many`` into a new store under DIR and prints one JSON object:
the frame's size, the resident set before, the peak during (``VmHWM``, and
``resource.getrusage`` for reference) and the peak increase as a multiple of the
frame's size. Without ``/proc`` the peak falls back to ``getrusage`` alone (which then
also counts whatever building the frame peaked at).
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv: list[str]) -> None:
    import hfdata
    from benchmarks import _data

    rows, parent = int(argv[0]), Path(argv[1])
    frame = _data.frame(rows)
    frame_bytes = int(frame.memory_usage(deep=True, index=True).sum())
    root = Path(tempfile.mkdtemp(prefix="memprobe-", dir=parent))
    with hfdata.open_store(root) as store:
        store.append_many("warm", frame.iloc[:10])  # import and first-use costs out of the way
        gc.collect()
        reset = _reset_peak()
        before = _status_kib("VmRSS")
        rusage_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        store.append_many("sensor", frame)
        peak = _status_kib("VmHWM") if reset else None
        rusage_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if peak is None or before is None:
        before, peak, method = rusage_before, rusage_after, "getrusage"
    else:
        method = "VmHWM after clear_refs"
    increase = max(0, peak - before) * 1024
    print(
        json.dumps(
            {
                "rows": rows,
                "frame_bytes": frame_bytes,
                "rss_before_bytes": before * 1024,
                "peak_bytes": peak * 1024,
                "increase_bytes": increase,
                "ratio": increase / frame_bytes,
                "ru_maxrss_before_bytes": rusage_before * 1024,
                "ru_maxrss_after_bytes": rusage_after * 1024,
                "method": method,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
