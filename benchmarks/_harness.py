"""The benchmark harness: records, alternated timing, and the contract for workload modules.

Contract for a workload module (``benchmarks/bench_<name>.py``)
-----------------------------------------------------------------
A workload module exposes ``run(quick: bool) -> list[dict]``. Each dict is a plain,
JSON-serialisable record built with one of the helpers below (so the modules stay
free of harness classes and the results can be saved as JSON):

* ``measurement(...)`` — one contender in one comparison group. Fields:
    - ``kind``: ``"measurement"``
    - ``workload``: ``"1"`` … ``"7"`` (the numbering of issue 6; see ``WORKLOADS``), or
      ``"8"`` (object storage and Dask, issue 8)
    - ``case``: the comparison group inside the workload (``"flush"``, ``"1M rows"``,
      ``"pandas output"`` …). Ratios are computed between contenders of one group.
    - ``contender``: a human label (``"hfdata append"``, ``"polars write_ndjson"``)
    - ``role``: ``"hfdata"`` (the subject), ``"peer"`` (another library),
      ``"baseline"`` (the original module or what users did before) or ``"limit"``
      (a bare loop nothing can beat)
    - ``n``: work units per repetition (rows); ``unit``: their name (``"rows"``)
    - ``times``: seconds of every timed repetition; ``median_s``: their median;
      ``rate``: ``n / median_s`` (higher is better)
    - ``x``: optional number for scaling curves (days, writer processes), and
      ``curve``: the title of the plot panel it belongs to (``"append rows/s by
      writer processes"``). Records with an ``x`` are plotted as one line per
      contender of ``rate`` against ``x`` in their panel (default panel: the workload)
    - ``status``: ``"ok"``, ``"skipped"`` (peer missing: ``note`` says why) or
      ``"failed"`` (it raised: ``note`` has the error)
    - ``note``: free text shown in the table
* ``target(...)`` — a target from an issue, judged against measurements of the
  same run: ``subject``/``reference`` name contenders of the same workload and case,
  and the target is met when ``rate(subject) / rate(reference) >= minimum`` (``aim``
  is shown beside it; the ratio is the median of per-round ratios when both were
  timed in the same ``compare``, see ``_report.ratio``). For a measured quantity that
  is not a rate (memory), pass ``value=`` and ``maximum=`` instead: met when
  ``value <= maximum``; ``unit`` names what both are in (default ``"x"``, a ratio).
  ``failures`` lists checks that failed besides the threshold (results not equal, a
  worker lost): any makes the target NOT MET whatever it measured. ``withdrawn``
  says which issue withdrew a target and why: it is shown, measured, never judged.
* ``note(...)`` — a workload that was skipped or only partly run, with the reason.

Timing: ``compare(workload, case, contenders, repeats=, warmup=)`` runs every
``Contender`` ``warmup`` times untimed, then ``repeats`` timed rounds, alternating
contenders inside each round and reversing the order on every other round
(A B C, C B A, A B C …) so that machine drift and cache effects hit all of them
alike. ``prepare`` and ``cleanup`` run outside the timed region; ``fn`` is timed
with ``time.perf_counter``. If ``fn`` returns a float, that float is taken as the
elapsed seconds instead (for work timed elsewhere: a subprocess or a group of
worker processes that report their own wall time). A contender that raises is
recorded as ``failed`` and the run goes on; a contender with ``skip`` set is
recorded as ``skipped`` and never called.
"""

from __future__ import annotations

import contextlib
import gc
import math
import shutil
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "WORKLOADS",
    "Contender",
    "Role",
    "cache_dir",
    "compare",
    "fresh_dir",
    "measurement",
    "note",
    "remove",
    "scratch_dir",
    "set_scratch_root",
    "target",
]

Role = Literal["hfdata", "peer", "baseline", "limit"]

WORKLOADS: dict[str, str] = {
    "1": "Single-point append",
    "2": "Batch append",
    "3": "Compaction",
    "4": "One-hour slice",
    "5": "1-minute OHLC",
    "6": "Log-tail read",
    "7": "Scaling",
    "8": "Object storage and Dask",
    "11": "Feature extraction",
    "12": "Reports",
    "13": "Versions: as_of, deletions",
}

_SCRATCH_ROOT: list[Path] = []


def measurement(
    workload: str,
    case: str,
    contender: str,
    role: Role,
    *,
    n: int,
    times: Sequence[float] = (),
    unit: str = "rows",
    x: float | None = None,
    curve: str | None = None,
    status: Literal["ok", "skipped", "failed"] = "ok",
    note: str = "",
) -> dict[str, Any]:
    """A measurement record (see the module docstring for every field)."""
    clean = [float(t) for t in times]
    median = statistics.median(clean) if clean else math.nan
    rate = n / median if clean and median > 0 else math.nan
    return {
        "kind": "measurement",
        "workload": workload,
        "case": case,
        "contender": contender,
        "role": role,
        "n": n,
        "unit": unit,
        "times": clean,
        "median_s": median,
        "rate": rate,
        "x": x,
        "curve": curve,
        "status": status if clean or status != "ok" else "failed",
        "note": note,
    }


def target(
    workload: str,
    case: str,
    text: str,
    *,
    subject: str,
    reference: str | None = None,
    minimum: float | None = None,
    aim: float | None = None,
    value: float | None = None,
    maximum: float | None = None,
    unit: str = "x",
    source: str = "",
    failures: Sequence[str] = (),
    withdrawn: str | None = None,
) -> dict[str, Any]:
    """A target: a ratio ``subject / reference >= minimum`` or a value ``<= maximum``
    (and no failed check); or a withdrawn one, shown but not judged."""
    return {
        "kind": "target",
        "workload": workload,
        "case": case,
        "text": text,
        "subject": subject,
        "reference": reference,
        "minimum": minimum,
        "aim": aim,
        "value": value,
        "maximum": maximum,
        "unit": unit,
        "source": source,
        "failures": list(failures),
        "withdrawn": withdrawn,
    }


def note(workload: str, text: str) -> dict[str, Any]:
    """A note about a workload (skipped, partial, or an explanation)."""
    return {"kind": "note", "workload": workload, "text": text}


@dataclass
class Contender:
    """One way of doing the workload. ``fn(state)`` is timed; ``prepare()`` makes ``state``."""

    name: str
    role: Role
    fn: Callable[[Any], float | None]
    n: int
    prepare: Callable[[], Any] | None = None
    cleanup: Callable[[Any], None] | None = None
    skip: str | None = None  # reason this contender cannot run (peer not installed …)
    x: float | None = None
    curve: str | None = None
    times: list[float] = field(default_factory=list)
    error: str | None = None

    def once(self) -> float:
        state = self.prepare() if self.prepare is not None else None
        try:
            gc.collect()
            start = time.perf_counter()
            reported = self.fn(state)
            elapsed = time.perf_counter() - start
        finally:
            if self.cleanup is not None:
                self.cleanup(state)
        return float(reported) if isinstance(reported, float) else elapsed


def compare(
    workload: str,
    case: str,
    contenders: Sequence[Contender],
    *,
    repeats: int,
    warmup: int = 1,
    unit: str = "rows",
) -> list[dict[str, Any]]:
    """Time the contenders alternately; one measurement record each (see module docstring)."""
    live = [c for c in contenders if c.skip is None]

    def attempt(c: Contender, record: bool) -> None:
        if c.error is not None:
            return
        try:
            elapsed = c.once()
        except Exception as exc:  # a failing contender is reported, not fatal
            c.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            return
        if record:
            c.times.append(elapsed)

    for _ in range(warmup):
        for c in live:
            attempt(c, record=False)
    for round_ in range(repeats):
        for c in live if round_ % 2 == 0 else reversed(live):
            attempt(c, record=True)
    out = []
    for c in contenders:
        if c.skip is not None:
            status: Literal["ok", "skipped", "failed"] = "skipped"
            text = c.skip
        elif c.error is not None:
            status, text = "failed", c.error
        else:
            status, text = "ok", ""
        out.append(
            measurement(
                workload,
                case,
                c.name,
                c.role,
                n=c.n,
                times=c.times if status == "ok" else (),
                unit=unit,
                x=c.x,
                curve=c.curve,
                status=status,
                note=text,
            )
        )
    return out


def set_scratch_root(path: Path) -> None:
    """Where ``scratch_dir`` creates directories (the CLI's ``--dir``)."""
    path.mkdir(parents=True, exist_ok=True)
    _SCRATCH_ROOT[:] = [path]


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory on the benchmark disk, removed afterwards."""
    root = _SCRATCH_ROOT[0] if _SCRATCH_ROOT else None
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def cache_dir(name: str) -> Path:
    """A directory under the scratch root that is kept between runs (a large input built
    once); the workload checks that what it finds there is still what it needs."""
    root = _SCRATCH_ROOT[0] if _SCRATCH_ROOT else Path(__file__).resolve().parent / "_work"
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def fresh_dir(parent: Path, prefix: str) -> Path:
    """A new empty directory under ``parent`` (for ``prepare`` functions)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))


def remove(path: Path) -> None:
    """Remove a directory tree made by ``fresh_dir`` (for ``cleanup`` functions)."""
    shutil.rmtree(path, ignore_errors=True)
