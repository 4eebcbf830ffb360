"""The append log: one JSON Lines segment per (writer, variable), durable as asked.

A segment is created as a hidden temporary file, locked with `flock`, then renamed
to `<writer>-<seq>.jsonl.active`, so a compactor never sees an active segment
whose lock is free unless its writer is dead. Rotation (size, age, close) renames
it to `<writer>-<seq>.jsonl`, which is immutable from then on.

Durability (docs/contracts.md, "Durability"): `flush` does one `write` per append; `fsync` also
fsyncs before returning; `buffered` keeps lines in memory (the writer's per-variable
buffer, see `hfdata.log.segments`) until the flusher, a size threshold, `flush()` or
`close()` writes them. A segment itself never buffers. A failed write or fsync
closes the segment and raises `DurabilityError`; it is never retried and trusted.
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, cast

from hfdata.durable import fsync_dir
from hfdata.errors import DurabilityError
from hfdata.layout import segment_name
from hfdata.log.encode import Encoded

__all__ = [
    "BUFFER_LIMIT",
    "BUFFER_POINTS",
    "DURABILITIES",
    "INLINE_METADATA",
    "Durability",
    "LogPolicy",
    "Segment",
]

Durability = Literal["flush", "fsync", "buffered"]
DURABILITIES: Final = ("flush", "fsync", "buffered")
BUFFER_LIMIT: Final = 1 << 20  # buffered lines are written out once a variable holds 1 MiB
# ... or once it holds this many points recorded by the lock-free buffered append (each
# a small dict, metadata of at most `INLINE_METADATA` bytes): ~1.2 MiB of memory without
# metadata (the dicts and the caller's datetimes and floats), ~2.5 MiB at most.
BUFFER_POINTS: Final = 4096
INLINE_METADATA: Final = 256


@dataclass(frozen=True, slots=True)
class LogPolicy:
    """How segments are written and when they rotate."""

    durability: Durability = "flush"
    max_segment_bytes: int = 64 << 20
    max_segment_age: float = 600.0  # seconds
    fsync_on_close: bool = False


class Segment:
    """One open `.jsonl.active` file. Not thread-safe: the store serialises calls."""

    __slots__ = (
        "deadline",
        "entry_synced",
        "fd",
        "last_used",
        "path",
        "policy",
        "seen",
        "size",
        "synced",
    )

    def __init__(self, directory: Path, writer: str, seq: int, policy: LogPolicy) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / segment_name(writer, seq, active=True)
        hidden = directory / f".{final.name}.tmp"
        fd = os.open(
            hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644
        )
        try:
            # Blocking: a compactor may hold it for an instant while checking for dead
            # writers' temporaries (it then removes the name: link fails, we retry).
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.link(hidden, final)  # unlike rename, never replaces an existing segment
        except BaseException:
            os.close(fd)
            raise
        finally:
            hidden.unlink(missing_ok=True)
        self.fd = fd
        self.path = final
        self.policy = policy
        self.size = 0
        self.synced = 0  # `size` at the last fsync
        self.seen = 0  # bytes written when the flusher last looked (for the LRU clock)
        self.entry_synced = False  # the file's name is durable in its directory
        self.last_used = time.monotonic()
        self.deadline = self.last_used + policy.max_segment_age

    # -- writing -------------------------------------------------------------------------
    def write(self, data: bytes | bytearray) -> None:
        """Write bytes now (fsync in `fsync` mode). Raises `DurabilityError` on failure."""
        self._write_out(data)
        self.size += len(data)
        if self.policy.durability == "fsync":
            self.sync()

    def write_frame(self, encoded: Encoded, *, head: bytes = b"") -> None:
        """Write `head` (a marker line), then a batch of lines formatted by
        `encode.encode_frame`."""
        if head:
            self._write_out(head)
        raw = _RecordingFile(self.fd)
        try:
            encoded.write_to(cast(BinaryIO, raw))
            self.size = os.fstat(self.fd).st_size
        except OSError as exc:
            # polars re-raises the file's OSError without its errno: report the original.
            raise self.write_error(raw.error or exc) from exc
        if self.policy.durability == "fsync":
            self.sync()

    def _write_out(self, data: bytes | bytearray | memoryview) -> None:
        try:
            written = os.write(self.fd, data)
            if written != len(data):  # a short write: rare, e.g. just before ENOSPC
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(self.fd, view) :]
        except OSError as exc:
            raise self.write_error(exc) from exc

    def finish_write(self, data: bytes) -> None:
        """After one `os.write` of `data` by the caller: write what it left, fsync if asked."""
        # The caller's os.write may have been short; find out how much reached the file.
        on_disk = os.fstat(self.fd).st_size
        missing = self.size - on_disk
        if missing > 0:
            self._write_out(memoryview(data)[len(data) - missing :])
        if self.policy.durability == "fsync":
            self.sync()

    def write_error(self, exc: BaseException) -> DurabilityError:
        """The error to raise after a failed write (the caller closes the segment)."""
        if isinstance(exc, DurabilityError):
            return exc
        err = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EIO
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return DurabilityError(
            err,
            f"writing segment {self.path} failed ({reason}); the segment was closed and the "
            "point was not acknowledged",
        )

    def sync(self) -> None:
        """fsync the file (and, the first time, its directory entry).

        A failure is final: the caller must close this segment.
        """
        try:
            os.fsync(self.fd)
            if not self.entry_synced:  # fsync(2) does not make a new name durable
                fsync_dir(self.path.parent)
                fsync_dir(self.path.parent.parent)  # log/<var> itself may be new
                self.entry_synced = True
        except OSError as exc:
            raise DurabilityError(
                exc.errno or errno.EIO,
                f"fsync of segment {self.path} failed ({exc.strerror}); the segment was closed "
                "and is not trusted beyond what was already acknowledged",
            ) from exc
        self.synced = self.size

    @property
    def dirty(self) -> bool:
        """Bytes were written since the last fsync."""
        return self.size != self.synced

    def needs_rotation(self, now: float) -> bool:
        return self.size >= self.policy.max_segment_bytes or now >= self.deadline

    # -- closing -------------------------------------------------------------------------
    def close(self, *, failed: bool = False) -> Path:
        """Rename to the closed name, release the lock. Returns the closed path.

        With `failed=True` (after a write or fsync error) nothing more is written.
        """
        error: DurabilityError | None = None
        if not failed and (self.policy.durability == "fsync" or self.policy.fsync_on_close):
            try:
                self.sync()
            except DurabilityError as exc:
                error = exc
        closed = self.path.with_name(self.path.name.removesuffix(".active"))
        try:
            if self.size == 0 and not failed and error is None:
                self.path.unlink()  # an empty segment is not worth keeping
            else:
                os.rename(self.path, closed)
                if self.policy.durability == "fsync" and not failed and error is None:
                    fsync_dir(closed.parent)
        except OSError as exc:
            error = DurabilityError(
                exc.errno or errno.EIO, f"closing segment {self.path} failed ({exc.strerror})"
            )
        finally:
            os.close(self.fd)  # releases the flock after the rename
        if error is not None:
            raise error
        return closed


class _RecordingFile(io.RawIOBase):
    """An unbuffered file object over a segment's fd that remembers the first OSError."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            return os.write(self.fd, data)
        except OSError as exc:
            self.error = self.error or exc
            raise
