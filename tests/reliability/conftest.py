"""Fixtures of the reliability suite: figures collected across trials.

The model and the log readers live in `model.py`. Every trial family adds its
counts to the session's `figures`; with `HFDATA_FIGURES=<path>` they are written
out as JSON at the end of the run, and `figures.py` turns them into RESULTS.md.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

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
