"""One writer's segment table: per variable, its kind, its buffered lines and its open segment.

A `LogWriter` keeps one `VariableLog` per variable it has written. Each holds the
variable's kind (read from `_schema.json` once, then cached), what `buffered` mode
holds and has not yet written, and at most one open `Segment`. A buffered point is
kept in one of two places: the lock-free append records the common point as a dict
in `points` (encoded in bulk, `lineformat.encode_points`, when it is written out);
every other buffered line is encoded at once into `pending`. `pending` always holds
older lines than `points`: it changes only under the writer's lock, and `points` is
encoded onto its end before anything else is added to it. The
`SegmentTable` opens, rotates and closes those segments, keeps at most `max_open`
of them open (the least recently used is closed first) and writes out buffered lines
before a segment closes, so no point is ever left behind a rotation.

Nothing here takes a lock: the writer calls the table with its lock held. A failed
write or fsync closes the segment as untrusted and raises `DurabilityError`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from hfdata.errors import DurabilityError, SchemaMismatch
from hfdata.kinds import KINDS, Kind
from hfdata.log.lineformat import encode_points
from hfdata.log.schema import load_schema, store_schema
from hfdata.log.segment import BUFFER_LIMIT, BUFFER_POINTS, LogPolicy, Segment

__all__ = ["SegmentTable", "VariableLog"]


class VariableLog:
    """What one writer holds for one variable: kind, buffered lines, open segment."""

    __slots__ = ("directory", "fast", "kind", "name", "pending", "points", "segment", "seq")

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        self.kind: Kind | None = load_schema(directory)
        self.segment: Segment | None = None
        self.pending = bytearray()  # `buffered` mode: lines not yet written
        # `buffered` mode: points the lock-free append recorded after `pending`'s lines,
        # not yet encoded (see the module docstring). Only appended to without the lock.
        self.points: list[dict[str, Any]] = []
        self.seq = 0  # the number of this writer's last segment of the variable
        # True while the writer's append may take its shortest path for this variable:
        # float values, an open segment, and a durability mode that allows it.
        self.fast = False

    def check_kind(self, kind: Kind | None) -> None:
        """Refuse a `kind=` argument that is unknown or differs from the variable's kind."""
        if kind is None:
            return
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if self.kind is not None and self.kind != kind:
            raise SchemaMismatch(
                f"variable {self.name!r} already holds {self.kind} values; cannot use kind={kind!r}"
            )

    def fix_kind(self, kind: Kind) -> None:
        """Record `kind` in `_schema.json`, unless the variable has a kind already (another
        writer's may have won the race: it is adopted). `SchemaMismatch` if it differs."""
        if self.kind is None:
            self.kind = load_schema(self.directory) or store_schema(self.directory, kind)
        self.check_kind(kind)


class SegmentTable:
    """Every variable one writer has seen, and the open segments among them."""

    def __init__(
        self,
        writer_id: str,
        policy: LogPolicy,
        max_open: int,
        *,
        fast_path: bool,
        before_open: Callable[[], None],
    ) -> None:
        """`fast_path`: float variables with an open segment are marked `fast`.
        `before_open` runs before a segment opens, except while the writer closes; it
        raises when no segment may open (the store is closed, a background write failed).
        """
        self.writer_id = writer_id
        self.policy = policy
        self.variables: dict[str, VariableLog] = {}
        self._open: dict[str, VariableLog] = {}
        self._max_open = max_open
        self._fast_path = fast_path
        self._before_open = before_open

    def open_variables(self) -> Iterator[VariableLog]:
        """The variables that have an open segment (a snapshot: the table may change)."""
        return iter(list(self._open.values()))

    # -- opening and closing segments ---------------------------------------------------------
    def open_segment(self, var: VariableLog, *, closing: bool = False) -> Segment:
        """A new segment for the variable, closing the least recently used one if too
        many are open. `closing`: the writer is closing and writes out what it buffered."""
        if not closing:
            self._before_open()
        if len(self._open) >= self._max_open:
            oldest = min(self._open.values(), key=lambda v: v.segment.last_used if v.segment else 0)
            self.close_segment(oldest)
        while True:
            var.seq += 1
            try:
                segment = Segment(var.directory, self.writer_id, var.seq, self.policy)
                break
            except (FileExistsError, FileNotFoundError):
                # The name is taken, or a compactor removed our temporary as a dead
                # writer's in the instant before we locked it: take the next number.
                continue
        var.segment = segment
        self._open[var.name] = var
        var.fast = self._fast_path and var.kind == "float"
        return segment

    def close_segment(self, var: VariableLog, *, failed: bool = False) -> None:
        """Close the variable's segment, its buffered lines written first unless `failed`
        (after a failed write or fsync nothing more goes into it)."""
        if not failed and var.segment is not None:
            self.drain(var, rotate=False)
        segment, var.segment = var.segment, None
        self._open.pop(var.name, None)
        var.fast = False
        if segment is not None:
            segment.close(failed=failed)

    def close_with_pending(self, var: VariableLog, *, closing: bool = False) -> None:
        """Close the variable's segment with every buffered line in it, opening one if
        lines arrived after its last segment closed."""
        self.drain(var, rotate=False, closing=closing)
        if var.segment is not None:
            self.close_segment(var)

    def forget(self, name: str) -> None:
        """Close a variable's segment and drop its state (before the variable is dropped)."""
        var = self.variables.pop(name, None)
        if var is not None and var.segment is not None:
            self.close_segment(var)

    # -- writing ------------------------------------------------------------------------------
    def write_line(self, var: VariableLog, line: bytes) -> None:
        """Write one line now (`flush` and `fsync` modes), opening a segment if needed."""
        segment = var.segment or self.open_segment(var)
        segment.size += len(line)
        try:
            written = os.write(segment.fd, line)
        except OSError as exc:
            raise self.write_failed(var, segment, exc) from exc
        self.after_write(var, segment, line, written)

    def after_write(self, var: VariableLog, segment: Segment, line: bytes, written: int) -> None:
        """Finish one line's `os.write` (its size already counted in `segment.size`): what
        a short write left, the fsync of `fsync` mode, rotation by size."""
        if written != len(line) or self.policy.durability == "fsync":
            try:
                segment.finish_write(line)
            except DurabilityError:
                self.close_segment(var, failed=True)
                raise
        if segment.size >= self.policy.max_segment_bytes:  # age: see `rotate_due`
            self.close_segment(var)

    def write_failed(self, var: VariableLog, segment: Segment, exc: OSError) -> DurabilityError:
        """Close the segment as untrusted after a failed write; the error to raise."""
        self.close_segment(var, failed=True)
        return segment.write_error(exc)

    def buffer(self, var: VariableLog, line: bytes) -> None:
        """Buffer one line (`buffered` mode) after the points recorded before it, writing
        the buffer out once it is full."""
        if var.segment is None:
            self.open_segment(var)  # its errors belong to the append that buffers
        self._encode_points(var)
        var.pending += line
        if len(var.pending) >= BUFFER_LIMIT:
            self.drain(var)

    @staticmethod
    def _take_points(var: VariableLog) -> list[dict[str, Any]]:
        """The recorded points, removed from `points`."""
        points = var.points
        count = len(points)
        taken = points[:count]
        del points[:count]  # only what was taken: lock-free appends may follow
        return taken

    def _encode_points(self, var: VariableLog) -> None:
        """Move the recorded points, encoded, onto the end of `pending`."""
        if var.points:
            var.pending += encode_points(self._take_points(var))

    def full(self, var: VariableLog) -> bool:
        """The variable's buffer holds as much as it may (`BUFFER_POINTS`, `BUFFER_LIMIT`)."""
        return len(var.points) >= BUFFER_POINTS or len(var.pending) >= BUFFER_LIMIT

    def drain(self, var: VariableLog, *, rotate: bool = True, closing: bool = False) -> None:
        """Write out a variable's buffered lines, opening a segment if it has none; then
        rotate the segment if it is due. A failed write closes the segment as untrusted
        and raises: those points are lost, and said so."""
        pending = var.pending
        if not pending and not var.points:
            return
        segment = var.segment or self.open_segment(var, closing=closing)
        if pending:
            self._encode_points(var)
            data = bytes(pending)
            pending.clear()  # `pending` changes only under the writer's lock
        else:  # the common case: only recorded points, written as they are encoded
            data = encode_points(self._take_points(var))
        self.write_then_rotate(var, segment, partial(segment.write, data), rotate=rotate)

    def write_then_rotate(
        self, var: VariableLog, segment: Segment, write: Callable[[], None], *, rotate: bool = True
    ) -> None:
        """Run one write on the segment: a failure closes the segment as untrusted and
        re-raises; afterwards the segment rotates if it is due."""
        try:
            write()
        except DurabilityError:
            self.close_segment(var, failed=True)
            raise
        now = time.monotonic()
        segment.last_used = now
        if rotate and segment.needs_rotation(now):
            self.close_segment(var)

    def flush_all(self, *, sync: bool) -> None:
        """Write out every buffered line; with `sync`, fsync every segment written since
        its last fsync."""
        for var in list(self.variables.values()):
            self.drain(var, rotate=False)
            segment = var.segment
            if sync and segment is not None and segment.dirty:
                try:
                    segment.sync()
                except DurabilityError:
                    self.close_segment(var, failed=True)
                    raise

    def rotate_due(self, now: float) -> None:
        """Advance the least-recently-used clock and close segments due by age or size.

        A segment counts as used when bytes reached it since the last call, so the
        append path itself never reads the clock.
        """
        for var in self.open_variables():
            segment = var.segment
            if segment is None:
                continue
            if segment.size != segment.seen:
                segment.seen = segment.size
                segment.last_used = now
            if segment.needs_rotation(now):
                self.close_segment(var)
