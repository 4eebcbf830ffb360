"""Trial family 4: writers, a compactor, an optimizer and readers, all at once.

Four writer processes with two threads each append their own ids (single points
and batches of ten, rotating often) to three overlapping variables and log each
acknowledged id to a file. Meanwhile one process compacts in a loop, one
optimizes in a loop and two read every variable in a loop, checking that a
variable's row count never goes down and that no value appears twice in one
read. All processes are fork-server children, coordinated by reaping and a stop
file, never by sleeping. At the end a final compaction and read must hold every
acknowledged id exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import hfdata

from .conftest import Figures, WriterServer
from .model import FULL, point_ns

VARIABLES = ["shared a", "shared/b", "ünï c"]


def run_round(server: WriterServer, root: Path, steps: int, rounds_seed: int) -> dict[str, int]:
    work = root.parent / f"{root.name}-work"
    work.mkdir()
    stop = work / "stop"
    writers, others = [], []
    for p in range(4):
        reply = server.run(
            action="spawn",
            role="writer",
            root=str(root),
            gen=rounds_seed * 100 + p * 2 + 1,
            steps=steps,
            variables=VARIABLES,
            max_segment_bytes=3000,
            ack_file=str(work / f"acks{p}"),
            error_file=str(work / f"error-writer{p}"),
        )
        writers.append(reply["pid"])
    for name, role in [
        ("compactor", "compactor"),
        ("optimizer", "optimizer"),
        ("reader0", "reader"),
        ("reader1", "reader"),
    ]:
        reply = server.run(
            action="spawn",
            role=role,
            root=str(root),
            stop=str(stop),
            variables=VARIABLES,
            out=str(work / f"{name}.json"),
            error_file=str(work / f"error-{name}"),
        )
        others.append(reply["pid"])
    statuses = [server.run(action="reap", pid=pid) for pid in writers]
    stop.touch()
    statuses += [server.run(action="reap", pid=pid) for pid in others]
    errors = {p.name: p.read_text() for p in work.glob("error-*")}
    assert errors == {}, errors
    assert all(s["ok"] for s in statuses), statuses
    acked: dict[str, Counter[float]] = {}
    for path in work.glob("acks*"):
        for line in path.read_text().splitlines():
            var, value = line.split("\t")
            acked.setdefault(var, Counter())[float(value)] += 1
    readers = [json.loads((work / f"reader{i}.json").read_text()) for i in range(2)]
    runs = {
        n: json.loads((work / f"{n}.json").read_text())["runs"] for n in ("compactor", "optimizer")
    }
    with hfdata.open_store(root) as store:
        store.compact()
        lost = doubled = unknown = rows = 0
        for var in VARIABLES:
            frame = store.read(var)
            rows += len(frame)
            seen = Counter(frame["value"].tolist())
            expected = acked.get(var, Counter())
            lost += sum(1 for v in expected if v not in seen)
            doubled += sum(n - 1 for n in seen.values() if n > 1)
            unknown += sum(1 for v in seen if v not in expected)
            stamps = frame.index.asi8 if hasattr(frame.index, "asi8") else []
            assert all(int(ts) == point_ns(v) for ts, v in zip(stamps, frame["value"], strict=True))
    figures = {
        "rounds": 1,
        "writer_processes": 4,
        "writer_threads": 8,
        "acknowledged_points": sum(sum(c.values()) for c in acked.values()),
        "rows_read_at_end": rows,
        "lost": lost,
        "doubled": doubled,
        "unknown": unknown,
        "compactions_during_writes": runs["compactor"],
        "optimizes_during_writes": runs["optimizer"],
        "reads_during_writes": sum(r["reads"] for r in readers),
        "reader_count_went_down": sum(r["count_went_down"] for r in readers),
        "reader_saw_a_point_twice": sum(r["doubled_in_a_read"] for r in readers),
    }
    details = [d for r in readers for d in r["details"]]
    assert lost == doubled == unknown == 0, figures
    assert figures["reader_count_went_down"] == 0, details
    assert figures["reader_saw_a_point_twice"] == 0, details
    return figures


def run_rounds(
    server: WriterServer, tmp_path: Path, rounds: int, steps: int, figures: Figures
) -> None:
    for r in range(rounds):
        figures.add("concurrency", **run_round(server, tmp_path / f"store{r}", steps, r + 1))


def test_concurrency_quick(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_rounds(server, tmp_path, 1, 150, figures)


@pytest.mark.slow
def test_concurrency_torture(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_rounds(server, tmp_path, 10 if FULL else 2, 1500 if FULL else 500, figures)
