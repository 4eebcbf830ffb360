"""``python -m benchmarks``: run the workloads, print a summary, optionally write RESULTS.md.

python -m benchmarks                  full size, every workload
python -m benchmarks --quick          small sizes (the smoke test of `make test`)
python -m benchmarks --only 1,2       some workloads (numbers or suite names)
python -m benchmarks --write-results  also write RESULTS.md, results.json and plots/
                                      (into benchmarks/, or --out DIR)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import _harness
from benchmarks._machine import describe
from benchmarks._plots import write_plots
from benchmarks._report import console, markdown
from benchmarks._suites import SUITES, run_suite

__all__ = ["main"]

_HERE = Path(__file__).resolve().parent


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated workload numbers or suite names "
        f"({', '.join(s.name for s in SUITES)})",
    )
    parser.add_argument(
        "--write-results",
        action="store_true",
        help="write RESULTS.md, results.json and plots/ (into --out)",
    )
    parser.add_argument(
        "--render", type=Path, help="re-render RESULTS.md and plots from a results.json"
    )
    parser.add_argument("--out", type=Path, default=_HERE, help="where results are written")
    parser.add_argument(
        "--dir",
        type=Path,
        default=_HERE / "_work",
        help="scratch directory for the stores and files the workloads write",
    )
    return parser.parse_args(argv)


def _write(
    out: Path, records: list[dict[str, Any]], machine: dict[str, Any], run: dict[str, Any]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run = {**run, "profiles": "PROFILES.md" if (out / "PROFILES.md").exists() else ""}
    plots = write_plots(records, out / "plots")
    page = markdown(records, machine, run, {t: f"plots/{n}" for t, n in plots.items()})
    (out / "RESULTS.md").write_text(page)
    (out / "results.json").write_text(
        json.dumps({"run": run, "machine": machine, "records": records}, indent=1) + "\n"
    )
    print(f"wrote {out / 'RESULTS.md'} and {len(plots)} plots", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.render is not None:
        saved = json.loads(args.render.read_text())
        _write(args.out, saved["records"], saved["machine"], saved["run"])
        return 0
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    suites = [s for s in SUITES if not wanted or s.name in wanted or wanted & set(s.workloads)]
    if not suites:
        print(f"no suite matches --only {args.only!r}", file=sys.stderr)
        return 2
    _harness.set_scratch_root(args.dir)
    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    for suite in suites:
        print(f"running {suite.name} (workloads {', '.join(suite.workloads)}) …", flush=True)
        got, seconds = run_suite(suite, args.quick)
        print(f"  {suite.name}: {len(got)} records in {seconds:.1f} s", flush=True)
        records += got
    elapsed = time.perf_counter() - started
    print(console(records))
    if args.write_results:
        machine = describe(args.dir)
        command = "python -m benchmarks " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:])
        )
        run = {
            "command": command.strip(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": args.quick,
            "seconds": elapsed,
        }
        _write(args.out, records, machine, run)
    print(f"done in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
