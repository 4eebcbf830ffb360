"""The append side of a store: per-variable segments, kinds, durability, the flusher.

A `LogWriter` owns one writer id and, per variable, at most one open `Segment`.
One lock serialises writes, so a writer may be shared by threads; other processes
get their own writer id and so their own segments. A background thread writes out
buffered points, group-commits (`fsync_interval`), rotates segments by age and
keeps the clock of the open-segment LRU, so the append hot path has no clock call.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

import orjson

from hfdata.errors import DurabilityError, InvalidMetadata, SchemaMismatch, StoreClosed
from hfdata.kinds import (
    KINDS,
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
from hfdata.log.schema import load_schema, store_schema
from hfdata.log.segment import BUFFER_LIMIT, LogPolicy, Segment
from hfdata.timeparse import EpochUnit, TimeRules, format_ns, to_ns

__all__ = ["LogWriter"]

_OPTS: Final = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE | METADATA_OPTS
_OPTS_NAIVE_UTC: Final = _OPTS | orjson.OPT_NAIVE_UTC
_BATCH_ROWS: Final = 200_000
# UTC datetimes inside these bounds fit in int64 nanoseconds: no range check needed.
_LO: Final = datetime(1678, 1, 1, tzinfo=UTC)
_HI: Final = datetime(2262, 1, 1, tzinfo=UTC)
_open_writers: weakref.WeakSet[LogWriter] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    """Buffered points reach their files when a script ends without `close()`."""
    for writer in list(_open_writers):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            writer.close()


class _Mutex:
    """A mutex at half the cost of `threading.Lock` on the append hot path (CPython 3.11).

    A one-token `queue.SimpleQueue`: `acquire` takes the token, blocking while another
    thread holds it; `release` puts it back. Uncontended, both are plain C calls, where
    `Lock.acquire` parses its `blocking`/`timeout` arguments on every call. Not
    reentrant, like `Lock`; thread-safe on free-threaded builds too.
    """

    __slots__ = ("_token", "acquire", "put")

    def __init__(self) -> None:
        token: queue.SimpleQueue[None] = queue.SimpleQueue()
        token.put(None)
        self._token = token
        self.acquire: Callable[[], None] = token.get
        self.put: Callable[[None], None] = token.put

    def acquire_within(self, seconds: float) -> bool:
        """Take the mutex if it frees within `seconds`; False if it did not."""
        try:
            self._token.get(timeout=seconds)
        except queue.Empty:
            return False
        return True

    def release(self) -> None:
        self.put(None)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.put(None)


class _Var:
    """Per-variable state of this writer: its kind and its open segment, if any."""

    __slots__ = ("directory", "kind", "name", "pending", "segment", "seq")

    def __init__(self, name: str, directory: Path, kind: Kind | None) -> None:
        self.name = name
        self.directory = directory
        self.kind = kind
        self.segment: Segment | None = None
        self.pending = bytearray()  # buffered mode: lines not yet written (see `_drain`)
        self.seq = 0


class LogWriter:
    """Appends points to the log under `root` (see the module docstring)."""

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
        self._max_metadata = max_metadata_bytes
        # a line no longer than this cannot hold metadata over the cap: one compare per point
        self._max_line = sys.maxsize if max_metadata_bytes is None else max_metadata_bytes
        self.policy = policy
        self.writer_id = new_writer_id()
        self._rules = rules
        self._dump_opts = _OPTS_NAIVE_UTC if rules.naive_is_utc else _OPTS
        self._vars: dict[str, _Var] = {}
        self._ready: dict[str, _Var] = {}  # variables whose kind is fixed: the fast path
        self._open: dict[str, _Var] = {}
        # `_fast_append`'s map: a float variable with an open segment -> its state; every
        # other variable this writer has seen -> None (so the lookup never raises for it)
        self._fast: dict[str, _Var | None] = {}
        self._lock = _Mutex()
        self._closed = False
        self._max_open = max_open_segments
        self._max_bytes = policy.max_segment_bytes
        self._buffered = policy.durability == "buffered"
        self._sync_each = policy.durability == "fsync"
        self._flush_interval = flush_interval
        self._fsync_interval = fsync_interval
        self._stop = threading.Event()
        self._background_error: DurabilityError | None = None
        self._last_group_sync = time.monotonic()
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"hfdata-flusher-{self.writer_id}", daemon=True
        )
        self._refuse_buffered: Callable[[], None] = lambda: None
        self.append = self._fast_append()  # type: ignore[method-assign]
        self._flusher.start()
        _open_writers.add(self)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- appending -------------------------------------------------------------------------
    def append(
        self,
        variable: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
        *,
        kind: Kind | None = None,
    ) -> None:
        """Append one point. Returns once it is as durable as the store's mode promises.

        `kind="int"` (or any kind) may be given to fix a new variable's kind; for an
        existing variable it must match. Bad input raises before anything is written.

        Each writer replaces this method by `_fast_append`'s specialisation for its
        durability mode; this is the general path it falls back to.
        """
        var = self._ready.get(variable)
        if var is None or kind is not None:
            var = self._first_point(variable, timestamp, value, metadata, kind)
        # Fast paths: UTC datetimes go straight to orjson, finite floats as they are.
        if not (type(timestamp) is datetime and timestamp.tzinfo is UTC and _LO <= timestamp < _HI):
            timestamp = self._timestamp(timestamp)
        if type(value) is not float or value - value or var.kind != "float":
            value = None if value is None else json_value(var.kind or "float", value, variable)
        if metadata is None:
            line = orjson.dumps({"timestamp": timestamp, "value": value}, option=self._dump_opts)
        else:
            if type(metadata) is not dict:
                check_metadata(metadata)
            try:
                line = orjson.dumps(
                    {"timestamp": timestamp, "value": value, "metadata": metadata},
                    option=self._dump_opts,
                )
            except TypeError as exc:
                check_metadata(metadata)  # raises the precise error, if it finds one
                raise InvalidMetadata(f"metadata cannot be written as JSON: {exc}") from exc
            if b"null" in line:
                check_metadata(metadata)  # NaN/inf would have been written as null
            if len(line) > self._max_line:
                self._check_metadata_size(metadata)
        with self._lock:
            if self._buffered:
                if var.segment is None:
                    self._open_segment(var)  # its errors belong to this append
                var.pending += line
                if len(var.pending) >= BUFFER_LIMIT:
                    self._drain(var)
            else:
                self._write_line(var, line)

    def _fast_append(self) -> Callable[..., None]:
        """`append` specialised for this writer: the common point in one pass, no lock
        in buffered mode. Only float variables with an open segment have state in `_fast`;
        anything else (a new variable, `kind=`, another timestamp form, a non-float or
        non-finite value, odd metadata, no open segment, a closed store) takes the
        general `append`, which checks it fully.

        Buffered mode appends to the variable's `pending` bytearray without the lock:
        under the GIL `+=` on a bytearray is atomic, and `_drain` only ever deletes the
        bytes it took, so concurrent appends are never lost. Free-threaded builds and
        `fsync` mode keep the general path.
        """
        general = self.append
        if self._sync_each or not getattr(sys, "_is_gil_enabled", lambda: True)():
            return general
        fast = self._fast
        dumps = orjson.dumps
        opts = self._dump_opts
        lo, hi = _LO, _HI
        buffered, limit, max_bytes = self._buffered, BUFFER_LIMIT, self._max_bytes
        max_line = self._max_line
        acquire, put_back = self._lock.acquire, self._lock.put

        def refuse() -> None:
            # `close` calls this after setting `_closed`: every buffered append that
            # completes afterwards sees its buffer "full" and so finds the store closed.
            nonlocal limit
            limit = -1

        self._refuse_buffered = refuse

        def append(
            variable: str,
            timestamp: Any,
            value: Any,
            metadata: dict[str, Any] | None = None,
            *,
            kind: Kind | None = None,
        ) -> None:
            try:
                var = fast[variable]
            except KeyError:  # a name this writer has not seen
                var = None
            if (
                var is None
                or kind is not None
                or not (type(timestamp) is datetime and timestamp.tzinfo is UTC)
                or not lo <= timestamp < hi
                or type(value) is not float
                or value - value  # NaN or infinity
            ):
                return general(variable, timestamp, value, metadata, kind=kind)
            if metadata is None:
                line = dumps({"timestamp": timestamp, "value": value}, option=opts)
            elif type(metadata) is not dict:
                return general(variable, timestamp, value, metadata)
            else:
                try:
                    line = dumps(
                        {"timestamp": timestamp, "value": value, "metadata": metadata},
                        option=opts,
                    )
                except TypeError:
                    return general(variable, timestamp, value, metadata)
                if b"null" in line or len(line) > max_line:
                    return general(variable, timestamp, value, metadata)
            if buffered:  # no lock: see the docstring
                pending = var.pending
                pending += line
                if len(pending) >= limit:  # full, or the store is being closed
                    self._after_buffered_append(var)
                return None
            acquire()  # faster than `with`, and this is the hot path
            try:
                segment = var.segment
                if segment is None:
                    self._write_line(var, line)
                    return None
                size = len(line)
                segment.size += size
                try:
                    written = os.write(segment.fd, line)
                except OSError as exc:
                    raise self._write_failed(var, segment, exc) from exc
                if written != size or segment.size >= max_bytes:
                    self._after_write(var, segment, line, written)
            finally:
                put_back(None)  # _Mutex.release, inlined
            return None

        return append

    def _check_metadata_size(self, metadata: dict[str, Any]) -> None:
        """`InvalidMetadata` if the metadata alone encodes to more than the cap."""
        if self._max_metadata is not None:
            size = len(orjson.dumps(metadata, option=METADATA_OPTS))
            if size > self._max_metadata:
                raise metadata_too_large(size, self._max_metadata)

    def _write_line(self, var: _Var, line: bytes) -> None:
        """Write one line now (`flush`/`fsync` mode; lock held)."""
        segment = var.segment or self._open_segment(var)
        segment.size += len(line)
        try:
            written = os.write(segment.fd, line)
        except OSError as exc:
            raise self._write_failed(var, segment, exc) from exc
        self._after_write(var, segment, line, written)

    def _after_write(self, var: _Var, segment: Segment, line: bytes, written: int) -> None:
        """Finish a line's write: what a short write left, the fsync, rotation by size."""
        if written != len(line) or self._sync_each:
            try:
                segment.finish_write(line)
            except DurabilityError:
                self._close_segment(var, failed=True)
                raise
        if segment.size >= self._max_bytes:  # age is checked by the flusher thread
            self._close_segment(var)

    def _write_failed(self, var: _Var, segment: Segment, exc: OSError) -> DurabilityError:
        """Close the segment as untrusted after a failed write; the error to raise."""
        self._close_segment(var, failed=True)
        return segment.write_error(exc)

    def _after_buffered_append(self, var: _Var) -> None:
        """The lock-free buffered append found a full buffer, or a store being closed."""
        with self._lock:
            if self._closed:
                raise StoreClosed(
                    f"the store at {str(self.root)!r} was closed while this point was being "
                    "appended; it may not have been written"
                )
            if len(var.pending) >= BUFFER_LIMIT:
                self._drain(var)

    def _drain(self, var: _Var, *, rotate: bool = True, closing: bool = False) -> None:
        """Write out a variable's buffered points (lock held), opening a segment if it
        has none; then rotate the segment if it is due. A failed write closes the
        segment as untrusted and raises: those points are lost, and said so."""
        pending = var.pending
        if not pending:
            return
        segment = var.segment or self._open_segment(var, closing=closing)
        data = bytes(pending)
        del pending[: len(data)]  # only what was taken: lock-free appends may follow
        self._write_then_rotate(var, segment, partial(segment.write, data), rotate=rotate)

    def _write_then_rotate(
        self, var: _Var, segment: Segment, write: Callable[[], None], *, rotate: bool = True
    ) -> None:
        """Run one write on the segment (lock held): a failure closes the segment as
        untrusted and re-raises; afterwards the segment rotates if it is due."""
        try:
            write()
        except DurabilityError:
            self._close_segment(var, failed=True)
            raise
        now = time.monotonic()
        segment.last_used = now
        if rotate and segment.needs_rotation(now):
            self._close_segment(var)

    def _close_with_pending(self, var: _Var, *, closing: bool = False) -> None:
        """Close the variable's segment with every buffered point in it, opening one
        if points arrived after its last segment closed (lock held)."""
        self._drain(var, rotate=False, closing=closing)
        if var.segment is not None:
            self._close_segment(var)

    def _timestamp(self, timestamp: Any) -> Any:
        """The slow path of `append`: any accepted form to what orjson should write."""
        if type(timestamp) is datetime and 1677 < timestamp.year < 2262:
            tz = timestamp.tzinfo
            if tz is None and self._rules.naive_is_utc:
                return timestamp  # orjson writes naive times as UTC (OPT_NAIVE_UTC)
            if tz is not None and timestamp.utcoffset() is not None:
                return timestamp.astimezone(UTC)
        return format_ns(to_ns(timestamp, self._rules))

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
        """
        var = self._var(variable)
        self._check_kind_argument(var, kind)
        rules = self._rules.with_call(epoch_unit=epoch_unit, timestamp_format=timestamp_format)
        checked = _batch.normalise(data, rules, var.kind or kind, variable, self._max_metadata)
        if len(checked) == 0:
            return 0
        if checked.kind is not None and var.kind is None:
            # Only now, the whole batch accepted; SchemaMismatch if another writer won.
            self._fix_kind(var, checked.kind)
            self._ready[variable] = var
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
                self._drain(var, rotate=False)  # single points appended before go first
                segment = var.segment or self._open_segment(var)
                self._write_then_rotate(var, segment, partial(segment.write_frame, frame))
        return len(checked)

    # -- flushing, rotating, closing ---------------------------------------------------------
    def flush(self) -> None:
        """Write out buffered points and fsync what the durability mode asks for."""
        with self._lock:
            self._check_open()
            self._raise_background_error()
            self._flush_all(
                sync=self.policy.durability == "fsync" or self._fsync_interval is not None
            )

    def rotate(self, variables: list[str] | None = None) -> None:
        """Close this store's active segments now (they become ready for compaction)."""
        with self._lock:
            self._check_open()
            for name in list(self._vars) if variables is None else variables:
                var = self._vars.get(name)
                if var is not None:
                    self._close_with_pending(var)

    def close(self) -> None:
        """Flush and close every segment; the store refuses further appends. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._refuse_buffered()
        self._stop.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        errors: list[BaseException] = []
        if self._background_error is not None:
            errors.append(self._background_error)
            self._background_error = None
        with self._lock:
            for var in list(self._vars.values()):
                try:
                    self._close_with_pending(var, closing=True)
                except (DurabilityError, OSError) as exc:
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

    def forget(self, variable: str) -> None:
        """Close a variable's segment and drop its state (before the variable is dropped)."""
        with self._lock:
            self._check_open()
            var = self._vars.pop(variable, None)
            self._ready.pop(variable, None)
            if var is not None and var.segment is not None:
                self._close_segment(var)
            self._fast.pop(variable, None)

    # -- internals ----------------------------------------------------------------------
    def _raise_background_error(self) -> None:
        """Report (once) a write or fsync that failed in the flusher thread."""
        error, self._background_error = self._background_error, None
        if error is not None:
            raise error

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(
                f"the store at {str(self.root)!r} is closed; open it again with hfdata.open_store"
            )

    def _var(self, variable: str) -> _Var:
        var = self._vars.get(variable)
        if var is None:
            directory = log_dir(self.root, variable)  # validates the name
            with self._lock:  # one _Var per name, even when threads race to create it
                var = self._vars.get(variable)
                if var is None:
                    var = _Var(variable, directory, load_schema(directory))
                    self._vars[variable] = var
        return var

    @staticmethod
    def _check_kind_argument(var: _Var, kind: Kind | None) -> None:
        if kind is None:
            return
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if var.kind is not None and var.kind != kind:
            raise SchemaMismatch(
                f"variable {var.name!r} already holds {var.kind} values; cannot use kind={kind!r}"
            )

    def _fix_kind(self, var: _Var, kind: Kind) -> Kind:
        """Record the kind in `_schema.json` (first writer wins) and return the winner."""
        if var.kind is None:
            with self._lock:
                if var.kind is None:
                    var.kind = load_schema(var.directory) or store_schema(var.directory, kind)
        if var.kind != kind:
            raise SchemaMismatch(
                f"variable {var.name!r} already holds {var.kind} values; cannot use kind={kind!r}"
            )
        return var.kind

    def _first_point(
        self, variable: str, timestamp: Any, value: Any, metadata: Any, kind: Kind | None
    ) -> _Var:
        """Check a point completely before its variable's kind is fixed (`_schema.json`).

        A refused first point must not create the variable; once the kind is fixed,
        the variable takes the fast path of `append`.
        """
        var = self._var(variable)
        self._check_kind_argument(var, kind)
        target = var.kind or kind or infer_kind(value)
        self._timestamp(timestamp)
        if value is not None and target is not None:
            json_value(target, value, variable)
        if metadata is not None:
            check_metadata(metadata)
            self._check_metadata_size(metadata)
        if target is not None and var.kind is None:
            self._fix_kind(var, target)  # SchemaMismatch if another writer fixed another kind
        if var.kind is not None:
            self._ready[variable] = var
        self._fast.setdefault(variable, None)
        return var

    def _open_segment(self, var: _Var, *, closing: bool = False) -> Segment:
        if not closing:  # `close` writes out what is buffered after refusing appends
            self._check_open()
            self._raise_background_error()
        if len(self._open) >= self._max_open:
            oldest = min(self._open.values(), key=lambda v: v.segment.last_used if v.segment else 0)
            self._close_segment(oldest)
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
        self._fast[var.name] = var if var.kind == "float" else None
        return segment

    def _close_segment(self, var: _Var, *, failed: bool = False) -> None:
        if not failed and var.segment is not None:
            self._drain(var, rotate=False)  # buffered points go in first
        segment, var.segment = var.segment, None
        self._open.pop(var.name, None)
        self._fast[var.name] = None
        if segment is not None:
            segment.close(failed=failed)

    def _flush_all(self, *, sync: bool) -> None:
        for var in list(self._vars.values()):
            self._drain(var, rotate=False)
            segment = var.segment
            if sync and segment is not None and segment.dirty:
                try:
                    segment.sync()
                except DurabilityError:
                    self._close_segment(var, failed=True)
                    raise

    def flush_for_readers(self) -> None:
        """Read-your-writes: buffered points reach the file before a read looks."""
        if self.policy.durability == "buffered":
            with self._lock:
                self._flush_all(sync=False)

    def _flush_loop(self) -> None:
        period = min(
            x
            for x in (self._flush_interval, self._fsync_interval, self.policy.max_segment_age)
            if x is not None
        )
        while not self._stop.wait(period) and not self._closed:
            self._flush_loop_once()

    def _flush_loop_once(self) -> None:
        """One round of the flusher: write out, group-commit when due, rotate old segments."""
        with self._lock:
            if self._closed:
                return
            now = time.monotonic()
            interval = self._fsync_interval
            sync = interval is not None and now - self._last_group_sync >= interval
            try:
                self._flush_all(sync=sync)
            except DurabilityError as exc:
                # _flush_all closed the failing segment; its unwritten points are lost,
                # so the next append to it, flush() or close() raises this error.
                self._background_error = exc
            except OSError as exc:  # no new segment could be opened: nothing was taken
                self._background_error = DurabilityError(
                    exc.errno or errno.EIO,
                    f"opening a new log segment failed ({exc.strerror}); buffered points "
                    "stay in memory and are written once a segment opens",
                )
            if sync:
                self._last_group_sync = now
            for var in list(self._open.values()):
                segment = var.segment
                if segment is None:
                    continue
                if segment.size != segment.seen:  # written since: in use
                    segment.seen = segment.size
                    segment.last_used = now
                if segment.needs_rotation(now):
                    self._close_segment(var)
