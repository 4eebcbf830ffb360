"""The append side of a store: points and batches checked, turned into lines, written durably.

A `LogWriter` owns one writer id, a `SegmentTable` (per variable: kind, buffered
lines, at most one open segment) and a `Flusher` thread. One lock serialises writes,
so a writer may be shared by threads; other processes get their own writer id and
so their own segments.

`append` is the hot path of the whole package, written for it, one method per mode
(bound once, so no call tests the mode): the common point (a UTC `datetime`, a finite
float, a float variable with an open segment) is turned into its line and written in
one pass, or in `buffered` mode recorded as a small dict that is encoded in bulk with
the rest of the buffer when it is written out (`lineformat.encode_points`: one orjson
call for thousands of points instead of one each); anything else goes to
`_append_checked`, which checks the point completely and fixes a new variable's kind.
Both produce the same bytes and refuse the same points (a property test holds them to
it).

Every call reads the clock once (`time.time_ns()`), before it writes anything: a point
line starts with it (`{"arrived":<ns>,…`), a batch's runs are each preceded by a
marker line holding it, a tombstone line records it (docs/contracts.md, "Log line
format").
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
import weakref
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, Protocol

import orjson

from hfdata.errors import InvalidMetadata, StoreClosed
from hfdata.kinds import (
    METADATA_OPTS,
    Kind,
    check_metadata,
    infer_kind,
    json_value,
    metadata_too_large,
)
from hfdata.layout import log_dir, new_writer_id
from hfdata.log import batch as _batch
from hfdata.log.encode import encode_frame
from hfdata.log.flusher import Flusher
from hfdata.log.lineformat import LINE_OPTS, LINE_OPTS_NAIVE_UTC, marker_line, tombstone_line
from hfdata.log.mutex import Mutex
from hfdata.log.segment import BUFFER_POINTS, INLINE_METADATA, LogPolicy
from hfdata.log.segments import SegmentTable, VariableLog
from hfdata.timeparse import EpochUnit, TimeRules, format_ns, to_ns

__all__ = ["LogWriter"]

_BATCH_ROWS: Final = 200_000
# UTC datetimes inside these bounds fit in int64 nanoseconds: no range check needed.
_LO: Final = datetime(1678, 1, 1, tzinfo=UTC)
_HI: Final = datetime(2262, 1, 1, tzinfo=UTC)
_dumps: Final = orjson.dumps  # one global lookup on the append path instead of two
_Fragment: Final = orjson.Fragment
_POINT_START: Final = b'{"arrived":'  # `encode_points` splits points where this follows `},`
_time_ns: Final = time.time_ns
# `_append_unbuffered` hands orjson `_NAIVE_EPOCH + (t - _EPOCH)`, `t`'s UTC wall time
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
_open_writers: weakref.WeakSet[LogWriter] = weakref.WeakSet()


class _Append(Protocol):
    """The signature of `LogWriter.append` (and `Store.append`)."""

    def __call__(
        self,
        variable: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
        *,
        kind: Kind | None = None,
    ) -> None: ...


@atexit.register
def _close_all_at_exit() -> None:
    """Buffered points reach their files when a script ends without `close()`."""
    for writer in list(_open_writers):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            writer.close()


class LogWriter:
    """Appends points to the log under `root` (see the module docstring)."""

    __slots__ = (
        "__weakref__",
        "_buffer_limit",
        "_buffered",
        "_closed",
        "_dump_opts",
        "_flusher",
        "_fsync_interval",
        "_inline_metadata",
        "_lock",
        "_max_bytes",
        "_max_line",
        "_max_metadata",
        "_metadata_opts",
        "_point",
        "_rules",
        "_table",
        "_vars",
        "append",
        "policy",
        "root",
        "writer_id",
    )

    def __init__(
        self,
        root: Path,
        rules: TimeRules,
        policy: LogPolicy,
        *,
        flush_interval: float,
        fsync_interval: float | None,
        max_open_segments: int,
        max_metadata_bytes: int | None = 65_536,
    ) -> None:
        self.root = root
        self.policy = policy
        self.writer_id = new_writer_id()
        self._rules = rules
        self._dump_opts = LINE_OPTS_NAIVE_UTC if rules.naive_is_utc else LINE_OPTS
        self._metadata_opts = self._dump_opts & ~orjson.OPT_APPEND_NEWLINE  # as inside a line
        self._max_metadata = max_metadata_bytes
        # a line no longer than this cannot hold metadata over the cap: one compare per point
        self._max_line = sys.maxsize if max_metadata_bytes is None else max_metadata_bytes
        # metadata the buffered append records as it is (larger goes the checked way)
        self._inline_metadata = min(INLINE_METADATA, self._max_line)
        self._max_bytes = policy.max_segment_bytes
        self._buffered = policy.durability == "buffered"
        # `append(variable, timestamp, value, metadata=None, *, kind=None)`: append one
        # point; returns once it is as durable as the store's mode promises. `kind=` fixes
        # a new variable's kind (an existing one's must match). Bad input raises before
        # anything is written. The method of this mode, bound once (see "appending").
        self.append: _Append = self._append_buffered if self._buffered else self._append_unbuffered
        # A buffered append writes out its variable's buffer once it holds this many
        # points; `close` sets it to -1, so every later buffered append finds the store closed.
        self._buffer_limit = BUFFER_POINTS
        self._fsync_interval = fsync_interval
        self._closed = False
        self._lock = Mutex()
        # `append`'s point line in `flush` mode, refilled under `_lock` (key order: the line's)
        self._point: dict[str, Any] = {"arrived": 0, "timestamp": None, "value": None}
        # The shortest path of `append` (see there) needs the GIL, and is pointless in
        # `fsync` mode, where every point waits for the disk anyway.
        fast_path = policy.durability != "fsync" and getattr(sys, "_is_gil_enabled", lambda: True)()
        self._table = SegmentTable(
            self.writer_id,
            policy,
            max_open_segments,
            fast_path=fast_path,
            before_open=self._check_can_open,
        )
        self._vars = self._table.variables  # read by `append` on every call
        self._flusher = Flusher(
            self._table,
            self._lock,
            name=f"hfdata-flusher-{self.writer_id}",
            flush_interval=flush_interval,
            fsync_interval=fsync_interval,
            max_segment_age=policy.max_segment_age,
        )
        self._flusher.start()
        _open_writers.add(self)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- appending -------------------------------------------------------------------------
    # `append` is an instance attribute (set in `__init__`): the method of the store's mode,
    # so the hot path tests no mode. Both take `_append_checked` for anything but the
    # common point; their first lines (the test for the common point) are the same,
    # spelled out twice because a shared helper would cost a call on every point.
    def _append_unbuffered(
        self,
        variable: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
        *,
        kind: Kind | None = None,
    ) -> None:
        """`append` in `flush` and `fsync` modes: the common point is encoded and written
        here, under the lock (in `fsync` mode no variable is `fast`: every point is
        checked and waits for the disk anyway)."""
        try:
            var = self._vars[variable]  # cheaper than `.get` when it is there, as it is here
        except KeyError:
            var = None
        if (
            var is None
            or not var.fast
            or kind is not None
            or type(timestamp) is not datetime
            or timestamp.tzinfo is not UTC
            or not _LO <= timestamp < _HI
            or type(value) is not float
            or value - value  # NaN or infinity
        ):
            self._append_checked(variable, timestamp, value, metadata, kind)
            return
        if metadata is None:
            line = None  # encoded below, under the lock
        elif type(metadata) is not dict:
            self._append_checked(variable, timestamp, value, metadata, kind)
            return
        else:
            # The field names of `lineformat`, spelled out: a constant-key dict is built
            # in one step. `arrived` first: readers find it at a fixed offset.
            try:
                line = _dumps(
                    {
                        "arrived": _time_ns(),
                        "timestamp": timestamp,
                        "value": value,
                        "metadata": metadata,
                    },
                    None,
                    self._dump_opts,
                )
            except TypeError:
                self._append_checked(variable, timestamp, value, metadata, kind)
                return
            # NaN in the metadata (written as null), or maybe too large. `find`, not `in`:
            # `bytes in bytes` first tries the needle as an integer and raises inside.
            if line.find(b"null") >= 0 or len(line) > self._max_line:
                self._append_checked(variable, timestamp, value, metadata, kind)
                return
        lock = self._lock
        lock.acquire()  # not `with`: a Python-level __enter__/__exit__ on every point
        try:
            if line is None:
                # A point without metadata is encoded under the lock that writes it, so
                # the writer's one `_point` dict is refilled instead of a dict built per
                # point (building one costs more than filling it). Its time is given to
                # orjson naive (the same instant, exactly): an aware one costs orjson
                # attribute lookups on its tzinfo, more than this subtraction and sum.
                point = self._point
                point["arrived"] = _time_ns()
                point["timestamp"] = _NAIVE_EPOCH + (timestamp - _EPOCH)
                point["value"] = value
                line = _dumps(point, None, LINE_OPTS_NAIVE_UTC)
            segment = var.segment
            if segment is None:
                self._table.write_line(var, line)
                return
            size = len(line)
            segment.size += size
            try:
                written = os.write(segment.fd, line)
            except OSError as exc:
                raise self._table.write_failed(var, segment, exc) from exc
            if written != size or segment.size >= self._max_bytes:
                self._table.after_write(var, segment, line, written)
        finally:
            lock.put(None)  # `lock.release()` without a Python frame

    def _append_buffered(
        self,
        variable: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
        *,
        kind: Kind | None = None,
    ) -> None:
        """`append` in `buffered` mode: the common point is recorded, not encoded; the
        buffer is encoded in bulk (`lineformat.encode_points`) when it is written out.
        No lock: under the GIL `list.append` is atomic, and `drain` only ever deletes
        the points it took, so concurrent appends are never lost."""
        try:
            var = self._vars[variable]  # as in `_append_unbuffered`
        except KeyError:
            var = None
        if (
            var is None
            or not var.fast
            or kind is not None
            or type(timestamp) is not datetime
            or timestamp.tzinfo is not UTC
            or not _LO <= timestamp < _HI
            or type(value) is not float
            or value - value  # NaN or infinity
        ):
            self._append_checked(variable, timestamp, value, metadata, kind)
            return
        if metadata is None:
            points = var.points
            points.append({"arrived": _time_ns(), "timestamp": timestamp, "value": value})
        elif type(metadata) is not dict:
            self._append_checked(variable, timestamp, value, metadata, kind)
            return
        else:
            # The metadata is checked by encoding it (as in a line: NaN comes out as null,
            # anything else orjson refuses raises) and recorded as its JSON text. Large
            # metadata, or metadata `encode_points` could mistake for a separator, takes
            # the checked path, which keeps `points` small and the encoding unambiguous.
            try:
                text = _dumps(metadata, None, self._metadata_opts)
            except TypeError:
                self._append_checked(variable, timestamp, value, metadata, kind)
                return
            if (
                len(text) > self._inline_metadata
                or text.find(b"null") >= 0  # `find`, not `in`: see `_append_unbuffered`
                or text.find(_POINT_START) >= 0
            ):
                self._append_checked(variable, timestamp, value, metadata, kind)
                return
            points = var.points
            points.append(
                {
                    "arrived": _time_ns(),
                    "timestamp": timestamp,
                    "value": value,
                    "metadata": _Fragment(text),
                }
            )
        if len(points) >= self._buffer_limit:  # full, or the store is being closed
            self._after_buffered_append(var)

    def _append_checked(
        self,
        variable: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
        kind: Kind | None = None,
    ) -> None:
        """`append` for any point: checked completely, the variable's kind fixed if new."""
        arrived = _time_ns()
        var = self._vars.get(variable)
        if var is None or var.kind is None or kind is not None:
            var = self._first_point(variable, timestamp, value, metadata, kind)
        # Fast paths: UTC datetimes go straight to orjson, finite floats as they are.
        if not (type(timestamp) is datetime and timestamp.tzinfo is UTC and _LO <= timestamp < _HI):
            timestamp = self._timestamp(timestamp)
        if type(value) is not float or value - value or var.kind != "float":
            value = None if value is None else json_value(var.kind or "float", value, variable)
        if metadata is None:
            line = orjson.dumps(
                {"arrived": arrived, "timestamp": timestamp, "value": value},
                option=self._dump_opts,
            )
        else:
            if type(metadata) is not dict:
                check_metadata(metadata)
            try:
                line = orjson.dumps(
                    {
                        "arrived": arrived,
                        "timestamp": timestamp,
                        "value": value,
                        "metadata": metadata,
                    },
                    option=self._dump_opts,
                )
            except TypeError as exc:
                check_metadata(metadata)  # raises the precise error, if it finds one
                raise InvalidMetadata(f"metadata cannot be written as JSON: {exc}") from exc
            if line.find(b"null") >= 0:
                check_metadata(metadata)  # NaN/inf would have been written as null
            if len(line) > self._max_line:
                self._check_metadata_size(metadata)
        with self._lock:
            if self._buffered:
                self._table.buffer(var, line)
            else:
                self._table.write_line(var, line)

    def _first_point(
        self, variable: str, timestamp: Any, value: Any, metadata: Any, kind: Kind | None
    ) -> VariableLog:
        """Check a point completely before its variable's kind is fixed (`_schema.json`):
        a refused first point must not create the variable."""
        var = self._var(variable)
        var.check_kind(kind)
        target = var.kind or kind or infer_kind(value)
        self._timestamp(timestamp)
        if value is not None and target is not None:
            json_value(target, value, variable)
        if metadata is not None:
            check_metadata(metadata)
            self._check_metadata_size(metadata)
        if target is not None and var.kind is None:
            self._fix_kind(var, target)  # SchemaMismatch if another writer fixed another kind
        return var

    def _timestamp(self, timestamp: Any) -> Any:
        """Any accepted timestamp form to what orjson should write."""
        if type(timestamp) is datetime and 1677 < timestamp.year < 2262:
            tz = timestamp.tzinfo
            if tz is None and self._rules.naive_is_utc:
                return timestamp  # orjson writes naive times as UTC (OPT_NAIVE_UTC)
            if tz is not None and timestamp.utcoffset() is not None:
                return timestamp.astimezone(UTC)
        return format_ns(to_ns(timestamp, self._rules))

    def _check_metadata_size(self, metadata: dict[str, Any]) -> None:
        """`InvalidMetadata` if the metadata alone encodes to more than the cap."""
        if self._max_metadata is not None:
            size = len(orjson.dumps(metadata, option=METADATA_OPTS))
            if size > self._max_metadata:
                raise metadata_too_large(size, self._max_metadata)

    def _after_buffered_append(self, var: VariableLog) -> None:
        """The lock-free buffered append found a full buffer, or a store being closed."""
        with self._lock:
            if self._closed:
                raise StoreClosed(
                    f"the store at {str(self.root)!r} was closed while this point was being "
                    "appended; it may not have been written"
                )
            if self._table.full(var):
                self._table.drain(var)

    def append_many(
        self,
        variable: str,
        data: Any,
        *,
        kind: Kind | None = None,
        epoch_unit: EpochUnit | None = None,
        timestamp_format: str | None = None,
    ) -> int:
        """Append a batch (pandas DataFrame/Series, polars DataFrame, Arrow table).

        The whole batch is checked before anything is written; returns the row count.
        `epoch_unit` and `timestamp_format` apply to this call (see `Store.append_many`).
        Each run of up to `_BATCH_ROWS` lines is written after a marker line holding the
        call's arrival, in the same write.
        """
        marker = marker_line(_time_ns())
        var = self._var(variable)
        var.check_kind(kind)
        rules = self._rules.with_call(epoch_unit=epoch_unit, timestamp_format=timestamp_format)
        checked = _batch.normalise(data, rules, var.kind or kind, variable, self._max_metadata)
        if len(checked) == 0:
            return 0
        if checked.kind is not None and var.kind is None:
            # Only now, the whole batch accepted; SchemaMismatch if another writer won.
            self._fix_kind(var, checked.kind)
        for start in range(0, len(checked), _BATCH_ROWS):
            stop = start + _BATCH_ROWS
            meta = checked.metadata
            frame = encode_frame(
                checked.ns[start:stop],
                checked.values.slice(start, _BATCH_ROWS),
                None if meta is None else meta.slice(start, _BATCH_ROWS),
                var.kind or "float",
            )
            with self._lock:
                self._table.drain(var, rotate=False)  # single points appended before go first
                segment = var.segment or self._table.open_segment(var)
                write = partial(segment.write_frame, frame, head=marker)
                self._table.write_then_rotate(var, segment, write)
        return len(checked)

    def delete(self, variable: str, start_ns: int, end_ns: int) -> None:
        """Record that `[start_ns, end_ns)` of `variable` is deleted: one tombstone line in
        the variable's segment, as durable as the store's mode makes a point (`fsync`:
        fsynced before this returns). The caller has checked the arguments."""
        line = tombstone_line(_time_ns(), format_ns(start_ns), format_ns(end_ns))
        var = self._var(variable)
        with self._lock:
            self._check_open()
            if self._buffered:
                self._table.buffer(var, line)
            else:
                self._table.write_line(var, line)

    def _var(self, variable: str) -> VariableLog:
        """The variable's state, created (its kind read from `_schema.json`) on first use."""
        var = self._vars.get(variable)
        if var is None:
            directory = log_dir(self.root, variable)  # validates the name
            with self._lock:  # one VariableLog per name, even when threads race to create it
                var = self._vars.get(variable)
                if var is None:
                    var = VariableLog(variable, directory)
                    self._vars[variable] = var
        return var

    def _fix_kind(self, var: VariableLog, kind: Kind) -> None:
        """Record the kind in `_schema.json` (first writer wins); SchemaMismatch if it lost."""
        if var.kind is None:
            with self._lock:
                self._check_open()  # a closed store creates no variable
                var.fix_kind(kind)
        var.check_kind(kind)

    # -- flushing, rotating, closing ---------------------------------------------------------
    def flush(self) -> None:
        """Write out buffered points and fsync what the durability mode asks for."""
        with self._lock:
            self._check_open()
            self._raise_background_error()
            self._table.flush_all(
                sync=self.policy.durability == "fsync" or self._fsync_interval is not None
            )

    def flush_for_readers(self) -> None:
        """Read-your-writes: buffered points reach the file before a read looks."""
        if self._buffered:
            with self._lock:
                self._table.flush_all(sync=False)

    def rotate(self, variables: list[str] | None = None) -> None:
        """Close this store's active segments now (they become ready for compaction)."""
        with self._lock:
            self._check_open()
            for name in list(self._vars) if variables is None else variables:
                var = self._vars.get(name)
                if var is not None:
                    self._table.close_with_pending(var)

    def forget(self, variable: str) -> None:
        """Close a variable's segment and drop its state (before the variable is dropped)."""
        with self._lock:
            self._check_open()
            self._table.forget(variable)

    def close(self) -> None:
        """Flush and close every segment; the store refuses further appends. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._refuse_buffered()
            self._flusher.halt()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        errors: list[BaseException] = []
        background = self._flusher.take_error()
        if background is not None:
            errors.append(background)
        with self._lock:
            for var in list(self._vars.values()):
                try:
                    self._table.close_with_pending(var, closing=True)
                except OSError as exc:  # DurabilityError included
                    errors.append(exc)
        _open_writers.discard(self)
        if errors:
            raise errors[0]

    def close_collected(self) -> None:
        """`close` from a garbage-collector callback (`Store`'s finaliser). A cyclic
        collection may run it in a thread inside one of this writer's locked sections,
        where `close` would wait for itself: when the lock is not free within a second,
        a helper thread closes the writer once it is."""
        if not self._lock.acquire_within(1.0):
            threading.Thread(target=self.close, name="hfdata-close", daemon=True).start()
            return
        self._lock.release()  # free, and not held by this thread: close can wait for it
        self.close()

    # -- internals ----------------------------------------------------------------------
    def _refuse_buffered(self) -> None:
        """From now on every buffered append sees its buffer "full" and so finds the store
        closed (the lock-free path checks nothing else)."""
        self._buffer_limit = -1

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(
                f"the store at {str(self.root)!r} is closed; open it again with hfdata.open_store"
            )

    def _raise_background_error(self) -> None:
        """Report (once) a write or fsync that failed in the flusher thread."""
        error = self._flusher.take_error()
        if error is not None:
            raise error

    def _check_can_open(self) -> None:
        """Before a segment opens: the store is open and no background failure is unreported."""
        self._check_open()
        self._raise_background_error()
