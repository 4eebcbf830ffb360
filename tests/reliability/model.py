"""The plain in-memory model every reliability trial is checked against, and log readers.

A trial records what it *attempted* (every point it handed to the store, in order)
and what was *acknowledged* (the call returned, as durable as the mode promises).
Each point carries a unique float id as its value, so a check can tell a lost
point from a doubled one and an unknown one. The log is read straight from the
segment files with the reference parser (`hfdata.log.parse.read_segment`), so these
checks hold whatever the reader module does.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hfdata.layout import decode_name, parse_segment_name
from hfdata.log.parse import read_segment
from hfdata.log.schema import load_schema
from hfdata.timeparse import format_ns

__all__ = [
    "BASE_NS",
    "MAINTENANCE_MODULES",
    "PLAN_VARIABLES",
    "WRITE_MODULES",
    "LogScan",
    "Model",
    "Op",
    "Verdict",
    "abandon",
    "apply_op",
    "check_against_model",
    "leftovers",
    "make_plan",
    "modules_under",
    "op_table",
    "os_replaced",
    "parquet_rows",
    "point_ns",
    "record_plan",
    "scan_log",
    "stored_rows",
    "torture_count",
    "tree_files",
    "writer_of",
    "writer_temporaries",
]

BASE_NS = 1_795_000_000_000_000_000  # 2026-11-18, so points spread over a few partitions
PLAN_VARIABLES = ("temp", "room a/humidity", "../../escape", "ünïcode %2F")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FULL = os.environ.get("HFDATA_TORTURE", "") == "full"


def torture_count(full: int) -> int:
    """Trials of a slow test: the full count under HFDATA_TORTURE=full, a tenth otherwise."""
    return full if FULL else max(2, full // 10)


def point_ns(point_id: float) -> int:
    """The timestamp of a point: a function of its id, so ids and times agree."""
    return BASE_NS + int(point_id) * 1_000_000  # one point per millisecond of id


@dataclass
class Model:
    """What a trial attempted and what the store acknowledged, per variable."""

    attempted: dict[str, list[float]] = field(default_factory=dict)
    acked: dict[str, set[float]] = field(default_factory=dict)

    def attempt(self, variable: str, ids: list[float]) -> None:
        self.attempted.setdefault(variable, []).extend(ids)

    def ack(self, variable: str, ids: list[float]) -> None:
        self.acked.setdefault(variable, set()).update(ids)

    def acked_count(self) -> int:
        return sum(len(v) for v in self.acked.values())

    def checksum(self) -> int:
        """An order-independent checksum of every acknowledged (variable, ns, value)."""
        return sum(
            hash((var, point_ns(i), i)) & 0xFFFFFFFFFFFF
            for var, ids in self.acked.items()
            for i in ids
        )


@dataclass
class LogScan:
    """Everything the log holds, read with the reference parser."""

    rows: dict[str, list[tuple[str, int, Any, str | None]]] = field(default_factory=dict)
    bad: list[tuple[str, int, str]] = field(default_factory=list)  # (file, offset, reason)
    torn_closed: list[str] = field(default_factory=list)  # torn tail in a closed segment
    torn_active: list[str] = field(default_factory=list)  # torn tail of an .active segment
    segments: int = 0
    arrived: dict[str, list[int]] = field(default_factory=dict)  # ns, one per row of `rows`
    # Tombstones per variable in line order: (file, start, end, recorded), all ns.
    tombstones: dict[str, list[tuple[str, int, int, int]]] = field(default_factory=dict)


def scan_log(root: Path, *, include_compacted: bool = False) -> LogScan:
    """Parse every segment of every variable (closed and active; compacted if asked)."""
    scan = LogScan()
    log = root / "log"
    if not log.is_dir():
        return scan
    for vdir in sorted(log.iterdir()):
        if not vdir.is_dir():  # names may start with "." once encoded ("..%2Fx")
            continue
        name = decode_name(vdir.name)
        kind = load_schema(vdir)
        rows = scan.rows.setdefault(name, [])
        arrived = scan.arrived.setdefault(name, [])
        tombstones = scan.tombstones.setdefault(name, [])
        dirs = [vdir, vdir / "compacted"] if include_compacted else [vdir]
        for directory in dirs:
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                parsed_name = parse_segment_name(path.name)
                if parsed_name is None:
                    continue
                scan.segments += 1
                parsed = read_segment(path, kind)
                for b in parsed.bad:
                    scan.bad.append((b.source, b.offset, b.reason))
                if parsed.torn:
                    (scan.torn_active if parsed_name[2] else scan.torn_closed).append(str(path))
                table = parsed.table
                for ts, value, meta in zip(
                    table.column("timestamp").cast("int64").to_pylist(),
                    table.column("value").to_pylist(),
                    table.column("metadata").to_pylist(),
                    strict=True,
                ):
                    rows.append((path.name, ts, value, meta))
                arrived.extend(table.column("arrived").cast("int64").to_pylist())
                t = parsed.tombstones
                for start, end, recorded in zip(
                    t.column("start").cast("int64").to_pylist(),
                    t.column("end").cast("int64").to_pylist(),
                    t.column("recorded").cast("int64").to_pylist(),
                    strict=True,
                ):
                    tombstones.append((path.name, start, end, recorded))
    return scan


@dataclass
class Verdict:
    """Counts of what went wrong; a passing trial has all of them zero."""

    lost: int = 0  # acknowledged, not found
    doubled: int = 0  # found more than once
    unknown: int = 0  # found, never attempted (or at the wrong time)
    out_of_order: int = 0  # a writer's points not a prefix of what it attempted
    rows: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.unknown or self.out_of_order)


def check_against_model(
    found: dict[str, list[tuple[int, Any]]], model: Model, *, prefix_by_writer: bool = False
) -> Verdict:
    """Compare `(ns, value)` rows per variable with the model.

    Every acknowledged id must be present exactly once, no row may be unknown, and
    each row's timestamp must be the one its id was written with. With
    `prefix_by_writer`, rows must also be in attempt order (a prefix of the attempts).
    """
    v = Verdict()
    for var in set(found) | set(model.attempted):
        rows = found.get(var, [])
        v.rows += len(rows)
        attempted = model.attempted.get(var, [])
        allowed = set(attempted)
        counts = Counter(value for _, value in rows)
        for ns, value in rows:
            if value not in allowed or ns != point_ns(value):
                v.unknown += 1
                v.details.append(f"{var}: unknown row ({ns}, {value!r})")
        for value, n in counts.items():
            if n > 1:
                v.doubled += n - 1
                v.details.append(f"{var}: {value!r} seen {n} times")
        for i in model.acked.get(var, ()):
            if counts[i] == 0:
                v.lost += 1
                v.details.append(f"{var}: acknowledged {i!r} lost")
        if prefix_by_writer:
            seen = [value for _, value in rows]
            if seen != attempted[: len(seen)]:
                v.out_of_order += 1
                v.details.append(f"{var}: rows are not a prefix of the attempts")
    return v


@dataclass(frozen=True)
class Op:
    """One step of a writer plan: `one` point, a batch of `many`, `flush`, `rotate` or
    `delete`. `times` (issue 20) gives the ids' timestamps in ns where they are not
    `point_ns(id)` (a correction: an existing point's timestamp), and a delete's
    `(start, end)`."""

    kind: str
    variable: str = ""
    ids: tuple[float, ...] = ()
    times: tuple[int, ...] = ()

    def stamps(self) -> tuple[int, ...]:
        """The timestamps (ns) of the op's points, in row order."""
        return self.times or tuple(point_ns(x) for x in self.ids)


def make_plan(seed: int, gen: int, length: int) -> list[Op]:
    """A deterministic writer plan: ids `gen * 1e6 + j`, mixed singles, batches, flushes."""
    rng = random.Random(seed)
    ops: list[Op] = []
    j = 0
    for _ in range(length):
        r = rng.random()
        var = rng.choice(PLAN_VARIABLES)
        if r < 0.6:
            ops.append(Op("one", var, (float(gen * 1_000_000 + j),)))
            j += 1
        elif r < 0.85:
            n = rng.randint(1, 40)
            ops.append(Op("many", var, tuple(float(gen * 1_000_000 + j + k) for k in range(n))))
            j += n
        elif r < 0.95:
            ops.append(Op("flush"))
        else:
            ops.append(Op("rotate"))
    return ops


def tree_files(root: Path) -> list[str]:
    """Every file under root, relative, sorted (for leftover-file checks)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def op_table(ids: tuple[float, ...], times: tuple[int, ...] = ()) -> Any:
    """The Arrow table `append_many` gets for a batch of ids (at `times` if given)."""
    import pyarrow as pa

    stamps = times or [point_ns(x) for x in ids]
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
            "value": pa.array(list(ids), pa.float64()),
        }
    )


def apply_op(store: Any, op: Op, index: int = 0) -> None:
    """Run one plan step against a store."""
    if op.kind == "one":
        ns = op.stamps()[0]
        meta = {"op": index} if index % 3 == 0 else None
        store.append(op.variable, EPOCH + timedelta(microseconds=ns // 1000), op.ids[0], meta)
    elif op.kind == "many":
        store.append_many(op.variable, op_table(op.ids, op.times))
    elif op.kind == "delete":
        start, end = op.times
        store.delete(op.variable, format_ns(start), format_ns(end))
    elif op.kind == "flush":
        store.flush()
    else:
        store.rotate()


def parquet_rows(root: Path) -> dict[str, list[tuple[int, Any]]]:
    """Every visible Parquet row, `(ns, value)` per variable, read with plain pyarrow."""
    import pyarrow.parquet as pq

    out: dict[str, list[tuple[int, Any]]] = {}
    base = root / "parquet"
    if not base.is_dir():
        return out
    # Format 2 (issue 16): kind=<kind>/variable=<var>/...; format 1's variable=<var>/ too.
    for var_dir in sorted([*base.glob("kind=*/variable=*"), *base.glob("variable=*")]):
        if not var_dir.is_dir():
            continue
        name = decode_name(var_dir.name.removeprefix("variable="))
        rows = out.setdefault(name, [])
        for path in sorted(var_dir.glob("date=*/*.parquet")):
            if path.name.startswith(".") or path.name.endswith(".tmp"):
                continue
            table = pq.read_table(path, columns=["timestamp", "value"])
            rows.extend(
                zip(
                    table.column("timestamp").cast("int64").to_pylist(),
                    table.column("value").to_pylist(),
                    strict=True,
                )
            )
    return out


def stored_rows(root: Path) -> dict[str, list[tuple[int, Any]]]:
    """Parquet rows plus the rows still in the log (closed and active, not compacted)."""
    out = parquet_rows(root)
    for var, rows in scan_log(root).rows.items():
        out.setdefault(var, []).extend((ns, value) for _, ns, value, _ in rows)
    return out


def writer_temporaries(root: Path) -> list[str]:
    """Hidden `.…jsonl.active.tmp` files a writer killed while creating a segment left."""
    return sorted(str(p.relative_to(root)) for p in (root / "log").glob("*/.*.jsonl.active.tmp"))


def leftovers(root: Path) -> list[str]:
    """Temporary files and journals that a finished compaction must not leave behind.

    Writer temporaries are left out (WRITER_TEMP_LEFT, counted apart).
    """
    skip = set(writer_temporaries(root))
    found = [str(p.relative_to(root)) for p in root.rglob("*.tmp")]
    found = [p for p in found if p not in skip]
    journal = root / "_journal"
    if journal.is_dir():
        found += [str(p.relative_to(root)) for p in journal.iterdir()]
    return sorted(found)


def record_plan(
    model: Model, seed: int, gen: int, durability: str, acked_ops: int, length: int
) -> None:
    """Add a killed writer's attempts and acknowledgements to the model."""
    plan = make_plan(seed, gen, length)
    started = plan[: acked_ops + 1]  # the op in flight when the kill landed was attempted
    for op in started:
        if op.ids:
            model.attempt(op.variable, list(op.ids))
    returned = plan[:acked_ops]
    if durability == "buffered":  # acknowledged once a later flush() or rotate() returned
        last = max(
            (i for i, op in enumerate(returned) if op.kind in ("flush", "rotate")), default=-1
        )
        returned = returned[: last + 1]
    for op in returned:
        if op.ids:
            model.ack(op.variable, list(op.ids))


def modules_under(*packages: str) -> tuple[str, ...]:
    """Every module of these hfdata packages, so a module added to a stage is covered too."""
    names: list[str] = []
    for package in packages:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            names.append(info.name)
    return tuple(names)


# The modules whose `os` a fault or power-loss model replaces: every module that writes
# on the append path (the log stage and the durable helpers) or in maintenance.
WRITE_MODULES = ("hfdata.durable", "hfdata.store", "hfdata.kinds", *modules_under("hfdata.log"))
MAINTENANCE_MODULES = (
    "hfdata.durable",
    *modules_under("hfdata.compact", "hfdata.parquet"),
)


@contextlib.contextmanager
def os_replaced(proxy: Any, extra: tuple[str, ...] = ()) -> Iterator[None]:
    """Replace `os` in the modules of the write path only (pytest's own I/O is untouched)."""
    modules = [importlib.import_module(m) for m in (*WRITE_MODULES, *extra)]
    modules = [m for m in modules if getattr(m, "os", None) is os]
    for m in modules:
        m.os = proxy  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for m in modules:
            m.os = os  # type: ignore[attr-defined]


def writer_of(store: Any) -> Any:
    """The object holding the open segments (the store itself before the writer split)."""
    return getattr(store, "_writer", store)


def abandon(store: Any) -> None:
    """Drop a store as a killed process would: close its files, write nothing more."""
    writer = writer_of(store)
    writer._flusher.halt()
    writer._closed = True
    for var in writer._table.open_variables():
        if var.segment is not None:
            os.close(var.segment.fd)
            var.segment = None
    writer._table._open.clear()
    for module in ("hfdata.log.writer", "hfdata.store"):
        registry = getattr(importlib.import_module(module), "_open_writers", None)
        registry = registry or getattr(importlib.import_module(module), "_open_stores", None)
        if registry is not None:
            registry.discard(writer)
    if writer._flusher is not None:
        writer._flusher.join()
