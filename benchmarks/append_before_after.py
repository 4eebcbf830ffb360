"""Append speed of two checkouts of hfdata, interleaved in one run: the after/before ratios.

    python -m benchmarks.append_before_after --before /path/to/old/checkout
    python -m benchmarks.append_before_after --before OLD --after NEW --rounds 9 --quick

Not a workload of the harness: the figures behind a target of the form "append within
0.95x of its speed before this issue" (issue 20), measured the same way for both sides.
It times the cases of workloads 1 and 2 (`bench_append`, `bench_batch`), each with the
contender code of those modules: single-point `Store.append` in the `buffered`, `flush`
and `fsync` modes (steady state: the variable exists before the timed loop; buffered
timed up to and including `flush()`), and `append_many` of a pandas and a polars frame.

Each round runs one worker process per checkout, in alternating order (before, after;
after, before; ...), so that machine drift hits both alike. A worker imports `hfdata`
from the checkout it measures (that checkout is put first on `sys.path`, and the worker
checks where `hfdata` came from) and the benchmark code and data from this checkout,
the same for both sides. It runs every case once untimed, then `--repeats` times, and
reports the median of each, timed both by the wall clock (as the benchmark is) and by
the worker's CPU time (all its threads), which other processes on a busy machine
disturb far less: a wall-clock ratio whose per-round range is wide is noise, the CPU
one says what changed. Each table shows, per case, the median over rounds of each
side's rate and their ratio, and the median (and range) of the per-round ratios; the
load average before and after the run says how busy the machine was.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["CASES", "CLOCKS", "main"]

_ROOT = Path(__file__).resolve().parent.parent
CASES = (
    "append buffered",
    "append flush",
    "append fsync",
    "append_many pandas",
    "append_many polars",
)


CLOCKS = {
    "wall": "wall clock (what the benchmark reports)",
    "cpu": "CPU time of the worker process, all threads (steadier on a busy machine)",
}


def _sizes(quick: bool) -> dict[str, int]:
    """Work units per case: points for `append`, rows for `append_many`."""
    if quick:
        return (
            dict.fromkeys(CASES[:2], 2_000)
            | {"append fsync": 20}
            | dict.fromkeys(CASES[3:], 20_000)
        )
    return (
        dict.fromkeys(CASES[:2], 20_000)
        | {"append fsync": 100}
        | dict.fromkeys(CASES[3:], 1_000_000)
    )


# -- the worker (one checkout, one process) ------------------------------------------------
def _worker(tree: Path, quick: bool, repeats: int, work: Path) -> dict[str, Any]:
    """Median seconds of every case with `hfdata` imported from `tree`."""
    sys.path.insert(0, str(tree))
    import hfdata  # only now: from `tree`

    origin = Path(hfdata.__file__).resolve().parent
    if origin != (tree / "hfdata").resolve():
        raise SystemExit(f"hfdata was imported from {origin}, not from {tree}")
    import polars as pl

    from benchmarks import _data, bench_append, bench_batch
    from benchmarks._harness import Contender

    sizes = _sizes(quick)
    pts = _data.points(sizes["append flush"] + 1)
    frame = _data.frame(sizes["append_many pandas"])
    contenders: dict[str, Contender] = {
        "append buffered": bench_append._store_contender("b", "buffered", pts, work),
        "append flush": bench_append._store_contender("f", "flush", pts, work),
        "append fsync": bench_append._store_contender(
            "s", "fsync", pts[: sizes["append fsync"] + 1], work
        ),
        "append_many pandas": bench_batch._hfdata("p", frame, len(frame), work),
        "append_many polars": bench_batch._hfdata("l", pl.from_pandas(frame), len(frame), work),
    }
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for case, contender in contenders.items():
        _once(contender)  # warm-up, untimed
        runs = [_once(contender) for _ in range(repeats)]
        wall[case] = statistics.median(w for w, _ in runs)
        cpu[case] = statistics.median(c for _, c in runs)
    return {"hfdata": str(origin), "wall": wall, "cpu": cpu}


def _once(contender: Any) -> tuple[float, float]:
    """`Contender.once`, timed by the wall clock and by the process's CPU time (every
    thread's: the flusher's and polars' too), which a busy machine disturbs far less."""
    state = contender.prepare()
    try:
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        contender.fn(state)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        contender.cleanup(state)
    return wall, cpu


# -- the driver ----------------------------------------------------------------------------
def _run_worker(tree: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`{"wall": {case: seconds}, "cpu": {case: seconds}}` from one worker process."""
    command = [sys.executable, "-m", "benchmarks.append_before_after", "--worker", str(tree)]
    command += ["--repeats", str(args.repeats), "--dir", str(args.dir)]
    command += ["--quick"] if args.quick else []
    done = subprocess.run(command, cwd=_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the worker for {tree} failed:\n{done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {clock: result[clock] for clock in CLOCKS}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _table(
    sides: dict[str, list[dict[str, float]]], sizes: dict[str, int]
) -> list[tuple[str, int, float, float, float, float, float, float]]:
    """Per case: n, median rate before, after, their ratio, per-round ratio median/min/max."""
    rows = []
    for case in CASES:
        before = [r[case] for r in sides["before"]]
        after = [r[case] for r in sides["after"]]
        rounds = [b / a for b, a in zip(before, after, strict=True)]
        n = sizes[case]
        rate_b, rate_a = n / statistics.median(before), n / statistics.median(after)
        rows.append(
            (
                case,
                n,
                rate_b,
                rate_a,
                rate_a / rate_b,
                statistics.median(rounds),
                min(rounds),
                max(rounds),
            )
        )
    return rows


def _print(
    rows: Sequence[tuple[str, int, float, float, float, float, float, float]],
    say: Callable[[str], None],
) -> None:
    say(
        f"{'case':<20} {'n':>9} {'before/s':>11} {'after/s':>11} {'after/before':>12}"
        f" {'per round: median [min-max]':>28}"
    )
    for case, n, rate_b, rate_a, ratio, med, lo, hi in rows:
        say(
            f"{case:<20} {n:>9,} {rate_b:>11,.0f} {rate_a:>11,.0f} {ratio:>11.3f}x"
            f"   {med:.3f}x [{lo:.3f}-{hi:.3f}]"
        )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.append_before_after",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--before", type=Path, help="checkout of hfdata before the change")
    parser.add_argument(
        "--after", type=Path, default=_ROOT, help="checkout after it (default: this one)"
    )
    parser.add_argument("--rounds", type=int, default=7, help="worker pairs (default 7)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs of each case per worker (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, help="also write every timing to this file")
    parser.add_argument(
        "--dir", type=Path, default=_ROOT / "benchmarks" / "_work", help="scratch directory"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None and args.before is None:
        parser.error("--before is required")
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None, say: Callable[[str], None] = print) -> int:
    args = _parse(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.worker is not None:
        with tempfile.TemporaryDirectory(prefix="before-after-", dir=args.dir) as work:
            result = _worker(args.worker.resolve(), args.quick, args.repeats, Path(work))
        print(json.dumps(result), flush=True)
        return 0
    from benchmarks._machine import commit  # the driver's, never a worker's checkout

    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    load_start = _load()
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
        for side in order:
            runs[side].append(_run_worker(trees[side], args))
    sizes = _sizes(args.quick)
    seconds = {
        clock: {side: [r[clock] for r in side_runs] for side, side_runs in runs.items()}
        for clock in CLOCKS
    }
    for side, tree in trees.items():
        say(f"{side}: {tree} ({commit(tree)})")
    say(
        f"{args.rounds} rounds (alternating order), median of {args.repeats} runs per worker"
        f"{', quick sizes' if args.quick else ''}; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cpus; load average {load_start} before, {_load()} after"
    )
    for clock, title in CLOCKS.items():
        say(f"-- {title}")
        _print(_table(seconds[clock], sizes), say)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "trees": {k: str(v) for k, v in trees.items()},
                    "sizes": sizes,
                    "seconds": seconds,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
