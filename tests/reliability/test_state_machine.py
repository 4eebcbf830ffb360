"""Trial family 8: a hypothesis state machine of the whole store against a plain model.

Rules: append, append_many, flush, rotate, compact (with and without the active
segments), optimize, crash-and-reopen (the store object is dropped without
flushing, as a killed process would drop it, and a new one opened) and read.
Timestamps are drawn from a small grid so ties, out-of-order and late data for
compacted partitions are common.

The model keeps, per variable, the multiset of `(ns, value)` that is *written*
(in the log or Parquet) and, in buffered mode, what is still *pending* in the
process (single appends; a batch is written at once, after the variable's
pending points). After every step the files (Parquet read with pyarrow plus the log read
with the reference parser) must hold exactly the written multiset; `read` must
return written + pending (a read flushes buffered points first) sorted by time.
A crash drops the pending points, nothing else.

Issue 20: the writer's clock is a counter (`hfdata.log.writer._time_ns` patched), so the
model knows every point's arrival; `delete` records a tombstone (pending in buffered
mode like a point, lost by a crash like one); appending a grid slot again is a
correction. `read` checks what the rule of docs/contracts.md ("Versions") leaves, and
`read_as_of` a read at a past clock reading with `dedupe="last"` (the series as a reader
saw it then) and `"first"`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import hypothesis.strategies as st
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import hfdata
from hfdata.log import writer as _writer

from .conftest import Figures
from .model import FULL, abandon, leftovers, stored_rows

VARIABLES = ["a", "room b/temp", ".dot"]
BASE = pd.Timestamp("2026-11-26T22:00:00Z").value
GRID = 3_600_000_000_000 // 4  # quarter hours: ties, and points on both sides of midnight
TALLY: Counter[str] = Counter()  # steps by rule, for the figures
CLOCK0 = 1_800_000_000_000_000_000  # the fake writer clock's start (19 digits, as real ones)
Tomb = tuple[int, int, int]  # start, end, recorded


class _Clock:
    """The writer's `time.time_ns`: each call one microsecond after the last."""

    def __init__(self) -> None:
        self.now = CLOCK0

    def __call__(self) -> int:
        self.now += 1000
        return self.now


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="hfdata-sm-"))
        self.root = self.dir / "store"
        self.written: dict[str, Counter[tuple[int, float]]] = {v: Counter() for v in VARIABLES}
        self.pending: dict[str, Counter[tuple[int, float]]] = {v: Counter() for v in VARIABLES}
        self.next_id = 0
        self.store: hfdata.Store | None = None
        self.options: dict[str, Any] = {}
        self.clock = _Clock()
        self.clock_patch = mock.patch.object(_writer, "_time_ns", self.clock)
        self.clock_patch.start()
        self.arrived: dict[float, int] = {}  # value (a unique id) -> its append's arrival
        self.tombs: dict[str, list[Tomb]] = {v: [] for v in VARIABLES}
        self.pending_tombs: dict[str, list[Tomb]] = {v: [] for v in VARIABLES}
        self.marks: list[int] = [CLOCK0]  # clock readings between steps: as_of points

    @initialize(
        durability=st.sampled_from(["flush", "buffered", "fsync"]),
        max_bytes=st.sampled_from([200, 1000, 1 << 20]),
    )
    def open(self, durability: str, max_bytes: int) -> None:
        # A long flush interval: the background flusher never runs during a test, so a
        # crash loses exactly the pending points.
        self.options = {
            "durability": durability,
            "max_segment_bytes": max_bytes,
            "flush_interval": 3600.0,
        }
        self.store = hfdata.open_store(self.root, **self.options)

    @property
    def buffered(self) -> bool:
        return bool(self.options.get("durability") == "buffered")

    def _new_ids(self, n: int) -> list[float]:
        ids = [float(self.next_id + k) for k in range(n)]
        self.next_id += n
        return ids

    def _added(self, var: str, points: list[tuple[int, float]]) -> None:
        target = self.pending if self.buffered else self.written
        target[var].update(points)

    def _flushed(self) -> None:
        for var in VARIABLES:
            self.written[var].update(self.pending[var])
            self.pending[var].clear()
            self.tombs[var].extend(self.pending_tombs[var])
            self.pending_tombs[var].clear()

    def _arrive(self, values: list[float]) -> None:
        for value in values:
            self.arrived[value] = self.clock.now
        self.marks.append(self.clock.now)

    def _visible(
        self, var: str, as_of: int | None, dedupe: str | None
    ) -> Counter[tuple[int, float]]:
        """What a reader at `as_of` sees: the model of docs/contracts.md, "Versions"."""
        points = self.written[var] + self.pending[var]
        tombs = [
            t for t in self.tombs[var] + self.pending_tombs[var] if as_of is None or t[2] <= as_of
        ]
        seen: Counter[tuple[int, float]] = Counter()
        for (ns, value), n in points.items():
            at = self.arrived[value]
            if as_of is not None and at > as_of:
                continue
            if any(s <= ns < e and at < r for s, e, r in tombs):
                continue
            seen[ns, value] += n
        if dedupe is None:
            return seen
        best: dict[int, float] = {}
        for ns, value in seen:  # a batch shares one arrival: ties go by id (line order)
            old = best.get(ns)
            key = (self.arrived[value], value)
            if old is None or (key > (self.arrived[old], old)) == (dedupe == "last"):
                best[ns] = value
        return Counter(best.items())

    @rule(var=st.sampled_from(VARIABLES), slot=st.integers(0, 12), meta=st.booleans())
    def append(self, var: str, slot: int, meta: bool) -> None:
        assert self.store is not None
        (value,) = self._new_ids(1)
        ns = BASE + slot * GRID
        self.store.append(var, pd.Timestamp(ns, tz="UTC"), value, {"i": value} if meta else None)
        self._arrive([value])
        self._added(var, [(ns, value)])

    @rule(
        var=st.sampled_from(VARIABLES), slots=st.lists(st.integers(0, 12), min_size=1, max_size=8)
    )
    def append_many(self, var: str, slots: list[int]) -> None:
        assert self.store is not None
        values = self._new_ids(len(slots))
        stamps = [BASE + s * GRID for s in slots]
        table = pa.table(
            {
                "timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
                "value": pa.array(values, pa.float64()),
            }
        )
        assert self.store.append_many(var, table) == len(slots)
        self._arrive(values)
        # A batch is written at once, after the variable's buffered points (in any mode).
        self.written[var].update(self.pending[var])
        self.pending[var].clear()
        self.written[var].update(zip(stamps, values, strict=True))

    @rule()
    def flush(self) -> None:
        assert self.store is not None
        self.store.flush()
        self._flushed()

    @rule()
    def rotate(self) -> None:
        assert self.store is not None
        self.store.rotate()
        self._flushed()

    @rule(include_active=st.booleans())
    def compact(self, include_active: bool) -> None:
        assert self.store is not None
        self.store.compact(include_active=include_active)
        TALLY["compactions"] += 1
        if include_active:
            self._flushed()
        assert leftovers(self.root) == []

    @rule()
    def optimize(self) -> None:
        assert self.store is not None
        self.store.optimize()
        assert leftovers(self.root) == []

    @rule()
    def crash_and_reopen(self) -> None:
        assert self.store is not None
        abandon(self.store)
        TALLY["crashes"] += 1
        for var in VARIABLES:
            self.pending[var].clear()  # never left the process
            self.pending_tombs[var].clear()
        self.store = hfdata.open_store(self.root, **self.options)

    @rule(var=st.sampled_from(VARIABLES), slot=st.integers(0, 12), width=st.integers(1, 6))
    def delete(self, var: str, slot: int, width: int) -> None:
        assert self.store is not None
        start, end = BASE + slot * GRID, BASE + (slot + width) * GRID
        try:
            self.store.delete(var, pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
        except hfdata.VariableNotFound:
            assert not self.written[var]  # nothing on disk names it yet
            return
        TALLY["deletions"] += 1
        self.marks.append(self.clock.now)
        target = self.pending_tombs if self.buffered else self.tombs
        target[var].append((start, end, self.clock.now))

    @precondition(lambda self: self.store is not None)
    @rule(
        var=st.sampled_from(VARIABLES),
        back=st.integers(0, 30),
        dedupe=st.sampled_from(["last", "first"]),
    )
    def read_as_of(self, var: str, back: int, dedupe: str) -> None:
        assert self.store is not None
        as_of = self.marks[max(0, len(self.marks) - 1 - back)]
        try:
            frame = self.store.read(var, as_of=pd.Timestamp(as_of, tz="UTC"), dedupe=dedupe)  # type: ignore[arg-type]
        except hfdata.VariableNotFound:
            assert not (self.written[var] + self.pending[var])
            return
        finally:
            self._flushed()
        got = Counter(zip(frame.index.asi8.tolist(), frame["value"].tolist(), strict=True))
        expected = self._visible(var, as_of, dedupe)
        assert got == expected, (as_of, got - expected, expected - got)
        TALLY["as_of_reads_checked"] += 1

    @precondition(lambda self: self.store is not None)
    @rule(var=st.sampled_from(VARIABLES))
    def read(self, var: str) -> None:
        assert self.store is not None
        expected = self._visible(var, None, None)
        try:
            frame = self.store.read(var)
        except hfdata.VariableNotFound:
            assert not (self.written[var] + self.pending[var])
            return
        finally:
            self._flushed()  # a read writes every buffered point out first (read-your-writes)
        stamps = frame.index.asi8.tolist()
        got = Counter(zip(stamps, frame["value"].tolist(), strict=True))
        assert got == expected, (got - expected, expected - got)
        TALLY["reads_checked"] += 1
        assert stamps == sorted(stamps)

    @invariant()
    def files_hold_exactly_what_was_written(self) -> None:
        if self.store is None:
            return
        TALLY["steps_checked"] += 1
        rows = stored_rows(self.root)
        for var in VARIABLES:
            assert Counter(rows.get(var, [])) == self.written[var], var

    def teardown(self) -> None:
        TALLY["runs"] += 1
        TALLY["points_appended"] += self.next_id
        if self.store is not None:
            self.store.close()
        self.clock_patch.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


SETTINGS = settings(
    max_examples=400 if FULL else 15,
    stateful_step_count=50 if FULL else 25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = SETTINGS


@pytest.mark.slow
def test_state_machine_torture(figures: Figures) -> None:
    TALLY.clear()
    run_state_machine_as_test(
        StoreMachine,
        settings=settings(
            max_examples=500 if FULL else 40,
            stateful_step_count=60 if FULL else 40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    figures.add("state_machine", **TALLY)
    assert TALLY["runs"] > 0
