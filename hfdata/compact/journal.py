"""The intent record of a compaction or optimize batch, and its roll forward or back.

A journal `_journal/<batch>.json` is written (atomically, fsynced) before any output
file, naming the hidden temporary outputs, their final names, the segments to move
to `compacted/` and the files a merge replaces. Just before publishing, it is
rewritten with `state: "publishing"`; from then on the temporary outputs are known
complete. A leftover journal is therefore rolled forward when it says publishing
(finish the renames, moves and deletions, all idempotent) and back otherwise
(delete the temporaries; segments were never touched).

With a Parquet root on another filesystem (`hfdata.parquet.objectstore`), outputs are uploaded
under their final unique names (`remote: true`, temp == final) and publishing writes
the batch's commit record (carried in the journal) instead of renaming; rolling back
deletes the uploaded objects.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from hfdata.durable import atomic_write, fsync_dir, make_dirs

if TYPE_CHECKING:
    from hfdata.parquet.objectstore import ParquetRoot

__all__ = [
    "JOURNAL_DIR",
    "Journal",
    "publish",
    "recover_all",
    "roll_back",
]

JOURNAL_DIR: Final = "_journal"


@dataclass(slots=True)
class Journal:
    """What one batch will do. Paths are relative to the store root."""

    batch: str
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (hidden temp, final)
    segments: list[tuple[str, str]] = field(default_factory=list)  # (closed, compacted)
    replaces: list[str] = field(default_factory=list)  # files deleted on publish (optimize)
    state: str = "writing"
    remote: bool = False  # outputs and `replaces` live in the store's ParquetRoot
    commit: dict[str, Any] | None = None  # the commit record to write when publishing

    def path(self, root: Path) -> Path:
        return root / JOURNAL_DIR / f"{self.batch}.json"

    def save(self, root: Path) -> None:
        make_dirs(root / JOURNAL_DIR)
        atomic_write(self.path(root), orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))

    @classmethod
    def load(cls, path: Path) -> Journal:
        raw = orjson.loads(path.read_bytes())
        return cls(
            batch=raw["batch"],
            outputs=[(a, b) for a, b in raw["outputs"]],
            segments=[(a, b) for a, b in raw["segments"]],
            replaces=list(raw["replaces"]),
            state=raw["state"],
            remote=bool(raw.get("remote", False)),
            commit=raw.get("commit"),
        )


def _rename(root: Path, source: str, target: str, dirs: set[Path]) -> None:
    src, dst = root / source, root / target
    if src.exists():
        make_dirs(dst.parent)
        os.rename(src, dst)
        dirs.update((src.parent, dst.parent))


def _need_remote(journal: Journal, remote: ParquetRoot | None) -> ParquetRoot:
    if remote is None:
        raise ValueError(
            f"journal {journal.batch} belongs to a store whose Parquet is in another "
            "location; open the store with its parquet_root and storage_options to recover it"
        )
    return remote


def publish(root: Path, journal: Journal, remote: ParquetRoot | None = None) -> None:
    """Step 6 (the caller holds `.publish.lock` exclusively): make the batch visible.

    Idempotent, so a roll forward simply runs it again.
    """
    if journal.state != "publishing":
        if not journal.remote:
            # "publishing" promises complete outputs to a roll forward: their data is
            # fsynced (step 5), and their names must be durable too, or under POSIX rules a
            # power loss right after the renames below loses both names, and the segments
            # then move to compacted/ with their points in no Parquet file.
            for directory in sorted({(root / tmp).parent for tmp, _ in journal.outputs}):
                fsync_dir(directory)
        journal.state = "publishing"
        journal.save(root)
    dirs: set[Path] = set()
    if journal.remote:
        target = _need_remote(journal, remote)
        if journal.commit is not None:
            target.put_commit(journal.commit)  # the batch is visible from here on
    else:
        for tmp, final in journal.outputs:
            _rename(root, tmp, final, dirs)
        # The outputs' names must be durable before the segments leave log/<var>:
        # otherwise a power loss could keep the move and lose the Parquet names.
        for directory in sorted(dirs):
            fsync_dir(directory)
        dirs.clear()
    for closed, compacted in journal.segments:
        _rename(root, closed, compacted, dirs)
    if journal.remote:
        _need_remote(journal, remote).delete(journal.replaces)
    for old in [] if journal.remote else journal.replaces:
        path = root / old
        if path.exists():
            path.unlink()
            dirs.add(path.parent)
    for directory in sorted(dirs):
        fsync_dir(directory)
    journal.path(root).unlink(missing_ok=True)
    fsync_dir(root / JOURNAL_DIR)


def roll_back(root: Path, journal: Journal, remote: ParquetRoot | None = None) -> None:
    """Undo a batch that never started publishing: delete its temporaries and journal."""
    if journal.remote:
        _need_remote(journal, remote).delete([final for _, final in journal.outputs])
    for tmp, final in [] if journal.remote else journal.outputs:
        # Batch names are unique, so a final name that exists came from this batch (its
        # rename became durable before the journal said "publishing"): remove it too.
        (root / tmp).unlink(missing_ok=True)
        (root / final).unlink(missing_ok=True)
    journal.path(root).unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        fsync_dir(root / JOURNAL_DIR)


def recover_all(root: Path, remote: ParquetRoot | None = None) -> int:
    """Step 7: roll every leftover journal forward or back. The caller holds the compact lock.

    Publishing takes `.publish.lock` so readers see the batch all at once. Also removes
    stray temporaries of journals that were never completely written. Returns how many
    journals were found.
    """
    from hfdata.locks import PUBLISH_LOCK, flock

    directory = root / JOURNAL_DIR
    if not directory.is_dir():
        return 0
    found = 0
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            path.unlink(missing_ok=True)  # a journal write cut short: nothing else exists
            continue
        if path.suffix != ".json":
            continue
        found += 1
        journal = Journal.load(path)
        if journal.state == "publishing":
            with flock(root / PUBLISH_LOCK):
                publish(root, journal, remote)
        else:
            roll_back(root, journal, remote)
    return found
