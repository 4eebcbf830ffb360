"""Trial family 6: disk full and I/O errors reach the caller typed, and lose nothing acked.

Injected: `os` in the write-path modules is replaced by a proxy whose
`write` or `fsync` fails with ENOSPC, EIO or EDQUOT at a chosen call, once
(transient) or from then on (disk full), sometimes after a short write of part of
the data (what a filling disk does first). The writer follows a mixed plan in
`flush`, `fsync` and `buffered` mode, with and without group commit. Every error
out of the store must be a `DurabilityError`; afterwards every acknowledged point
is in the log exactly once, every complete line parses, and the store reopens
and takes new points.

Real: a 256 KiB tmpfs (needs root and mount; skipped otherwise) filled by a
writer until the kernel says ENOSPC.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import subprocess
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hfdata
from hfdata.errors import DurabilityError
from hfdata.layout import SCHEMA_FILE, log_dir
from hfdata.log.schema import load_schema

from .conftest import Figures
from .model import (
    Model,
    apply_op,
    check_against_model,
    make_plan,
    op_table,
    os_replaced,
    point_ns,
    scan_log,
    torture_count,
    writer_of,
)

ERRNOS = (errno.ENOSPC, errno.EIO, errno.EDQUOT)


class Faults:
    """An `os` stand-in whose write/fsync fail on cue (in chosen threads only)."""

    def __init__(
        self,
        *,
        target: str,
        at: int,
        err: int,
        persistent: bool,
        short: bool,
        thread: int | None,
        rng: random.Random,
    ) -> None:
        self.target, self.at, self.err = target, at, err
        self.persistent, self.short, self.thread, self.rng = persistent, short, thread, rng
        self.calls = 0
        self.raised = 0
        self.short_schema = True  # short writes of _schema.json too (SCHEMA_SHORT_WRITE, fixed)
        self.fired = threading.Event()
        self.os = types.SimpleNamespace(
            **{k: getattr(os, k) for k in dir(os) if not k.startswith("__")}
        )
        self.os.write = self.write
        self.os.fsync = self.fsync
        self.os.fdopen = self.fdopen

    def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> Any:
        """Batches are streamed through a raw file object: its writes can fail too."""
        return FaultyFile(os.fdopen(fd, *args, **kwargs), self)

    def _due(self, name: str) -> bool:
        if name != self.target:
            return False
        if self.thread is not None and threading.get_ident() != self.thread:
            return False
        n = self.calls
        self.calls += 1
        return n == self.at or (self.persistent and n > self.at)

    def _fail(self) -> OSError:
        self.raised += 1
        self.fired.set()
        return OSError(self.err, os.strerror(self.err))

    def write(self, fd: int, data: Any) -> int:
        if self._due("write"):
            schema = SCHEMA_FILE in os.readlink(f"/proc/self/fd/{fd}")
            if (
                self.short
                and self.raised == 0
                and len(data) > 1
                and (self.short_schema or not schema)
            ):
                self.raised += 1
                return os.write(fd, memoryview(data)[: self.rng.randint(1, len(data) - 1)])
            raise self._fail()
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        if self._due("fsync"):
            raise self._fail()
        os.fsync(fd)


class FaultyFile:
    """A raw file whose `write` consults the same schedule as `Faults.write`."""

    def __init__(self, raw: Any, faults: Faults) -> None:
        self.raw, self.faults = raw, faults

    def write(self, data: Any) -> int:
        faults = self.faults
        if faults._due("write"):
            if faults.short and faults.raised == 0 and len(data) > 1:
                faults.raised += 1
                return int(self.raw.write(memoryview(data)[: faults.rng.randint(1, len(data) - 1)]))
            raise faults._fail()
        return int(self.raw.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def __enter__(self) -> FaultyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


@contextlib.contextmanager
def installed(faults: Faults) -> Iterator[None]:
    with os_replaced(faults.os):
        yield


CONFIGS: list[dict[str, Any]] = [
    {"durability": "flush"},
    {"durability": "fsync"},
    {"durability": "buffered"},
    {"durability": "flush", "fsync_interval": 3600.0},
    {"durability": "buffered", "fsync_interval": 3600.0},
]


def one_trial(root: Path, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    options = dict(rng.choice(CONFIGS))
    options["max_segment_bytes"] = rng.choice([300, 1024, 4096])
    options["max_open_segments"] = rng.choice([1, 2, 256])  # LRU closes segments often
    target = "fsync" if options["durability"] == "fsync" and rng.random() < 0.5 else "write"
    if options.get("fsync_interval") and rng.random() < 0.5:
        target = "fsync"
    faults = Faults(
        target=target,
        at=rng.randint(0, 60),
        err=rng.choice(ERRNOS),
        persistent=rng.random() < 0.5,
        short=target == "write" and rng.random() < 0.3,
        thread=threading.get_ident(),
        rng=rng,
    )
    buffered = options["durability"] == "buffered"
    model = Model()
    errors = untyped = 0
    details: list[str] = []
    pending: list[tuple[str, list[float]]] = []
    with installed(faults):
        store = hfdata.open_store(root, **options)
        for i, op in enumerate(make_plan(rng.randrange(1 << 30), 1, 150)):
            if op.ids:
                model.attempt(op.variable, list(op.ids))
            try:
                apply_op(store, op, i)
            except DurabilityError:
                errors += 1
                pending.clear()  # never acknowledged
                continue
            except Exception as exc:
                untyped += 1
                details.append(f"{op.kind}: {type(exc).__name__}: {exc}")
                pending.clear()
                continue
            if op.ids:
                pending.append((op.variable, list(op.ids)))
            if not buffered or op.kind in ("flush", "rotate"):
                for var, ids in pending:
                    model.ack(var, ids)
                pending.clear()
        try:
            store.close()
        except DurabilityError:
            errors += 1
    extra = 999_999.0
    with hfdata.open_store(root) as again:  # reopens cleanly and takes new points
        again.append("temp", hfdata_ts(extra), extra)
    model.attempt("temp", [extra])
    model.ack("temp", [extra])
    scan = scan_log(root)
    found = {var: [(ns, value) for _, ns, value, _ in rows] for var, rows in scan.rows.items()}
    verdict = check_against_model(found, model)
    leftovers = [p for p in root.rglob("*.tmp")]
    assert untyped == 0, details
    assert verdict.ok, verdict.details[:5]
    assert scan.bad == [], scan.bad[:3]
    assert leftovers == []
    return {
        "trials": 1,
        "faults_injected": faults.raised,
        "typed_errors_raised": errors,
        "untyped_errors_raised": untyped,
        "acknowledged_points_checked": model.acked_count(),
        "acknowledged_points_lost": verdict.lost,
        "doubled": verdict.doubled,
        "bad_lines_visible": len(scan.bad),
        "torn_tails_in_failed_segments_skipped": len(scan.torn_closed) + len(scan.torn_active),
        "unacknowledged_points_visible": verdict.rows - model.acked_count(),
    }


def hfdata_ts(point_id: float) -> str:
    from hfdata.timeparse import format_ns

    return format_ns(point_ns(point_id))


def run_trials(tmp_path: Path, trials: int, seed: int, figures: Figures) -> None:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for trial in range(trials):
        counts = one_trial(tmp_path / f"t{trial}", rng.randrange(1 << 30))
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    figures.add("disk_full_injected", **totals)
    assert totals["faults_injected"] > 0


def test_injected_io_errors_quick(tmp_path: Path, figures: Figures) -> None:
    run_trials(tmp_path, 10, seed=1, figures=figures)


@pytest.mark.slow
def test_injected_io_errors_torture(tmp_path: Path, figures: Figures) -> None:
    run_trials(tmp_path, torture_count(500), seed=2, figures=figures)


FLUSHER_ERROR_SWALLOWED = (
    "hfdata/store.py Store._flush_loop suppresses the DurabilityError of a background "
    "write/fsync and _flush_all closes the segment, dropping its buffered lines; the next "
    "flush() finds nothing to do and returns normally, so points it should have made "
    "durable are lost without an error (the comment says 'the next append reports it'; "
    "nothing does)"
)


@pytest.mark.parametrize("mode", ["buffered", "group-commit"])
def test_background_flush_failure_reaches_the_next_flush(tmp_path: Path, mode: str) -> None:
    options: dict[str, Any] = (
        {"durability": "buffered", "flush_interval": 0.001}
        if mode == "buffered"
        else {"durability": "flush", "fsync_interval": 0.001}
    )
    store = hfdata.open_store(tmp_path, **options)
    writer = writer_of(store)
    assert writer._flusher is not None
    faults = Faults(
        target="write" if mode == "buffered" else "fsync",
        at=0,
        err=errno.EIO,
        persistent=False,
        short=False,
        thread=writer._flusher.ident,  # only the background thread fails
        rng=random.Random(0),
    )
    try:
        with installed(faults):
            store.append("temp", "2026-11-26T00:00:00Z", 1.0)
            faults.fired.wait()  # the flusher thread hit the error ...
            with writer._lock:  # ... and has finished handling it
                pass
            with pytest.raises(DurabilityError):
                store.flush()  # the point did not become durable: say so
    finally:
        store.close()


SCHEMA_ERROR_UNTYPED = (
    "hfdata/log/schema.py store_schema: a failing write of _schema.json (ENOSPC, EIO) escapes as "
    "a bare OSError, not DurabilityError, and its temporary ._schema.json.*.tmp is left "
    "behind because tmp.write_bytes runs outside the try/finally that unlinks it"
)


@pytest.mark.parametrize("target", ["write", "fsync"])
def test_disk_full_on_a_new_variable_is_typed_and_leaves_no_temp(
    tmp_path: Path, target: str
) -> None:
    store = hfdata.open_store(tmp_path)
    faults = Faults(
        target=target,
        at=0,
        err=errno.ENOSPC,
        persistent=True,
        short=False,
        thread=threading.get_ident(),
        rng=random.Random(0),
    )
    try:
        with installed(faults), pytest.raises(DurabilityError) as caught:
            store.append("fresh", "2026-11-26T00:00:00Z", 1.0)  # _schema.json fails first
        assert caught.value.errno == errno.ENOSPC
    finally:
        store.close()
    assert list(tmp_path.rglob("*.tmp")) == []
    with hfdata.open_store(tmp_path) as again:  # room again: the variable starts cleanly
        again.append("fresh", "2026-11-26T00:00:00Z", 1.0)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_real_disk_full(small_fs: Path, figures: Figures) -> None:
    root = small_fs / "store"
    model = Model()
    variables = ["temp", "room a/humidity"]
    with hfdata.open_store(root, max_segment_bytes=16_384) as store:
        for var in variables:  # fix the kinds while there is room
            store.append(var, hfdata_ts(0.0), 0.0)
            model.attempt(var, [0.0])
            model.ack(var, [0.0])
        errors: list[BaseException] = []
        i = 2
        while len(errors) < 5:
            var = variables[i % 2]
            model.attempt(var, [float(i)])
            try:
                store.append(var, hfdata_ts(float(i)), float(i))
            except Exception as exc:
                errors.append(exc)
            else:
                model.ack(var, [float(i)])
            i += 1
    assert all(isinstance(e, DurabilityError) for e in errors), errors
    assert {e.errno for e in errors if isinstance(e, OSError)} == {errno.ENOSPC}
    scan = scan_log(root)
    assert scan.bad == []
    found = {var: [(ns, value) for _, ns, value, _ in rows] for var, rows in scan.rows.items()}
    verdict = check_against_model(found, model)
    assert verdict.lost == 0 and verdict.doubled == 0, verdict.details[:5]
    # Free some space: the store reopens and takes points again.
    biggest = max((p for p in root.rglob("*.jsonl")), key=lambda p: p.stat().st_size, default=None)
    assert biggest is not None
    moved = small_fs.parent / "freed.jsonl"
    moved.write_bytes(biggest.read_bytes())
    biggest.unlink()
    with hfdata.open_store(root) as store:
        store.append("temp", hfdata_ts(float(i)), float(i))
    figures.add(
        "disk_full_real_tmpfs",
        trials=1,
        acknowledged_points=model.acked_count(),
        typed_errors=len(errors),
        lost=verdict.lost,
    )


BATCH_ERRNO_LOST = (
    "hfdata/log/segment.py Segment.write_frame: polars re-raises the file's OSError(ENOSPC) "
    "as a bare "
    "OSError without errno/strerror (the errno only survives in its message), so write_error "
    "reports every failed append_many as EIO with reason 'None'; a caller cannot tell a full "
    "disk from a failing one. Fix: write through a small wrapper that remembers the first "
    "OSError its write() raised and report that one"
)


def test_a_full_disk_during_append_many_reports_enospc(tmp_path: Path) -> None:
    faults = Faults(
        target="write",
        at=0,
        err=errno.ENOSPC,
        persistent=True,
        short=False,
        thread=None,
        rng=random.Random(0),
    )
    store = hfdata.open_store(tmp_path)
    try:
        with installed(faults), pytest.raises(DurabilityError) as caught:
            store.append_many("v", op_table((1.0, 2.0, 3.0)))
    finally:
        store.close()
    assert caught.value.errno == errno.ENOSPC
    assert "None" not in str(caught.value)


SCHEMA_SHORT_WRITE = (
    "hfdata/log/schema.py store_schema ignores the count os.write returns: a short write (what "
    "a filling disk does first) links a truncated _schema.json into place, and from then on "
    "load_schema raises orjson.JSONDecodeError on every open/append/compact of that "
    "variable. Fix: loop until every byte is written (as Segment._write_out does) or raise "
    "DurabilityError; and make load_schema raise a typed error naming the file if it is "
    "ever unreadable"
)


def test_a_short_write_never_leaves_a_truncated_schema(tmp_path: Path) -> None:
    store = hfdata.open_store(tmp_path)
    faults = Faults(
        target="write",
        at=0,
        err=errno.ENOSPC,
        persistent=False,  # the disk recovers at once: a short write, then room again
        short=True,
        thread=threading.get_ident(),
        rng=random.Random(0),
    )
    faults.short_schema = True
    try:
        with installed(faults), contextlib.suppress(DurabilityError):
            store.append("fresh", "2026-11-26T00:00:00Z", 1.0)
    finally:
        store.close()
    assert load_schema(log_dir(tmp_path, "fresh")) in (None, "float")
