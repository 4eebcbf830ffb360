"""The log tail: the rows and tombstones of log segments, parsed once and cached.

A segment is parsed with `hfdata.log.parse` (complete lines only; bad lines and a torn
tail are skipped): rows with their `arrived` column, and the segment's tombstones. A
segment parsed in steps hands its last marker line's arrival to the next step, so a
row's arrival does not depend on where a read stopped; rows that follow no marker take
the file's modification time when their bytes were read (the legacy rule).

Parsed prefixes are cached by (device, inode, variable folder, writer-seq, kind): a
segment keeps its inode when its writer renames it from active to closed (and when
compaction moves it to `compacted/`), so a live segment is only parsed from where the
last read stopped. The cache holds about `_CACHE_ROWS` rows, least recently read
segments dropped first.

An inode number is reused as soon as its file is deleted, and every variable's segments
of one writer session share their names (`<writer>-000001.jsonl`): a store deleted and
copied again (or a variable dropped, a compacted segment retired) can give another
segment the inode, name and kind of one cached before. So the key also holds the
segment's variable folder, and a cached prefix is used only if the file still holds
the same last `_CHECK_BYTES` bytes where the prefix ended (read in the same `pread` as
the new lines): a file that differs there is parsed from its start.
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
from hfdata.layout import COMPACTED_DIR
from hfdata.log.parse import legacy_arrival, parse_log_bytes, table_schema, tombstone_schema

__all__ = ["SegmentLog", "clear_segments", "segment_log", "segment_rows"]

_CACHE_ROWS: Final = 5_000_000
_CHECK_BYTES: Final = 256  # bytes before a cached prefix's end compared to the file's


@dataclass(frozen=True, slots=True)
class SegmentLog:
    """A segment's rows (`table_schema(kind, arrived=True)`) and its tombstones
    (`tombstone_schema()`), both in line order."""

    table: pa.Table
    tombstones: pa.Table


@dataclass(slots=True)
class _Parsed:
    """A segment's parsed prefix: its length in bytes, its rows, and its last
    `_CHECK_BYTES` bytes (what the file must still hold there to extend it)."""

    complete: int
    log: SegmentLog
    marker: int | None  # the last marker line's arrival, for the bytes after `complete`
    last: bytes


_Key = tuple[int, int, str, str, str | None]
_lock = threading.Lock()
_cache: OrderedDict[_Key, _Parsed] = OrderedDict()
_rows = 0


def clear_segments() -> None:
    """Forget every parsed segment."""
    global _rows
    with _lock:
        _cache.clear()
        _rows = 0


def _key(path: Path, kind: Kind | None, st: os.stat_result) -> _Key:
    """The cache key of the segment at `path` (see the module docstring): its variable
    folder is the same whether the segment is active, closed or compacted."""
    folder = path.parent.parent if path.parent.name == COMPACTED_DIR else path.parent
    stem = path.name.removesuffix(".active")
    return st.st_dev, st.st_ino, str(folder), stem, kind


def _read_cached(path: Path, kind: Kind | None) -> SegmentLog:
    """All complete, valid lines of a segment (bad lines and a torn tail are skipped),
    parsed from where the last read of it stopped (if the file there is still the one
    cached)."""
    global _rows
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # FileNotFoundError: caller retries
    try:
        st = os.fstat(fd)
        key = _key(path, kind, st)
        with _lock:
            cached = _cache.get(key)
        if cached is not None and cached.complete <= st.st_size:
            start, check = cached.complete, len(cached.last)
        else:
            cached, start, check = None, 0, 0
        data = _pread_all(fd, st.st_size - start + check, start - check)
        if cached is not None and data[:check] != cached.last:
            cached, start = None, 0  # another file under a reused inode: parse it all
            data = _pread_all(fd, st.st_size, 0)
        else:
            data = data[check:]
        if cached is not None and not data:
            return cached.log
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
    complete = start + parsed.complete_bytes
    last = data[max(0, parsed.complete_bytes - _CHECK_BYTES) : parsed.complete_bytes]
    if len(last) < _CHECK_BYTES and resumed is not None:
        last = (resumed.last + last)[-_CHECK_BYTES:]
    entry = _Parsed(complete, log, marker, last)
    with _lock:
        old = _cache.pop(key, None)
        _rows -= 0 if old is None else old.log.table.num_rows
        _cache[key] = entry
        _rows += log.table.num_rows
        while _rows > _CACHE_ROWS and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            _rows -= dropped.log.table.num_rows
    return log


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    """`size` bytes at `offset` (fewer if the file ends first): pread may return less
    on some filesystems."""
    data = os.pread(fd, size, offset)
    while len(data) < size:
        more = os.pread(fd, size - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data


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
