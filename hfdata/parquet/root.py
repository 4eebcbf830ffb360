"""`PartsRoot`: the one contract for where a store's Parquet tree lives.

The tree (docs/contracts.md, "On-disk layout") is
`kind=<kind>/variable=<var>/date=<key>/part-<batch>.parquet` under a root, every file of a
kind with that kind's schema (`hfdata.parquet.files.KIND_SCHEMAS`). Two implementations keep
it: `hfdata.parquet.local.LocalRoot` (`<root>/parquet`, a batch published by journaled
renames) and `hfdata.parquet.objectstore.ParquetRoot` (a bucket or another path, a batch
published by a commit record). Compaction, optimize, drop, verify and the readers talk to
this contract only, so none of them asks where the tree is; every implementation runs the
same contract tests (`tests/parquet/test_roots.py`).

A root names its files with `PartFile` handles, which carry their root (as fsspec's open
files carry their filesystem: a handle can be read anywhere, a Dask worker too) and what
the listing knows (an object store's commit records know rows, span and size; a local
listing knows none of them, the footer does). A batch goes through the root in the
compaction protocol's order: `stage` names each output for the journal, `write` writes
it (hidden, or uploaded but not committed), `commit_record` says what publishing writes,
`seal` makes the outputs durable before the journal says "publishing", `reveal` makes
them visible, `delete` removes the files they replace; `discard` undoes a batch that
never started publishing. A batch's tombstones (`hfdata.parquet.tombstones`) are one
more output, named by `stage_tombstones` and written, sealed, revealed and discarded with
the data files; `tombstones` lists a variable's live ones. Derived files (`_stats/`,
`_rollups/`: `hfdata.parquet.sidecars`) go through four more primitives, `put_sidecar`
(and `put_sidecars`, several at once), `get_sidecar`, `sidecars`, `delete_sidecars`,
outside the batch protocol: they are written after their data file publishes and count
only while it is live.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hfdata.kinds import Kind

__all__ = ["Listing", "PartFile", "PartsRoot", "Pieces", "Staged"]

Pieces: TypeAlias = pa.Table | Iterable[pa.Table]  # one sorted table, or its pieces in order
Staged: TypeAlias = tuple[str, str]  # an output's (temporary, final) names, as journals record them


@dataclass(frozen=True, slots=True)
class PartFile:
    """One live Parquet file: its root, its name and what is known of it without opening it.

    `root` reads it (`hfdata.parquet.reader`); `rel` is relative to the root
    (`kind=<kind>/variable=<var>/date=<key>/<file>`; another store's file in a shared
    object-store root may still sit where format 1 put it,
    `variable=<var>/date=<key>/<file>`); `path` is where the root opens it. `size`, `rows`
    and the first and last timestamp `lo`/`hi` (ns) are known when a commit record names the
    file (or the root just wrote it), else None. `own` says the store may replace it
    (`optimize`): its own part files, never another store's.
    """

    root: PartsRoot = field(repr=False, compare=False)
    rel: str
    path: str
    key: str
    size: int | None = None
    rows: int | None = None
    lo: int | None = None
    hi: int | None = None
    own: bool = True

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Listing:
    """One variable's Parquet files in a root: the kind its folder or records give (None
    where it has none), the live files sorted by partition key then name, and leftover
    temporaries (descriptions, for `verify`; readers never see them)."""

    kind: Kind | None = None
    files: list[PartFile] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)


class PartsRoot(abc.ABC):
    """Where the Parquet tree lives: listing, reading and the batch protocol's steps.

    Capability flags tell readers how to read well from it: `whole_reads`, a file the
    window covers is fetched in one request (an object store: one GET beats a footer GET
    and range GETs); `pre_buffer`, Arrow coalesces the row groups' reads. `remote` is the
    value the journal records: True when outputs are uploaded under their final names and
    published by a commit record rather than renamed.
    """

    remote: ClassVar[bool]
    whole_reads: ClassVar[bool]
    pre_buffer: ClassVar[bool]
    fs: pafs.FileSystem  # Arrow's filesystem for `PartFile.path` (datasets, polars scans)

    # -- listing ------------------------------------------------------------------------------
    @abc.abstractmethod
    def variables(self) -> list[str]:
        """Encoded names of the variables with Parquet files (or commits), sorted."""

    @abc.abstractmethod
    def listing(
        self,
        encoded: str,
        *,
        keys: Iterable[str] | None = None,
        first: str = "",
        last: str = "\uffff",
    ) -> Listing:
        """The variable's live files (none if it has no Parquet), in partitions `keys`
        (looked up one by one: flat in the store's size) or else in partitions whose keys
        lie in `[first, last]`."""

    @abc.abstractmethod
    def holds(self, encoded: str) -> bool:
        """Whether the variable has anything in this root (a `drop` has work to do)."""

    @abc.abstractmethod
    def describe(self, file: PartFile) -> str:
        """How messages name the file (relative to the store root where it is under it)."""

    # -- reading one file ---------------------------------------------------------------------
    @abc.abstractmethod
    def identity(self, file: PartFile) -> tuple[int, int, int]:
        """What changes when the file does (a footer cache's key, with `file.path`)."""

    @abc.abstractmethod
    def read_footer(self, file: PartFile) -> pq.FileMetaData:
        """The file's Parquet footer."""

    @abc.abstractmethod
    def open(self, file: PartFile) -> pa.NativeFile:
        """The file opened for random access (row groups)."""

    @abc.abstractmethod
    def fetch(self, file: PartFile) -> pa.Buffer:
        """The whole file in memory, in as few requests as the root allows."""

    @abc.abstractmethod
    def reading(self, file: PartFile) -> AbstractContextManager[None]:
        """A context in which errors reading `file` become what readers answer: a file
        deleted meanwhile (a compaction replaced it) a `FileNotFoundError` (list again),
        a damaged local file a `CorruptFile` naming it."""

    @abc.abstractmethod
    def parquet_file(self, file: PartFile) -> pq.ParquetFile:
        """The whole file for a full check (`verify`), checksums verified as the root's
        readers verify them; a file deleted meanwhile is a `FileNotFoundError`."""

    # -- the batch protocol (docs/contracts.md, "Compaction protocol") -------------------------
    @abc.abstractmethod
    def stage(self, encoded: str, kind: Kind, key: str, batch: str) -> Staged:
        """The journal's (temporary, final) names of batch `batch`'s output for a partition
        of a variable of `kind`."""

    @abc.abstractmethod
    def stage_tombstones(self, encoded: str, batch: str) -> Staged:
        """The journal's (temporary, final) names of batch `batch`'s tombstone file of a
        variable (`_tombstones/variable=<var>/part-<batch>.parquet`); `write` writes it
        like a data output, and the batch publishes it with its data files."""

    @abc.abstractmethod
    def tombstones(self, encoded: str) -> list[PartFile]:
        """The variable's live tombstone files, sorted by name (batch time). List them
        where the data files are listed (a read's snapshot, under the shared publish
        lock): publishing makes a batch's tombstones visible with its data files."""

    @abc.abstractmethod
    def journal_name(self, file: PartFile) -> str:
        """The name a journal gives `file` (in `replaces`)."""

    @abc.abstractmethod
    def write(self, staged: Staged, pieces: Pieces, *, spool: Path) -> PartFile:
        """Step 5: write one output (invisible to readers until `reveal`). `spool` is a
        local hidden path the root may use for a stream it must upload whole."""

    @abc.abstractmethod
    def commit_record(
        self,
        batch: str,
        encoded: str,
        kind: Kind | None,
        written: list[PartFile],
        replaces: list[str],
    ) -> dict[str, Any] | None:
        """What publishing the batch writes, kept in its journal (None: nothing, renames)."""

    @abc.abstractmethod
    def seal(self, outputs: list[Staged]) -> None:
        """Make the written outputs' names durable before the journal says "publishing"."""

    @abc.abstractmethod
    def reveal(self, outputs: list[Staged], commit: dict[str, Any] | None) -> None:
        """Step 6: make the batch visible (idempotent). Call under `.publish.lock`."""

    @abc.abstractmethod
    def delete(self, names: list[str]) -> None:
        """Delete files by journal name, durably; missing ones are fine (idempotent)."""

    @abc.abstractmethod
    def discard(self, outputs: list[Staged]) -> None:
        """Roll back a batch that never started publishing: delete its outputs."""

    # -- maintenance ----------------------------------------------------------------------------
    @abc.abstractmethod
    def drop(self, encoded: str) -> list[Path]:
        """Make the variable's Parquet invisible to readers (call under `.publish.lock`);
        returns local folders renamed to trash, for the caller to delete after the lock."""

    # -- upgrading format 1's tree (hfdata.compact.upgrade) ----------------------------------
    @abc.abstractmethod
    def legacy(self) -> dict[str, list[PartFile]]:
        """This store's files where format 1 put them (`variable=<var>/date=<key>/<file>`
        at the top of the root), by encoded variable name."""

    @abc.abstractmethod
    def relocate(self, encoded: str, kind: Kind) -> None:
        """Move the variable's format-1 files into its kind's folder, unchanged and all
        at once for readers. Idempotent: calling again finishes a move cut short."""

    # -- derived files (hfdata.parquet.sidecars) -----------------------------------------------
    @abc.abstractmethod
    def put_sidecar(self, rel: str, data: bytes) -> None:
        """Write one derived file at `rel` (under `_stats/` or `_rollups/`) atomically
        against kills: readers see the old bytes or none, then all of `data` (a local
        file through a hidden temporary, renamed; an object in one PUT). Overwrites. Not
        durable: nothing is fsynced, so after a power cut a local sidecar may be gone,
        empty or torn, which readers take for missing (docs/contracts.md, "Derived
        files")."""

    def put_sidecars(self, items: Sequence[tuple[str, bytes]]) -> None:
        """`put_sidecar` for each `(rel, data)`, in order; a root may overlap the writes.
        Each is atomic on its own: a failure may leave the earlier ones written."""
        for rel, data in items:
            self.put_sidecar(rel, data)

    @abc.abstractmethod
    def get_sidecar(self, rel: str) -> bytes | None:
        """The bytes of the derived file at `rel`, or None if there is none."""

    @abc.abstractmethod
    def sidecars(self, prefix: str) -> list[str]:
        """The rels of every derived file in the folder `prefix` and below, sorted
        (hidden temporaries left out)."""

    @abc.abstractmethod
    def sidecar_sizes(self, prefix: str) -> dict[str, int]:
        """`sidecars` with each one's size in bytes: an empty sidecar is one a power cut
        left without its bytes (never fsynced), which `derive` takes for missing."""

    @abc.abstractmethod
    def delete_sidecars(self, rels: Iterable[str]) -> None:
        """Delete derived files; missing ones are fine (idempotent)."""

    def sweep_sidecars(self) -> None:  # noqa: B027 - nothing to do by default
        """Remove what sidecar writes a kill cut short left (call under the compaction
        lock). An object store's PUT leaves nothing."""

    def housekeep(self, encoded: str) -> None:  # noqa: B027 - nothing to do by default
        """Tidy after a variable's batches are published (an object store folds its
        commit records). An `OSError` here loses nothing: the caller warns."""
