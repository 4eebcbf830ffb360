"""The workload modules the harness runs, and the hook for modules that may be missing.

Each suite is a module ``benchmarks.bench_<name>`` with ``run(quick) -> list[dict]``
(see ``_harness``). ``s3`` (workload 8, issue 8: Parquet on an S3 server, Dask) is
written separately and needs the ``s3``/``dask`` extras, as does ``dask`` (workload 8
too, issue 16: Dask over a store larger than its workers' memory): while a module is missing,
or cannot be imported (an extra not installed), its workload is reported as skipped
with a note. A suite that raises is reported as failed with the error, and the
others still run.
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
    optional: bool  # may be missing or unimportable (written by someone else, extras)


SUITES: tuple[Suite, ...] = (
    Suite("append", ("1",), optional=False),
    Suite("batch", ("2",), optional=False),
    Suite("compact", ("3",), optional=False),
    Suite("read", ("4", "5", "6"), optional=False),
    Suite("scaling", ("7",), optional=False),  # append rows/s by writer processes
    Suite("growth", ("7",), optional=False),  # slice and compaction as the store grows
    Suite("s3", ("8",), optional=True),
    Suite("dask", ("8",), optional=True),  # to_dask past the workers' memory (issue 16)
    Suite("pipe", ("9",), optional=False),  # `hfdata append -` from a pipe (issue 14)
    Suite("events", ("10",), optional=False),  # asof and around at many event times (issue 17)
    Suite("features", ("11",), optional=False),  # Store.features vs pandas, tsflex (issue 18)
    Suite("reports", ("12",), optional=False),  # summary, rollup reads, compaction (issue 19)
    Suite("versions", ("13",), optional=False),  # as_of, tombstones, delete (issue 20)
)


def run_suite(suite: Suite, quick: bool) -> tuple[list[dict[str, Any]], float]:
    """The suite's records (or notes saying why there are none) and its wall time."""
    module_name = f"benchmarks.bench_{suite.name}"
    start = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if not suite.optional:
            raise
        missing = getattr(exc, "name", None)
        reason = (
            f"skipped: {module_name} is not written yet"
            if missing == module_name
            else f"skipped: {module_name} cannot be imported ({type(exc).__name__}: {exc})"
        )
        return [note(w, reason) for w in suite.workloads], 0.0
    try:
        records: list[dict[str, Any]] = list(module.run(quick))
    except Exception as exc:  # one broken suite must not hide the others' results
        traceback.print_exc()
        reason = f"{module_name} failed: {type(exc).__name__}: {exc}"
        records = [note(w, reason) for w in suite.workloads]
    return records, time.perf_counter() - start
