"""Lines that could not become rows, kept with their file, byte offset and reason.

One JSON Lines file per source segment, `_quarantine/<var>/<writer>-<seq>.bad.jsonl`, written
atomically under a name derived from the segment, so a compaction that is rolled
back and run again rewrites the same file instead of adding duplicates. Torn tails
cut from dead writers' segments go to `<writer>-<seq>.torn.jsonl`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from hfdata.durable import atomic_write, make_dirs
from hfdata.layout import quarantine_root
from hfdata.log.parse import BadLine

__all__ = ["quarantine_dir", "write_quarantine"]


def quarantine_dir(root: Path, encoded_var: str) -> Path:
    """`<root>/_quarantine/<encoded variable>`."""
    return quarantine_root(root) / encoded_var


def write_quarantine(path: Path, bad: Iterable[BadLine], root: Path) -> int:
    """Write the bad lines as records `{file, offset, reason, line}`; returns how many.

    `file` is relative to the store root; `line` is the raw text (undecodable bytes
    backslash-escaped).
    """
    records = []
    for item in bad:
        source = Path(item.source)
        try:
            name = str(source.relative_to(root))
        except ValueError:
            name = item.source
        record = {
            "file": name,
            "offset": item.offset,
            "reason": item.reason,
            "line": item.line.decode("utf-8", "backslashreplace"),
        }
        records.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    if records:
        make_dirs(path.parent)
        atomic_write(path, b"".join(records))
    return len(records)
