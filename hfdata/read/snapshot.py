"""One consistent snapshot of a store's files: what every read lists, and how it retries.

A read lists a variable's files under `.publish.lock` (shared), releases the lock and
reads them; a file that vanished meanwhile (a compaction published, an optimize
replaced a partition, a writer rotated) makes the whole read start again from a new
listing, so a concurrent compaction never makes a point vanish or appear twice. After
`ATTEMPTS` such races the read runs while holding the lock. `read_snapshot` is that
loop, the only one: `read`, `scan`, `info` and `to_dask` all go through it.

The listing holds the Parquet files that may have points in the window, as the store's
`hfdata.parquet.root.PartsRoot` lists them (by partition key: the window's keys looked up
one by one when they are few, else a key range), pruned by each file's first/last
timestamp where the listing knows it (an object store's commit records), and every log
segment, and the variable's compacted tombstone files (`PartsRoot.tombstones`). A root
elsewhere is listed under the same lock, so a batch is seen with its segments (and
their tombstones) compacted or not at all.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import pandas as pd

from hfdata.durable import scandir
from hfdata.errors import VariableNotFound
from hfdata.kinds import Kind
from hfdata.layout import (
    Partition,
    decode_name,
    encode_name,
    encoded_log_dir,
    is_trash,
    log_root,
    parse_segment_name,
    partition_key_ns,
    segment_name,
)
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.log.schema import load_schema
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = [
    "ATTEMPTS",
    "VariableFiles",
    "list_variable",
    "not_found",
    "read_snapshot",
    "variable_names",
]

ATTEMPTS: Final = 5  # reads raced by a publish before one runs under the lock

_Listing = TypeVar("_Listing")
_Result = TypeVar("_Result")


@dataclass(frozen=True, slots=True)
class VariableFiles:
    """One variable's files in a snapshot: Parquet parts (by partition key, then name) and
    log segments (by name)."""

    name: str
    kind: Kind | None
    parquet: tuple[PartFile, ...]
    segments: tuple[Path, ...]  # closed or active, sorted by name
    tombstones: tuple[PartFile, ...] = ()  # compacted tombstone files (issue 20), by name


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


def variable_names(root: Path, parts: PartsRoot) -> list[str]:
    """Every variable with a log directory or Parquet files (or commits), sorted."""
    names = {decode_name(e) for e in parts.variables()}
    for entry in scandir(log_root(root)):
        # dot-named variables (".hidden") are variables too; an interrupted drop's trash not
        if entry.is_dir() and not is_trash(entry.name):
            names.add(decode_name(entry.name))
    return sorted(names)


def not_found(root: Path, name: str, parts: PartsRoot) -> VariableNotFound:
    """`VariableNotFound` naming close matches."""
    close = difflib.get_close_matches(name, variable_names(root, parts), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return VariableNotFound(
        f"no variable {name!r} in store {root}{hint} (store.variables() lists them)"
    )


# -- one variable's files --------------------------------------------------------------------


def list_variable(
    root: Path,
    parts: PartsRoot,
    name: str,
    partition: Partition,
    lo: int,
    last: int,
    *,
    include_log: bool,
) -> VariableFiles:
    """The files of `name` that may hold points in `[lo, last]` (call under the publish lock)."""
    encoded = encode_name(name)
    log = encoded_log_dir(root, encoded)
    keys = _keys_between(lo, last, partition)
    if keys is not None:  # a narrow window: look up only its partitions (flat in store size)
        listing = parts.listing(encoded, keys=keys)
    else:  # a wide one: the partitions whose keys lie in the window
        first = partition_key_ns(lo, partition) if lo > NS_MIN else ""
        final = partition_key_ns(last, partition) if last < NS_MAX else "\uffff"
        listing = parts.listing(encoded, first=first, last=final)
    files = tuple(
        f for f in listing.files if f.lo is None or f.hi is None or (f.hi >= lo and f.lo <= last)
    )
    segments = [log / n for n in _segment_names(log)] if include_log else []
    if not listing.files and not log.is_dir() and not parts.holds(encoded):
        raise not_found(root, name, parts)
    kind = load_schema(log) or listing.kind
    return VariableFiles(name, kind, files, tuple(segments), tuple(parts.tombstones(encoded)))


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
