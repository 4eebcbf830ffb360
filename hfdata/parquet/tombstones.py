"""Tombstones on the Parquet side: where a variable's deletions live once compacted, and
how readers load them.

`Store.delete` writes a tombstone line to the log (docs/contracts.md, "Log line
format"); compaction carries the tombstones of a batch's segments into one file,
`_tombstones/variable=<var>/part-<batch>.parquet` under the Parquet root, as an output of
the same journaled batch as the batch's data files (published with the segment moves:
never lost, never doubled). `optimize` merges a variable's tombstone files into one;
`drop` deletes them. Columns `start`, `end`, `recorded` (`timestamp[ns, UTC]`, not
null): the points of `[start, end)` that arrived strictly before `recorded` are deleted
(docs/contracts.md, "Parquet tree").

Readers list a variable's tombstone files with `PartsRoot.tombstones` in the listing
step of their snapshot (under the shared `.publish.lock`, with the data files) and read
them with `read_tombstones` after releasing it: a file that vanished meanwhile (an
`optimize` merged it) is a `FileNotFoundError`, which restarts the snapshot like a
vanished data file. `load_tombstones` does both at once for callers that hold the
compaction lock or take the publish lock themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pyarrow as pa

from hfdata.layout import part_file_name, variable_folder
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.parquet.reader import read_whole
from hfdata.parquet.root import PartFile, PartsRoot

__all__ = [
    "RECORDED",
    "TOMBSTONES_DIR",
    "TOMBSTONE_SCHEMA",
    "is_tombstone_rel",
    "load_tombstones",
    "read_tombstones",
    "tombstone_folder",
    "tombstone_rel",
]

TOMBSTONES_DIR: Final = "_tombstones"
RECORDED: Final = "recorded"
_TS: Final = pa.timestamp("ns", tz="UTC")
TOMBSTONE_SCHEMA: Final = pa.schema(
    [pa.field(name, _TS, nullable=False) for name in ("start", "end", RECORDED)]
)


def tombstone_folder(encoded: str) -> str:
    """`_tombstones/variable=<var>`, relative to the Parquet root."""
    return f"{TOMBSTONES_DIR}/{variable_folder(encoded)}"


def tombstone_rel(encoded: str, batch: str, *, temporary: bool = False) -> str:
    """The file of batch `batch`'s tombstones of a variable (or its hidden temporary),
    relative to the Parquet root."""
    return f"{tombstone_folder(encoded)}/{part_file_name(batch, temporary=temporary)}"


def is_tombstone_rel(rel: str) -> bool:
    """Whether a name relative to the Parquet root is a tombstone file's."""
    return rel.startswith(f"{TOMBSTONES_DIR}/")


def read_tombstones(files: Sequence[PartFile]) -> pa.Table:
    """The tombstones of `files` (`PartsRoot.tombstones`' listing), in the files' order,
    each file's rows in the order they were recorded; `TOMBSTONE_SCHEMA`. A file deleted
    since the listing is a `FileNotFoundError` (list again); a damaged one a
    `CorruptFile` (local roots) naming it."""
    tables = [TOMBSTONE_SCHEMA.empty_table()]
    for file in files:
        root = file.root
        with root.reading(file):
            table = read_whole(root.fetch(file), TOMBSTONE_SCHEMA.names)
        tables.append(table.cast(TOMBSTONE_SCHEMA))
    return pa.concat_tables(tables).combine_chunks()


def load_tombstones(root: Path, parts: PartsRoot, encoded: str) -> pa.Table:
    """A variable's compacted tombstones, listed and read under the shared publish lock
    (consistent with any publish; for callers outside a read snapshot: `optimize`,
    `verify`, tests)."""
    with flock(root / PUBLISH_LOCK, shared=True):
        return read_tombstones(parts.tombstones(encoded))
