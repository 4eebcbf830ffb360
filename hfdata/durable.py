"""Durable file-system steps: directories, renames and whole-file writes that survive power loss.

Under POSIX rules data reaches the disk only once its file is fsynced, and a new
name (a create, a rename, a link) only once its directory is fsynced. Every stage
that writes (the log, compaction, the journal, settings) goes through these; `scandir`
is the one tolerant directory listing the stages share.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = [
    "atomic_write",
    "fsync_dir",
    "fsync_path",
    "make_dirs",
    "rename_within",
    "scandir",
]


def make_dirs(path: Path) -> None:
    """`mkdir -p` that makes each new directory durable by fsyncing its parent.

    Under POSIX rules a new name survives power loss only once its directory is
    fsynced; compaction's outputs and journals live in directories it creates.
    """
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        fsync_dir(directory.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or create in `path` durable."""
    fsync_path(path)


def fsync_path(path: str | Path) -> None:
    """fsync a file or directory by path (a directory: its entries' creates and renames)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a hidden temporary, fsynced, then renamed."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def rename_within(root: Path, source: str, target: str, dirs: set[Path]) -> None:
    """Rename `root/source` to `root/target` if the source is still there (idempotent, so a
    journal can be replayed), creating the target's parents durably. The two directories
    join `dirs`: the caller fsyncs them once after a run of renames."""
    src, dst = root / source, root / target
    if src.exists():
        make_dirs(dst.parent)
        os.rename(src, dst)
        dirs.update((src.parent, dst.parent))


def scandir(path: Path) -> list[os.DirEntry[str]]:
    """The entries of a directory; none if it does not exist (or is not a directory)."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []
