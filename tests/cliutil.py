"""Test helpers for the command line tests: what the log holds, and running `hfdata`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hfdata.layout import log_dir
from hfdata.log.parse import read_segment
from hfdata.log.schema import load_schema


def stored(root: Path, variable: str) -> list[tuple[int, object, str | None]]:
    """Every point in the variable's log segments, in file order (independent of read)."""
    directory = log_dir(root, variable)
    kind = load_schema(directory)
    points = []
    for path in sorted(directory.glob("*.jsonl*")):
        table = read_segment(path, kind).table
        ns = table.column("timestamp").cast("int64").to_pylist()
        points += list(
            zip(
                ns,
                table.column("value").to_pylist(),
                table.column("metadata").to_pylist(),
                strict=True,
            )
        )
    return points


def hfdata_cli(
    *args: object, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m hfdata.tools.cli ARGS` (the console script's code) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "hfdata.tools.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )
