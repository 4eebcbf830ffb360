"""Pure naming rules of the on-disk layout: names, partition keys, paths. No I/O.

A variable name is percent-encoded with ``urllib.parse.quote(name, safe="")`` for
every path component, so no name (``../../etc``, ``a/b``) can leave the store
root, and hive readers (pyarrow, polars, DuckDB) decode it back to the real name.
"""

from __future__ import annotations

import calendar
import os
import re
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal
from urllib.parse import quote, unquote

from hfdata.errors import InvalidVariableName

__all__ = [
    "COMPACTED_DIR",
    "JOURNAL_DIR",
    "LOG_DIR",
    "MAX_ENCODED_NAME_BYTES",
    "MAX_NAME_CHARS",
    "PARQUET_DIR",
    "PARTITIONS",
    "QUARANTINE_DIR",
    "SCHEMA_FILE",
    "Partition",
    "batch_time_ns",
    "compacted_dir",
    "decode_name",
    "encode_name",
    "encoded_log_dir",
    "is_trash",
    "journal_dir",
    "kind_folder",
    "kind_of_folder",
    "log_dir",
    "log_root",
    "new_batch_id",
    "new_writer_id",
    "parquet_dir",
    "parse_segment_name",
    "part_file_name",
    "part_rel",
    "partition_folder",
    "partition_key",
    "partition_key_ns",
    "partition_of_folder",
    "partition_of_rel",
    "quarantine_root",
    "segment_name",
    "temp_sibling",
    "trash_name",
    "validate_name",
    "variable_folder",
    "variable_of_folder",
    "variable_rel",
]

# The store root's folders (docs/contracts.md, "On-disk layout").
LOG_DIR: Final = "log"
PARQUET_DIR: Final = "parquet"
JOURNAL_DIR: Final = "_journal"
QUARANTINE_DIR: Final = "_quarantine"
COMPACTED_DIR: Final = "compacted"  # in each log/<var>/: segments already in Parquet

SCHEMA_FILE: Final = "_schema.json"  # in each log/<var>/: the kind, fixed once

Partition = Literal["hour", "day", "month"]
PARTITIONS: Final = ("hour", "day", "month")
MAX_NAME_CHARS: Final = 200
# A path component may hold 255 bytes; "variable=" and some slack come on top.
MAX_ENCODED_NAME_BYTES: Final = 240

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SEGMENT = re.compile(r"^(?P<writer>[A-Za-z0-9_]+)-(?P<seq>[0-9]+)\.jsonl(?P<active>\.active)?$")
_valid_cache: dict[str, str] = {}
# A dropped variable's folders are renamed to trash names before they are deleted. `!` is
# never in an encoded name (quote() escapes it), so no variable's folder looks like trash;
# `.dropped-<8 hex>-` is the shape hfdata wrote before, still swept and hidden.
TRASH_PREFIX: Final = ".dropped!"
_LEGACY_TRASH = re.compile(r"\.dropped-[0-9a-f]{8}-")


def validate_name(name: object) -> str:
    """Return the encoded form of a legal variable name, or raise `InvalidVariableName`."""
    if type(name) is str:
        cached = _valid_cache.get(name)
        if cached is not None:
            return cached
    if not isinstance(name, str):
        raise InvalidVariableName(
            f"variable name must be a str, got {type(name).__name__}: {name!r}"
        )
    if not name:
        raise InvalidVariableName("variable name is empty; use 1 to 200 characters")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidVariableName(
            f"variable name has {len(name)} characters; the limit is {MAX_NAME_CHARS}"
        )
    if name in (".", ".."):
        raise InvalidVariableName(f"variable name {name!r} is reserved; choose another name")
    bad = _CONTROL.search(name)
    if bad:
        raise InvalidVariableName(
            f"variable name {name!r} contains control character "
            f"U+{ord(bad.group()):04X} at position {bad.start()}; remove it"
        )
    try:
        encoded = quote(name, safe="")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8 encoded
        raise InvalidVariableName(f"variable name {name!r} is not valid Unicode text") from exc
    if len(encoded) > MAX_ENCODED_NAME_BYTES:
        raise InvalidVariableName(
            f"variable name {name[:40]!r}… is {len(encoded)} bytes once percent-encoded; "
            f"the limit is {MAX_ENCODED_NAME_BYTES} (use fewer non-ASCII characters)"
        )
    if len(_valid_cache) < 100_000:
        _valid_cache[name] = encoded
    return encoded


def encode_name(name: str) -> str:
    """The path component for ``name`` (validated)."""
    return validate_name(name)


def decode_name(component: str) -> str:
    """Inverse of `encode_name`."""
    return unquote(component, errors="strict")


def partition_key(when: datetime, granularity: Partition) -> str:
    """The `date=` value for a UTC datetime: `2026-11-26`, `2026-11-26T13` or `2026-11`."""
    if granularity == "day":
        return when.strftime("%Y-%m-%d")
    if granularity == "hour":
        return when.strftime("%Y-%m-%dT%H")
    if granularity == "month":
        return when.strftime("%Y-%m")
    raise ValueError(f"partition must be one of {PARTITIONS}, got {granularity!r}")


def partition_key_ns(ns: int, granularity: Partition) -> str:
    """`partition_key` for UTC nanoseconds since the epoch."""
    return partition_key(datetime.fromtimestamp(ns // 1_000_000_000, UTC), granularity)


def log_root(root: Path) -> Path:
    """`<root>/log`: one folder per variable."""
    return root / LOG_DIR


def log_dir(root: Path, name: str) -> Path:
    """`<root>/log/<encoded name>`."""
    return encoded_log_dir(root, encode_name(name))


def encoded_log_dir(root: Path, encoded: str) -> Path:
    """`<root>/log/<encoded>`, for a name already encoded (a folder listed on disk)."""
    return root / LOG_DIR / encoded


def compacted_dir(var_log_dir: Path) -> Path:
    """`log/<var>/compacted`: the segments already in Parquet, kept for log retention."""
    return var_log_dir / COMPACTED_DIR


def journal_dir(root: Path) -> Path:
    """`<root>/_journal`: compaction and optimize batches in flight."""
    return root / JOURNAL_DIR


def quarantine_root(root: Path) -> Path:
    """`<root>/_quarantine`: one folder per variable of lines that could not be parsed."""
    return root / QUARANTINE_DIR


def kind_folder(kind: str) -> str:
    """`kind=<kind>`: the folder of every variable of one kind in the Parquet tree."""
    return f"kind={kind}"


def kind_of_folder(name: str) -> str | None:
    """The kind of a `kind=<kind>` folder name, or None for any other name."""
    return name.removeprefix("kind=") if name.startswith("kind=") else None


def variable_folder(encoded: str) -> str:
    """`variable=<encoded>`: a variable's folder in its kind's folder (hive style)."""
    return f"variable={encoded}"


def variable_rel(kind: str, encoded: str) -> str:
    """`kind=<kind>/variable=<encoded>`: a variable's folder relative to the Parquet root."""
    return f"{kind_folder(kind)}/{variable_folder(encoded)}"


def variable_of_folder(name: str) -> str | None:
    """The encoded name of a `variable=<encoded>` folder name, or None for any other name."""
    return name.removeprefix("variable=") if name.startswith("variable=") else None


def partition_folder(key: str) -> str:
    """`date=<key>`: a partition's folder in a variable's Parquet folder."""
    return f"date={key}"


def partition_of_folder(name: str) -> str | None:
    """The key of a `date=<key>` folder name, or None for any other name."""
    return name.removeprefix("date=") if name.startswith("date=") else None


def partition_of_rel(rel: str) -> str:
    """The partition key of a file named `[kind=<kind>/]variable=<var>/date=<key>/<file>`
    (the folder above the file: names are percent-encoded, so no other one is `date=`)."""
    key = partition_of_folder(rel.split("/")[-2])
    assert key is not None, rel
    return key


def part_file_name(batch: str, *, temporary: bool = False) -> str:
    """`part-<batch>.parquet`, or its hidden temporary `.part-<batch>.parquet.tmp`."""
    return f".part-{batch}.parquet.tmp" if temporary else f"part-{batch}.parquet"


def part_rel(kind: str, encoded: str, key: str, filename: str) -> str:
    """`kind=<kind>/variable=<encoded>/date=<key>/<filename>`: a Parquet file relative
    to its root."""
    return f"{variable_rel(kind, encoded)}/{partition_folder(key)}/{filename}"


def parquet_dir(root: Path, kind: str, name: str, key: str | None = None) -> Path:
    """`<root>/parquet/kind=<kind>/variable=<encoded name>[/date=<key>]`."""
    base = root / PARQUET_DIR / variable_rel(kind, encode_name(name))
    return base if key is None else base / partition_folder(key)


def segment_name(writer: str, seq: int, *, active: bool) -> str:
    """`<writer>-<seq>.jsonl[.active]`, the sequence zero-padded so names sort by age."""
    return f"{writer}-{seq:06d}.jsonl" + (".active" if active else "")


def parse_segment_name(filename: str) -> tuple[str, int, bool] | None:
    """`(writer, seq, active)` for a segment file name, or None for anything else."""
    m = _SEGMENT.match(filename)
    if m is None:
        return None
    return m["writer"], int(m["seq"]), m["active"] is not None


def temp_sibling(target: Path) -> Path:
    """A unique hidden `*.tmp` name beside `target` (dot-files and .tmp are never data)."""
    token = f"{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}"
    return target.with_name(f".{target.name}.{token}.tmp")


def trash_name(component: str) -> str:
    """The hidden name a dropped variable's folder `component` is renamed to."""
    return f"{TRASH_PREFIX}{secrets.token_hex(4)}-{component}"


def is_trash(component: str) -> bool:
    """Whether a folder name is the trash of an interrupted drop (never a variable)."""
    return component.startswith(TRASH_PREFIX) or _LEGACY_TRASH.match(component) is not None


def new_writer_id() -> str:
    """A writer id that sorts by start time and is unique across processes and hosts."""
    now = datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}_{os.getpid()}_{secrets.token_hex(3)}"


def new_batch_id() -> str:
    """A batch id that sorts by creation time: `20261126T130427123456_<pid>_<hex>`."""
    now = datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}_{os.getpid()}_{secrets.token_hex(3)}"


def batch_time_ns(file_name: str) -> int | None:
    """The creation time (UTC, ns; µs precision) in a part file's name
    `part-<batch>.parquet` (`new_batch_id`), or None if the name holds none. The upgrade
    to format 3 gives a file's points this arrival: they were known by then at the latest."""
    stem = file_name.removeprefix("part-")
    try:
        when = datetime.strptime(stem[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (calendar.timegm(when.timetuple()) * 1_000_000 + when.microsecond) * 1000
