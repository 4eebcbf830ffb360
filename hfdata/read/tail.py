"""The log tail: the rows and tombstones of log segments, parsed once and cached.

A segment is parsed with `hfdata.log.parse` (complete lines only; bad lines and a torn
tail are skipped): rows with their `arrived` column, and the segment's tombstones. A
segment parsed in steps hands its last marker line's arrival to the next step, so a
row's arrival does not depend on where a read stopped; rows that follow no marker take
the file's modification time when their bytes were read (the legacy rule).

Parsed prefixes are cached by (device, inode, writer-seq): a segment keeps its inode
when its writer renames it from active to closed, so a live segment is only parsed from
where the last read stopped. The cache holds about `_CACHE_ROWS` rows, least recently
read segments dropped first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.log.parse import legacy_arrival, parse_log_bytes, table_schema, tombstone_schema

__all__ = ["SegmentLog", "clear_segments", "segment_log", "segment_rows"]

_CACHE_ROWS: Final = 5_000_000


@dataclass(frozen=True, slots=True)
class SegmentLog:
    """A segment's rows (`table_schema(kind, arrived=True)`) and its tombstones
    (`tombstone_schema()`), both in line order."""

    table: pa.Table
    tombstones: pa.Table


@dataclass(slots=True)
class _Parsed:
    complete: int
    log: SegmentLog
    marker: int | None  # the last marker line's arrival, for the bytes after `complete`


_lock = threading.Lock()
_cache: OrderedDict[tuple[int, int, str, str | None], _Parsed] = OrderedDict()
_rows = 0


def clear_segments() -> None:
    """Forget every parsed segment."""
    global _rows
    with _lock:
        _cache.clear()
        _rows = 0


def _read_cached(path: Path, kind: Kind | None) -> SegmentLog:
    """All complete, valid lines of a segment (bad lines and a torn tail are skipped),
    parsed from where the last read of it stopped."""
    global _rows
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # FileNotFoundError: caller retries
    try:
        st = os.fstat(fd)
        stem = path.name.removesuffix(".active")
        key = (st.st_dev, st.st_ino, stem, kind)
        with _lock:
            cached = _cache.get(key)
        start = cached.complete if cached is not None and cached.complete <= st.st_size else 0
        if cached is not None and start == st.st_size:
            return cached.log
        data = os.pread(fd, st.st_size - start, start)
        while len(data) < st.st_size - start:  # pread may return less on some filesystems
            more = os.pread(fd, st.st_size - start - len(data), start + len(data))
            if not more:
                break
            data += more
        mtime = os.fstat(fd).st_mtime_ns  # after the read: covers every byte read
    finally:
        os.close(fd)
    resumed = cached if start else None  # the parsed prefix these bytes continue
    arrived = legacy_arrival(mtime)
    if resumed is not None and resumed.marker is not None:
        arrived = resumed.marker
    parsed = parse_log_bytes(data, kind, arrived=arrived, source=str(path))
    log = SegmentLog(parsed.table, parsed.tombstones)
    marker = parsed.marker
    if resumed is not None:
        log = SegmentLog(
            pa.concat_tables([resumed.log.table, log.table]),
            pa.concat_tables([resumed.log.tombstones, log.tombstones]),
        )
        marker = resumed.marker if marker is None else marker
    entry = _Parsed(start + parsed.complete_bytes, log, marker)
    with _lock:
        old = _cache.pop(key, None)
        _rows -= 0 if old is None else old.log.table.num_rows
        _cache[key] = entry
        _rows += log.table.num_rows
        while _rows > _CACHE_ROWS and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            _rows -= dropped.log.table.num_rows
    return log


def segment_rows(path: Path, kind: Kind | None, *, locked: bool) -> pa.Table:
    """A listed segment's rows (`timestamp`, `value`, `metadata`, `arrived`); see
    `segment_log`."""
    return segment_log(path, kind, locked=locked).table


def segment_log(path: Path, kind: Kind | None, *, locked: bool) -> SegmentLog:
    """A listed segment's rows and tombstones; an active one its writer closed meanwhile
    is read closed.

    Writers rotate without the publish lock, so under it (`locked`) an active segment
    that is gone under both names was empty and unlinked by its writer on close.
    """
    try:
        return _read_cached(path, kind)
    except FileNotFoundError:
        if not path.name.endswith(".active"):
            raise
    try:
        return _read_cached(path.with_name(path.name.removesuffix(".active")), kind)
    except FileNotFoundError:
        if locked:
            return SegmentLog(
                table_schema(kind, arrived=True).empty_table(), tombstone_schema().empty_table()
            )
        raise
