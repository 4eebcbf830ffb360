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
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

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

from .conftest import Figures
from .model import FULL, abandon, leftovers, stored_rows

VARIABLES = ["a", "room b/temp", ".dot"]
BASE = pd.Timestamp("2026-11-26T22:00:00Z").value
GRID = 3_600_000_000_000 // 4  # quarter hours: ties, and points on both sides of midnight
TALLY: Counter[str] = Counter()  # steps by rule, for the figures


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

    @rule(var=st.sampled_from(VARIABLES), slot=st.integers(0, 12), meta=st.booleans())
    def append(self, var: str, slot: int, meta: bool) -> None:
        assert self.store is not None
        (value,) = self._new_ids(1)
        ns = BASE + slot * GRID
        self.store.append(var, pd.Timestamp(ns, tz="UTC"), value, {"i": value} if meta else None)
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
        self.store = hfdata.open_store(self.root, **self.options)

    @precondition(lambda self: self.store is not None)
    @rule(var=st.sampled_from(VARIABLES))
    def read(self, var: str) -> None:
        assert self.store is not None
        expected = self.written[var] + self.pending[var]
        try:
            frame = self.store.read(var)
        except hfdata.VariableNotFound:
            assert not expected
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
