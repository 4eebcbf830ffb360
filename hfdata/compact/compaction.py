"""Compaction: closed log segments into hive-partitioned Parquet.

Follows docs/contracts.md, "Compaction protocol": (1) `.compact.lock`; (2) orphaned `.active`
segments of dead writers are closed, their torn tail cut into `_quarantine/`;
(3) closed segments are parsed in batches of bounded size, bad lines quarantined;
(4) a journal names the batch's outputs and segments; (5) outputs are written as
hidden files and fsynced; (6) under `.publish.lock` they are renamed into place and
the segments moved to `compacted/`; (7) leftover journals are rolled forward or
back (`hfdata.compact.journal`).

Order among equal timestamps: within a file, segments are taken in name order
(writer start time, then sequence) and lines in arrival order, and sorting is
stable (ties are NOT ordered by arrival: `dedupe` judges by the `arrived` column each
row carries, the arrival the log's reader rule gives it); across files of one partition,
files sort by batch id (compaction time), which `optimize` keeps when it merges them.
The tombstones found in a batch's segments are one more output of the batch,
`_tombstones/variable=<var>/part-<batch>.parquet` (`hfdata.parquet.tombstones`).

After each batch publishes, its new files' stats and rollups are written beside them
(`hfdata.compact.derive`, docs/contracts.md "Derived files"), computed from the rows the
batch just wrote (still in memory), with any a crash left unwritten, on a thread while
the next batch is read and written (`_Deriving`; all done before the lock is released).
They are outside the protocol (a live file without them is read from its points), so a
failure there is a warning.

Where the Parquet tree lives is the store's `PartsRoot` (`hfdata.parquet.root`), which does
steps 5 and 6 its own way: under `<root>/parquet` hidden files renamed into place; in an
object store uploads under final unique names and a commit record (object stores cannot
rename). The batch steps are `hfdata.compact.batch`'s, shared with `optimize`; recovery
(steps 2 and 7) is `hfdata.compact.recovery`; log retention runs after each variable
(`hfdata.compact.retention`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from hfdata.compact.batch import (
    CompactionReport,
    Output,
    Tally,
    failing_as,
    housekeep,
    log_variables,
    run_batch,
)
from hfdata.compact.derive import Derived, Published, derive_after_publish
from hfdata.compact.journal import Journal
from hfdata.compact.progress import progress_bar
from hfdata.compact.quarantine import quarantine_dir, write_quarantine
from hfdata.compact.recovery import compact_lock, recover_orphans
from hfdata.compact.retention import apply_retention
from hfdata.kinds import Kind
from hfdata.layout import (
    compacted_dir,
    decode_name,
    encoded_log_dir,
    new_batch_id,
    parse_segment_name,
)
from hfdata.log.parse import BadLine, legacy_arrival, parse_log_bytes
from hfdata.log.schema import load_schema
from hfdata.parquet.files import conform, sort_stable, split_partitions
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.tombstones import TOMBSTONE_SCHEMA, is_tombstone_rel
from hfdata.settings import StoreSettings

__all__ = ["BACKGROUND_BYTES", "BATCH_BYTES", "compact"]

BATCH_BYTES: Final = 256 << 20  # JSON bytes per batch: bounds memory, not file count
BACKGROUND_BYTES: Final = 64 << 20  # a batch's rows up to this are derived on a thread


def _closed_segments(root: Path, encoded: str) -> list[Path]:
    directory = encoded_log_dir(root, encoded)
    found = []
    for path in directory.iterdir():
        parsed = parse_segment_name(path.name)
        if parsed is not None and not parsed[2] and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.name)


def _batches(segments: list[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    size = 0
    for seg in segments:
        seg_size = seg.stat().st_size
        if batch and size + seg_size > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(seg)
        size += seg_size
    if batch:
        yield batch


def _rel(root: Path, path: Path) -> str:
    return str(path.relative_to(root))


def _read_batch(
    root: Path, encoded: str, kind: Kind | None, segments: list[Path], tally: Tally, bar: Any
) -> tuple[pa.Table, pa.Table, Journal]:
    """Step 3: parse the segments (in name order), quarantine their bad lines. Returns
    the rows (with their `arrived`), the tombstones (in segment then line order) and the
    batch's journal."""
    journal = Journal(new_batch_id())
    tables = []
    marks = [TOMBSTONE_SCHEMA.empty_table()]
    for seg in segments:
        data = seg.read_bytes()
        arrived = legacy_arrival(seg.stat().st_mtime_ns)
        parsed = parse_log_bytes(data, kind, arrived=arrived, source=str(seg))
        bad = list(parsed.bad)
        if parsed.torn:
            reason = "torn last line (no newline) in a closed segment"
            bad.append(BadLine(str(seg), parsed.complete_bytes, parsed.torn, reason))
        if bad:
            target = quarantine_dir(root, encoded) / f"{seg.name.removesuffix('.jsonl')}.bad.jsonl"
            tally.quarantined += write_quarantine(target, bad, root)
        tables.append(parsed.table)
        if parsed.tombstones.num_rows:
            marks.append(parsed.tombstones.cast(TOMBSTONE_SCHEMA))
        journal.segments.append((_rel(root, seg), _rel(root, compacted_dir(seg.parent) / seg.name)))
        if bar is not None:
            bar.update(len(data))
        del data
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return table, pa.concat_tables(marks).combine_chunks(), journal


def _compact_batch(
    root: Path,
    settings: StoreSettings,
    encoded: str,
    kind: Kind,
    segments: list[Path],
    tally: Tally,
    bar: Any,
    parts: PartsRoot,
) -> list[Published]:
    """Steps 3-6 for one batch; returns the data files published with the rows each
    holds (conformed to the kind's schema, `arrived` included, before writing: exactly
    the file's contents). The batch's tombstones are one more output, published with
    the rows: never lost, never doubled."""
    table, tombstones, journal = _read_batch(root, encoded, kind, segments, tally, bar)
    table = sort_stable(table)
    outputs: list[Output] = []
    if tombstones.num_rows:
        staged = parts.stage_tombstones(encoded, journal.batch)
        journal.outputs.append(staged)
        outputs.append((staged, tombstones))
    tables: list[pa.Table] = []
    for key, part in split_partitions(table, settings.partition):
        staged = parts.stage(encoded, kind, key, journal.batch)
        journal.outputs.append(staged)
        tables.append(conform(part, kind))
        outputs.append((staged, tables[-1]))
        tally.partitions.add((encoded, key))
    del table
    written = run_batch(root, journal, outputs, parts, encoded, kind)
    files = [f for f in written if not is_tombstone_rel(f.rel)]
    tally.rows += sum(f.rows or 0 for f in files)
    tally.segments += len(segments)
    tally.files += len(outputs)
    return list(zip(files, tables, strict=True))


class _Deriving:
    """A batch's sidecars derived on a thread while compaction goes on with the next
    batch: reading segments, writing and fsyncing Parquet and publishing leave a core
    idle most of the time, and the sidecars' arithmetic fills it. One batch at a time,
    and only one whose rows take at most `BACKGROUND_BYTES` (a larger one is derived at
    once), so memory stays about one batch's. Every derive is over before compaction
    releases its lock (`wait`, `close`)."""

    def __init__(self, root: Path, parts: PartsRoot, settings: StoreSettings) -> None:
        self.root, self.parts, self.settings = root, parts, settings
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[str, Future[Derived]] | None = None

    def start(self, encoded: str, published: list[Published]) -> None:
        """Derive the sidecars of a batch's `published` files (after the previous
        batch's are done), and any a crash left unwritten."""
        self.wait()
        args = (self.root, self.parts, self.settings, encoded, published)
        if sum(table.nbytes for _, table in published) > BACKGROUND_BYTES:
            derive_after_publish(*args)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="hfdata-derive")
        self._pending = (encoded, self._pool.submit(derive_after_publish, *args))

    def wait(self) -> None:
        """Until the batch in flight is derived; its error, if any, is raised here."""
        if self._pending is None:
            return
        encoded, future = self._pending
        self._pending = None
        with failing_as(f"compacting {decode_name(encoded)!r}"):
            future.result()

    def close(self) -> None:
        """Wait for the batch in flight, whatever happened (compaction is failing: its
        own error is the one raised), and end the thread."""
        try:
            with contextlib.suppress(Exception):
                self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown()


def compact(
    root: Path,
    settings: StoreSettings,
    *,
    variables: list[str] | None = None,
    progress: bool | None = None,
    wait: bool = True,
    parts: PartsRoot,
) -> CompactionReport:
    """Turn every closed segment (of `variables`, default all) into Parquet.

    Raises `CompactionInProgress` if another compactor runs and `wait` is False.
    """
    started = time.monotonic()
    tally = Tally()
    with compact_lock(root, wait, parts):
        encoded_names = [
            e for e in log_variables(root, variables) if encoded_log_dir(root, e).is_dir()
        ]
        plan: list[tuple[str, list[Path]]] = []
        for encoded in encoded_names:
            with failing_as(f"compacting {decode_name(encoded)!r}"):
                tally.quarantined += recover_orphans(root, encoded)
                plan.append((encoded, _closed_segments(root, encoded)))
        total = sum(seg.stat().st_size for _, segs in plan for seg in segs)
        bar = progress_bar(progress, total, "compacting", "B")
        deriving = _Deriving(root, parts, settings)
        try:
            for encoded, segments in plan:
                with failing_as(f"compacting {decode_name(encoded)!r}"):
                    kind = load_schema(encoded_log_dir(root, encoded))
                    if kind is None:  # only missing values so far: no kind's folder yet
                        tally.waiting += 1
                        continue
                    for batch in _batches(segments):
                        published = _compact_batch(
                            root, settings, encoded, kind, batch, tally, bar, parts
                        )
                        # the new files' sidecars (from the rows in memory), and any a
                        # crash left unwritten
                        deriving.start(encoded, published)
                        del published
                    apply_retention(root, encoded, settings)
            deriving.wait()
        finally:
            deriving.close()
            if bar is not None:
                bar.close()
        for encoded, segments in plan:
            if segments:
                housekeep(parts, encoded)
    return tally.report(started)
