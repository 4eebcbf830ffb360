"""Workload 9: `hfdata append DIR VAR -` fed through a pipe (issue 14), JSON Lines and CSV.

Contenders (the same seeded points, written as a producer would: `json.dumps` lines
with ISO-8601 `Z` timestamps, or `timestamp,value` CSV rows): the CLI reading a pipe
(`python -m hfdata.tools.cli append DIR VAR -`, the parent writes the bytes into its stdin)
and the same CLI reading the same file from disk (the in-run baseline). A run of the
CLI on empty input measures its start-up (interpreter, imports, opening the store),
so the sustained pipe rate is N / (pipe time - start-up time); the target asks for
at least 200,000 points/s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _data
from benchmarks._harness import Contender, compare, fresh_dir, note, remove, scratch_dir, target

__all__ = ["run"]

VARIABLE = "sensor_temp_celsius"
_ROOT = Path(__file__).resolve().parent.parent
_MIN_RATE = 200_000.0


def _texts(rows: int) -> dict[str, bytes]:
    frame = _data.frame(rows)
    utc = frame["timestamp"].dt.tz_localize(None).to_numpy()
    stamps = np.datetime_as_string(utc.astype("datetime64[us]"), timezone="UTC")
    values = frame["value"].to_numpy()
    return {
        "jsonl": "".join(
            f'{{"timestamp": "{t}", "value": {v!r}}}\n'
            for t, v in zip(stamps.tolist(), values.tolist(), strict=True)
        ).encode(),
        "csv": "".join(
            f"{t},{v!r}\n" for t, v in zip(stamps.tolist(), values.tolist(), strict=True)
        ).encode(),
    }


def _cli(name: str, rows: int, work: Path, fmt: str, data: bytes | None, path: Path) -> Contender:
    """The CLI appending `data` through a pipe, or the file at `path` when data is None."""

    def prepare() -> Path:
        return fresh_dir(work, "hf")

    def fn(root: Path) -> None:
        source = "-" if data is not None else str(path)
        command = [sys.executable, "-m", "hfdata.tools.cli", "append", str(root), VARIABLE, source]
        done = subprocess.run(
            [*command, "--format", fmt],
            input=data,
            stdin=None if data is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=_ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode()[-500:])
        if f"appended {rows:,} points".encode() not in done.stdout:
            raise RuntimeError(f"expected {rows:,} points: {done.stdout.decode()!r}")

    return Contender(name, "hfdata" if data is not None else "baseline", fn, rows, prepare, remove)


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 9 measurements and the issue 14 pipe-rate targets."""
    rows = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    out: list[dict[str, Any]] = []
    with scratch_dir("w9") as work:
        for fmt, data in _texts(rows).items():
            case = f"{rows:,} {fmt} lines"
            path = work / f"input.{fmt}"
            path.write_bytes(data)
            empty = work / f"empty.{fmt}"
            empty.write_bytes(b"")
            contenders = [
                _cli(f"hfdata append - ({fmt} pipe)", rows, work, fmt, data, path),
                _cli(f"hfdata append FILE ({fmt} disk)", rows, work, fmt, None, path),
                _cli("start-up (empty input)", 0, work, fmt, None, empty),
            ]
            measured = compare("9", case, contenders, repeats=repeats, unit="points")
            out += measured
            times = {m["contender"]: m["times"] for m in measured if m["times"]}
            pipe, start = times.get(contenders[0].name), times.get(contenders[2].name)
            sustained = None
            if pipe and start:
                spent = statistics.median(pipe) - statistics.median(start)
                sustained = rows / spent if spent > 0 else None
            out.append(note("9", f"{case}: sustained pipe rate {sustained or 0:,.0f} points/s"))
            out.append(
                target(
                    "9",
                    case,
                    f"{fmt} through a pipe: sustained points/s (start-up subtracted)",
                    subject=contenders[0].name,
                    value=sustained,
                    minimum=_MIN_RATE,
                    unit="points/s",
                    source="issue 14",
                )
            )
            out.append(
                target(
                    "9",
                    case,
                    f"{fmt}: pipe vs the same file from disk",
                    subject=contenders[0].name,
                    reference=contenders[1].name,
                    minimum=0.8,
                    source="issue 14",
                )
            )
    return out
