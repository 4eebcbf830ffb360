"""Test helpers for the command line tests: what the log holds, and running `hfdata`."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from hfdata.kinds import load_schema
from hfdata.layout import log_dir
from hfdata.parse import read_segment


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
    """Run `python -m hfdata.cli ARGS` (the console script's code) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "hfdata.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def available(call: str) -> bool:
    """False while the library function is still the stub that raises NotImplementedError."""
    from hfdata import compact as compact_module
    from hfdata import read as read_module

    module = compact_module if call in ("compact", "optimize", "drop") else read_module
    source = inspect.getsource(getattr(module, call))
    return "NotImplementedError" not in source


needs_compact = pytest.mark.skipif(
    not available("compact"), reason="Store.compact (issue 3) is not on this branch yet"
)
needs_read = pytest.mark.skipif(
    not (available("read") and available("info") and available("variables")),
    reason="Store.read/info/variables (issue 4) are not on this branch yet",
)
