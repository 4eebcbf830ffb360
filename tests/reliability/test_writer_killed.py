"""Trial family 1: a writer killed by SIGKILL at a random moment loses nothing acknowledged.

A fork server (`writer_server.py`) starts writer children that append single
points and batches to four variables (names with `/`, `..`, `%` and non-ASCII),
rotating often (a few KiB per segment), in `flush`, `fsync` or `buffered` mode
(where a point counts as acknowledged once a later `flush()`/`rotate()` returned).
Several writers are killed one after the other on the same store, so each trial
also reopens a store full of orphans. After each kill the log is read with the
reference parser and checked against the model: no acknowledged point lost, none
doubled or unknown, each writer's points a prefix of what it attempted in order,
every complete line parses, and a torn tail exists only at the end of an
`.active` segment (where readers skip it).

Issue 20 (`writer_killed_tombstones`): the writers also call `Store.delete` and append at
existing timestamps (corrections), in every durability mode; after each kill every
acknowledged tombstone is in the log exactly once, every step is there whole or not at
all and each writer's steps of a variable are a prefix of its attempts, and arrivals
follow the order of the calls (so a tombstone hides exactly the points attempted before
it). Each store then reopens, and reads (plain, `dedupe="last"`, `as_of` with each
dedupe) match the version model (`versions.py`) before and after a compaction.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from parquetside import store_state

import hfdata

from .conftest import Figures, WriterServer
from .model import (
    PLAN_VARIABLES,
    Model,
    Op,
    apply_op,
    check_against_model,
    point_ns,
    record_plan,
    scan_log,
    stored_rows,
    torture_count,
    writer_temporaries,
)
from .versions import (
    FAULTS,
    Held,
    VersionModel,
    check_held,
    check_reads,
    held_from_scan,
    make_version_plan,
)

KILLS_PER_STORE = 10
REOPENED_IDS = 1_999_000_000  # ids of the points appended after reopening a store
PLAN_LENGTH = 400


def check_log(root: Path, model: Model) -> dict[str, int]:
    scan = scan_log(root)
    assert scan.bad == [], f"complete lines that do not parse: {scan.bad[:3]}"
    assert scan.torn_closed == [], f"torn line in a closed segment: {scan.torn_closed}"
    found = {var: [(ns, value) for _, ns, value, _ in rows] for var, rows in scan.rows.items()}
    verdict = check_against_model(found, model)
    assert verdict.ok, verdict.details[:5]
    for var, rows in scan.rows.items():  # each writer wrote its points in attempt order
        by_gen: dict[int, list[float]] = {}
        for _, _, value, _ in rows:
            by_gen.setdefault(int(value) // 1_000_000, []).append(value)
        attempted = model.attempted.get(var, [])
        for gen, values in by_gen.items():
            mine = [x for x in attempted if int(x) // 1_000_000 == gen]
            assert values == mine[: len(values)], f"{var}: writer {gen} out of order"
    return {
        "lost": verdict.lost,
        "doubled": verdict.doubled,
        "unknown": verdict.unknown,
        "torn_lines_visible": len(scan.bad) + len(scan.torn_closed),
        "torn_tails_skipped_in_active_segments": len(scan.torn_active),
        "writer_temporaries_left": len(writer_temporaries(root)),
    }


def read_all(store: hfdata.Store) -> dict[str, Counter[tuple[int, float]]]:
    out: dict[str, Counter[tuple[int, float]]] = {}
    for var in PLAN_VARIABLES:
        try:
            frame = store.read(var)
        except hfdata.VariableNotFound:
            continue
        out[var] = Counter(zip(frame.index.asi8.tolist(), frame["value"].tolist(), strict=True))
    return out


def read_and_compact(root: Path, model: Model) -> dict[str, int]:
    """What readers see equals the complete lines; compaction then keeps every point."""
    counts: dict[str, int] = {}
    lines = {var: Counter(rows) for var, rows in stored_rows(root).items() if rows}
    with hfdata.open_store(root) as store:
        seen = read_all(store)
        extra = sum(sum((seen[v] - lines.get(v, Counter())).values()) for v in seen)
        counts["rows_read_not_in_complete_lines"] = extra
        counts["reads_checked"] = len(seen)
        assert extra == 0
        assert seen == lines
        store.compact()
        after = stored_rows(root)
        verdict = check_against_model(after, model)
        assert verdict.ok, verdict.details[:5]
        assert {v: Counter(r) for v, r in after.items() if r} == lines
        counts["compactions_after_kills"] = 1
        assert read_all(store) == lines
        counts["reads_after_compaction_checked"] = len(lines)
    return counts


def run_trials(
    server: WriterServer, tmp_path: Path, trials: int, seed: int, figures: Figures
) -> None:
    rng = random.Random(seed)
    model = Model()
    root = tmp_path / "store0"
    totals: dict[str, int] = {}
    for trial in range(trials):
        if trial % KILLS_PER_STORE == 0:
            root = tmp_path / f"store{trial}"
            model = Model()
        gen = trial + 1
        durability = rng.choices(["flush", "buffered", "fsync"], weights=[6, 3, 1])[0]
        plan_seed = rng.randrange(1 << 30)
        reply = server.run(
            root=str(root),
            seed=plan_seed,
            gen=gen,
            length=PLAN_LENGTH,
            durability=durability,
            max_segment_bytes=rng.choice([512, 2048, 8192]),
            max_open_segments=rng.choice([1, 2, 256]),  # LRU closes segments often
            max_segment_age=rng.choice([600.0, 0.0005]),  # rotation by age too
            kill_after=rng.randint(0, 40 if durability == "fsync" else 150),
            spin=rng.randint(0, 30_000),
        )
        assert reply["error"] == "", reply["error"]
        record_plan(model, plan_seed, gen, durability, reply["acked_ops"], PLAN_LENGTH)
        counts = check_log(root, model)
        counts["trials"] = 1
        counts["acknowledged_points_checked"] = model.acked_count()
        counts["killed_mid_run"] = int(not reply["closed"])
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if trial % KILLS_PER_STORE == KILLS_PER_STORE - 1 or trial == trials - 1:
            # The store full of orphans reopens and takes new points in a new segment.
            # Its id lies in no writer's range (a generation's ids are gen * 1e6 + i, and
            # gens count the trials): 999_000_000 + trial clashed with generation 999's
            # ids once a torture run reached trial 999.
            extra = float(REOPENED_IDS + trial)
            with hfdata.open_store(root) as store:
                store.append("temp", pd.Timestamp(point_ns(extra), tz="UTC"), extra)
            model.attempt("temp", [extra])
            model.ack("temp", [extra])
            check_log(root, model)
            totals["reopened_stores"] = totals.get("reopened_stores", 0) + 1
            for key, value in read_and_compact(root, model).items():
                totals[key] = totals.get(key, 0) + value
    figures.add("writer_killed", **totals)
    assert totals["lost"] == 0 and totals["torn_lines_visible"] == 0


def test_writer_killed_quick(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_trials(server, tmp_path, 5, seed=1, figures=figures)


@pytest.mark.slow
def test_writer_killed_torture(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_trials(server, tmp_path, torture_count(1000), seed=2, figures=figures)


# -- issue 20: deletions and corrections in flight -----------------------------------------

VERSION_KILLS_PER_STORE = 5
REOPENED_GEN = 1 << 20  # the position (generation) of the steps after reopening a store
VERSION_FAULTS = (*FAULTS, "torn_lines_visible")


def check_versions_log(root: Path, model: VersionModel) -> tuple[Held, Counter[str]]:
    """The log against the version model; asserts that no fault counter moved."""
    scan = scan_log(root)
    held = held_from_scan(scan)
    counts = check_held(held, model)
    counts["torn_lines_visible"] += len(scan.bad) + len(scan.torn_closed)
    counts["torn_tails_skipped_in_active_segments"] += len(scan.torn_active)
    faults = {k: counts[k] for k in VERSION_FAULTS if counts[k]}
    assert not faults, (faults, scan.bad[:3], scan.torn_closed[:3])
    return held, counts


def reopen_and_read(
    root: Path, model: VersionModel, trial: int, rng: random.Random
) -> Counter[str]:
    """The store full of orphans reopens, takes a point and a deletion of the first writer's
    first ids; reads match the model, then again after a compaction that keeps every
    version and every tombstone exactly once."""
    first_gen = trial - trial % VERSION_KILLS_PER_STORE + 1
    extra = float(REOPENED_IDS + trial)
    start = point_ns(first_gen * 1_000_000)
    steps = [
        Op("one", "temp", (extra,), (point_ns(extra),)),
        Op("delete", "temp", (), (start, start + 10_000_000 - 1)),
    ]
    with hfdata.open_store(root) as store:
        for index, op in enumerate(steps):
            apply_op(store, op, index)
            model.attempt(op, (REOPENED_GEN, index))
            model.ack(op)
    held, counts = check_versions_log(root, model)
    with hfdata.open_store(root) as store:
        counts.update(check_reads(store, held, model, rng, as_of_reads=6))
        before = store_state(root)
        store.compact()
        assert store_state(root) == before
        counts["compactions_after_kills"] += 1
        after = check_reads(store, held, model, rng, as_of_reads=6)
        counts.update({f"{k}_after_compaction": v for k, v in after.items()})
    counts["reopened_stores"] += 1
    return counts


def run_version_trials(
    server: WriterServer, tmp_path: Path, trials: int, seed: int, figures: Figures
) -> None:
    """Writers that append, correct and delete, killed one after another on each store."""
    rng = random.Random(seed)
    model = VersionModel()
    root = tmp_path / "store0"
    totals: Counter[str] = Counter()
    for trial in range(trials):
        if trial % VERSION_KILLS_PER_STORE == 0:
            root = tmp_path / f"store{trial}"
            model = VersionModel()
        gen = trial + 1
        durability = rng.choice(["flush", "buffered", "fsync"])
        plan_seed = rng.randrange(1 << 30)
        reply = server.run(
            root=str(root),
            seed=plan_seed,
            gen=gen,
            length=PLAN_LENGTH,
            durability=durability,
            max_segment_bytes=rng.choice([512, 2048, 8192]),
            max_open_segments=rng.choice([1, 2, 256]),
            max_segment_age=rng.choice([600.0, 0.0005]),
            kill_after=rng.randint(0, 40 if durability == "fsync" else 150),
            spin=rng.randint(0, 30_000),
            versions=True,
        )
        assert reply["error"] == "", reply["error"]
        plan = make_version_plan(plan_seed, gen, PLAN_LENGTH)
        model.record(plan, gen, durability, reply["acked_ops"])
        _, counts = check_versions_log(root, model)
        counts.update(model.counts())
        counts.update({"trials": 1, f"mode_{durability}": 1, "killed_mid_run": 1 - reply["closed"]})
        started = plan[: reply["acked_ops"] + 1]
        counts["deletions_attempted"] += sum(1 for op in started if op.kind == "delete")
        counts["corrections_attempted"] += sum(
            1 for op in started if op.ids and op.times != tuple(point_ns(x) for x in op.ids)
        )
        totals.update(counts)
        if trial % VERSION_KILLS_PER_STORE == VERSION_KILLS_PER_STORE - 1 or trial == trials - 1:
            totals.update(reopen_and_read(root, model, trial, rng))
    figures.add("writer_killed_tombstones", **totals)
    faults = {k: totals[k] for k in VERSION_FAULTS if totals[k]}
    assert not faults, faults


def test_writer_killed_with_tombstones_quick(
    server: WriterServer, tmp_path: Path, figures: Figures
) -> None:
    run_version_trials(server, tmp_path, 4, seed=1, figures=figures)


@pytest.mark.slow
def test_writer_killed_with_tombstones_torture(
    server: WriterServer, tmp_path: Path, figures: Figures
) -> None:
    run_version_trials(server, tmp_path, torture_count(1000), seed=2, figures=figures)
