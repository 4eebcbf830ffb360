"""The intent record of a compaction or optimize batch, and its roll forward or back.

A journal `_journal/<batch>.json` is written (atomically, fsynced) before any output
file, naming the hidden temporary outputs, their final names, the segments to move
to `compacted/` and the files a merge replaces. Just before publishing, it is
rewritten with `state: "publishing"`; from then on the temporary outputs are known
complete. A leftover journal is therefore rolled forward when it says publishing
(finish the renames, moves and deletions, all idempotent) and back otherwise
(delete the temporaries; segments were never touched).

Where the outputs live is the store's `PartsRoot` (`hfdata.parquet.root`): under `<root>/parquet`
outputs are hidden temporaries renamed into place; in an object store they are uploaded
under their final unique names (`remote: true`, temp == final) and publishing writes the
batch's commit record (carried in the journal) instead of renaming; rolling back deletes
them. This module keeps the order of the steps; the root does each step its own way.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hfdata.durable import atomic_write, fsync_dir, make_dirs, rename_within
from hfdata.layout import journal_dir
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.parquet.local import LocalRoot
from hfdata.parquet.root import PartsRoot

__all__ = [
    "Journal",
    "publish",
    "recover_all",
    "roll_back",
]


@dataclass(slots=True)
class Journal:
    """What one batch will do. Paths are relative to the store root."""

    batch: str
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (hidden temp, final)
    segments: list[tuple[str, str]] = field(default_factory=list)  # (closed, compacted)
    replaces: list[str] = field(default_factory=list)  # files deleted on publish (optimize)
    state: str = "writing"
    remote: bool = False  # outputs are final names published by a commit record
    commit: dict[str, Any] | None = None  # the commit record to write when publishing

    def path(self, root: Path) -> Path:
        return journal_dir(root) / f"{self.batch}.json"

    def save(self, root: Path) -> None:
        make_dirs(journal_dir(root))
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


def _root(root: Path, journal: Journal, parts: PartsRoot | None) -> PartsRoot:
    """The Parquet root the journal's outputs live in (default `<root>/parquet`)."""
    parts = LocalRoot(root) if parts is None else parts
    if journal.remote != parts.remote:
        where = "in another location" if journal.remote else "under its root"
        raise ValueError(
            f"journal {journal.batch} belongs to a store whose Parquet is {where}; open the "
            "store with its parquet_root and storage_options to recover it"
        )
    return parts


def publish(root: Path, journal: Journal, parts: PartsRoot | None = None) -> None:
    """Step 6 (the caller holds `.publish.lock` exclusively): make the batch visible.

    Idempotent, so a roll forward simply runs it again.
    """
    parts = _root(root, journal, parts)
    if journal.state != "publishing":
        parts.seal(journal.outputs)
        journal.state = "publishing"
        journal.save(root)
    parts.reveal(journal.outputs, journal.commit)  # the batch is visible from here on
    dirs: set[Path] = set()
    for closed, compacted in journal.segments:
        rename_within(root, closed, compacted, dirs)
    parts.delete(journal.replaces)
    for directory in sorted(dirs):
        fsync_dir(directory)
    journal.path(root).unlink(missing_ok=True)
    fsync_dir(journal_dir(root))


def roll_back(root: Path, journal: Journal, parts: PartsRoot | None = None) -> None:
    """Undo a batch that never started publishing: delete its outputs and journal."""
    _root(root, journal, parts).discard(journal.outputs)
    journal.path(root).unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        fsync_dir(journal_dir(root))


def recover_all(root: Path, parts: PartsRoot | None = None) -> int:
    """Step 7: roll every leftover journal forward or back. The caller holds the compact lock.

    Publishing takes `.publish.lock` so readers see the batch all at once. Also removes
    stray temporaries of journals that were never completely written. Returns how many
    journals were found.
    """
    directory = journal_dir(root)
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
                publish(root, journal, parts)
        else:
            roll_back(root, journal, parts)
    return found
