"""The log tail: the rows of log segments, parsed once and cached.

A segment is parsed with `hfdata.log.parse` (complete lines only; bad lines and a torn
tail are skipped). Parsed prefixes are cached by (device, inode, writer-seq): a
segment keeps its inode when its writer renames it from active to closed, so a live
segment is only parsed from where the last read stopped. The cache holds about
`_CACHE_ROWS` rows, least recently read segments dropped first.
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
from hfdata.log.parse import parse_log_bytes, table_schema

__all__ = ["clear_segments", "segment_rows"]

_CACHE_ROWS: Final = 5_000_000


@dataclass(slots=True)
class _Parsed:
    complete: int
    table: pa.Table


_lock = threading.Lock()
_cache: OrderedDict[tuple[int, int, str, str | None], _Parsed] = OrderedDict()
_rows = 0


def clear_segments() -> None:
    """Forget every parsed segment."""
    global _rows
    with _lock:
        _cache.clear()
        _rows = 0


def _read_cached(path: Path, kind: Kind | None) -> pa.Table:
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
            return cached.table
        data = os.pread(fd, st.st_size - start, start)
        while len(data) < st.st_size - start:  # pread may return less on some filesystems
            more = os.pread(fd, st.st_size - start - len(data), start + len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    parsed = parse_log_bytes(data, kind, source=str(path))
    table = parsed.table
    if start and cached is not None:
        table = pa.concat_tables([cached.table, table])
    entry = _Parsed(start + parsed.complete_bytes, table)
    with _lock:
        old = _cache.pop(key, None)
        _rows -= 0 if old is None else old.table.num_rows
        _cache[key] = entry
        _rows += table.num_rows
        while _rows > _CACHE_ROWS and len(_cache) > 1:
            _, dropped = _cache.popitem(last=False)
            _rows -= dropped.table.num_rows
    return table


def segment_rows(path: Path, kind: Kind | None, *, locked: bool) -> pa.Table:
    """A listed segment's rows; an active one its writer closed meanwhile is read closed.

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
            return table_schema(kind).empty_table()
        raise
