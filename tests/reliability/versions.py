"""The version model of issue 20's kill and power-loss trials: writers that also delete and
correct, and what the log and reads must then hold.

A plan step has a **position** `(gen, index)`: the writer's generation, then the step's
index in its plan. Every `append`, `append_many` and `delete` reads the store's clock once,
before it writes, and the steps of a plan run one after the other (generations too), so
the clock must order the steps as their positions do. The model therefore works with
positions, and the checks confirm the clock agreed: per variable, arrivals and tombstone
times strictly increase with position (one arrival per step: a batch shares one).
With that, the rule of docs/contracts.md ("Versions") becomes: a tombstone hides the
versions of its range whose position is before its own; `dedupe="last"` keeps the latest
position of a timestamp, `"first"` the earliest; a read `as_of` the arrival of the step at
position p considers the steps up to p.

The expected reads are computed from what the log (or the store) actually holds, since
an unacknowledged step may or may not have been written; the checks against the plan
say which of those holdings are allowed: every acknowledged point and tombstone present
exactly once, nothing unknown, and each writer's holdings of a variable a prefix of its
attempts there (a tombstone is never lost while a later step of the same writer stayed,
so none is "torn" into deleting less or more than it did when it was written).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import hfdata

from .model import PLAN_VARIABLES, LogScan, Op, point_ns

__all__ = [
    "FAULTS",
    "Held",
    "VersionModel",
    "check_held",
    "check_reads",
    "expected_view",
    "held_from_scan",
    "held_from_state",
    "make_version_plan",
]

Pos = tuple[int, int]  # (generation, step index)
Key = float | tuple[int, int]  # a point's id, or a tombstone's (start, end)
REACH_BACK = 300  # corrections and deletions may target the previous writer's first ids


def make_version_plan(seed: int, gen: int, length: int) -> list[Op]:
    """A deterministic writer plan with deletions and corrections between the appends.

    Ids are `gen * 1e6 + j` as in `make_plan`. A correction is a new id appended at the
    timestamp of an earlier point of this plan (or of the previous generation's first
    ids, which may or may not have been written), alone or inside a batch of new points;
    a deletion covers a few milliseconds from such a timestamp, so later points of the
    range stay visible. Each deletion's `end` carries a sub-millisecond tag unique among
    ten consecutive generations, so a tombstone in the log names its step.
    """
    assert length < 1000  # the tag below holds the step index in three digits
    rng = random.Random(seed)
    ops: list[Op] = []
    seen: dict[str, list[int]] = {}  # timestamps this plan appended per variable
    j = 0

    def target(var: str) -> int:
        if gen > 1 and rng.random() < 0.3:
            return point_ns((gen - 1) * 1_000_000 + rng.randrange(REACH_BACK))
        return rng.choice(seen[var])

    for index in range(length):
        r = rng.random()
        var = rng.choice(PLAN_VARIABLES)
        if r < 0.45 or (r < 0.76 and var not in seen):
            n = rng.randint(1, 40) if r < 0.2 else 1
            ids = tuple(float(gen * 1_000_000 + j + k) for k in range(n))
            j += n
            stamps = [point_ns(x) for x in ids]
            if n > 1 and var in seen and rng.random() < 0.4:  # corrections in a batch
                fixes = sorted({target(var) for _ in range(rng.randint(1, 3))})
                ids += tuple(float(gen * 1_000_000 + j + k) for k in range(len(fixes)))
                j += len(fixes)
                stamps += fixes
            ops.append(Op("many" if n > 1 else "one", var, ids, tuple(stamps)))
            seen.setdefault(var, []).extend(stamps)
        elif r < 0.6:
            ops.append(Op("one", var, (float(gen * 1_000_000 + j),), (target(var),)))
            j += 1
        elif r < 0.76:
            start = target(var) - rng.choice([0, 0, 1_000_000])
            tag = (gen % 500) * 1000 + index + 1
            end = start + rng.randint(1, 40) * 1_000_000 - tag
            ops.append(Op("delete", var, (), (start, end)))
        elif r < 0.9:
            ops.append(Op("flush"))
        else:
            ops.append(Op("rotate"))
    return ops


def keys_of(op: Op) -> list[Key]:
    """What a step leaves in the log, in line order: its ids, or its tombstone."""
    if op.kind == "delete":
        return [(op.times[0], op.times[1])]
    return list(op.ids)


@dataclass
class VersionModel:
    """What trials attempted and what was acknowledged, with every step's position."""

    attempted: dict[str, list[Key]] = field(default_factory=dict)  # per variable, in order
    acked: dict[str, set[Key]] = field(default_factory=dict)
    position: dict[tuple[str, Key], Pos] = field(default_factory=dict)
    ns: dict[float, int] = field(default_factory=dict)  # each attempted id's timestamp

    def attempt(self, op: Op, pos: Pos) -> None:
        if not (op.ids or op.kind == "delete"):
            return
        keys = keys_of(op)
        self.attempted.setdefault(op.variable, []).extend(keys)
        for key in keys:
            self.position[op.variable, key] = pos
        if op.ids:
            self.ns.update(zip(op.ids, op.stamps(), strict=True))

    def ack(self, op: Op) -> None:
        if op.ids or op.kind == "delete":
            self.acked.setdefault(op.variable, set()).update(keys_of(op))

    def record(self, plan: list[Op], gen: int, durability: str, acked_ops: int) -> None:
        """A killed writer's plan: the step in flight was attempted; in `buffered` mode a
        step is acknowledged once a later `flush()` or `rotate()` returned."""
        for index, op in enumerate(plan[: acked_ops + 1]):
            self.attempt(op, (gen, index))
        returned = plan[:acked_ops]
        if durability == "buffered":
            last = max(
                (i for i, op in enumerate(returned) if op.kind in ("flush", "rotate")), default=-1
            )
            returned = returned[: last + 1]
        for op in returned:
            self.ack(op)

    def counts(self) -> dict[str, int]:
        acked = [k for keys in self.acked.values() for k in keys]
        tombs = sum(1 for k in acked if isinstance(k, tuple))
        return {"acknowledged_points_checked": len(acked) - tombs, "acknowledged_tombstones": tombs}


@dataclass
class Held:
    """What a store holds per variable: versions `(ns, value, arrived)` and tombstones
    `(start, end, recorded)`, each as often as it is stored."""

    rows: dict[str, list[tuple[int, Any, int]]] = field(default_factory=dict)
    tombs: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)


def held_from_scan(scan: LogScan) -> Held:
    """The log's rows and tombstones, read with the reference parser (`scan_log`)."""
    held = Held()
    for var, rows in scan.rows.items():
        held.rows[var] = [
            (ns, value, arrived)
            for (_, ns, value, _), arrived in zip(rows, scan.arrived[var], strict=True)
        ]
    for var, tombs in scan.tombstones.items():
        held.tombs[var] = [(start, end, recorded) for _, start, end, recorded in tombs]
    return held


def held_from_state(rows: Counter[Any], tombs: Counter[Any]) -> Held:
    """`parquetside.store_state`'s counters (Parquet plus the log waiting) as a `Held`."""
    held = Held()
    for (var, ns, value, arrived), n in rows.items():
        held.rows.setdefault(var, []).extend([(ns, value, arrived)] * n)
    for (var, start, end, recorded), n in tombs.items():
        held.tombs.setdefault(var, []).extend([(start, end, recorded)] * n)
    return held


FAULTS = (
    "lost",
    "doubled",
    "unknown",
    "tombstones_lost",
    "tombstones_doubled",
    "tombstones_unknown",
    "not_a_prefix",
    "arrival_order_violations",
)


def check_held(held: Held, model: VersionModel) -> Counter[str]:
    """Compare what is held with the plan: the `FAULTS` counters must stay 0."""
    c: Counter[str] = Counter(dict.fromkeys(FAULTS, 0))
    for var in set(held.rows) | set(held.tombs) | set(model.attempted):
        attempted = model.attempted.get(var, [])
        allowed = set(attempted)
        found: Counter[Key] = Counter()
        arrivals: dict[Pos, set[int]] = {}
        for ns, value, arrived in held.rows.get(var, []):
            found[value] += 1
            if value not in allowed or model.ns.get(value) != ns:
                c["unknown"] += 1
                continue
            arrivals.setdefault(model.position[var, value], set()).add(arrived)
        for start, end, recorded in held.tombs.get(var, []):
            tomb: Key = (start, end)
            found[tomb] += 1
            if tomb not in allowed:
                c["tombstones_unknown"] += 1
                continue
            arrivals.setdefault(model.position[var, tomb], set()).add(recorded)
        for key, n in found.items():
            if n > 1:
                c["tombstones_doubled" if isinstance(key, tuple) else "doubled"] += n - 1
        for key in model.acked.get(var, ()):
            if found[key] == 0:
                c["tombstones_lost" if isinstance(key, tuple) else "lost"] += 1
        # Each writer's holdings here are a prefix of its attempts here.
        gens = {model.position[var, k][0] for k in attempted}
        for gen in gens:
            mine = [k for k in attempted if model.position[var, k][0] == gen]
            kept = [k in found for k in mine]
            if kept != sorted(kept, reverse=True):
                c["not_a_prefix"] += 1
        # One arrival per step, strictly increasing with position.
        last = -1
        for pos in sorted(arrivals):
            times = arrivals[pos]
            if len(times) != 1 or min(times) <= last:
                c["arrival_order_violations"] += 1
            last = max(times)
        c["tombstones_held_checked"] += sum(1 for k in found if isinstance(k, tuple))
    return c


def expected_view(
    held: Held, model: VersionModel, var: str, upto: Pos | None, dedupe: str | None
) -> Counter[tuple[int, Any]]:
    """What a read of `var` must return, by position (see the module's docstring)."""
    rows = [
        (ns, value, model.position[var, value])
        for ns, value, _ in held.rows.get(var, [])
        if upto is None or model.position[var, value] <= upto
    ]
    tombs = [
        (start, end, model.position[var, (start, end)])
        for start, end, _ in held.tombs.get(var, [])
        if upto is None or model.position[var, (start, end)] <= upto
    ]
    visible = [
        (ns, value, pos)
        for ns, value, pos in rows
        if not any(s <= ns < e and pos < tpos for s, e, tpos in tombs)
    ]
    if dedupe is None:
        return Counter((ns, value) for ns, value, _ in visible)
    best: dict[int, tuple[Pos, Any]] = {}
    for ns, value, pos in visible:
        old = best.get(ns)
        if old is None or (pos > old[0]) == (dedupe == "last"):
            best[ns] = (pos, value)
    return Counter((ns, value) for ns, (_, value) in best.items())


def check_reads(
    store: hfdata.Store, held: Held, model: VersionModel, rng: random.Random, as_of_reads: int
) -> Counter[str]:
    """Reads of every variable (plain, `dedupe="last"`, and `as_of` the arrival of random
    held steps with each dedupe) against `expected_view`; asserts they match."""
    c: Counter[str] = Counter()
    for var in sorted(set(held.rows) | set(held.tombs)):
        arrival: dict[Pos, int] = {}
        for _, value, arrived in held.rows.get(var, []):
            arrival[model.position[var, value]] = arrived
        for start, end, recorded in held.tombs.get(var, []):
            arrival[model.position[var, (start, end)]] = recorded
        reads: list[tuple[Pos | None, str | None]] = [(None, None), (None, "last")]
        steps = sorted(arrival)
        for _ in range(min(as_of_reads, len(steps))):
            reads.append((rng.choice(steps), rng.choice([None, "last", "first"])))
        for upto, dedupe in reads:
            as_of = None if upto is None else pd.Timestamp(arrival[upto], tz="UTC")
            frame = store.read(var, as_of=as_of, dedupe=dedupe)  # type: ignore[arg-type]
            got = Counter(zip(frame.index.asi8.tolist(), frame["value"].tolist(), strict=True))
            expected = expected_view(held, model, var, upto, dedupe)
            assert got == expected, (var, upto, dedupe, got - expected, expected - got)
            c["as_of_reads_checked" if upto is not None else "reads_checked"] += 1
            if upto is None and dedupe is None:
                c["versions_hidden_checked"] += len(held.rows.get(var, [])) - len(frame)
    return c
