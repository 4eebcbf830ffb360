"""`optimize`: each partition's Parquet files merged into one sorted file, as one batch.

Per partition, the files the store's `PartsRoot` says this store owns (never another
store's in a shared root) are merged in batch order with a stable sort
(`hfdata.parquet.merge`, one window in memory at a time), so ties keep their order;
the merged file replaces them through the batch protocol (`hfdata.compact.batch`).
Then each variable's missing sidecars are written (the merged files' stats and rollups)
and the replaced files' deleted (`hfdata.compact.derive`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from hfdata.compact.batch import CompactionReport, Tally, failing_as, housekeep, run_batch
from hfdata.compact.derive import derive_after_publish
from hfdata.compact.journal import Journal
from hfdata.compact.progress import progress_bar
from hfdata.compact.recovery import compact_lock
from hfdata.kinds import Kind
from hfdata.layout import (
    decode_name,
    encode_name,
    encoded_log_dir,
    new_batch_id,
    partition_folder,
)
from hfdata.log.schema import load_schema
from hfdata.parquet.merge import merge_sorted_files
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.settings import StoreSettings

__all__ = ["optimize"]


def _partitions(
    root: Path,
    parts: PartsRoot,
    variables: list[str] | None,
    dedupe: Literal["last", "first"] | None,
) -> list[tuple[str, Kind, str, list[PartFile]]]:
    """`(variable, kind, partition key, files)` to merge: per partition, the files this
    store owns (never another store's in a shared root), when there are several or
    `dedupe` asks for a rewrite of one."""
    encoded_names = (
        sorted({encode_name(v) for v in variables}) if variables is not None else parts.variables()
    )
    todo: list[tuple[str, Kind, str, list[PartFile]]] = []
    for encoded in encoded_names:
        listing = parts.listing(encoded)
        kind = listing.kind or load_schema(encoded_log_dir(root, encoded))
        if kind is None:  # no Parquet (a log-only variable): nothing to merge
            continue
        groups: dict[str, list[PartFile]] = {}
        for f in listing.files:
            if f.own:
                groups.setdefault(f.key, []).append(f)
        todo.extend(
            (encoded, kind, key, group)
            for key, group in groups.items()
            if len(group) > 1 or dedupe is not None
        )
    return todo


def _considered(parts: PartsRoot, variables: list[str] | None) -> list[str]:
    """The variables an optimize looked at that have Parquet (their sidecars are built)."""
    if variables is None:
        return parts.variables()
    return [e for e in sorted({encode_name(v) for v in variables}) if parts.holds(e)]


def optimize(
    root: Path,
    settings: StoreSettings,
    *,
    variables: list[str] | None = None,
    dedupe: Literal["last", "first"] | None = None,
    progress: bool | None = None,
    parts: PartsRoot,
) -> CompactionReport:
    """Merge each partition's files into one sorted file (optionally deduplicated).

    Files are merged in name (batch) order with a stable sort, so ties keep their
    order; `dedupe` keeps the last or first row per timestamp, judged by timestamp only.
    """
    if dedupe not in (None, "last", "first"):
        raise ValueError(f"dedupe must be 'last', 'first' or None, got {dedupe!r}")
    started = time.monotonic()
    tally = Tally()
    with compact_lock(root, True, parts):
        todo = _partitions(root, parts, variables, dedupe)
        bar = progress_bar(progress, len(todo), "optimizing", "partition")
        try:
            for encoded, kind, key, group in todo:
                with failing_as(f"optimizing {decode_name(encoded)!r} (date={key})"):
                    journal = Journal(new_batch_id())
                    staged = parts.stage(encoded, kind, key, journal.batch)
                    journal.outputs.append(staged)
                    journal.replaces.extend(parts.journal_name(f) for f in group)
                    merged = merge_sorted_files(group, dedupe)
                    [file] = run_batch(root, journal, [(staged, merged)], parts, encoded, kind)
                    tally.rows += file.rows or 0
                tally.files += 1
                tally.partitions.add((encoded, partition_folder(key)))
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        for encoded in _considered(parts, variables):
            # the merged files' sidecars; the replaced files' become orphans, deleted
            derive_after_publish(root, parts, settings, encoded)
        for encoded in sorted({item[0] for item in todo}):
            housekeep(parts, encoded)
    return tally.report(started)
