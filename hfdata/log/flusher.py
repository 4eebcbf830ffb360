"""The log writer's background thread: buffered lines out, group commits, rotation by age.

Each round, under the writer's lock, it writes out what `buffered` mode holds, fsyncs
the segments written since the last group commit once `fsync_interval` has passed,
and closes segments that are too old (`max_segment_age`). It also keeps the clock of
the open-segment LRU, so the append path never reads a clock. A write that fails
here has no caller to raise to: the error is kept, and the writer raises it at the
next append that opens a segment, `flush()` or `close()`.
"""

from __future__ import annotations

import errno
import threading
import time

from hfdata.errors import DurabilityError
from hfdata.log.mutex import Mutex
from hfdata.log.segments import SegmentTable

__all__ = ["Flusher"]


class Flusher(threading.Thread):
    """Runs `run_once` every `min(flush_interval, fsync_interval, max_segment_age)` seconds
    until `halt()`. A daemon thread: it never keeps the interpreter alive."""

    def __init__(
        self,
        table: SegmentTable,
        lock: Mutex,
        *,
        name: str,
        flush_interval: float,
        fsync_interval: float | None,
        max_segment_age: float,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._table = table
        self._lock = lock
        self._fsync_interval = fsync_interval
        self._period = min(
            x for x in (flush_interval, fsync_interval, max_segment_age) if x is not None
        )
        self._halted = threading.Event()
        self._last_group_sync = time.monotonic()
        self._error: DurabilityError | None = None

    def run(self) -> None:
        while not self._halted.wait(self._period):
            self.run_once()

    def halt(self) -> None:
        """No round starts after this returns (call it with the writer's lock held, so a
        round in progress finishes first)."""
        self._halted.set()

    def take_error(self) -> DurabilityError | None:
        """The error of a failed round, once; None if there was none since the last call."""
        error, self._error = self._error, None
        return error

    def run_once(self) -> None:
        """One round: write out, group-commit when due, rotate old segments."""
        with self._lock:
            if self._halted.is_set():
                return
            now = time.monotonic()
            interval = self._fsync_interval
            sync = interval is not None and now - self._last_group_sync >= interval
            try:
                self._table.flush_all(sync=sync)
            except DurabilityError as exc:
                # flush_all closed the failing segment; its unwritten points are lost.
                self._error = exc
            except OSError as exc:  # no new segment could be opened: nothing was taken
                self._error = DurabilityError(
                    exc.errno or errno.EIO,
                    f"opening a new log segment failed ({exc.strerror}); buffered points "
                    "stay in memory and are written once a segment opens",
                )
            if sync:
                self._last_group_sync = now
            self._table.rotate_due(now)
