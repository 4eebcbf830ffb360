"""`Store.info`: what one variable holds, from file names, footers and its log tail.

Parquet files are summed from their footers (cached) or, in an object store, from
their commit records; the log tail is parsed (cached) for its rows and time range;
compacted segments kept for log retention count in the log's bytes only. Everything
comes from one consistent snapshot, so a concurrent compaction counts no point twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hfdata.durable import scandir
from hfdata.kinds import Kind
from hfdata.layout import compacted_dir, encode_name, log_dir, validate_name, variable_rel
from hfdata.parquet.reader import file_span
from hfdata.parquet.root import PartsRoot
from hfdata.read.files import file_size, segment_size
from hfdata.read.rows import timestamps
from hfdata.read.snapshot import VariableFiles, list_variable, read_snapshot
from hfdata.read.tail import segment_rows
from hfdata.settings import StoreSettings
from hfdata.timeparse import NS_MAX, NS_MIN

__all__ = ["VariableInfo", "info"]


@dataclass(frozen=True, slots=True)
class VariableInfo:
    """What `Store.info` reports about one variable (from file names and footers).

    Sizes: `parquet_bytes` (its Parquet files), `log_bytes` (every log segment, pending
    or compacted), of which `compacted_log_bytes` are compacted segments (already in
    Parquet, kept for the store's log retention; `Store.prune_log` removes them sooner),
    and `bytes_on_disk`, the sum of Parquet and log. `first`/`last` are None when the
    variable holds no points. `parquet_folder` is its folder in the Parquet tree,
    `kind=<kind>/variable=<name>` (percent-encoded, as outside engines see it), or None
    while it has no kind (only missing values so far: they wait in the log).
    """

    name: str
    kind: Kind | None
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    parquet_rows: int
    log_rows: int
    partitions: tuple[str, ...]
    parquet_files: int
    log_segments: int
    compacted_segments: int
    parquet_bytes: int
    log_bytes: int
    compacted_log_bytes: int
    bytes_on_disk: int
    parquet_folder: str | None = None

    @property
    def rows(self) -> int:
        """Points in Parquet plus points in the log."""
        return self.parquet_rows + self.log_rows


def info(root: Path, parts: PartsRoot, settings: StoreSettings, variable: str) -> VariableInfo:
    """Kind, time range, row counts, partitions and bytes of one variable."""
    validate_name(variable)

    def list_files() -> tuple[VariableFiles, list[int]]:
        files = list_variable(
            root, parts, variable, settings.partition, NS_MIN, NS_MAX, include_log=True
        )
        return files, _compacted_sizes(compacted_dir(log_dir(root, variable)))

    def read_files(listed: tuple[VariableFiles, list[int]], locked: bool) -> VariableInfo:
        return _info(*listed, locked=locked)

    return read_snapshot(root, list_files, read_files)


def _compacted_sizes(directory: Path) -> list[int]:
    """Sizes of the compacted segments in `directory` (log retention may delete any)."""
    sizes = []
    for entry in scandir(directory):
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file():
                sizes.append(entry.stat().st_size)
    return sizes


def _info(files: VariableFiles, compacted: list[int], *, locked: bool = False) -> VariableInfo:
    lows: list[int] = []
    highs: list[int] = []
    parquet_rows = log_rows = parquet_bytes = pending_bytes = 0
    for file in files.parquet:
        first, last, rows = file_span(file)
        parquet_rows += rows
        parquet_bytes += file_size(file)
        if rows:
            lows.append(first)
            highs.append(last)
    for path in files.segments:
        table = segment_rows(path, files.kind, locked=locked)
        pending_bytes += segment_size(path)
        log_rows += table.num_rows
        if table.num_rows:
            ns = timestamps(table)
            lows.append(int(ns.min()))
            highs.append(int(ns.max()))
    log_bytes = pending_bytes + sum(compacted)
    return VariableInfo(
        name=files.name,
        kind=files.kind,
        first=pd.Timestamp(min(lows), tz="UTC") if lows else None,
        last=pd.Timestamp(max(highs), tz="UTC") if highs else None,
        parquet_rows=parquet_rows,
        log_rows=log_rows,
        partitions=tuple(sorted({f.key for f in files.parquet})),
        parquet_files=len(files.parquet),
        log_segments=len(files.segments),
        compacted_segments=len(compacted),
        parquet_bytes=parquet_bytes,
        log_bytes=log_bytes,
        compacted_log_bytes=sum(compacted),
        bytes_on_disk=parquet_bytes + log_bytes,
        parquet_folder=_folder(files),
    )


def _folder(files: VariableFiles) -> str | None:
    """Where its Parquet is (a shared root may hold another store's files where format 1
    put them: the kind's folder is still where this store writes), or will go."""
    if files.kind is None:
        return None
    return variable_rel(files.kind, encode_name(files.name))
