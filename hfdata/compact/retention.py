"""Log retention: compacted segments (their points already in Parquet) deleted once old.

A compaction applies the store's `log_retention` after each variable; `prune_log`
does it now, for any age. Both run under `.compact.lock`, so no batch is moving
segments into `compacted/` meanwhile; pending segments are never touched.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from hfdata.compact.batch import failing_as, log_variables
from hfdata.compact.recovery import compact_lock
from hfdata.durable import fsync_dir
from hfdata.layout import compacted_dir, decode_name, encoded_log_dir
from hfdata.parquet.root import PartsRoot
from hfdata.settings import StoreSettings

__all__ = ["PruneReport", "apply_retention", "prune_log", "remove_compacted"]


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What `prune_log` removed: compacted log segments (their points are in Parquet)."""

    files: int = 0
    bytes: int = 0


def remove_compacted(root: Path, encoded: str, cutoff: float) -> PruneReport:
    """Delete the variable's compacted segments last written at or before `cutoff` (epoch
    seconds). Their points are in Parquet already; the caller holds the compaction lock,
    so no batch is moving segments into `compacted/` meanwhile, and readers never open
    them (`verify` skips one that vanishes)."""
    directory = compacted_dir(encoded_log_dir(root, encoded))
    if not directory.is_dir():
        return PruneReport()
    files = size = 0
    for path in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):
            stat = path.stat()
            if stat.st_mtime <= cutoff:
                path.unlink()
                files += 1
                size += stat.st_size
    if files:
        fsync_dir(directory)
    return PruneReport(files, size)


def apply_retention(root: Path, encoded: str, settings: StoreSettings) -> None:
    """Delete compacted segments older than the store's log retention."""
    if settings.log_retention_seconds is not None:
        remove_compacted(root, encoded, time.time() - settings.log_retention_seconds)


def prune_log(
    root: Path,
    older_than: float,
    *,
    variables: list[str] | None = None,
    parts: PartsRoot,
) -> PruneReport:
    """Remove compacted log segments last written `older_than` seconds ago or earlier, now.

    The same deletion as log retention at the end of a compaction, under the same
    compaction lock (so it waits for a running compaction). Only segments under
    `log/<variable>/compacted/` go: their points are in Parquet; pending segments stay.
    """
    cutoff = time.time() - older_than
    files = size = 0
    with compact_lock(root, True, parts):
        for encoded in log_variables(root, variables):
            with failing_as(f"pruning the log of {decode_name(encoded)!r}"):
                removed = remove_compacted(root, encoded, cutoff)
            files += removed.files
            size += removed.bytes
    return PruneReport(files, size)
