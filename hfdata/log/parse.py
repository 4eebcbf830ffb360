"""Log segments (JSON Lines bytes) to Arrow tables, with every bad line accounted for.

Shared by compaction and by readers of the log tail. A line without its final
`\\n` is a torn write and never data: it is returned as `torn`, not parsed. The
complete lines go to the vectorised parser (`fastparse`), which hands every line it
does not vouch for to the per-line reference parser (`lineparse`), so both paths give
the same rows, the same bad lines and the same bytes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hfdata.kinds import Kind
from hfdata.log.fastparse import parse_fast
from hfdata.log.lineformat import ARROW_TYPES, canonical_json, table_schema
from hfdata.log.lineparse import BadLine, parse_reference

# The line vocabulary and the reference parser's names are re-exported: the readers of
# parsed tables (compaction, read, verify) import everything about parsed logs from here.
__all__ = [
    "ARROW_TYPES",
    "BadLine",
    "ParsedLog",
    "canonical_json",
    "line_bounds",
    "parse_log_bytes",
    "parse_reference",
    "read_segment",
    "table_schema",
]

_SCAN_BLOCK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class ParsedLog:
    """The rows of a log, its bad lines, and a torn tail if the last line has no newline."""

    table: pa.Table
    bad: list[BadLine] = field(default_factory=list)
    complete_bytes: int = 0
    torn: bytes = b""


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
    data: bytes, kind: Kind | None, *, source: str = "", vectorised: bool = True
) -> ParsedLog:
    """Parse the complete lines of `data`; the bytes after the last newline are `torn`.

    `vectorised=False` forces the per-line reference parser (used by tests and
    benchmarks to check that both paths agree).
    """
    end = data.rfind(b"\n") + 1
    torn = data[end:]
    starts, stops = line_bounds(data, end)
    if vectorised and len(starts):
        table, bad = parse_fast(data, end, starts, stops, kind, source)
    else:
        table, _, bad = parse_reference(data, starts, stops, kind, source)
    return ParsedLog(table=table, bad=bad, complete_bytes=end, torn=torn)


def read_segment(path: Path, kind: Kind | None) -> ParsedLog:
    """Read and parse one segment file (closed or active)."""
    return parse_log_bytes(path.read_bytes(), kind, source=str(path))
