"""`optimize`: each partition's Parquet files merged into one sorted file, as one batch.

Per partition, the files the store's `PartsRoot` says this store owns (never another
store's in a shared root) are merged in batch order with a stable sort
(`hfdata.parquet.merge`, one window in memory at a time), so ties keep their order;
the merged file replaces them through the batch protocol (`hfdata.compact.batch`).
`dedupe` keeps one version per timestamp judged by `arrived` (`hfdata.parquet.versions`).
With a `history_retention`, the versions deleted by a compacted tombstone recorded more
than that long ago are left out of the merge (a partition of one file is rewritten only
when it holds such a version); tombstones themselves are kept, a variable's several
tombstone files merged into one batch of their own. Then each variable's missing
sidecars are written (the merged files' stats and rollups) and the replaced files'
deleted (`hfdata.compact.derive`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa

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
from hfdata.parquet.reader import file_span, read_parquet
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.tombstones import TOMBSTONE_SCHEMA, read_tombstones
from hfdata.parquet.versions import deleted_mask, expired_tombstones
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = ["optimize"]

# The clock `history_retention` is measured against (a name of its own, so tests can set
# the moment an optimize runs at instead of sleeping).
_clock = time.time_ns


@dataclass(frozen=True, slots=True)
class _Job:
    """One partition to merge: its variable, kind, key and files, and the variable's
    tombstones (all, for `dedupe`, and the expired ones, whose versions go)."""

    encoded: str
    kind: Kind
    key: str
    files: list[PartFile]
    tombstones: pa.Table
    expired: pa.Table


def _partitions(
    root: Path,
    parts: PartsRoot,
    variables: list[str] | None,
    dedupe: Literal["last", "first"] | None,
    retention_ns: int | None,
    now: int,
) -> list[_Job]:
    """The partitions to merge: per partition, the files this store owns (never another
    store's in a shared root), when there are several, `dedupe` asks for a rewrite of
    one, or one holds a version an expired tombstone deletes."""
    encoded_names = (
        sorted({encode_name(v) for v in variables}) if variables is not None else parts.variables()
    )
    todo: list[_Job] = []
    for encoded in encoded_names:
        listing = parts.listing(encoded)
        kind = listing.kind or load_schema(encoded_log_dir(root, encoded))
        if kind is None:  # no Parquet (a log-only variable): nothing to merge
            continue
        # under the compaction lock: no batch publishes or replaces tombstones meanwhile
        tombstones = read_tombstones(parts.tombstones(encoded))
        expired = expired_tombstones(tombstones, now, retention_ns)
        groups: dict[str, list[PartFile]] = {}
        for f in listing.files:
            if f.own:
                groups.setdefault(f.key, []).append(f)
        todo.extend(
            _Job(encoded, kind, key, group, tombstones, expired)
            for key, group in groups.items()
            if len(group) > 1 or dedupe is not None or _holds_expired(group, expired)
        )
    return todo


def _holds_expired(files: list[PartFile], expired: pa.Table) -> bool:
    """Whether a file holds a version an expired tombstone deletes (only files whose
    span meets a tombstone's range are read, and only their timestamps and arrivals)."""
    if expired.num_rows == 0:
        return False
    starts = expired.column("start").cast(pa.int64()).to_pylist()
    ends = expired.column("end").cast(pa.int64()).to_pylist()
    for file in files:
        lo, hi, rows = file_span(file)
        if rows == 0 or not any(s <= hi and lo < e for s, e in zip(starts, ends, strict=True)):
            continue
        table = read_parquet(file, NS_MIN, NS_MAX, ["timestamp", "arrived"])
        if table is not None and bool(deleted_mask(table, expired).any()):
            return True
    return False


def _merge_tombstones(root: Path, parts: PartsRoot, encoded: str, kind: Kind, tally: Tally) -> None:
    """A variable's tombstone files this store owns merged into one, when it has
    several: one batch, the merged file replacing them (kept whatever their age)."""
    files = [f for f in parts.tombstones(encoded) if f.own]
    if len(files) < 2:
        return
    journal = Journal(new_batch_id())
    staged = parts.stage_tombstones(encoded, journal.batch)
    journal.outputs.append(staged)
    journal.replaces.extend(parts.journal_name(f) for f in files)
    merged = read_tombstones(files).cast(TOMBSTONE_SCHEMA)
    run_batch(root, journal, [(staged, merged)], parts, encoded, kind)
    tally.files += 1


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
    """Merge each partition's files into one sorted file (optionally deduplicated),
    leaving out the versions deleted by tombstones older than the store's
    `history_retention`; merge each variable's tombstone files into one.

    Files are merged in name (batch) order with a stable sort, so ties keep their
    order; `dedupe` keeps the last or first version per timestamp by `arrived` (ties:
    stored order).
    """
    if dedupe not in (None, "last", "first"):
        raise ValueError(f"dedupe must be 'last', 'first' or None, got {dedupe!r}")
    started = time.monotonic()
    tally = Tally()
    retention = settings.history_retention_seconds
    retention_ns = None if retention is None else round(retention * 1e9)
    with compact_lock(root, True, parts):
        now = _clock()
        with failing_as(f"optimizing {root}"):
            todo = _partitions(root, parts, variables, dedupe, retention_ns, now)
        bar = progress_bar(progress, len(todo), "optimizing", "partition")
        try:
            for job in todo:
                encoded, kind, key = job.encoded, job.kind, job.key
                with failing_as(f"optimizing {decode_name(encoded)!r} (date={key})"):
                    journal = Journal(new_batch_id())
                    staged = parts.stage(encoded, kind, key, journal.batch)
                    journal.outputs.append(staged)
                    journal.replaces.extend(parts.journal_name(f) for f in job.files)
                    merged = merge_sorted_files(
                        job.files, dedupe, tombstones=job.tombstones, expired=job.expired
                    )
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
            with failing_as(f"optimizing the tombstones of {decode_name(encoded)!r}"):
                known = parts.listing(encoded).kind or load_schema(encoded_log_dir(root, encoded))
                if known is not None:
                    _merge_tombstones(root, parts, encoded, known, tally)
        for encoded in _considered(parts, variables):
            # the merged files' sidecars; the replaced files' become orphans, deleted
            derive_after_publish(root, parts, settings, encoded)
        for encoded in sorted({job.encoded for job in todo} | set(_considered(parts, variables))):
            housekeep(parts, encoded)
    return tally.report(started)
