"""The batch protocol compaction and optimize share: steps 4-6 of docs/contracts.md,
"Compaction protocol", for one batch, rolled back or forward at once on any failure;
the report both return; and how their I/O errors reach the caller.

A batch's journal is saved (step 4) before any output is written (step 5, by the
store's `PartsRoot`) and published under the exclusive publish lock (step 6).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from hfdata.compact.journal import Journal, publish, roll_back
from hfdata.errors import CompactionFailed, HfdataError
from hfdata.kinds import Kind
from hfdata.layout import decode_name, encode_name, journal_dir, log_root
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.parquet.files import conform
from hfdata.parquet.root import PartFile, PartsRoot, Pieces, Staged
from hfdata.parquet.tombstones import TOMBSTONE_SCHEMA

__all__ = [
    "CompactionReport",
    "Output",
    "Tally",
    "failing_as",
    "housekeep",
    "log_variables",
    "run_batch",
]


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What one compaction or optimize run did."""

    segments: int = 0
    rows: int = 0
    partitions: int = 0
    files: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    waiting: int = 0  # variables left in the log: no kind yet (every value so far None)


@dataclass(slots=True)
class Tally:
    segments: int = 0
    rows: int = 0
    partitions: set[tuple[str, str]] = field(default_factory=set)
    files: int = 0
    quarantined: int = 0
    waiting: int = 0

    def report(self, started: float) -> CompactionReport:
        return CompactionReport(
            segments=self.segments,
            rows=self.rows,
            partitions=len(self.partitions),
            files=self.files,
            quarantined=self.quarantined,
            seconds=time.monotonic() - started,
            waiting=self.waiting,
        )


Output = tuple[Staged, Pieces]  # (journal names, rows); a tombstone file's: one table


def log_variables(root: Path, variables: list[str] | None) -> list[str]:
    """Encoded names of the variables to compact (all with a log directory by default)."""
    if variables is not None:
        return sorted({encode_name(v) for v in variables})
    log = log_root(root)
    if not log.is_dir():
        return []
    # Every directory under log/ is a variable, dot-named ones too (".hidden" is legal).
    return sorted(p.name for p in log.iterdir() if p.is_dir())


def _write_outputs(
    root: Path,
    journal: Journal,
    outputs: list[Output],
    parts: PartsRoot,
    encoded: str,
    kind: Kind,
) -> list[PartFile]:
    """Step 5: every output written (hidden, or uploaded but not committed) with its
    kind's schema (a tombstone output, `TOMBSTONE_SCHEMA`, as it is), then what
    publishing will write kept in the journal. Returns the files written (as they will
    be once published), in `outputs`' order: a tombstone output's too
    (`is_tombstone_rel` tells it apart)."""
    spool = journal_dir(root) / f".{journal.batch}.spool.parquet"
    written: list[PartFile] = [
        parts.write(staged, _conformed(pieces, kind), spool=spool) for staged, pieces in outputs
    ]
    journal.commit = parts.commit_record(
        journal.batch, encoded, kind, written, list(journal.replaces)
    )
    return written


def _conformed(pieces: Pieces, kind: Kind) -> Pieces:
    if isinstance(pieces, pa.Table):
        return pieces if pieces.schema.equals(TOMBSTONE_SCHEMA) else conform(pieces, kind)
    return (conform(piece, kind) for piece in pieces)


def _publish(root: Path, journal: Journal, parts: PartsRoot) -> None:
    """Step 6, under the exclusive publish lock."""
    with flock(root / PUBLISH_LOCK):
        publish(root, journal, parts)


def run_batch(
    root: Path,
    journal: Journal,
    outputs: list[Output],
    parts: PartsRoot,
    encoded: str,
    kind: Kind,
) -> list[PartFile]:
    """Steps 4-6 for one batch; on any failure the batch is rolled back or forward at
    once. Returns the files published, in `outputs`' order (`PartFile.rows` their
    rows)."""
    journal.remote = parts.remote
    journal.save(root)
    try:
        written = _write_outputs(root, journal, outputs, parts, encoded, kind)
        _publish(root, journal, parts)
    except BaseException:
        with contextlib.suppress(Exception):
            if journal.state == "publishing":
                _publish(root, journal, parts)
            else:
                roll_back(root, journal, parts)
        raise
    return written


@contextlib.contextmanager
def failing_as(what: str) -> Iterator[None]:
    """An I/O error in a compaction or optimize job becomes a `CompactionFailed` that
    names the job and says nothing was lost: a batch is rolled back or forward by
    `run_batch`, and the steps around batches (closing a dead writer's segment, log
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


def housekeep(parts: PartsRoot, encoded: str) -> None:
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
