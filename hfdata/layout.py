"""Pure naming rules of the on-disk layout: names, partition keys, paths. No I/O.

A variable name is percent-encoded with ``urllib.parse.quote(name, safe="")`` for
every path component, so no name (``../../etc``, ``a/b``) can leave the store
root, and hive readers (pyarrow, polars, DuckDB) decode it back to the real name.
"""

from __future__ import annotations

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
    "MAX_ENCODED_NAME_BYTES",
    "MAX_NAME_CHARS",
    "PARTITIONS",
    "SCHEMA_FILE",
    "Partition",
    "decode_name",
    "encode_name",
    "is_trash",
    "log_dir",
    "new_batch_id",
    "new_writer_id",
    "parquet_dir",
    "parse_segment_name",
    "partition_key",
    "partition_key_ns",
    "segment_name",
    "temp_sibling",
    "trash_name",
    "validate_name",
]

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


def log_dir(root: Path, name: str) -> Path:
    """`<root>/log/<encoded name>`."""
    return root / "log" / encode_name(name)


def parquet_dir(root: Path, name: str, key: str | None = None) -> Path:
    """`<root>/parquet/variable=<encoded name>[/date=<key>]`."""
    base = root / "parquet" / f"variable={encode_name(name)}"
    return base if key is None else base / f"date={key}"


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
