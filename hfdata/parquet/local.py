"""`LocalRoot`: the Parquet tree under the store root, `<root>/parquet`, published by renames.

Outputs are written as hidden `.part-<batch>.parquet.tmp` files beside their final names
and fsynced; publishing renames them into place (then fsyncs their directories), so a
reader listing the folders sees a batch wholly or not at all. Journal names are relative
to the store root (`parquet/kind=<kind>/variable=<var>/date=<key>/...`), as
docs/contracts.md records. A variable's folder sits in its kind's folder; it is found by
looking in each kind's folder (five lookups, flat in the store's size).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hfdata.durable import fsync_dir, make_dirs, rename_within, scandir
from hfdata.errors import CorruptFile
from hfdata.kinds import KINDS, Kind
from hfdata.layout import (
    PARQUET_DIR,
    kind_folder,
    part_file_name,
    part_rel,
    partition_folder,
    partition_of_folder,
    partition_of_rel,
    trash_name,
    variable_folder,
    variable_of_folder,
    variable_rel,
)
from hfdata.parquet.files import write_parquet
from hfdata.parquet.root import Listing, PartFile, PartsRoot, Pieces, Staged
from hfdata.parquet.tombstones import is_tombstone_rel, tombstone_folder, tombstone_rel

__all__ = ["SIDECAR_SPOOL", "LocalRoot", "file_at"]

SIDECAR_SPOOL: Final = "_spool"  # under parquet/: temporaries of sidecar writes


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
    def folders(self) -> list[tuple[Kind, str]]:
        """`(kind, encoded name)` of every variable folder, sorted (a variable in two
        kinds' folders is listed twice: `verify` reports it)."""
        found: list[tuple[Kind, str]] = []
        for kind in KINDS:
            for entry in scandir(self.base / kind_folder(kind)):
                encoded = variable_of_folder(entry.name)
                if encoded is not None and entry.is_dir():
                    found.append((kind, encoded))
        return sorted(found, key=lambda item: (item[1], item[0]))

    def variables(self) -> list[str]:
        return sorted({encoded for _, encoded in self.folders()})

    def _find(self, encoded: str) -> tuple[Kind, Path] | None:
        """The kind and folder of a variable's Parquet, if it has any."""
        for kind in KINDS:
            folder = self.base / variable_rel(kind, encoded)
            if folder.is_dir():
                return kind, folder
        return None

    def listing(
        self,
        encoded: str,
        *,
        keys: Iterable[str] | None = None,
        first: str = "",
        last: str = "\uffff",
    ) -> Listing:
        """Every `*.parquet` file not dot-named; `own` for the `part-*` files hfdata wrote."""
        found = self._find(encoded)
        if found is None:
            return Listing()
        kind, directory = found
        listing = Listing(kind)
        if keys is None:
            dated = (partition_of_folder(e.name) for e in scandir(directory))
            keys = [k for k in dated if k is not None and first <= k <= last]
        for key in sorted(keys):
            folder = directory / partition_folder(key)
            for entry in sorted(scandir(folder), key=lambda e: e.name):
                name = entry.name
                if name.startswith(".") or name.endswith(".tmp"):
                    listing.strays.append(f"{PARQUET_DIR}/{part_rel(kind, encoded, key, name)}")
                elif name.endswith(".parquet"):
                    rel = part_rel(kind, encoded, key, name)
                    own = name.startswith("part-")
                    listing.files.append(PartFile(self, rel, str(folder / name), key, own=own))
        return listing

    def holds(self, encoded: str) -> bool:
        return self._find(encoded) is not None or (self.base / tombstone_folder(encoded)).is_dir()

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
    def stage(self, encoded: str, kind: Kind, key: str, batch: str) -> Staged:
        temp = part_rel(kind, encoded, key, part_file_name(batch, temporary=True))
        final = part_rel(kind, encoded, key, part_file_name(batch))
        return f"{PARQUET_DIR}/{temp}", f"{PARQUET_DIR}/{final}"

    def stage_tombstones(self, encoded: str, batch: str) -> Staged:
        temp = tombstone_rel(encoded, batch, temporary=True)
        return f"{PARQUET_DIR}/{temp}", f"{PARQUET_DIR}/{tombstone_rel(encoded, batch)}"

    def tombstones(self, encoded: str) -> list[PartFile]:
        """Every `part-*.parquet` in `_tombstones/variable=<var>/` (hidden temporaries of
        batches not yet published are not live)."""
        folder = self.base / tombstone_folder(encoded)
        return [
            PartFile(self, f"{tombstone_folder(encoded)}/{e.name}", e.path, "")
            for e in sorted(scandir(folder), key=lambda e: e.name)
            if e.name.startswith("part-") and e.name.endswith(".parquet")
        ]

    def journal_name(self, file: PartFile) -> str:
        return f"{PARQUET_DIR}/{file.rel}"

    def write(self, staged: Staged, pieces: Pieces, *, spool: Path) -> PartFile:
        temp, final = staged
        written = write_parquet(pieces, self.root / temp)
        rel = final.removeprefix(f"{PARQUET_DIR}/")
        key = "" if is_tombstone_rel(rel) else partition_of_rel(rel)
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
        """Rename the variable's folder and its tombstones' folder to trash names (readers
        stop seeing them at once)."""
        found = self._find(encoded)
        targets = [found[1]] if found is not None else []
        tombstones = self.base / tombstone_folder(encoded)
        if tombstones.is_dir():
            targets.append(tombstones)
        trash = []
        for target in targets:
            moved = target.with_name(trash_name(target.name))
            os.rename(target, moved)
            fsync_dir(target.parent)
            trash.append(moved)
        return trash

    # -- derived files ------------------------------------------------------------------------
    def put_sidecar(self, rel: str, data: bytes) -> None:
        self.put_sidecars([(rel, data)])

    def put_sidecars(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Each through a temporary in `parquet/_spool/` (so what a killed write leaves
        is found in one folder, `sweep_sidecars`), written and renamed into place, in
        order. Nothing is fsynced, neither the files nor their names nor the folders
        made for them: a sidecar is derived data, and one a power cut loses, empties or
        tears is only missing (readers treat an unreadable sidecar as absent, the next
        compaction rewrites an empty one, `hfdata upgrade` any unreadable one;
        docs/contracts.md, "Derived files"). So a folder is made only when a rename
        finds it missing, without a lookup before every write. Paths are strings, not
        `Path`s: for a batch's small sidecars the path objects cost as much as the
        system calls."""
        base = str(self.base)
        spool = f"{base}/{SIDECAR_SPOOL}"
        for rel, data in items:
            tmp = f"{spool}/{secrets.token_hex(8)}.tmp"
            fd = _create(tmp)
            try:
                try:
                    _write_all(fd, data)
                finally:
                    os.close(fd)
                _replace(tmp, f"{base}/{rel}")
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise

    def sweep_sidecars(self) -> None:
        """Remove the temporaries of sidecar writes a kill cut short (call under the
        compaction lock: only its holder writes sidecars)."""
        for entry in scandir(self.base / SIDECAR_SPOOL):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)

    def get_sidecar(self, rel: str) -> bytes | None:
        try:
            return (self.base / rel).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def sidecars(self, prefix: str) -> list[str]:
        return sorted(self.sidecar_sizes(prefix))

    def sidecar_sizes(self, prefix: str) -> dict[str, int]:
        """Sizes from one `stat` a file, besides the folder reads `sidecars` made."""
        found: dict[str, int] = {}
        cut = len(str(self.base)) + 1
        pending = [self.base / prefix]
        while pending:
            directory = pending.pop()
            for entry in scandir(directory):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                    continue
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:  # deleted meanwhile
                    continue
                found[entry.path[cut:]] = size
        return found

    def delete_sidecars(self, rels: Iterable[str]) -> None:
        """Unlink each, then remove the folders that became empty (up to `_stats/` or
        `_rollups/`): only this store writes here, under its compaction lock."""
        emptied: set[Path] = set()
        for rel in rels:
            path = self.base / rel
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                path.unlink()
                emptied.add(path.parent)
        for directory in sorted(emptied, key=lambda p: -len(p.parts)):
            while directory != self.base and directory.parent != self.base:
                try:
                    directory.rmdir()
                except OSError:  # not empty (or gone already)
                    break
                directory = directory.parent

    # -- upgrading format 1's tree ------------------------------------------------------------
    def legacy(self) -> dict[str, list[PartFile]]:
        found: dict[str, list[PartFile]] = {}
        for entry in scandir(self.base):
            encoded = variable_of_folder(entry.name)
            if encoded is None or not entry.is_dir():
                continue
            files = found.setdefault(encoded, [])
            for dated in sorted(scandir(Path(entry.path)), key=lambda e: e.name):
                key = partition_of_folder(dated.name)
                if key is None or not dated.is_dir():
                    continue
                for item in sorted(scandir(Path(dated.path)), key=lambda e: e.name):
                    name = item.name
                    if name.endswith(".parquet") and not name.startswith("."):
                        rel = f"{entry.name}/{dated.name}/{name}"
                        own = name.startswith("part-")
                        files.append(PartFile(self, rel, item.path, key, own=own))
        return found

    def relocate(self, encoded: str, kind: Kind) -> None:
        """One rename of the variable's folder (every file moves at once); a folder
        already half-merged by an earlier call is merged file by file."""
        source = self.base / variable_folder(encoded)
        if not source.is_dir():
            return
        parent = self.base / kind_folder(kind)
        make_dirs(parent)
        target = parent / variable_folder(encoded)
        if not target.exists():
            os.rename(source, target)
        else:
            _merge_into(source, target)
        fsync_dir(parent)
        fsync_dir(self.base)


def _create(path: str) -> int:
    """A new file at `path` open for writing, its folder made if missing (not fsynced:
    the sidecar spool's)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        _make_folder(os.path.dirname(path))
        return os.open(path, flags, 0o644)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _replace(source: str, target: str) -> None:
    """`os.replace`, making the target's folders first if they are missing (a sidecar's
    folders: not fsynced, see `LocalRoot.put_sidecars`)."""
    try:
        os.replace(source, target)
    except FileNotFoundError:
        _make_folder(os.path.dirname(target))
        os.replace(source, target)


def _make_folder(path: str) -> None:
    """`mkdir -p` without fsyncs, one `mkdir` a level (`os.makedirs` looks each parent up
    first): for sidecar folders, most of them new."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    except FileNotFoundError:
        _make_folder(os.path.dirname(path))
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)


def _merge_into(source: Path, target: Path) -> None:
    """Move every file of `source` (a variable's folder) into `target`, then remove it.
    A name in both is a `CorruptFile`: two different files must not be guessed at."""
    for dated in sorted(source.iterdir()):
        into = target / dated.name
        make_dirs(into)
        for item in sorted(dated.iterdir()):
            if (into / item.name).exists():
                raise CorruptFile(
                    errno.EEXIST,
                    f"{item} and {into / item.name} both exist; keep the right one, move "
                    "the other out of the store, and run the upgrade again",
                )
            os.rename(item, into / item.name)
        fsync_dir(into)
        dated.rmdir()
    source.rmdir()


def file_at(path: Path) -> PartFile:
    """A handle on a Parquet file at any local `path`, for reading only (tests, tools)."""
    return PartFile(LocalRoot(path.parent), path.name, str(path), "")
