"""User-space instructions per single-point `flush` append, by callgrind: deterministic
figures for the hot path where the clock on a shared machine is not.

    python -m benchmarks.append_instructions --before /path/to/old/checkout [--after DIR]

Needs `valgrind` on PATH. For each checkout it runs a worker under
`valgrind --tool=callgrind` twice: once appending workload 1's points (`_data.points`,
one in ten with metadata) once untimed, once doing that and then `--loops` more passes;
the difference in instructions over the extra points is the cost of one append
(the store's opening, the imports and the warm-up cancel out). The worker halts the
writer's flusher thread, whose wake-ups would add work that scales with valgrind's
slowdown, and runs with a fixed `PYTHONHASHSEED` and one OpenBLAS thread, so a figure
repeats to the instruction. It counts user space only (not the `write` system call),
and CPython's type-attribute cache depends on memory layout, so a code change that
moves objects around can shift a figure by a few percent: read differences of a few
hundred instructions, not tens.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["instructions_per_append", "main"]

_ROOT = Path(__file__).resolve().parent.parent
_POINTS = 2_000


def _worker(tree: Path, loops: int) -> None:
    """Append `_POINTS` points `1 + loops` times through a `flush` store from `tree`."""
    sys.path.insert(0, str(tree))
    import hfdata

    if Path(hfdata.__file__).resolve().parent != (tree / "hfdata").resolve():
        raise SystemExit(f"hfdata was imported from {hfdata.__file__}, not from {tree}")
    from benchmarks import _data

    points = _data.points(_POINTS + 1)
    with tempfile.TemporaryDirectory() as work:
        store = hfdata.open_store(Path(work) / "store", durability="flush")
        store.append("v", *points[0])
        store._writer._flusher.halt()
        append = store.append
        for _ in range(1 + loops):
            for timestamp, value, metadata in points[1:]:
                append("v", timestamp, value, metadata)
        store.close()


def _instructions(tree: Path, loops: int) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(_ROOT))
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.append_instructions",
            "--worker",
            str(tree),
            "--loops",
            str(loops),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def instructions_per_append(tree: Path, loops: int = 4) -> float:
    """User-space instructions of one `flush` append of workload 1's points from `tree`."""
    return (_instructions(tree, loops) - _instructions(tree, 0)) / (loops * _POINTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="checkout of hfdata before the change")
    parser.add_argument("--after", type=Path, default=_ROOT, help="default: this checkout")
    parser.add_argument("--loops", type=int, default=4, help="measured passes (default 4)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args.worker, args.loops)
        return
    trees = {"after": args.after} if args.before is None else {"before": args.before}
    trees |= {"after": args.after}
    counts = {side: instructions_per_append(tree, args.loops) for side, tree in trees.items()}
    for side, count in counts.items():
        print(f"{side:>6}: {count:,.0f} instructions per append ({trees[side]})")
    if "before" in counts:
        print(f" after/before: {counts['after'] / counts['before']:.3f}")


if __name__ == "__main__":
    main()
