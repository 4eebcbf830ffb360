"""Workload 1: single-point append, one point per call, in each durability mode.

Contenders per durability group (the same seeded points for all):

* flush: hfdata ``Store.append`` (``durability="flush"``); hfdata's
  ``HighFrequencyDataStore.store_data_point``; the original module's
  ``store_data_point`` (reimplemented below: open the file in append mode per
  point, ``json.dumps``, write, close); the limit, ``os.write(fd, orjson.dumps(d))``
  per point on an unbuffered ``O_APPEND`` file.
* buffered: hfdata ``durability="buffered"`` (timed up to and including
  ``flush()``) against ``f.write(orjson.dumps(d))`` on a buffered file (up to
  ``f.flush()``).
* fsync: hfdata ``durability="fsync"`` against ``os.write`` + ``os.fsync`` per point
  (few points: each costs a disk round trip).

The bare loops write the lines hfdata writes: since issue 20 (format 3) each line
starts with its call's arrival, ``{"arrived": time.time_ns(), "timestamp": …}``, so a
loop writing the shorter format 2 lines would be doing less than the job it bounds.

Steady state: every contender writes the first point in ``prepare`` (untimed), as the
bare loops open their file there; the timed loop writes the others. For hfdata that
first point is a one-off per variable (it creates ``_schema.json``, fsynced, and the
first segment); the group "first point" times that one-off on its own, against a
bare loop creating, writing and fsyncing one file, so it is shown, not hidden.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

import hfdata
from benchmarks import _data
from benchmarks._harness import Contender, compare, fresh_dir, remove, scratch_dir, target
from hfdata.log.segment import Durability

__all__ = ["OriginalStore", "run"]

VARIABLE = "sensor_temp_celsius"
_OPTS = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
_SOURCE = "issue 2"


class OriginalStore:
    """The original module's ``HighFrequencyDataStore``, as analysed, in a few lines."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        os.makedirs(base_dir, exist_ok=True)

    def _get_file_path(self, variable_name: str) -> str:
        return os.path.join(self.base_dir, f"{variable_name}.jsonl")

    def store_data_point(
        self, variable_name: str, timestamp: Any, value: Any, metadata: Any = None
    ) -> None:
        file_path = self._get_file_path(variable_name)
        data_point = {
            "timestamp": timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp,
            "value": value,
            "metadata": metadata or {},
        }
        with open(file_path, "a") as f:
            f.write(json.dumps(data_point) + "\n")


def _store_contender(
    name: str, durability: Durability, pts: list[_data.Point], work: Path
) -> Contender:
    first, rest = pts[0], pts[1:]

    def prepare() -> tuple[Path, hfdata.Store]:
        root = fresh_dir(work, durability)
        store = hfdata.open_store(root, durability=durability)
        store.append(VARIABLE, *first)  # creates the variable: see the module docstring
        return root, store

    def fn(state: tuple[Path, hfdata.Store]) -> None:
        append = state[1].append
        for ts, value, meta in rest:
            append(VARIABLE, ts, value, meta)
        state[1].flush()

    def cleanup(state: tuple[Path, hfdata.Store]) -> None:
        state[1].close()
        remove(state[0])

    return Contender(name, "hfdata", fn, len(rest), prepare, cleanup)


def _compat_contender(pts: list[_data.Point], work: Path) -> Contender:
    first, rest = pts[0], pts[1:]

    def prepare() -> tuple[Path, hfdata.HighFrequencyDataStore]:
        root = fresh_dir(work, "compat")
        store = hfdata.HighFrequencyDataStore(base_dir=str(root))
        store.store_data_point(VARIABLE, *first)
        return root, store

    def fn(state: tuple[Path, hfdata.HighFrequencyDataStore]) -> None:
        store_data_point = state[1].store_data_point
        for ts, value, meta in rest:
            store_data_point(VARIABLE, ts, value, meta)

    def cleanup(state: tuple[Path, hfdata.HighFrequencyDataStore]) -> None:
        state[1].close()
        remove(state[0])

    return Contender("hfdata HighFrequencyDataStore", "hfdata", fn, len(rest), prepare, cleanup)


def _original_contender(pts: list[_data.Point], work: Path) -> Contender:
    first, rest = pts[0], pts[1:]

    def prepare() -> tuple[Path, OriginalStore]:
        root = fresh_dir(work, "original")
        store = OriginalStore(str(root))
        store.store_data_point(VARIABLE, *first)
        return root, store

    def fn(state: tuple[Path, OriginalStore]) -> None:
        store_data_point = state[1].store_data_point
        for ts, value, meta in rest:
            store_data_point(VARIABLE, ts, value, meta)

    return Contender(
        "original store_data_point", "baseline", fn, len(rest), prepare, lambda s: remove(s[0])
    )


def _line(point: _data.Point) -> bytes:
    """One point as the bare loops write it (for their untimed first point)."""
    ts, value, meta = point
    body: dict[str, Any] = {"arrived": time.time_ns(), "timestamp": ts, "value": value}
    if meta is not None:
        body["metadata"] = meta
    return orjson.dumps(body, option=_OPTS)


def _bare_unbuffered(pts: list[_data.Point], work: Path, *, fsync: bool) -> Contender:
    first, rest = pts[0], pts[1:]

    def prepare() -> tuple[Path, int]:
        root = fresh_dir(work, "bare")
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(root / "bare.jsonl", flags, 0o644)
        os.write(fd, _line(first))
        return root, fd

    def fn(state: tuple[Path, int]) -> None:
        fd = state[1]
        write, dumps, fsync_, clock = os.write, orjson.dumps, os.fsync, time.time_ns
        for ts, value, meta in rest:
            point = (
                {"arrived": clock(), "timestamp": ts, "value": value}
                if meta is None
                else {"arrived": clock(), "timestamp": ts, "value": value, "metadata": meta}
            )
            write(fd, dumps(point, option=_OPTS))
            if fsync:
                fsync_(fd)

    def cleanup(state: tuple[Path, int]) -> None:
        os.close(state[1])
        remove(state[0])

    name = "bare os.write+fsync loop" if fsync else "bare os.write(orjson) loop"
    return Contender(name, "limit", fn, len(rest), prepare, cleanup)


def _bare_buffered(pts: list[_data.Point], work: Path) -> Contender:
    first, rest = pts[0], pts[1:]

    def prepare() -> tuple[Path, Any]:
        root = fresh_dir(work, "bare")
        f = open(root / "bare.jsonl", "ab")  # noqa: SIM115 - closed in cleanup
        f.write(_line(first))
        return root, f

    def fn(state: tuple[Path, Any]) -> None:
        f = state[1]
        write, dumps, clock = f.write, orjson.dumps, time.time_ns
        for ts, value, meta in rest:
            point = (
                {"arrived": clock(), "timestamp": ts, "value": value}
                if meta is None
                else {"arrived": clock(), "timestamp": ts, "value": value, "metadata": meta}
            )
            write(dumps(point, option=_OPTS))
        f.flush()

    def cleanup(state: tuple[Path, Any]) -> None:
        state[1].close()
        remove(state[0])

    return Contender("bare f.write(orjson) buffered", "limit", fn, len(rest), prepare, cleanup)


def _first_point_contenders(pts: list[_data.Point], work: Path) -> list[Contender]:
    """The one-off cost of a new variable, which the steady-state groups leave out."""

    def prepare_store() -> tuple[Path, hfdata.Store]:
        root = fresh_dir(work, "first")
        return root, hfdata.open_store(root)

    def first_append(state: tuple[Path, hfdata.Store]) -> None:
        state[1].append(VARIABLE, *pts[0])

    def close_store(state: tuple[Path, hfdata.Store]) -> None:
        state[1].close()
        remove(state[0])

    def bare_create(root: Path) -> None:
        fd = os.open(root / "bare.jsonl", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, _line(pts[0]))
            os.fsync(fd)
        finally:
            os.close(fd)
        dir_fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    return [
        Contender(
            "hfdata first append to a new variable",
            "hfdata",
            first_append,
            1,
            prepare_store,
            close_store,
        ),
        Contender(
            "bare create+write+fsync file and dir",
            "limit",
            bare_create,
            1,
            lambda: fresh_dir(work, "first-bare"),
            remove,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 1 measurements and the issue 2 targets."""
    n = 10_000 if quick else 20_000
    n_fsync = 50 if quick else 200
    repeats = 3 if quick else 15
    pts = _data.points(n)
    out: list[dict[str, Any]] = []
    with scratch_dir("w1") as work:
        flush_hf = _store_contender("hfdata append (flush)", "flush", pts, work)
        out += compare(
            "1",
            "flush",
            [
                flush_hf,
                _bare_unbuffered(pts, work, fsync=False),
                _original_contender(pts, work),
                _compat_contender(pts, work),
            ],
            repeats=repeats,
        )
        out += compare(
            "1",
            "buffered",
            [
                _store_contender("hfdata append (buffered)", "buffered", pts, work),
                _bare_buffered(pts, work),
            ],
            repeats=repeats,
        )
        out += compare(
            "1", "first point", _first_point_contenders(pts, work), repeats=repeats, unit="points"
        )
        few = pts[:n_fsync]
        out += compare(
            "1",
            "fsync",
            [
                _store_contender("hfdata append (fsync)", "fsync", few, work),
                _bare_unbuffered(few, work, fsync=True),
            ],
            repeats=repeats,
        )
    out += [
        target(
            "1",
            "flush",
            "append (flush) vs bare unbuffered orjson+write loop",
            subject="hfdata append (flush)",
            reference="bare os.write(orjson) loop",
            minimum=0.7,
            aim=0.9,
            source=_SOURCE,
        ),
        target(
            "1",
            "flush",
            "append (flush) vs the original module",
            subject="hfdata append (flush)",
            reference="original store_data_point",
            minimum=5.0,
            source=_SOURCE,
        ),
        target(
            "1",
            "buffered",
            "append (buffered) vs bare buffered orjson+write loop",
            subject="hfdata append (buffered)",
            reference="bare f.write(orjson) buffered",
            minimum=0.6,
            aim=0.8,
            source=_SOURCE,
        ),
    ]
    return out
