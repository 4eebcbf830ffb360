"""Run the full torture suite and write its figures to tests/reliability/RESULTS.md.

    HFDATA_TORTURE=full .venv/bin/python tests/reliability/figures.py [pytest args]

(`make torture` does exactly this). Pytest arguments default to `-q -m slow tests`.
With `HFDATA_FIGURES_MERGE=1` the figures of families not run this time are kept
from `results.json` (the raw figures, written next to RESULTS.md).
Each trial family adds its counters to a JSON file named by `HFDATA_FIGURES`
(see conftest.py); this script renders them with the command, commit, duration
and pytest's summary line. The exit status is pytest's.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

DESCRIPTIONS = {
    "writer_killed": "1. Writer killed by SIGKILL at a random moment (fork server, rotation "
    "every 0.5-8 KiB, flush/buffered/fsync)",
    "writer_killed_tombstones": "1b. Writer killed by SIGKILL with deletions and corrections "
    "in flight (every durability mode; reads with dedupe and as_of checked after reopening "
    "and after compaction)",
    "power_loss_journaled": "2. Power loss, journaled file system model (any fsync commits "
    "every earlier create/rename; file data cut to its last fsync)",
    "power_loss_posix": "2. Power loss, strict POSIX model (a name is durable only after an "
    "fsync of its directory)",
    "power_loss_compaction_journaled": "2. Power loss during compaction/optimize, journaled model",
    "power_loss_compaction_posix": "2. Power loss during compaction/optimize, strict POSIX "
    "model (a name is durable only after an fsync of its directory)",
    "power_loss_tombstones_journaled": "2b. Power loss with deletions and corrections in "
    "flight, journaled model (a tombstone acknowledged under fsync or by a group commit "
    "survives)",
    "power_loss_tombstones_posix": "2b. Power loss with deletions and corrections in flight, "
    "strict POSIX model",
    "power_loss_compaction_tombstones_journaled": "2b. Power loss during compaction/optimize "
    "with tombstones in flight, journaled model",
    "power_loss_compaction_tombstones_posix": "2b. Power loss during compaction/optimize with "
    "tombstones in flight, strict POSIX model",
    "compaction_killed": "3. Compaction killed (SIGKILL after a random spin, or ended at its "
    "Nth mutating os call) and failed (EIO) at each protocol step",
    "compaction_killed_with_tombstones": "3b. Compaction and optimize killed (SIGKILL, or "
    "ended at their Nth mutating os call) and failed (EIO) with tombstones in flight",
    "concurrency": "4. Writers, compactor, optimizer and readers at once",
    "corruption_segments": "5. Corrupted closed segments (flips, truncation, junk, NUL runs, "
    "newline damage), 10 cases per compaction",
    "corruption_parquet": "5. Corrupted Parquet files, then a read",
    "disk_full_injected": "6. Injected ENOSPC/EIO/EDQUOT on write and fsync",
    "disk_full_real_tmpfs": "6. A real 256 KiB tmpfs filled up",
    "hostile_names": "7. Hostile variable names",
    "hostile_timestamps": "7. Hostile timestamps",
    "hostile_values_metadata": "7. Hostile values and metadata",
    "hostile_batches": "7. Hostile append_many batches",
    "hostile_log_lines": "7. Hostile raw log bytes fed to the parser",
    "state_machine": "8. Model-based state machine",
    "upgrade_killed": "9. Format 1 -> 2 upgrade killed (SIGKILL after a random spin, or ended at "
    "its Nth mutating os/pathlib/object-store call) and failed (EIO) at that call; tarball "
    "local and shared stores and synthetic ones",
    "sidecars_killed": "10. Compaction, optimize and upgrade killed (SIGKILL, or ended at "
    "their Nth mutating call) and failed (EIO) with stats and rollup sidecars in flight",
    "upgrade_killed_every_step_local": "9. Upgrade killed at every step in turn: the tarball's "
    "local store",
    "upgrade_killed_every_step_shared": "9. Upgrade killed at every step in turn: one of the "
    "tarball's two stores sharing an object-store root",
    "upgrade_killed_every_step_synthetic": "9. Upgrade killed at every step in turn: a "
    "synthetic store (random data, a late-kind all-null float64 file)",
}


def render(figures: dict[str, dict[str, int]], runs: list[dict[str, str]]) -> str:
    lines = ["# Reliability figures (last full run)", ""]
    for run in runs:
        lines += [
            f"- Command: `{run['command']}`",
            f"  - {run['date']} UTC, commit `{run['commit']}`, {run['machine']}",
            f"  - Duration: {run['minutes']} min; pytest: {run['summary']}",
        ]
    lines += [
        "",
        "Every trial is checked against an in-memory model of what was acknowledged.",
        "Counters are sums over all trials of a family; `lost`, `doubled`, `unknown` and",
        "`*_visible` must be 0 (except where a family is marked as expected to fail).",
        "",
    ]
    for family in sorted(figures, key=lambda f: (DESCRIPTIONS.get(f, "9"), f)):
        lines += [f"## {DESCRIPTIONS.get(family, family)}", "", "| counter | value |", "|---|---:|"]
        lines += [f"| {k} | {v:,} |" for k, v in sorted(figures[family].items())]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    args = sys.argv[1:] or ["-q", "-m", "slow", "tests"]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "figures.json"
        env = dict(os.environ, HFDATA_FIGURES=str(target))
        env.setdefault("HFDATA_TORTURE", "full")
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - start
        # The whole output goes to a file: a failure's traceback can be far from the end
        # (a family's children print), and the terminal gets the end and the failures.
        full = Path(tempfile.gettempdir()) / f"hfdata-torture-{int(time.time())}.log"
        full.write_text(done.stdout + done.stderr)
        failures = done.stdout.find("= FAILURES =")
        if failures >= 0:
            sys.stdout.write(done.stdout[failures : failures + 20_000] + "\n...\n")
        sys.stdout.write(done.stdout[-5000:])
        sys.stderr.write(done.stderr[-5000:])
        sys.stdout.write(f"\nfull pytest output: {full}\n")
        tail = [x for x in done.stdout.strip().splitlines() if x.strip()]
        summary = tail[-1].strip("= ") if tail else "(no output)"
        figures = json.loads(target.read_text()) if target.exists() else {}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    run = {
        "command": f"HFDATA_TORTURE={env['HFDATA_TORTURE']} python tests/reliability/figures.py "
        + " ".join(args),
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "commit": commit,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "minutes": f"{seconds / 60:.1f}",
        "summary": summary,
    }
    runs = [run]
    saved = HERE / "results.json"
    if os.environ.get("HFDATA_FIGURES_MERGE") and saved.exists():
        # Families run separately (HFDATA_FIGURES_MERGE=1): keep the others' figures.
        previous = json.loads(saved.read_text())
        runs = [*previous["runs"], run]
        figures = {**previous["figures"], **figures}
    saved.write_text(json.dumps({"runs": runs, "figures": figures}, indent=2, sort_keys=True))
    (HERE / "RESULTS.md").write_text(render(figures, runs))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
