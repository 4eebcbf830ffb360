"""`LocalRoot`: the Parquet tree under the store root, `<root>/parquet`, published by renames.

Outputs are written as hidden `.part-<batch>.parquet.tmp` files beside their final names
and fsynced; publishing renames them into place (then fsyncs their directories), so a
reader listing the folders sees a batch wholly or not at all. Journal names are relative
to the store root (`parquet/variable=<var>/date=<key>/...`), as docs/contracts.md records.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hfdata.durable import fsync_dir, make_dirs, rename_within, scandir
from hfdata.errors import CorruptFile
from hfdata.kinds import Kind
from hfdata.layout import (
    PARQUET_DIR,
    part_file_name,
    part_rel,
    partition_folder,
    partition_of_folder,
    partition_of_rel,
    trash_name,
    variable_folder,
    variable_of_folder,
)
from hfdata.parquet.files import write_parquet
from hfdata.parquet.root import Listing, PartFile, PartsRoot, Pieces, Staged

__all__ = ["LocalRoot", "file_at"]


class LocalRoot(PartsRoot):
    """The Parquet tree at `<root>/parquet` of the store at `root`."""

    remote: ClassVar[bool] = False
    whole_reads: ClassVar[bool] = False
    pre_buffer: ClassVar[bool] = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root / PARQUET_DIR
        self.fs = pafs.LocalFileSystem()

    def __repr__(self) -> str:
        return f"<hfdata.LocalRoot {str(self.base)!r}>"

    # -- listing ------------------------------------------------------------------------------
    def variables(self) -> list[str]:
        if not self.base.is_dir():
            return []
        found = ((variable_of_folder(p.name), p) for p in self.base.iterdir())
        return sorted(encoded for encoded, p in found if encoded is not None and p.is_dir())

    def listing(
        self,
        encoded: str,
        *,
        keys: Iterable[str] | None = None,
        first: str = "",
        last: str = "\uffff",
    ) -> Listing:
        """Every `*.parquet` file not dot-named; `own` for the `part-*` files hfdata wrote."""
        listing = Listing()
        directory = self.base / variable_folder(encoded)
        if keys is None:
            found = (partition_of_folder(e.name) for e in scandir(directory))
            keys = [k for k in found if k is not None and first <= k <= last]
        for key in sorted(keys):
            folder = directory / partition_folder(key)
            for entry in sorted(scandir(folder), key=lambda e: e.name):
                name = entry.name
                if name.startswith(".") or name.endswith(".tmp"):
                    listing.strays.append(f"{PARQUET_DIR}/{part_rel(encoded, key, name)}")
                elif name.endswith(".parquet"):
                    rel = part_rel(encoded, key, name)
                    own = name.startswith("part-")
                    listing.files.append(PartFile(self, rel, str(folder / name), key, own=own))
        return listing

    def holds(self, encoded: str) -> bool:
        return (self.base / variable_folder(encoded)).exists()

    def describe(self, file: PartFile) -> str:
        return self.journal_name(file)

    # -- reading one file ---------------------------------------------------------------------
    def identity(self, file: PartFile) -> tuple[int, int, int]:
        st = os.stat(file.path)
        return st.st_ino, st.st_size, st.st_mtime_ns

    def read_footer(self, file: PartFile) -> pq.FileMetaData:
        return pq.read_metadata(file.path)

    def open(self, file: PartFile) -> pa.NativeFile:
        # A memory map skips ParquetFile's filesystem resolution.
        return pa.memory_map(file.path)

    def fetch(self, file: PartFile) -> pa.Buffer:
        with pa.memory_map(file.path) as source:
            return source.read_buffer()

    @contextlib.contextmanager
    def reading(self, file: PartFile) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise CorruptFile(
                errno.EIO,
                f"Parquet file {file.path} cannot be read ({exc}); move it out of parquet/ and "
                "compact its points again from log/<variable>/compacted/",
            ) from exc

    def parquet_file(self, file: PartFile) -> pq.ParquetFile:
        return pq.ParquetFile(file.path)

    # -- the batch protocol -------------------------------------------------------------------
    def stage(self, encoded: str, key: str, batch: str) -> Staged:
        temp = part_rel(encoded, key, part_file_name(batch, temporary=True))
        final = part_rel(encoded, key, part_file_name(batch))
        return f"{PARQUET_DIR}/{temp}", f"{PARQUET_DIR}/{final}"

    def journal_name(self, file: PartFile) -> str:
        return f"{PARQUET_DIR}/{file.rel}"

    def write(self, staged: Staged, pieces: Pieces, *, spool: Path) -> PartFile:
        temp, final = staged
        written = write_parquet(pieces, self.root / temp)
        rel = final.removeprefix(f"{PARQUET_DIR}/")
        key = partition_of_rel(rel)
        return PartFile(
            self, rel, str(self.root / final), key, None, written.rows, written.lo, written.hi
        )

    def commit_record(
        self,
        batch: str,
        encoded: str,
        kind: Kind | None,
        written: list[PartFile],
        replaces: list[str],
    ) -> dict[str, Any] | None:
        return None  # the renames publish

    def seal(self, outputs: list[Staged]) -> None:
        # "publishing" promises complete outputs to a roll forward: their data is fsynced
        # (step 5), and their names must be durable too, or under POSIX rules a power loss
        # right after the renames loses both names, and the segments then move to
        # compacted/ with their points in no Parquet file.
        for directory in sorted({(self.root / temp).parent for temp, _ in outputs}):
            fsync_dir(directory)

    def reveal(self, outputs: list[Staged], commit: dict[str, Any] | None) -> None:
        make_dirs(self.base)
        dirs: set[Path] = set()
        for temp, final in outputs:
            rename_within(self.root, temp, final, dirs)
        # The outputs' names must be durable before the segments leave log/<var>:
        # otherwise a power loss could keep the move and lose the Parquet names.
        for directory in sorted(dirs):
            fsync_dir(directory)

    def delete(self, names: list[str]) -> None:
        dirs: set[Path] = set()
        for name in names:
            path = self.root / name
            if path.exists():
                path.unlink()
                dirs.add(path.parent)
        for directory in sorted(dirs):
            fsync_dir(directory)

    def discard(self, outputs: list[Staged]) -> None:
        for temp, final in outputs:
            # Batch names are unique, so a final name that exists came from this batch (its
            # rename became durable before the journal said "publishing"): remove it too.
            (self.root / temp).unlink(missing_ok=True)
            (self.root / final).unlink(missing_ok=True)

    # -- maintenance ----------------------------------------------------------------------------
    def drop(self, encoded: str) -> list[Path]:
        """Rename the variable's folder to a trash name (readers stop seeing it at once)."""
        target = self.base / variable_folder(encoded)
        if not target.exists():
            return []
        moved = target.with_name(trash_name(target.name))
        os.rename(target, moved)
        fsync_dir(target.parent)
        return [moved]


def file_at(path: Path) -> PartFile:
    """A handle on a Parquet file at any local `path`, for reading only (tests, tools)."""
    return PartFile(LocalRoot(path.parent), path.name, str(path), "")
