"""Workload 7 (writers part): append rows/s with 1, 2 and 4 writer processes.

Each writer process (``_writer.py``) appends its own seeded points one at a time
(``durability="flush"``) to the same variable of one store; the bare contender does
``os.write(orjson)`` into a file per process. The group is timed from the first
writer's start to the last one's end, start-up excluded. The machine has 2 cores,
so 4 writers cannot beat 2; the bare loop shows what the machine allows.
The quick run stops at 2 writers (process start-up dominates it).
The slice-time and compaction curves of workload 7 come from ``bench_growth``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._harness import Contender, Role, compare, fresh_dir, remove, scratch_dir

__all__ = ["run"]

_ROOT = Path(__file__).resolve().parent.parent
WRITERS = (1, 2, 4)
CURVE = "append rows/s by writer processes"

_Group = tuple[Path, list[subprocess.Popen[str]]]


def _group(mode: str, writers: int, points: int, work: Path) -> Contender:
    def prepare() -> _Group:
        root = fresh_dir(work, mode)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks._writer", mode, str(root), str(points), str(i)],
                cwd=_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(writers)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"{mode} writer failed to start (code {proc.wait()})")
        except BaseException:
            cleanup((root, procs))
            raise
        return root, procs

    def fn(state: _Group) -> float:
        procs = state[1]
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        spans = []
        for proc in procs:
            assert proc.stdout is not None
            spans.append(json.loads(proc.stdout.readline()))
            if proc.wait() != 0:
                raise RuntimeError(f"{mode} writer exited with {proc.returncode}")
        end = max(int(s["end_ns"]) for s in spans)
        return (end - min(int(s["start_ns"]) for s in spans)) / 1e9

    def cleanup(state: _Group) -> None:
        for proc in state[1]:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        remove(state[0])

    name = "hfdata append (flush)" if mode == "hfdata" else "bare os.write(orjson) loop"
    role: Role = "hfdata" if mode == "hfdata" else "limit"
    return Contender(
        name, role, fn, writers * points, prepare, cleanup, x=float(writers), curve=CURVE
    )


def run(quick: bool) -> list[dict[str, Any]]:
    """Aggregate append rows/s for each writer count, hfdata against the bare loop."""
    points = 10_000 if quick else 50_000
    repeats = 1 if quick else 9
    out: list[dict[str, Any]] = []
    with scratch_dir("w7") as work:
        for writers in WRITERS[:2] if quick else WRITERS:
            case = f"{writers} writer process{'es' if writers > 1 else ''}"
            out += compare(
                "7",
                case,
                [_group("hfdata", writers, points, work), _group("bare", writers, points, work)],
                repeats=repeats,
                warmup=0 if quick else 1,
            )
    return out
