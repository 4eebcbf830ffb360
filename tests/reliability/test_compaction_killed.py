"""Trial family 3: compaction killed at random moments and failed at each protocol step.

Each trial builds a store with closed segments, a dead writer's orphan `.active`
segment with a torn tail (a writer really killed by the fork server), and in
some trials Parquet already holding earlier points (late data). Then a compactor
child (or an optimizer) is

- killed by SIGKILL after a random spin once it has started (`signal`), or
- ended at its Nth mutating `os` call (rename, replace, fsync, unlink, ftruncate,
  link, write) in the compaction modules, N drawn over all the calls a dry run
  on a copy of the store makes, so every protocol step is hit (`step`), or
- given an `OSError(EIO)` at that call instead (`error`).

Then the store is opened (which rolls leftover journals forward or back) and
compacted again. The rows in Parquet plus the rows still in the log equal the
model (every acknowledged point exactly once, nothing unknown, an equal
order-independent checksum), no temporary file or journal is left, and another
compaction changes nothing.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

import hfdata
from hfdata.layout import parse_segment_name

from .conftest import Figures, WriterServer
from .model import (
    Model,
    apply_op,
    check_against_model,
    leftovers,
    make_plan,
    point_ns,
    record_plan,
    stored_rows,
    torture_count,
    writer_temporaries,
)


def parquet_files(root: Path) -> list[str]:
    base = root / "parquet"
    return (
        sorted(str(p.relative_to(root)) for p in base.rglob("*.parquet")) if base.exists() else []
    )


def log_segments(root: Path) -> list[str]:
    """Segments still waiting in log/<var>/ (not compacted/)."""
    return sorted(
        str(p.relative_to(root))
        for p in (root / "log").glob("*/*")
        if parse_segment_name(p.name) is not None
    )


def checksum(rows: dict[str, list[tuple[int, Any]]]) -> int:
    return sum(
        hash((var, ns, value)) & 0xFFFFFFFFFFFF
        for var, items in rows.items()
        for ns, value in items
    )


def model_checksum(model: Model) -> int:
    return sum(
        hash((var, point_ns(i), i)) & 0xFFFFFFFFFFFF
        for var, ids in model.acked.items()
        for i in ids
    )


def build_store(root: Path, server: WriterServer, rng: random.Random, gen0: int) -> Model:
    """Closed segments, an orphan with a torn tail, and maybe Parquet already there."""
    model = Model()
    store = hfdata.open_store(root, max_segment_bytes=rng.choice([600, 2000, 8000]))
    for i, op in enumerate(make_plan(rng.randrange(1 << 30), gen0, 60)):
        apply_op(store, op, i)
        if op.ids:
            model.attempt(op.variable, list(op.ids))
            model.ack(op.variable, list(op.ids))
    store.close()
    if rng.random() < 0.5:  # earlier points already in Parquet: new ones are late data
        with hfdata.open_store(root) as s:
            s.compact()
        with hfdata.open_store(root, max_segment_bytes=1500) as s:
            for i, op in enumerate(make_plan(rng.randrange(1 << 30), gen0 + 1, 30)):
                apply_op(s, op, i)
                if op.ids:
                    model.attempt(op.variable, list(op.ids))
                    model.ack(op.variable, list(op.ids))
    seed = rng.randrange(1 << 30)
    reply = server.run(  # a dead writer: its .active segment is an orphan, maybe torn
        root=str(root),
        seed=seed,
        gen=gen0 + 2,
        length=200,
        durability="flush",
        max_segment_bytes=4000,
        kill_after=rng.randint(1, 60),
        spin=rng.randint(0, 20_000),
    )
    assert reply["error"] == "", reply["error"]
    record_plan(model, seed, gen0 + 2, "flush", reply["acked_ops"], 200)
    return model


def verify(root: Path, model: Model) -> dict[str, int]:
    rows = stored_rows(root)
    verdict = check_against_model(rows, model)
    assert verdict.ok, verdict.details[:5]
    # Rows beyond the acknowledged ones are the in-flight points of the killed writer
    # (written, never acknowledged); the checksum compares the acknowledged ones.
    acked_rows = {
        var: [(ns, v) for ns, v in items if v in model.acked.get(var, set())]
        for var, items in rows.items()
    }
    assert checksum(acked_rows) == model_checksum(model)
    return {"rows_checked": verdict.rows, "lost": verdict.lost, "doubled": verdict.doubled}


def one_trial(root: Path, server: WriterServer, rng: random.Random, gen0: int) -> dict[str, int]:
    model = build_store(root, server, rng, gen0)
    mode = rng.choice(["signal", "step", "step", "error"])
    action = "optimize" if rng.random() < 0.2 else "compact"
    if action == "optimize":  # something to merge: two compactions' files per partition
        with hfdata.open_store(root) as s:
            s.compact()
    counts: dict[str, int] = {"trials": 1, f"mode_{mode}": 1, f"action_{action}": 1}
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
        counts[f"error_type_{reply['error_type']}"] = 1
    else:
        assert reply["error"] == "", reply["error"]
    counts["interrupted"] = int(not reply["closed"])
    with hfdata.open_store(root) as store:  # recovery, then a complete compaction
        store.compact()
        assert leftovers(root) == [], leftovers(root)
        counts["writer_temporaries_left"] = len(writer_temporaries(root))
        left = [p for p in log_segments(root) if not p.endswith(".active")]
        if left:  # DOT_VARIABLES_SKIPPED (fixed on main): counted
            counts["closed_segments_left_after_compaction"] = len(left)
        counts.update(verify(root, model))
        before = (parquet_files(root), stored_rows(root))
        store.compact()  # idempotent
        assert (parquet_files(root), stored_rows(root)) == before
        if rng.random() < 0.3:
            store.optimize()
            assert leftovers(root) == []
            verify(root, model)
    return counts


def run_trials(
    server: WriterServer, tmp_path: Path, trials: int, seed: int, figures: Figures
) -> None:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for trial in range(trials):
        counts = one_trial(tmp_path / f"s{trial}", server, rng, gen0=10 * trial + 1)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    figures.add("compaction_killed", **totals)


def test_compaction_killed_quick(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_trials(server, tmp_path, 4, seed=1, figures=figures)


@pytest.mark.slow
def test_compaction_killed_torture(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_trials(server, tmp_path, torture_count(200), seed=2, figures=figures)


DOT_VARIABLES_SKIPPED = (
    "hfdata/compact/batch.py log_variables skips log/ directories whose name starts "
    "with '.', "
    "but legal names encode to such directories ('.hidden', '../../etc/passwd' -> "
    "'..%2F..%2Fetc%2Fpasswd'), so their segments are never compacted. Fix: list every "
    "directory whose name decodes to a valid variable name (validate_name(decode_name(d)) "
    "== d), and keep dot-prefixed *temporary* names out by their own pattern"
)


@pytest.mark.parametrize("name", [".hidden", "../../etc/passwd", "..."])
def test_names_starting_with_a_dot_are_compacted(tmp_path: Path, name: str) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append(name, "2026-11-26T00:00:00Z", 1.0)
        store.rotate()
        report = store.compact()
    assert report.rows == 1
    assert log_segments(tmp_path) == []


WRITER_TEMP_LEFT = (
    "hfdata/log/segment.py Segment.__init__ creates a hidden '.<writer>-<seq>.jsonl.active.tmp', "
    "links it to its name, then unlinks it; a writer killed in between leaves the hidden "
    "file forever (nothing removes it: compaction's orphan recovery only looks at "
    "'*.jsonl.active'). Fix: in compact._recover_orphans also unlink '.*.jsonl.active.tmp' "
    "files whose flock is free (a live writer holds the flock from creation to unlink)"
)


def test_a_killed_writers_hidden_temporary_is_removed(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", "2026-11-26T00:00:00Z", 1.0)
        # What a writer killed between os.open and os.unlink leaves (its flock died with it):
        (tmp_path / "log" / "v" / ".20261126T000000000_1_abcdef-000001.jsonl.active.tmp").touch()
        store.compact(include_active=True)
    assert writer_temporaries(tmp_path) == []
