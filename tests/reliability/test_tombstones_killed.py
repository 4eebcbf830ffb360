"""Trial family 3b (issue 20): compaction and optimize killed with tombstones in flight.

Each trial builds a store whose closed segments hold points (single appends and batches,
so arrivals come from the lines' own `arrived` and from marker lines) and tombstones
(`Store.delete`), some of them already compacted (a tombstone file in Parquet), with a
`history_retention` of 0 in some trials (so `optimize` removes deleted points). The
reference is what the log holds before the trial: every row with its arrival and every
tombstone, parsed from the segments (`tests/parquetside.py`). A compactor (or optimizer)
child is then

- killed by SIGKILL after a random spin once it has started (`signal`), or
- ended at its Nth mutating `os` call in the maintenance modules, N drawn over all the
  calls a dry run on a copy makes, so every step of the batch protocol is hit, the
  tombstone file's write, seal and rename among them (`step`), or
- given an `OSError(EIO)` at that call instead (`error`).

Then the store is opened (leftover journals rolled forward or back) and compacted:
Parquet plus the log still waiting hold exactly the reference's rows, each with its
arrival, and exactly its tombstones, each once (never lost, never doubled: a tombstone
file is published with the segment moves of its batch); no journal or temporary is
left; another compaction changes nothing. In retention trials a final `optimize` leaves
exactly the rows no tombstone deletes (the spec's rule), and every tombstone.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from parquetside import Row, Tomb, log_state, parquet_rows, parquet_tombstones, store_state

import hfdata

from .conftest import Figures, WriterServer
from .model import leftovers, torture_count

T0 = pd.Timestamp("2026-11-26T10:00:00Z")
VARIABLES = ("a", "b/c")


def _at(seconds: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def build_store(root: Path, rng: random.Random, retention: timedelta | None) -> None:
    """Points and deletions over small segments, compacted part of the way."""
    options = {"max_segment_bytes": rng.choice([400, 1500, 6000]), "partition": "hour"}
    with hfdata.open_store(root, history_retention=retention, **options) as store:  # type: ignore[arg-type]
        value = 0
        seen: set[str] = set()  # deleting needs an existing variable
        for _ in range(rng.randint(20, 50)):
            variable = rng.choice(VARIABLES)
            roll = rng.random()
            if roll < 0.25 and variable in seen:
                a = rng.randrange(0, 10_800)
                store.delete(variable, _at(a), _at(a + rng.randrange(1, 3000)))
            elif roll < 0.55:
                value += 1
                store.append(variable, _at(rng.randrange(0, 10_800)), float(value))
                seen.add(variable)
            else:
                seconds = sorted(set(rng.sample(range(10_800), rng.randrange(1, 30))))
                seen.add(variable)
                values = [float(value + 1 + i) for i in range(len(seconds))]
                value += len(seconds)
                index = pd.DatetimeIndex([_at(s) for s in seconds], name="timestamp")
                store.append_many(variable, pd.DataFrame({"value": values}, index=index))
            if rng.random() < 0.1:
                store.compact()
        store.flush()
    if rng.random() < 0.5:  # one variable's tombstones already in Parquet
        with hfdata.open_store(root) as store:
            store.compact(variables=[rng.choice(VARIABLES)])


def reference(root: Path) -> tuple[Counter[Row], Counter[Tomb]]:
    """Every row and tombstone the store holds: the log waiting plus Parquet."""
    return store_state(root)


def expected_after_retention(rows: Counter[Row], tombs: Counter[Tomb]) -> Counter[Row]:
    """Rows no tombstone deletes (all are expired under a retention of 0)."""
    kept: Counter[Row] = Counter()
    for (var, ts, value, arrived), n in rows.items():
        if not any(
            tv == var and start <= ts < end and arrived < recorded
            for tv, start, end, recorded in tombs
        ):
            kept[var, ts, value, arrived] = n
    return kept


def one_trial(root: Path, server: WriterServer, rng: random.Random) -> dict[str, int]:
    retention = timedelta(0) if rng.random() < 0.4 else None
    build_store(root, rng, retention)
    rows, tombs = reference(root)
    mode = rng.choice(["signal", "step", "step", "error"])
    action = "optimize" if rng.random() < 0.25 else "compact"
    if action == "optimize":  # something to merge, tombstones in Parquet
        with hfdata.open_store(root) as s:
            s.compact()
        rows, tombs = reference(root)
    counts: dict[str, int] = {"trials": 1, f"mode_{mode}": 1, f"action_{action}": 1}
    counts["retention_trials"] = int(retention is not None)
    counts["tombstones_in_flight"] = sum(log_state(root)[1].values())
    if mode == "signal":
        reply = server.run(root=str(root), action=action, spin=rng.randint(0, 400_000))
    else:
        copy = root.with_name(root.name + "-dry")
        shutil.copytree(root, copy)
        dry = server.run(root=str(copy), action=action, kill=False)
        shutil.rmtree(copy)
        assert dry["error"] == "", dry["error"]
        at = rng.randrange(max(dry["calls"], 1) + 1)
        reply = server.run(
            root=str(root), action=action, kill=False, die_at=at, fail=mode == "error"
        )
        counts["steps_available"] = dry["calls"]
    if mode == "error" and reply["error"]:
        counts["injected_errors_raised"] = 1
    else:
        assert reply["error"] == "", reply["error"]
    counts["interrupted"] = int(not reply["closed"])
    with hfdata.open_store(root) as store:  # recovery, then a complete compaction
        store.compact()
        assert leftovers(root) == [], leftovers(root)
        got_rows, got_tombs = store_state(root)
        if retention is not None and action == "optimize":
            # the killed optimize may have removed deleted points already: never others
            assert got_rows <= rows and got_rows >= expected_after_retention(rows, tombs)
        else:
            assert got_rows == rows
        assert got_tombs == tombs
        counts["tombstones_checked"] = sum(tombs.values())
        counts["rows_checked"] = sum(rows.values())
        before = (parquet_rows(root), parquet_tombstones(root))
        store.compact()  # idempotent
        assert (parquet_rows(root), parquet_tombstones(root)) == before
        if retention is not None:
            store.optimize()
            assert leftovers(root) == []
            assert parquet_rows(root) + log_state(root)[0] == expected_after_retention(rows, tombs)
            assert parquet_tombstones(root) + log_state(root)[1] == tombs
            counts["optimized_after"] = 1
    return counts


def run_trials(
    server: WriterServer, tmp_path: Path, trials: int, seed: int, figures: Figures
) -> None:
    rng = random.Random(seed)
    totals: Counter[str] = Counter()
    for trial in range(trials):
        totals.update(one_trial(tmp_path / f"s{trial}", server, rng))
    figures.add("compaction_killed_with_tombstones", **totals)


def test_compaction_killed_with_tombstones_quick(
    server: WriterServer, tmp_path: Path, figures: Figures
) -> None:
    run_trials(server, tmp_path, 6, seed=1, figures=figures)


@pytest.mark.slow
def test_compaction_killed_with_tombstones_torture(
    server: WriterServer, tmp_path: Path, figures: Figures
) -> None:
    run_trials(server, tmp_path, torture_count(150), seed=2, figures=figures)
