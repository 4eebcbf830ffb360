"""Input records in batches that are written as they arrive, and a clean stop on a signal.

`hfdata append` reads a file or a pipe. A live producer (`sensor | hfdata append DIR
VAR -`) writes a few lines a second, so waiting for a full batch would hold its points
until the end of input. `LineSource` hands out a batch of complete records when
`batch_lines` have arrived or `flush_interval` seconds after the batch's first record
arrived, whichever comes first, even while the producer is idle: a pipe is waited on
with `select`, never with a blocking read. `StopSignals` turns SIGINT and SIGTERM into
a flag (and a byte on a pipe that wakes the wait), so the records received so far are
still handed out and stored before the command exits; a record cut short by the
signal (no newline yet) is counted in `dropped_bytes`, never stored.

A record is one line; for CSV (`quoted_newlines=True`) a line that leaves a quoted
field open continues on the next line, so a batch never splits a CSV record.
"""

from __future__ import annotations

import os
import select
import signal
import stat
import threading
import time
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import IO, Final

__all__ = ["LineSource", "Record", "StopSignals"]

Record = tuple[int, bytes]  # (1-based number of the record's first line, its bytes)
_CHUNK: Final = 1 << 20
_DRAIN_READS: Final = 4096  # reads of what is already in the pipe after a stop signal


class StopSignals:
    """While entered, SIGINT and SIGTERM set `signum` instead of interrupting.

    The first signal asks the reader to finish: what was received is stored and the
    command exits with 128 + `signum`. A second signal exits at once (the user
    insists). Must be entered in the main thread (Python delivers signals there).
    """

    SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}
        self._read_fd = self._write_fd = self._old_wakeup = -1

    @property
    def fd(self) -> int:
        """A descriptor that becomes readable when a signal arrived (for `select`)."""
        return self._read_fd

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only: leave them alone
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        # The C-level handler writes here from whichever thread the kernel picked (the
        # store's flusher thread, say), so a `select` in the main thread wakes up.
        self._old_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._read_fd < 0:
            return
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(self._old_wakeup)
        os.close(self._read_fd)
        os.close(self._write_fd)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise SystemExit(128 + number)
        self.signum = number


def _waitable_fd(stream: IO[bytes]) -> int | None:
    """The descriptor of a pipe, terminal or socket read directly (None for files, gzip)."""
    if type(stream).__name__ not in ("BufferedReader", "FileIO"):
        return None  # e.g. a GzipFile: its descriptor holds compressed bytes
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode) else None


class LineSource:
    """Complete records of a byte stream, in batches cut by size or by time.

    A pipe, terminal or socket is read with `select` + `os.read` (nothing may have
    read the stream's buffer before), anything else with `read1`/`read`.
    """

    def __init__(
        self,
        stream: IO[bytes],
        *,
        batch_lines: int,
        flush_interval: float,
        stop: StopSignals | None = None,
    ) -> None:
        self.batch_lines = batch_lines
        self.flush_interval = flush_interval
        self.quoted_newlines = False  # set for CSV before `batches` is iterated
        self.dropped_bytes = 0  # an incomplete last line left out because of a stop signal
        self._stream = stream
        self._fd = _waitable_fd(stream)
        self._stop = stop
        self._early: list[bytes] = []  # chunks read by `head`, not yet split
        self._tail = b""  # bytes after the last complete record
        self._line = 1  # number of the next record's first line
        self._eof = False

    # -- reading ------------------------------------------------------------------------
    def _stopped(self) -> bool:
        return self._stop is not None and self._stop.signum is not None

    def _read(self, timeout: float | None) -> bytes | None:
        """The next chunk; b"" at the end of input, None on a timeout or a stop signal."""
        if self._stopped():
            return None
        if self._fd is None:
            read1 = getattr(self._stream, "read1", None)
            return read1(_CHUNK) if read1 is not None else self._stream.read(_CHUNK)
        waits = [self._fd] if self._stop is None or self._stop.fd < 0 else [self._fd, self._stop.fd]
        ready, _, _ = select.select(waits, [], [], timeout)
        if self._fd not in ready or (self._stop is not None and self._stop.fd in ready):
            return None  # a timeout, or a signal: the caller looks at `_stopped` first
        return os.read(self._fd, _CHUNK)

    def _drain(self) -> list[bytes]:
        """What is already waiting in the pipe after a stop signal (sent, so received)."""
        chunks: list[bytes] = []
        if self._fd is None:
            return chunks
        for _ in range(_DRAIN_READS):
            ready, _, _ = select.select([self._fd], [], [], 0)
            if not ready:
                break
            chunk = os.read(self._fd, _CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
        return chunks

    def head(self) -> bytes:
        """The first bytes of the input, up to its first non-blank byte (for sniffing).

        Waits for the producer's first line; they stay in the source for `batches`.
        """
        while not self._eof and not b"".join(self._early).strip():
            chunk = self._read(None)
            if chunk is None:
                if self._stopped():
                    break
                continue
            if not chunk:
                self._eof = True
            else:
                self._early.append(chunk)
        return b"".join(self._early)

    # -- splitting ----------------------------------------------------------------------
    def _split(self, chunk: bytes, final: bool = False) -> list[Record]:
        """Complete records of `self._tail + chunk`; keeps the rest (unless `final`)."""
        data = self._tail + chunk if self._tail else chunk
        cut = len(data) if final else data.rfind(b"\n") + 1
        self._tail = data[cut:]
        if cut == 0:
            return []
        complete = data[:cut] if cut < len(data) else data
        lines = complete.split(b"\n")
        if not final or lines[-1] == b"":
            lines.pop()  # after the last newline
        first = self._line
        self._line += len(lines)
        if not (self.quoted_newlines and b'"' in complete):
            return list(zip(range(first, first + len(lines)), lines, strict=True))
        return self._join_quoted(first, lines, final)

    def _join_quoted(self, first: int, lines: list[bytes], final: bool) -> list[Record]:
        """CSV records: a line with an odd number of quotes continues on the next line."""
        records: list[Record] = []
        start, quotes = first, 0
        parts: list[bytes] = []
        for number, line in enumerate(lines, start=first):
            if not parts:
                start = number
            parts.append(line)
            quotes += line.count(b'"')
            if quotes % 2 == 0:
                records.append((start, b"\n".join(parts)))
                parts, quotes = [], 0
        if parts:
            if final:
                records.append((start, b"\n".join(parts)))  # the parser reports it
            else:  # an open quoted field: wait for the rest of the record
                self._tail = b"\n".join(parts) + b"\n" + self._tail
                self._line = start
        return records

    # -- batches ------------------------------------------------------------------------
    def batches(self) -> Iterator[list[Record]]:
        """Lists of at most `batch_lines` records, each handed out when full or due.

        Ends at the end of input (a last line without newline is a record) or, after a
        stop signal, once what had arrived is handed out (an unfinished line is not).
        """
        batch: list[Record] = []
        deadline: float | None = None
        while True:
            while len(batch) >= self.batch_lines:
                yield batch[: self.batch_lines]
                batch = batch[self.batch_lines :]
                deadline = time.monotonic() + self.flush_interval if batch else None
            if self._early:
                chunk: bytes | None = b"".join(self._early)
                self._early = []
            elif self._eof:
                chunk = b""
            elif self._stopped():
                batch += self._split(b"".join(self._drain()))
                self.dropped_bytes = len(self._tail)
                yield from self._sized(batch)
                return
            else:
                timeout = None
                if deadline is not None:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        yield batch
                        batch, deadline = [], None
                        continue
                chunk = self._read(timeout)
            if chunk is None:
                continue  # the deadline passed or a signal came: looked at above
            if not chunk:  # the end of input (stopped: the producer may have been cut off)
                stopped = self._stopped()
                batch += self._split(b"", final=not stopped)
                self.dropped_bytes = len(self._tail) if stopped else 0
                yield from self._sized(batch)
                return
            records = self._split(chunk)
            if records and not batch:
                deadline = time.monotonic() + self.flush_interval
            batch += records

    def _sized(self, batch: list[Record]) -> Iterator[list[Record]]:
        for i in range(0, len(batch), self.batch_lines):
            yield batch[i : i + self.batch_lines]
