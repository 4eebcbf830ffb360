"""A variable's `_schema.json`: the kind its first value fixed, recorded once, durably.

The file is `{"kind":"<kind>","format_version":1}` (docs/contracts.md, "Log
directory"). Every stage that needs a variable's kind reads it here; a file that is
not such an object is a `CorruptFile` naming it, never a guess.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import orjson

from hfdata.durable import fsync_dir, make_dirs
from hfdata.errors import CorruptFile, DurabilityError
from hfdata.kinds import KINDS, Kind
from hfdata.layout import SCHEMA_FILE, temp_sibling

__all__ = ["load_schema", "store_schema"]


def load_schema(var_log_dir: Path) -> Kind | None:
    """The kind recorded for a variable, or None if it has none yet."""
    path = var_log_dir / SCHEMA_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _corrupt(path, f"is not JSON ({exc})") from exc
    if not isinstance(record, dict) or "kind" not in record:
        raise _corrupt(path, 'is not a JSON object with a "kind" field')
    kind = record["kind"]
    if kind not in KINDS:
        raise _corrupt(path, f"names unknown kind {kind!r:.60}")
    return kind  # type: ignore[no-any-return]


def _corrupt(path: Path, problem: str) -> CorruptFile:
    """The error for an unreadable `_schema.json`, saying how to repair it."""
    return CorruptFile(
        f"{path} {problem}; it records the kind of the variable's values: write it again as "
        '{"kind": "<kind>", "format_version": 1} with the kind its points hold (one of '
        f"{', '.join(KINDS)}), or remove it if the variable has no points yet"
    )


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
