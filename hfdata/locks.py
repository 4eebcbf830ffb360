"""`flock`-based locks on the store's lock files (`.compact.lock`, `.publish.lock`).

`flock` locks belong to an open file description, so they work across processes
and also between two `Store` objects of one process; they vanish when the holder
dies, which is what makes a crashed compactor or reader harmless.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

__all__ = ["COMPACT_LOCK", "PUBLISH_LOCK", "flock", "is_locked"]

COMPACT_LOCK: Final = ".compact.lock"
PUBLISH_LOCK: Final = ".publish.lock"


@contextmanager
def flock(
    path: Path, *, shared: bool = False, wait: bool = True, timeout: float | None = None
) -> Iterator[bool]:
    """Hold an exclusive (or shared) flock on `path` for the block.

    Yields True once held. With `wait=False` (or when `timeout` seconds pass) it
    yields False instead of blocking, and the caller decides what to do.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        held = _acquire(fd, mode, wait=wait, timeout=timeout)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, mode: int, *, wait: bool, timeout: float | None) -> bool:
    if wait and timeout is None:
        fcntl.flock(fd, mode)
        return True
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        if not wait:
            return False
    assert timeout is not None
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        pause.wait(0.01)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            continue
    return False


def is_locked(path: Path) -> bool:
    """True if some process holds an flock on `path` (e.g. a live writer's active segment)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
