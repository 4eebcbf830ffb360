"""Log segments (JSON Lines bytes) to Arrow tables, with every bad line accounted for.

Shared by compaction and by readers of the log tail. A line without its final
`\\n` is a torn write and never data: it is returned as `torn`, not parsed. The
complete lines go to the vectorised parser (`fastparse`), which hands every line it
does not vouch for to the per-line reference parser (`lineparse`), so both paths give
the same rows, the same bad lines and the same bytes.

Each row gets its arrival by the reader rule (docs/contracts.md, "Log line format"):
its line's own `arrived`, else the segment's latest marker line before it, else the
segment file's modification time (lines written before format 3: "known by then at
the latest"). Tombstone lines come out as a separate table.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.log.fastparse import parse_fast
from hfdata.log.lineformat import (
    ARRIVED,
    ARROW_TYPES,
    canonical_json,
    table_schema,
    tombstone_schema,
)
from hfdata.log.lineparse import BadLine, parse_reference, resolve_arrival

# The line vocabulary and the reference parser's names are re-exported: the readers of
# parsed tables (compaction, read, verify) import everything about parsed logs from here.
__all__ = [
    "ARRIVED",
    "ARROW_TYPES",
    "BadLine",
    "ParsedLog",
    "canonical_json",
    "legacy_arrival",
    "line_bounds",
    "parse_log_bytes",
    "parse_reference",
    "read_segment",
    "table_schema",
    "tombstone_schema",
]

_SCAN_BLOCK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class ParsedLog:
    """What a log's complete lines hold, its bad lines, and a torn tail if the last line
    has no newline.

    `table` is `table_schema(kind, arrived=True)`: `timestamp`, `value`, `metadata`,
    `arrived`. `tombstones` is `tombstone_schema()`: `start`, `end`, `recorded`, in line
    order. `markers` counts the marker lines (neither rows nor bad lines); `marker` is
    the arrival of the last one (None if there is none): the `arrived` to parse the
    bytes after `complete_bytes` with.
    """

    table: pa.Table
    tombstones: pa.Table = field(default_factory=lambda: tombstone_schema().empty_table())
    bad: list[BadLine] = field(default_factory=list)
    complete_bytes: int = 0
    torn: bytes = b""
    markers: int = 0
    marker: int | None = None


def legacy_arrival(mtime_ns: int) -> int:
    """The arrival of a segment's lines that carry none and follow no marker: the file's
    modification time in ns (at least 1: arrivals are positive)."""
    return max(1, mtime_ns)


def line_bounds(data: bytes, end: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(start, stop) byte offsets of every complete line in `data[:end]`; stop is the newline."""
    arr = np.frombuffer(data, np.uint8, count=end)

    def scan(i: int) -> npt.NDArray[np.int64]:
        return np.flatnonzero(arr[i : i + _SCAN_BLOCK] == 10) + i

    blocks = range(0, end, _SCAN_BLOCK)
    if len(blocks) < 4:
        parts = [scan(i) for i in blocks]
    else:  # numpy releases the GIL: large logs are scanned on two threads
        with ThreadPoolExecutor(2) as pool:
            parts = list(pool.map(scan, blocks))
    stops = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    starts = np.empty_like(stops)
    if len(stops):
        starts[0] = 0
        starts[1:] = stops[:-1] + 1
    return starts, stops


def parse_log_bytes(
    data: bytes,
    kind: Kind | None,
    *,
    arrived: int,
    source: str = "",
    vectorised: bool = True,
) -> ParsedLog:
    """Parse the complete lines of `data`; the bytes after the last newline are `torn`.

    `arrived` is the arrival of rows that carry none and follow no marker line in
    `data`: for a whole segment `legacy_arrival` of its modification time; for bytes
    that continue a segment, the `marker` its earlier bytes left (if any).
    `vectorised=False` forces the per-line reference parser (used by tests and
    benchmarks to check that both paths agree).
    """
    end = data.rfind(b"\n") + 1
    torn = data[end:]
    starts, stops = line_bounds(data, end)
    if vectorised and len(starts):
        lines = parse_fast(data, end, starts, stops, kind, source, arrived)
    else:
        lines = resolve_arrival(parse_reference(data, starts, stops, kind, source), arrived)
    return ParsedLog(
        table=lines.table,
        tombstones=lines.tombstones,
        bad=lines.bad,
        complete_bytes=end,
        torn=torn,
        markers=lines.markers,
        marker=lines.marker,
    )


def read_segment(path: Path, kind: Kind | None) -> ParsedLog:
    """Read and parse one segment file (closed or active), the legacy arrival its mtime."""
    with open(path, "rb") as fh:
        data = fh.read()
        mtime = os.fstat(fh.fileno()).st_mtime_ns  # after the read: covers every byte read
    return parse_log_bytes(data, kind, arrived=legacy_arrival(mtime), source=str(path))
