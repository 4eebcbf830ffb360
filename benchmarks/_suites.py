"""The workload modules the harness runs, and the hook for modules that may be missing.

Each suite is a module ``benchmarks.bench_<name>`` with ``run(quick) -> list[dict]``
(see ``_harness``). ``compact`` (workload 3 and the compaction curve of 7) and
``read`` (workloads 4, 5, 6 and the slice curve of 7) are written separately; until
they exist their workloads are reported as skipped with a note. A suite that raises
is reported as failed with the error, and the others still run.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass
from typing import Any

from benchmarks._harness import note

__all__ = ["SUITES", "Suite", "run_suite"]


@dataclass(frozen=True)
class Suite:
    name: str  # module benchmarks.bench_<name>
    workloads: tuple[str, ...]  # the workload numbers it covers
    optional: bool  # may be missing (written by someone else)


SUITES: tuple[Suite, ...] = (
    Suite("append", ("1",), optional=False),
    Suite("batch", ("2",), optional=False),
    Suite("compact", ("3", "7"), optional=True),
    Suite("read", ("4", "5", "6", "7"), optional=True),
    Suite("scaling", ("7",), optional=False),
)


def run_suite(suite: Suite, quick: bool) -> tuple[list[dict[str, Any]], float]:
    """The suite's records (or notes saying why there are none) and its wall time."""
    module_name = f"benchmarks.bench_{suite.name}"
    start = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name or not suite.optional:
            raise
        return [note(w, f"skipped: {module_name} is not written yet") for w in suite.workloads], 0.0
    try:
        records: list[dict[str, Any]] = list(module.run(quick))
    except Exception as exc:  # one broken suite must not hide the others' results
        traceback.print_exc()
        reason = f"{module_name} failed: {type(exc).__name__}: {exc}"
        records = [note(w, reason) for w in suite.workloads]
    return records, time.perf_counter() - start
