"""Fixtures of the reliability suite: figures collected across trials.

The model and the log readers live in `model.py`. Every trial family adds its
counts to the session's `figures`; with `HFDATA_FIGURES=<path>` they are written
out as JSON at the end of the run, and `figures.py` turns them into RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class Figures:
    """Counters per trial family, summed over every test of the session."""

    def __init__(self) -> None:
        self.families: dict[str, Counter[str]] = {}

    def add(self, family: str, **counts: int) -> None:
        self.families.setdefault(family, Counter()).update(counts)

    def dump(self, path: Path) -> None:
        existing: dict[str, dict[str, int]] = {}
        if path.exists():
            existing = json.loads(path.read_text())
        for family, counts in self.families.items():
            merged = Counter(existing.get(family, {}))
            merged.update(counts)
            existing[family] = dict(merged)
        path.write_text(json.dumps(existing, indent=2, sort_keys=True))


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    collected = Figures()
    yield collected
    target = os.environ.get("HFDATA_FIGURES")
    if target:
        collected.dump(Path(target))


SERVER = Path(__file__).with_name("writer_server.py")


class WriterServer:
    """The test side of the fork server."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the writer server died"
        result: dict[str, Any] = json.loads(reply)
        return result

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture(scope="session")
def server() -> Iterator[WriterServer]:
    """One fork server for the session (see writer_server.py)."""
    srv = WriterServer()
    yield srv
    srv.close()
