"""Recovery: what a crash or a killed writer leaves behind, put right before any job runs.

Every compaction job starts under `.compact.lock` with step 7 of docs/contracts.md,
"Compaction protocol" (leftover journals rolled forward or back) and the sweep of an
interrupted drop's trash; `open_store` does the same when no compaction is running.
Step 2 closes the `.active` segments of dead writers, their torn tail quarantined.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from hfdata.compact.journal import recover_all
from hfdata.compact.quarantine import quarantine_dir, write_quarantine
from hfdata.durable import fsync_dir
from hfdata.errors import CompactionInProgress
from hfdata.kinds import KINDS
from hfdata.layout import (
    PARQUET_DIR,
    encoded_log_dir,
    is_trash,
    journal_dir,
    kind_folder,
    log_root,
    quarantine_root,
)
from hfdata.locks import COMPACT_LOCK, flock
from hfdata.log.parse import BadLine
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.tombstones import TOMBSTONES_DIR

__all__ = ["compact_lock", "recover", "recover_orphans", "sweep_trash"]


@contextlib.contextmanager
def compact_lock(root: Path, wait: bool, parts: PartsRoot) -> Iterator[None]:
    with flock(root / COMPACT_LOCK, wait=wait) as held:
        if not held:
            raise CompactionInProgress(
                f"another compaction of {root} is running; call again with wait=True to "
                "wait for it, or try later"
            )
        recover_all(root, parts)
        sweep_trash(root)
        parts.sweep_sidecars()
        yield


def recover(root: Path, parts: PartsRoot) -> None:
    """Roll leftover journals forward or back, unless a compaction is running right now.

    Called by `open_store`; a running compactor recovers at its own start.
    """
    if not journal_dir(root).is_dir() and not quarantine_root(root).is_dir():
        return
    with flock(root / COMPACT_LOCK, wait=False) as held:
        if held:
            recover_all(root, parts)
            sweep_trash(root)
            parts.sweep_sidecars()


def _trash(root: Path) -> list[Path]:
    found: list[Path] = []
    parquet = root / PARQUET_DIR
    kinds = [parquet / kind_folder(kind) for kind in KINDS]
    tombstones = parquet / TOMBSTONES_DIR
    for parent in (parquet, *kinds, tombstones, log_root(root), quarantine_root(root)):
        if parent.is_dir():
            found.extend(p for p in parent.iterdir() if is_trash(p.name))
    return found


def sweep_trash(root: Path) -> None:
    """Finish interrupted drops; remove quarantine temporaries (only the lock holder writes)."""
    for path in _trash(root):
        shutil.rmtree(path, ignore_errors=True)
    quarantine = quarantine_root(root)
    if quarantine.is_dir():
        for stray in quarantine.glob("*/.*.tmp"):
            stray.unlink(missing_ok=True)


def recover_orphans(root: Path, encoded: str) -> int:
    """Step 2: close `.active` segments whose writer is dead; returns lines quarantined."""
    directory = encoded_log_dir(root, encoded)
    _remove_dead_temporaries(directory)
    cut = 0
    for path in sorted(directory.glob("*.jsonl.active")):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # its writer closed it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue
            except FileNotFoundError:
                continue
            cut += _close_orphan(root, encoded, path, fd)
        finally:
            os.close(fd)
    return cut


def _remove_dead_temporaries(directory: Path) -> None:
    """Remove hidden `.<segment>.jsonl.active.tmp` files of writers killed while creating
    a segment. A live writer holds the file's flock from creation until it removes the
    name itself, so a free flock means a dead writer; the file holds no data (writing
    starts after the segment is linked to its real name)."""
    for path in sorted(directory.glob(".*.jsonl.active.tmp")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its writer is alive and about to publish it
        else:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)


def _close_orphan(root: Path, encoded: str, path: Path, fd: int) -> int:
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    end = data.rfind(b"\n") + 1
    closed = path.with_name(path.name.removesuffix(".active"))
    cut = 0
    if end < size:
        reason = "torn last line (no newline) of a dead writer's segment; cut at recovery"
        torn = BadLine(str(path), end, data[end:], reason)
        target = quarantine_dir(root, encoded) / f"{closed.name.removesuffix('.jsonl')}.torn.jsonl"
        cut = write_quarantine(target, [torn], root)
        os.ftruncate(fd, end)
        os.fsync(fd)
    if end == 0:
        path.unlink()
    else:
        os.rename(path, closed)
    fsync_dir(path.parent)
    return cut
