"""Compaction: closed log segments into hive-partitioned Parquet, and its maintenance.

Follows docs/contracts.md, "Compaction protocol": (1) `.compact.lock`; (2) orphaned `.active`
segments of dead writers are closed, their torn tail cut into `_quarantine/`;
(3) closed segments are parsed in batches of bounded size, bad lines quarantined;
(4) a journal names the batch's outputs and segments; (5) outputs are written as
hidden files and fsynced; (6) under `.publish.lock` they are renamed into place and
the segments moved to `compacted/`; (7) leftover journals are rolled forward or
back (`hfdata.compact.journal`).

Order among equal timestamps: within a file, segments are taken in name order
(writer start time, then sequence) and lines in arrival order, and sorting is
stable; across files of one partition, files sort by batch id (compaction time),
which `optimize` keeps when it merges them.

Where the Parquet tree lives is the store's `PartsRoot` (`hfdata.parquet.root`), which does
steps 5 and 6 its own way: under `<root>/parquet` hidden files renamed into place; in an
object store uploads under final unique names and a commit record (object stores cannot
rename). `optimize` merges, per partition, the files the root says this store owns, and
`drop` makes the variable's Parquet invisible under the publish lock before deleting it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa

from hfdata.compact.journal import Journal, publish, recover_all, roll_back
from hfdata.compact.quarantine import quarantine_dir, write_quarantine
from hfdata.durable import fsync_dir
from hfdata.errors import CompactionFailed, CompactionInProgress, HfdataError, VariableNotFound
from hfdata.kinds import Kind
from hfdata.layout import (
    PARQUET_DIR,
    compacted_dir,
    decode_name,
    encode_name,
    encoded_log_dir,
    is_trash,
    journal_dir,
    log_root,
    new_batch_id,
    parse_segment_name,
    partition_folder,
    quarantine_root,
    trash_name,
)
from hfdata.locks import COMPACT_LOCK, PUBLISH_LOCK, flock
from hfdata.log.parse import BadLine, parse_log_bytes
from hfdata.log.schema import load_schema
from hfdata.parquet.files import sort_stable, split_partitions
from hfdata.parquet.merge import merge_sorted_files
from hfdata.parquet.root import PartFile, PartsRoot, Pieces, Staged
from hfdata.settings import StoreSettings

__all__ = [
    "BATCH_BYTES",
    "CompactionReport",
    "PruneReport",
    "compact",
    "drop",
    "optimize",
    "prune_log",
    "recover",
]

BATCH_BYTES: Final = 256 << 20  # JSON bytes per batch: bounds memory, not file count


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What one compaction or optimize run did."""

    segments: int = 0
    rows: int = 0
    partitions: int = 0
    files: int = 0
    quarantined: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Tally:
    segments: int = 0
    rows: int = 0
    partitions: set[tuple[str, str]] = field(default_factory=set)
    files: int = 0
    quarantined: int = 0

    def report(self, started: float) -> CompactionReport:
        return CompactionReport(
            segments=self.segments,
            rows=self.rows,
            partitions=len(self.partitions),
            files=self.files,
            quarantined=self.quarantined,
            seconds=time.monotonic() - started,
        )


# -- locking and recovery ----------------------------------------------------------------
@contextlib.contextmanager
def _compact_lock(root: Path, wait: bool, parts: PartsRoot) -> Iterator[None]:
    with flock(root / COMPACT_LOCK, wait=wait) as held:
        if not held:
            raise CompactionInProgress(
                f"another compaction of {root} is running; call again with wait=True to "
                "wait for it, or try later"
            )
        recover_all(root, parts)
        _sweep_trash(root)
        yield


def recover(root: Path, parts: PartsRoot) -> None:
    """Roll leftover journals forward or back, unless a compaction is running right now.

    Called by `open_store`; a running compactor recovers at its own start.
    """
    if not journal_dir(root).is_dir() and not quarantine_root(root).is_dir():
        return
    with flock(root / COMPACT_LOCK, wait=False) as held:
        if held:
            recover_all(root, parts)
            _sweep_trash(root)


def _trash(root: Path) -> list[Path]:
    found: list[Path] = []
    for parent in (root / PARQUET_DIR, log_root(root), quarantine_root(root)):
        if parent.is_dir():
            found.extend(p for p in parent.iterdir() if is_trash(p.name))
    return found


def _sweep_trash(root: Path) -> None:
    """Finish interrupted drops; remove quarantine temporaries (only the lock holder writes)."""
    for path in _trash(root):
        shutil.rmtree(path, ignore_errors=True)
    quarantine = quarantine_root(root)
    if quarantine.is_dir():
        for stray in quarantine.glob("*/.*.tmp"):
            stray.unlink(missing_ok=True)


# -- compaction ---------------------------------------------------------------------------
def _variable_dirs(root: Path, variables: list[str] | None) -> list[str]:
    """Encoded names of the variables to compact (all with a log directory by default)."""
    if variables is not None:
        return sorted({encode_name(v) for v in variables})
    log = log_root(root)
    if not log.is_dir():
        return []
    # Every directory under log/ is a variable, dot-named ones too (".hidden" is legal).
    return sorted(p.name for p in log.iterdir() if p.is_dir())


def _recover_orphans(root: Path, encoded: str) -> int:
    """Step 2: close `.active` segments whose writer is dead; returns lines quarantined."""
    directory = encoded_log_dir(root, encoded)
    _remove_dead_temporaries(directory)
    cut = 0
    for path in sorted(directory.glob("*.jsonl.active")):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # its writer closed it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue
            except FileNotFoundError:
                continue
            cut += _close_orphan(root, encoded, path, fd)
        finally:
            os.close(fd)
    return cut


def _remove_dead_temporaries(directory: Path) -> None:
    """Remove hidden `.<segment>.jsonl.active.tmp` files of writers killed while creating
    a segment. A live writer holds the file's flock from creation until it removes the
    name itself, so a free flock means a dead writer; the file holds no data (writing
    starts after the segment is linked to its real name)."""
    for path in sorted(directory.glob(".*.jsonl.active.tmp")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its writer is alive and about to publish it
        else:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)


def _close_orphan(root: Path, encoded: str, path: Path, fd: int) -> int:
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    end = data.rfind(b"\n") + 1
    closed = path.with_name(path.name.removesuffix(".active"))
    cut = 0
    if end < size:
        reason = "torn last line (no newline) of a dead writer's segment; cut at recovery"
        torn = BadLine(str(path), end, data[end:], reason)
        target = quarantine_dir(root, encoded) / f"{closed.name.removesuffix('.jsonl')}.torn.jsonl"
        cut = write_quarantine(target, [torn], root)
        os.ftruncate(fd, end)
        os.fsync(fd)
    if end == 0:
        path.unlink()
    else:
        os.rename(path, closed)
    fsync_dir(path.parent)
    return cut


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
    root: Path, encoded: str, kind: Kind | None, segments: list[Path], tally: _Tally, bar: Any
) -> tuple[pa.Table, Journal]:
    """Step 3: parse the segments (in name order), quarantine their bad lines."""
    journal = Journal(new_batch_id())
    tables = []
    for seg in segments:
        data = seg.read_bytes()
        parsed = parse_log_bytes(data, kind, source=str(seg))
        bad = list(parsed.bad)
        if parsed.torn:
            reason = "torn last line (no newline) in a closed segment"
            bad.append(BadLine(str(seg), parsed.complete_bytes, parsed.torn, reason))
        if bad:
            target = quarantine_dir(root, encoded) / f"{seg.name.removesuffix('.jsonl')}.bad.jsonl"
            tally.quarantined += write_quarantine(target, bad, root)
        tables.append(parsed.table)
        journal.segments.append((_rel(root, seg), _rel(root, compacted_dir(seg.parent) / seg.name)))
        if bar is not None:
            bar.update(len(data))
        del data
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return table, journal


Output = tuple[Staged, Pieces]  # (journal names, rows)


def _write_outputs(
    root: Path,
    journal: Journal,
    outputs: list[Output],
    parts: PartsRoot,
    encoded: str,
    kind: Kind | None,
) -> int:
    """Step 5: every output written (hidden, or uploaded but not committed), then what
    publishing will write kept in the journal. Returns the rows written."""
    spool = journal_dir(root) / f".{journal.batch}.spool.parquet"
    written: list[PartFile] = [
        parts.write(staged, pieces, spool=spool) for staged, pieces in outputs
    ]
    journal.commit = parts.commit_record(
        journal.batch, encoded, kind, written, list(journal.replaces)
    )
    return sum(f.rows or 0 for f in written)


def _publish(root: Path, journal: Journal, parts: PartsRoot) -> None:
    """Step 6, under the exclusive publish lock."""
    with flock(root / PUBLISH_LOCK):
        publish(root, journal, parts)


def _run_batch(
    root: Path,
    journal: Journal,
    outputs: list[Output],
    parts: PartsRoot,
    encoded: str,
    kind: Kind | None = None,
) -> int:
    """Steps 4-6 for one batch; on any failure the batch is rolled back or forward at
    once. Returns the rows written."""
    journal.remote = parts.remote
    journal.save(root)
    try:
        rows = _write_outputs(root, journal, outputs, parts, encoded, kind)
        _publish(root, journal, parts)
    except BaseException:
        with contextlib.suppress(Exception):
            if journal.state == "publishing":
                _publish(root, journal, parts)
            else:
                roll_back(root, journal, parts)
        raise
    return rows


@contextlib.contextmanager
def _failing_as(what: str) -> Iterator[None]:
    """An I/O error in a compaction or optimize job becomes a `CompactionFailed` that
    names the job and says nothing was lost: a batch is rolled back or forward by
    `_run_batch`, and the steps around batches (closing a dead writer's segment, log
    retention) are safe to stop anywhere, as the torture suite's kills show. hfdata's
    own typed errors pass unchanged."""
    try:
        yield
    except HfdataError:
        raise
    except OSError as exc:
        reason = (exc.strerror if exc.errno is not None and exc.strerror else str(exc)) + (
            f" ({exc.filename})" if exc.filename else ""
        )
        message = (
            f"{what} failed: {reason}. No point was lost or doubled: the interrupted step was "
            "undone or finished (or is, by the next open or compaction). Fix the cause (disk "
            "space, permissions, the object store) and run it again"
        )
        raise CompactionFailed(message, errno=exc.errno) from exc


def _compact_batch(
    root: Path,
    settings: StoreSettings,
    encoded: str,
    kind: Kind | None,
    segments: list[Path],
    tally: _Tally,
    bar: Any,
    parts: PartsRoot,
) -> None:
    table, journal = _read_batch(root, encoded, kind, segments, tally, bar)
    table = sort_stable(table)
    outputs: list[Output] = []
    for key, part in split_partitions(table, settings.partition):
        staged = parts.stage(encoded, key, journal.batch)
        journal.outputs.append(staged)
        outputs.append((staged, part))
        tally.partitions.add((encoded, key))
    del table
    tally.rows += _run_batch(root, journal, outputs, parts, encoded, kind)
    tally.segments += len(segments)
    tally.files += len(outputs)


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What `prune_log` removed: compacted log segments (their points are in Parquet)."""

    files: int = 0
    bytes: int = 0


def _remove_compacted(root: Path, encoded: str, cutoff: float) -> PruneReport:
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


def _apply_retention(root: Path, encoded: str, settings: StoreSettings) -> None:
    """Delete compacted segments older than the store's log retention."""
    if settings.log_retention_seconds is not None:
        _remove_compacted(root, encoded, time.time() - settings.log_retention_seconds)


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
    with _compact_lock(root, True, parts):
        for encoded in _variable_dirs(root, variables):
            with _failing_as(f"pruning the log of {decode_name(encoded)!r}"):
                removed = _remove_compacted(root, encoded, cutoff)
            files += removed.files
            size += removed.bytes
    return PruneReport(files, size)


def _interactive() -> bool:
    """A terminal or a notebook is watching."""
    try:
        shell = sys.modules["IPython"].get_ipython()
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    except (KeyError, AttributeError):
        pass
    return sys.stderr is not None and sys.stderr.isatty()


def _progress_bar(progress: bool | None, total: int, desc: str, unit: str) -> Any:
    if not (_interactive() if progress is None else progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)


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
    tally = _Tally()
    with _compact_lock(root, wait, parts):
        encoded_names = [
            e for e in _variable_dirs(root, variables) if encoded_log_dir(root, e).is_dir()
        ]
        plan: list[tuple[str, list[Path]]] = []
        for encoded in encoded_names:
            with _failing_as(f"compacting {decode_name(encoded)!r}"):
                tally.quarantined += _recover_orphans(root, encoded)
                plan.append((encoded, _closed_segments(root, encoded)))
        total = sum(seg.stat().st_size for _, segs in plan for seg in segs)
        bar = _progress_bar(progress, total, "compacting", "B")
        try:
            for encoded, segments in plan:
                with _failing_as(f"compacting {decode_name(encoded)!r}"):
                    kind = load_schema(encoded_log_dir(root, encoded))
                    for batch in _batches(segments):
                        _compact_batch(root, settings, encoded, kind, batch, tally, bar, parts)
                    _apply_retention(root, encoded, settings)
        finally:
            if bar is not None:
                bar.close()
        for encoded, segments in plan:
            if segments:
                _housekeep(parts, encoded)
    return tally.report(started)


# -- optimize -----------------------------------------------------------------------------
def _partitions(
    parts: PartsRoot, variables: list[str] | None, dedupe: Literal["last", "first"] | None
) -> list[tuple[str, Kind | None, str, list[PartFile]]]:
    """`(variable, kind, partition key, files)` to merge: per partition, the files this
    store owns (never another store's in a shared root), when there are several or
    `dedupe` asks for a rewrite of one."""
    encoded_names = (
        sorted({encode_name(v) for v in variables}) if variables is not None else parts.variables()
    )
    todo: list[tuple[str, Kind | None, str, list[PartFile]]] = []
    for encoded in encoded_names:
        listing = parts.listing(encoded)
        groups: dict[str, list[PartFile]] = {}
        for f in listing.files:
            if f.own:
                groups.setdefault(f.key, []).append(f)
        todo.extend(
            (encoded, listing.kind, key, group)
            for key, group in groups.items()
            if len(group) > 1 or dedupe is not None
        )
    return todo


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
    tally = _Tally()
    with _compact_lock(root, True, parts):
        todo = _partitions(parts, variables, dedupe)
        bar = _progress_bar(progress, len(todo), "optimizing", "partition")
        try:
            for encoded, kind, key, group in todo:
                with _failing_as(f"optimizing {decode_name(encoded)!r} (date={key})"):
                    journal = Journal(new_batch_id())
                    staged = parts.stage(encoded, key, journal.batch)
                    journal.outputs.append(staged)
                    journal.replaces.extend(parts.journal_name(f) for f in group)
                    merged = merge_sorted_files(group, dedupe)
                    tally.rows += _run_batch(
                        root, journal, [(staged, merged)], parts, encoded, kind
                    )
                tally.files += 1
                tally.partitions.add((encoded, partition_folder(key)))
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        for encoded in sorted({item[0] for item in todo}):
            _housekeep(parts, encoded)
    return tally.report(started)


def _housekeep(parts: PartsRoot, encoded: str) -> None:
    """Tidy the root after a variable's batches (an object store folds its commit
    records). The batches are published already, so a failure is a warning and the next
    compaction tries again."""
    try:
        parts.housekeep(encoded)
    except OSError as exc:
        warnings.warn(
            f"could not fold the commit records of {decode_name(encoded)!r} ({exc}); "
            "the next compaction tries again",
            RuntimeWarning,
            stacklevel=3,
        )


# -- drop -----------------------------------------------------------------------------------
def drop(root: Path, settings: StoreSettings, variable: str, parts: PartsRoot) -> None:
    """Remove a variable entirely: log (with its schema), Parquet and quarantine.

    Its Parquet is made invisible and its folders renamed to hidden trash names under the
    publish lock (so readers see the variable whole or gone), then deleted.
    """
    encoded = encode_name(variable)
    targets = [encoded_log_dir(root, encoded), quarantine_dir(root, encoded)]
    with _compact_lock(root, True, parts):
        present = [t for t in targets if t.exists()]
        held = parts.holds(encoded)
        if not present and not held:
            raise VariableNotFound(f"store {root} has no variable {variable!r}")
        with flock(root / PUBLISH_LOCK):
            trash = parts.drop(encoded) if held else []
            for target in present:
                moved = target.with_name(trash_name(target.name))
                os.rename(target, moved)
                fsync_dir(target.parent)
                trash.append(moved)
        for moved in trash:
            shutil.rmtree(moved, ignore_errors=True)
