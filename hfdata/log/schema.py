"""A variable's `_schema.json`: the kind its first value fixed, recorded once, durably."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import orjson

from hfdata.durable import fsync_dir, make_dirs
from hfdata.errors import DurabilityError
from hfdata.kinds import KINDS, Kind
from hfdata.layout import SCHEMA_FILE, temp_sibling

__all__ = ["load_schema", "store_schema"]


def load_schema(var_log_dir: Path) -> Kind | None:
    """The kind recorded for a variable, or None if it has none yet."""
    try:
        raw = (var_log_dir / SCHEMA_FILE).read_bytes()
    except FileNotFoundError:
        return None
    kind = orjson.loads(raw)["kind"]
    if kind not in KINDS:
        raise ValueError(f"{var_log_dir / SCHEMA_FILE} names unknown kind {kind!r}")
    return kind  # type: ignore[no-any-return]


def store_schema(var_log_dir: Path, kind: Kind) -> Kind:
    """Record the kind create-exclusively and durably; return whichever kind won.

    The file is written to a unique temporary name, fsynced, then linked into place
    (link fails if the name exists, so the first writer wins with its full content),
    and the directory is fsynced, so a power loss never leaves an empty schema.
    """
    try:
        make_dirs(var_log_dir)
        target = var_log_dir / SCHEMA_FILE
        tmp = temp_sibling(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(orjson.dumps({"kind": kind, "format_version": 1}))
                while view:  # os.write may write less than asked
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)
            fsync_dir(var_log_dir)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise DurabilityError(
            exc.errno or errno.EIO,
            f"cannot record the kind of {var_log_dir.name!r} ({exc.strerror}); nothing was written",
        ) from exc
    winner = load_schema(var_log_dir)
    assert winner is not None
    return winner
