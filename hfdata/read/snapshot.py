"""One consistent snapshot of a store's files: what every read lists, and how it retries.

A read lists a variable's files under `.publish.lock` (shared), releases the lock and
reads them; a file that vanished meanwhile (a compaction published, an optimize
replaced a partition, a writer rotated) makes the whole read start again from a new
listing, so a concurrent compaction never makes a point vanish or appear twice. After
`ATTEMPTS` such races the read runs while holding the lock. `read_snapshot` is that
loop, the only one: `read`, `scan`, `info` and `to_dask` all go through it.

The listing holds the Parquet files that may have points in the window, pruned by
partition key, and every log segment. With the Parquet root elsewhere (`remote`, an
`hfdata.parquet.objectstore.ParquetRoot`), the Parquet files are the ones the commit
records name (listed under the same lock, so a batch is seen with its segments
compacted or not at all), pruned by partition key and by each file's first/last
timestamp from its commit.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar, cast

import pandas as pd

from hfdata.errors import VariableNotFound
from hfdata.kinds import Kind
from hfdata.layout import (
    Partition,
    decode_name,
    encode_name,
    is_trash,
    parse_segment_name,
    partition_key_ns,
    segment_name,
)
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.log.schema import load_schema
from hfdata.timeparse import NS_MAX, NS_MIN

if TYPE_CHECKING:
    from hfdata.parquet.objectstore import ParquetRoot, RemoteFile

__all__ = [
    "ATTEMPTS",
    "VariableFiles",
    "list_variable",
    "not_found",
    "read_snapshot",
    "scandir",
    "variable_names",
]

ATTEMPTS: Final = 5  # reads raced by a publish before one runs under the lock

_Listing = TypeVar("_Listing")
_Result = TypeVar("_Result")


@dataclass(frozen=True, slots=True)
class VariableFiles:
    """One variable's files in a snapshot: Parquet parts (by name) and log segments (by name)."""

    name: str
    kind: Kind | None
    parquet: tuple[tuple[str, Path | RemoteFile], ...]  # (partition key, file): key, then name
    segments: tuple[Path, ...]  # closed or active, sorted by name


def read_snapshot(
    root: Path,
    listing: Callable[[], _Listing],
    read: Callable[[_Listing, bool], _Result],
) -> _Result:
    """`read(listing(), locked)` from one consistent snapshot of the store's files.

    `listing` runs under the shared publish lock; `read` runs after releasing it
    (`locked` False). A `FileNotFoundError` from `read` (a listed file vanished: a
    compaction published meanwhile) starts again with a new listing; the last attempt
    reads while holding the lock (`locked` True), where no file can vanish but an
    empty active segment that its writer closed and unlinked.
    """
    lock = root / PUBLISH_LOCK
    for attempt in range(ATTEMPTS + 1):
        with flock(lock, shared=True):
            listed = listing()
            if attempt == ATTEMPTS:  # a compaction kept racing us: read while holding the lock
                return read(listed, True)
        try:
            return read(listed, False)
        except FileNotFoundError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


# -- names -----------------------------------------------------------------------------------


def variable_names(root: Path, remote: ParquetRoot | None = None) -> list[str]:
    """Every variable with a log directory or a Parquet directory (or commits), sorted."""
    names: set[str] = set()
    if remote is not None:
        names.update(decode_name(e) for e in remote.variables())
    for entry in scandir(root / "log"):
        # dot-named variables (".hidden") are variables too; an interrupted drop's trash not
        if entry.is_dir() and not is_trash(entry.name):
            names.add(decode_name(entry.name))
    for entry in scandir(root / "parquet"):
        if entry.is_dir() and entry.name.startswith("variable="):
            names.add(decode_name(entry.name.removeprefix("variable=")))
    return sorted(names)


def scandir(path: Path) -> list[os.DirEntry[str]]:
    """The entries of a directory; none if it does not exist (or is not a directory)."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def not_found(root: Path, name: str, remote: ParquetRoot | None = None) -> VariableNotFound:
    """`VariableNotFound` naming close matches."""
    close = difflib.get_close_matches(name, variable_names(root, remote), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return VariableNotFound(
        f"no variable {name!r} in store {root}{hint} (store.variables() lists them)"
    )


# -- one variable's files --------------------------------------------------------------------


def list_variable(
    root: Path,
    name: str,
    partition: Partition,
    lo: int,
    last: int,
    *,
    include_log: bool,
    remote: ParquetRoot | None = None,
) -> VariableFiles:
    """The files of `name` that may hold points in `[lo, last]` (call under the publish lock)."""
    if remote is not None:
        return _list_remote(root, remote, name, lo, last, partition, include_log)
    encoded = encode_name(name)
    log = root / "log" / encoded
    pdir = root / "parquet" / f"variable={encoded}"
    parts: list[tuple[str, Path | RemoteFile]] = []
    keys = _keys_between(lo, last, partition)
    if keys is None:  # a wide window: list the partitions and compare their names
        lo_key = partition_key_ns(lo, partition) if lo > NS_MIN else ""
        hi_key = partition_key_ns(last, partition) if last < NS_MAX else "\uffff"
        names = (e.name for e in scandir(pdir) if e.name.startswith("date="))
        keys = [k for k in (n.removeprefix("date=") for n in names) if lo_key <= k <= hi_key]
    for key in sorted(keys):  # a narrow one: look up only its partitions (flat in store size)
        folder = pdir / f"date={key}"
        for part in sorted(e.name for e in scandir(folder)):
            if part.endswith(".parquet") and not part.startswith("."):
                parts.append((key, folder / part))
    segments: list[Path] = []
    if include_log:
        segments = [log / n for n in _segment_names(log)]
    if not parts and not log.is_dir() and not pdir.is_dir():
        raise not_found(root, name)
    return VariableFiles(name, load_schema(log), tuple(parts), tuple(segments))


def _list_remote(
    root: Path,
    remote: ParquetRoot,
    name: str,
    lo: int,
    last: int,
    partition: Partition,
    include_log: bool,
) -> VariableFiles:
    """`list_variable` for a Parquet root elsewhere: the committed files, pruned by span."""
    encoded = encode_name(name)
    log = root / "log" / encoded
    kind, files, _ = remote.live(encoded)
    lo_key = partition_key_ns(lo, partition) if lo > NS_MIN else ""
    hi_key = partition_key_ns(last, partition) if last < NS_MAX else "\uffff"
    parts: list[tuple[str, Path | RemoteFile]] = [
        (f.key, f) for f in files if lo_key <= f.key <= hi_key and f.hi >= lo and f.lo <= last
    ]
    segments = [log / n for n in _segment_names(log)] if include_log else []
    if not files and not log.is_dir():
        raise not_found(root, name, remote)
    stored = cast("Kind | None", kind)
    return VariableFiles(name, load_schema(log) or stored, tuple(parts), tuple(segments))


def _segment_names(directory: Path) -> list[str]:
    """Segment file names, robust to renames racing the directory listing.

    `readdir` may miss a file renamed while it runs. Two listings are merged, so a
    segment closed (`.active` -> closed) during one is seen by the other; when both
    names are seen the closed one wins (it holds everything the active one did). A
    writer's segments are numbered in order, so a number missing between two seen
    ones (a segment created and closed while the listings ran) is looked up by name.
    """
    seen: set[str] = set()
    for _ in range(2):
        for entry in scandir(directory):
            if not entry.name.startswith(".") and parse_segment_name(entry.name) is not None:
                seen.add(entry.name)
    by_writer: dict[str, set[int]] = {}
    for name in seen:
        parsed = parse_segment_name(name)
        assert parsed is not None
        by_writer.setdefault(parsed[0], set()).add(parsed[1])
    for writer, seqs in by_writer.items():
        for seq in range(min(seqs) + 1, max(seqs)):
            if seq in seqs:
                continue
            for active in (True, False):  # active first: closing renames it to closed
                name = segment_name(writer, seq, active=active)
                if os.path.exists(directory / name):
                    seen.add(name)
                    break
    return sorted(n for n in seen if not (n.endswith(".active") and n[: -len(".active")] in seen))


_MAX_KEYS: Final = 64
_STEP: Final = {"hour": 3_600_000_000_000, "day": 86_400_000_000_000}


def _keys_between(lo: int, last: int, partition: Partition) -> list[str] | None:
    """The partition keys of `[lo, last]`, or None when there are more than `_MAX_KEYS`."""
    if lo <= NS_MIN or last >= NS_MAX:
        return None
    if partition == "month":
        a, b = pd.Timestamp(lo, tz="UTC"), pd.Timestamp(last, tz="UTC")
        months = (b.year - a.year) * 12 + b.month - a.month
        if months >= _MAX_KEYS:
            return None
        out = []
        for i in range(months + 1):
            year, month0 = divmod(a.year * 12 + a.month - 1 + i, 12)
            out.append(f"{year:04d}-{month0 + 1:02d}")
        return out
    step = _STEP[partition]
    first, final = lo // step, last // step
    if final - first >= _MAX_KEYS:
        return None
    return [partition_key_ns(k * step, partition) for k in range(first, final + 1)]
