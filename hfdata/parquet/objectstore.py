"""The Parquet root on another filesystem: an object store (`s3://…`) or a separate path.

`open_store(root, parquet_root=..., storage_options=...)` keeps the log on local disk and
puts the Parquet tree (docs/contracts.md, "On-disk layout") in `parquet_root`, not `<root>/parquet`:

    <parquet_root>/kind=<kind>/variable=<var>/date=<key>/part-<batch>.parquet
                                            data: written once, never rewritten, unique names
    <parquet_root>/_tombstones/variable=<var>/part-<batch>.parquet   a batch's tombstones
    <parquet_root>/_hfdata/commits/<var>/<batch>.json      one commit per batch

Object stores cannot rename, so a batch is published by a *commit record*, written last:
data objects go up under their final (unique) names, then the commit record naming them
(with row count and first/last timestamp of each) is written in one PUT. hfdata readers
read only files named by commit records, minus the files a later commit replaced
(`optimize`), so they see a batch wholly or not at all. The commit is written under the
local `.publish.lock`, where the segments also move to `compacted/`, so a reader on the
compacting machine sees each point exactly once. `optimize` replaces only files its own
store committed (`owner`), so several machines compacting into one bucket never replace
each other's files.

Commit records would accumulate (one per batch per variable, each fetched once by every
new reader), so a store folds its own: once it has `FOLD_AT` records of a variable, it
writes one more commit naming its live files (its own outputs minus what its own commits
replaced; no other store replaces them) and then deletes the records folded. A reader
that finds a listed record gone lists again (the fold's record was written first), and
a file named by two records counts once, so a fold interrupted between its PUT and its
deletions changes nothing a reader sees.

A batch's tombstone file (`hfdata.parquet.tombstones`) is named by its commit record's
`tombstones` list (entries as `outputs`' are), never by `outputs`, so data listings never
see it; a commit's `replaces` names the tombstone files an `optimize` merged away as it
names data files, and folds carry the live ones.

`ParquetRoot` implements `hfdata.parquet.root.PartsRoot` (outputs uploaded under their final
names, `reveal` writes the commit record, `housekeep` folds); `live` is its whole listing of
a variable, with each file's owner.

Filesystems are `pyarrow.fs` objects: S3 through Arrow's C++ client (`benchmarks/bench_s3.py`
compares it with s3fs), anything else fsspec knows through
`pyarrow.fs.PyFileSystem(FSSpecHandler(...))`. `storage_options` are fsspec's (as in
pandas: `endpoint_url`, `key`, `secret`, `client_kwargs`, …); they are never written to
disk.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, cast
from urllib.parse import urlsplit

import orjson
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hfdata.durable import fsync_path
from hfdata.errors import MissingDependency
from hfdata.kinds import KINDS, Kind
from hfdata.layout import (
    new_batch_id,
    part_file_name,
    part_rel,
    partition_of_rel,
    variable_folder,
    variable_rel,
)
from hfdata.parquet.files import Written, write_parquet, write_parquet_stream
from hfdata.parquet.root import Listing, PartFile, PartsRoot, Pieces, Staged
from hfdata.parquet.sidecars import ROLLUPS_DIR, STATS_DIR
from hfdata.parquet.tombstones import is_tombstone_rel, tombstone_folder, tombstone_rel

__all__ = [
    "COMMIT_DIR",
    "FOLD_AT",
    "Backend",
    "ParquetRoot",
    "filesystem",
    "normalise_uri",
]

COMMIT_DIR: Final = "_hfdata/commits"
FOLD_AT: Final = 64  # a store's commit records of one variable folded into one from here
_RELIST: Final = 5  # listings when records vanish under a reader (folds, drops)
Backend = Literal["pyarrow", "fsspec"]
_S3_KEYS: Final = {"key", "secret", "token", "endpoint_url", "client_kwargs", "anon", "region"}


def normalise_uri(uri: str | os.PathLike[str]) -> str:
    """`s3://bucket/prefix` without a trailing slash, or an absolute local path."""
    text = os.fspath(uri)
    scheme = urlsplit(text).scheme
    if len(scheme) > 1 and scheme != "file":
        return text.rstrip("/")
    if scheme == "file":
        text = urlsplit(text).path
    return str(Path(text).expanduser().resolve())


def _s3_pyarrow(options: dict[str, Any]) -> pafs.FileSystem | None:
    """Arrow's S3 client from s3fs-style options, or None if an option has no equivalent."""
    if not set(options) <= _S3_KEYS:
        return None
    client = dict(options.get("client_kwargs") or {})
    if not set(client) <= {"endpoint_url", "region_name"}:
        return None
    endpoint = options.get("endpoint_url") or client.get("endpoint_url")
    kwargs: dict[str, Any] = {}
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc or endpoint
        kwargs["scheme"] = parts.scheme or "https"
    if options.get("anon"):
        kwargs["anonymous"] = True
    if options.get("key"):
        kwargs["access_key"] = options["key"]
        kwargs["secret_key"] = options.get("secret")
    if options.get("token"):
        kwargs["session_token"] = options["token"]
    region = options.get("region") or client.get("region_name")
    kwargs["region"] = region or "us-east-1"
    return pafs.S3FileSystem(**kwargs)


def _fsspec(protocol: str, options: dict[str, Any]) -> pafs.FileSystem:
    try:
        import fsspec
    except ImportError as exc:
        raise MissingDependency(
            f"a parquet_root of protocol {protocol!r} needs fsspec (and s3fs for s3://); "
            "install hfdata[s3]"
        ) from exc
    return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem(protocol, **options)))


def filesystem(
    uri: str, storage_options: dict[str, Any] | None = None, backend: Backend | None = None
) -> tuple[pafs.FileSystem, str]:
    """`(filesystem, base path)` for a normalised parquet root.

    S3 goes through `pyarrow.fs.S3FileSystem` unless `backend="fsspec"` or the options
    name something only s3fs understands; other protocols go through fsspec.
    """
    options = dict(storage_options or {})
    parts = urlsplit(uri)
    if len(parts.scheme) <= 1:
        if options:
            raise ValueError("storage_options apply to a URI parquet_root such as s3://bucket")
        return pafs.LocalFileSystem(), uri
    base = f"{parts.netloc}{parts.path}".rstrip("/")
    if parts.scheme in ("s3", "s3a") and backend != "fsspec":
        fs = _s3_pyarrow(options)
        if fs is not None:
            return fs, base
    if backend == "pyarrow":
        raise ValueError(f"backend 'pyarrow' cannot take these storage_options: {sorted(options)}")
    return _fsspec(parts.scheme, options), base


@dataclass(frozen=True, slots=True)
class _Commit:
    batch: str
    owner: str
    kind: str | None
    outputs: tuple[dict[str, Any], ...]
    replaces: tuple[str, ...]
    tombstones: tuple[dict[str, Any], ...] = ()


class ParquetRoot(PartsRoot):
    """The Parquet tree on a `pyarrow.fs` filesystem, published through commit records.

    Commit records are immutable, so they are cached in memory once read; each listing
    costs one LIST request per variable.
    """

    remote: ClassVar[bool] = True
    whole_reads: ClassVar[bool] = True
    pre_buffer: ClassVar[bool] = True

    def __init__(
        self,
        uri: str,
        storage_options: dict[str, Any] | None = None,
        *,
        owner: str,
        backend: Backend | None = None,
    ) -> None:
        self.uri = normalise_uri(uri)
        self.fs, self.base = filesystem(self.uri, storage_options, backend)
        self.owner = owner
        self.local = isinstance(self.fs, pafs.LocalFileSystem)
        self._lock = threading.Lock()
        self._commits: dict[str, dict[str, _Commit]] = {}

    def __repr__(self) -> str:
        return f"<hfdata.ParquetRoot {self.uri!r}>"

    def __getstate__(self) -> dict[str, Any]:  # Dask ships it to workers: no lock, no cache
        return {"uri": self.uri, "fs": self.fs, "base": self.base, "owner": self.owner}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.uri, self.fs, self.base, self.owner = (
            state["uri"],
            state["fs"],
            state["base"],
            state["owner"],
        )
        self.local = isinstance(self.fs, pafs.LocalFileSystem)
        self._lock = threading.Lock()
        self._commits = {}

    # -- paths -------------------------------------------------------------------------------
    def full(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    @staticmethod
    def part_rel(encoded: str, kind: Kind, key: str, batch: str) -> str:
        return part_rel(kind, encoded, key, part_file_name(batch))

    def _commit_dir(self, encoded: str) -> str:
        return self.full(f"{COMMIT_DIR}/{encoded}")

    # -- writing -----------------------------------------------------------------------------
    def write_part(self, table: pa.Table, rel: str) -> dict[str, Any]:
        """Upload one data object, a sorted table, under its final name; returns its
        commit entry."""
        return self._put(rel, lambda out: write_parquet_stream(table, out))

    def upload_file(self, local: Path, rel: str, written: Written) -> dict[str, Any]:
        """Upload a finished local Parquet file (`written` says what it holds) under its
        final name; returns its commit entry. The file is memory-mapped, not read in."""

        def copy(out: pa.NativeFile) -> Written:
            with out, pa.memory_map(str(local)) as src:
                out.write(src.read_buffer())
            return written

        return self._put(rel, copy)

    def _put(self, rel: str, write: Callable[[pa.NativeFile], Written]) -> dict[str, Any]:
        """Run `write` on an output stream for the object `rel` (which it closes). An
        object store makes the object visible only when the upload completes; on a
        local filesystem the file is written hidden, fsynced and renamed into place."""
        path = self.full(rel)
        parent = path.rsplit("/", 1)[0]
        if self.local:
            self.fs.create_dir(parent, recursive=True)
            tmp = _temporary(path)
            written = write(self.fs.open_output_stream(tmp))
            fsync_path(tmp)
            self.fs.move(tmp, path)
        else:
            written = write(self.fs.open_output_stream(path))
        size = self.fs.get_file_info(path).size
        return {
            "path": rel,
            "rows": written.rows,
            "lo": written.lo,
            "hi": written.hi,
            "size": int(size or 0),
        }

    def _record(
        self,
        batch: str,
        encoded: str,
        kind: str | None,
        outputs: list[dict[str, Any]],
        replaces: list[str],
        tombstones: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "format": "hfdata-commit",
            "version": 1,
            "batch": batch,
            "owner": self.owner,
            "variable": encoded,
            "kind": kind,
            "outputs": outputs,
            "replaces": replaces,
        }
        if tombstones:
            record["tombstones"] = tombstones
        return record

    def put_commit(self, record: dict[str, Any]) -> None:
        """Write a batch's commit record (one PUT: the batch becomes visible). Idempotent."""
        directory = self._commit_dir(record["variable"])
        path = f"{directory}/{record['batch']}.json"
        data = orjson.dumps(record)
        if self.local:
            self.fs.create_dir(directory, recursive=True)
            tmp = _temporary(path)
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            fsync_path(tmp)
            self.fs.move(tmp, path)
            fsync_path(directory)
        else:
            with self.fs.open_output_stream(path) as out:
                out.write(data)

    def delete(self, rels: list[str]) -> None:
        """Delete data objects (missing ones are fine: deletion is idempotent)."""
        for rel in rels:
            try:
                self.fs.delete_file(self.full(rel))
            except FileNotFoundError:
                continue

    def drop(self, encoded: str) -> list[Path]:
        """Remove a variable: commits first (readers stop seeing it), then its data (in
        its kind's folder, or where format 1 put it)."""
        data = [variable_rel(kind, encoded) for kind in KINDS] + [variable_folder(encoded)]
        data.append(tombstone_folder(encoded))
        for directory in (self._commit_dir(encoded), *map(self.full, data)):
            try:
                self.fs.delete_dir(directory)
            except FileNotFoundError:
                continue
        with self._lock:
            self._commits.pop(encoded, None)
        return []

    # -- reading -----------------------------------------------------------------------------
    def _list(self, directory: str) -> list[pafs.FileInfo]:
        try:
            return list(self.fs.get_file_info(pafs.FileSelector(directory, allow_not_found=True)))
        except FileNotFoundError:
            return []

    def variables(self) -> list[str]:
        """Encoded names of the variables with at least one commit."""
        return sorted(
            info.base_name
            for info in self._list(self.full(COMMIT_DIR))
            if info.type == pafs.FileType.Directory and not info.base_name.startswith(".")
        )

    def _load_commits(self, encoded: str) -> list[tuple[str, _Commit]]:
        """Every commit of a variable with its record's name (one LIST; records not seen
        before are fetched). A listed record gone when fetched (folded or dropped
        meanwhile) means another LIST: a fold writes its own record before deleting."""
        directory = self._commit_dir(encoded)
        with self._lock:
            known = dict(self._commits.get(encoded, {}))
        for attempt in range(_RELIST):
            names = sorted(
                info.base_name
                for info in self._list(directory)
                if info.type == pafs.FileType.File
                and info.base_name.endswith(".json")
                and not info.base_name.startswith(".")
            )
            fresh: dict[str, _Commit] = {}
            vanished = False
            for name in names:
                commit = known.get(name)
                if commit is None:
                    try:
                        with self.fs.open_input_stream(f"{directory}/{name}") as src:
                            raw = orjson.loads(src.read())
                    except FileNotFoundError:
                        vanished = True
                        continue
                    commit = _Commit(
                        batch=raw["batch"],
                        owner=raw["owner"],
                        kind=raw.get("kind"),
                        outputs=tuple(raw["outputs"]),
                        replaces=tuple(raw["replaces"]),
                        tombstones=tuple(raw.get("tombstones", ())),
                    )
                    known[name] = commit
                fresh[name] = commit
            if not vanished or attempt == _RELIST - 1:
                break
        with self._lock:
            self._commits[encoded] = fresh
        return [(n, fresh[n]) for n in names if n in fresh]

    def fold(self, encoded: str, at: int | None = None) -> bool:
        """Fold this store's commit records of a variable into one once it has `at`
        (default `FOLD_AT`) or more; True if it did. Call under the store's compaction
        lock: nothing else writes this store's records then."""

        own = [(n, c) for n, c in self._load_commits(encoded) if c.owner == self.owner]
        if len(own) < (FOLD_AT if at is None else at):
            return False
        replaced = {rel for _, c in own for rel in c.replaces}
        live = {o["path"]: o for _, c in own for o in c.outputs if o["path"] not in replaced}
        marks = {o["path"]: o for _, c in own for o in c.tombstones if o["path"] not in replaced}
        kind = next((c.kind for _, c in own if c.kind is not None), None)
        record = self._record(
            new_batch_id(), encoded, kind, list(live.values()), [], list(marks.values())
        )
        record["folds"] = [n for n, _ in own]
        self.put_commit(record)
        # Oldest first (names sort by batch time): a record that replaced a file goes only
        # after the record that named it, so a fold cut short never leaves a deleted file
        # named without the record that replaced it.
        for name, _ in own:
            try:
                self.fs.delete_file(f"{self._commit_dir(encoded)}/{name}")
            except FileNotFoundError:
                continue
        return True

    def live(self, encoded: str) -> tuple[str | None, list[PartFile], dict[str, str]]:
        """`(kind, live files sorted by partition and name, owner of each live file)`.

        Live = every file a commit names, minus every file a commit replaces.
        """
        commits = [c for _, c in self._load_commits(encoded)]
        replaced = {rel for c in commits for rel in c.replaces}
        kind = next((c.kind for c in commits if c.kind is not None), None)
        files: list[PartFile] = []
        owners: dict[str, str] = {}
        for c in commits:
            for out in c.outputs:
                rel = out["path"]
                if rel in replaced or rel in owners:  # a fold's record repeats its files
                    continue
                key = partition_of_rel(rel)
                files.append(
                    PartFile(
                        self,
                        rel,
                        self.full(rel),
                        key,
                        size=int(out["size"]),
                        rows=int(out["rows"]),
                        lo=int(out["lo"]),
                        hi=int(out["hi"]),
                        own=c.owner == self.owner,
                    )
                )
                owners[rel] = c.owner
        files.sort(key=lambda f: (f.key, f.name))
        return kind, files, owners

    # -- PartsRoot: listing --------------------------------------------------------------------
    def listing(
        self,
        encoded: str,
        *,
        keys: Iterable[str] | None = None,
        first: str = "",
        last: str = "\uffff",
    ) -> Listing:
        """The live files with what their commits say; `own`: committed by this store."""
        kind, files, _ = self.live(encoded)
        wanted = None if keys is None else set(keys)
        parts = [
            f for f in files if (f.key in wanted if wanted is not None else first <= f.key <= last)
        ]
        return Listing(cast("Kind | None", kind), parts)

    def holds(self, encoded: str) -> bool:
        return encoded in self.variables()

    def tombstones(self, encoded: str) -> list[PartFile]:
        """The tombstone files the variable's commits name, minus those a commit replaced."""
        commits = [c for _, c in self._load_commits(encoded)]
        replaced = {rel for c in commits for rel in c.replaces}
        found: dict[str, PartFile] = {}
        for c in commits:
            for out in c.tombstones:
                rel = out["path"]
                if rel not in replaced and rel not in found:  # a fold's record repeats them
                    found[rel] = PartFile(
                        self,
                        rel,
                        self.full(rel),
                        "",
                        size=int(out["size"]),
                        rows=int(out["rows"]),
                        own=c.owner == self.owner,
                    )
        return [found[rel] for rel in sorted(found, key=lambda r: r.rsplit("/", 1)[-1])]

    def describe(self, file: PartFile) -> str:
        return file.path

    # -- PartsRoot: reading one file -----------------------------------------------------------
    def identity(self, file: PartFile) -> tuple[int, int, int]:
        return 0, file.size or 0, 0  # objects are immutable: the name and size say it all

    def read_footer(self, file: PartFile) -> pq.FileMetaData:
        with self.fs.open_input_file(file.path) as src:
            return pq.read_metadata(src)

    def open(self, file: PartFile) -> pa.NativeFile:
        return self.fs.open_input_file(file.path)

    def fetch(self, file: PartFile) -> pa.Buffer:
        """One GET (no HEAD when the commit gave the size; reading exactly that many bytes
        at once is much faster than `read()` in chunks: benchmarks/PROFILES.md)."""
        with self.fs.open_input_stream(file.path) as src:
            return src.read_buffer(file.size) if file.size is not None else src.read_buffer()

    @contextlib.contextmanager
    def reading(self, file: PartFile) -> Iterator[None]:
        """A data object deleted meanwhile (an optimize replaced it) is a
        `FileNotFoundError`: some stores report it as a generic I/O error."""
        try:
            yield
        except FileNotFoundError:
            raise
        except OSError as exc:
            if self.fs.get_file_info(file.path).type == pafs.FileType.NotFound:
                raise FileNotFoundError(file.path) from exc
            raise

    def parquet_file(self, file: PartFile) -> pq.ParquetFile:
        with self.reading(file):
            data = self.fetch(file)
        return pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)

    # -- PartsRoot: the batch protocol ---------------------------------------------------------
    def stage(self, encoded: str, kind: Kind, key: str, batch: str) -> Staged:
        rel = self.part_rel(encoded, kind, key, batch)
        return rel, rel  # uploaded under its final, unique name; the commit publishes it

    def stage_tombstones(self, encoded: str, batch: str) -> Staged:
        rel = tombstone_rel(encoded, batch)
        return rel, rel

    def journal_name(self, file: PartFile) -> str:
        return file.rel

    def write(self, staged: Staged, pieces: Pieces, *, spool: Path) -> PartFile:
        """Upload one output. A stream of pieces (`optimize`'s merge) is written to the
        local `spool` first and uploaded whole, so the object never shows part of its rows:
        a failure while merging would otherwise complete a partial upload (Arrow's output
        streams complete on close; they cannot abort)."""
        rel = staged[1]
        if isinstance(pieces, pa.Table):
            entry = self.write_part(pieces, rel)
        else:
            try:  # a crash leaves it to recovery, which removes dot-files in the journal dir
                written = write_parquet(pieces, spool, fsync=False)
                entry = self.upload_file(spool, rel, written)
            finally:
                spool.unlink(missing_ok=True)
        key = "" if is_tombstone_rel(rel) else partition_of_rel(rel)
        return PartFile(
            self, rel, self.full(rel), key, entry["size"], entry["rows"], entry["lo"], entry["hi"]
        )

    def commit_record(
        self,
        batch: str,
        encoded: str,
        kind: Kind | None,
        written: list[PartFile],
        replaces: list[str],
    ) -> dict[str, Any] | None:
        if not written and not replaces:
            return None  # a batch of bad lines only: nothing to publish but its segments
        entries = [
            {"path": f.rel, "rows": f.rows, "lo": f.lo, "hi": f.hi, "size": f.size} for f in written
        ]
        data = [e for e in entries if not is_tombstone_rel(str(e["path"]))]
        marks = [e for e in entries if is_tombstone_rel(str(e["path"]))]
        return self._record(batch, encoded, kind, data, replaces, marks)

    def seal(self, outputs: list[Staged]) -> None:
        return None  # an upload is durable once it completes

    def reveal(self, outputs: list[Staged], commit: dict[str, Any] | None) -> None:
        if commit is not None:
            self.put_commit(commit)  # the batch is visible from here on

    def discard(self, outputs: list[Staged]) -> None:
        self.delete([final for _, final in outputs])
        if self.local:  # an upload cut short between its temporary and its rename
            for _, final in outputs:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.delete_file(_temporary(self.full(final)))

    def housekeep(self, encoded: str) -> None:
        self.fold(encoded)

    # -- PartsRoot: derived files ----------------------------------------------------------
    def put_sidecar(self, rel: str, data: bytes) -> None:
        """One PUT; on a local filesystem a uniquely named hidden temporary, renamed
        (several stores may share the root and derive the same file's). The temporary's
        name carries this store's owner, so `sweep_sidecars` can remove what a killed
        write of this store left without touching another store's writes. Nothing is
        fsynced: a sidecar a power cut loses or tears is only missing (docs/contracts.md,
        "Derived files"; `LocalRoot.put_sidecars`)."""
        path = self.full(rel)
        if self.local:
            parent = path.rsplit("/", 1)[0]
            self.fs.create_dir(parent, recursive=True)
            unique = f"{self._sidecar_mark()}{secrets.token_hex(4)}"
            tmp = f"{_temporary(path).removesuffix('.tmp')}.{unique}.tmp"
            try:
                with self.fs.open_output_stream(tmp) as out:
                    out.write(data)
                self.fs.move(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.delete_file(tmp)
                raise
        else:
            with self.fs.open_output_stream(path) as out:
                out.write(data)

    def _sidecar_mark(self) -> str:
        """The part of a sidecar temporary's name that says which store wrote it."""
        return f"{self.owner}~"

    def sweep_sidecars(self) -> None:
        """On a local filesystem, remove the hidden temporaries this store's sidecar writes
        left when a kill cut them short (call under the compaction lock: only its holder
        writes this store's sidecars). Other stores' temporaries are theirs to sweep. An
        object store's PUT leaves nothing."""
        if not self.local:
            return
        mark = f".{self._sidecar_mark()}"
        for top in (STATS_DIR, ROLLUPS_DIR):
            for info in self._list_all(self.full(top)):
                name = info.base_name
                if info.type == pafs.FileType.File and name.startswith(".") and mark in name:
                    with contextlib.suppress(FileNotFoundError):
                        self.fs.delete_file(info.path)

    def get_sidecar(self, rel: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(self.full(rel)) as src:
                return bytes(src.read())
        except FileNotFoundError:
            return None

    def sidecars(self, prefix: str) -> list[str]:
        return sorted(self.sidecar_sizes(prefix))

    def sidecar_sizes(self, prefix: str) -> dict[str, int]:
        top = self.full(prefix.rstrip("/"))
        cut = len(self.base) + 1
        return {
            info.path[cut:]: info.size or 0
            for info in self._list_all(top)
            if info.type == pafs.FileType.File and not info.base_name.startswith(".")
        }

    def delete_sidecars(self, rels: Iterable[str]) -> None:
        self.delete(list(rels))

    # -- PartsRoot: upgrading format 1's tree --------------------------------------------------
    def _own_legacy(self, encoded: str) -> list[dict[str, Any]]:
        """The commit entries of this store's live files where format 1 put them."""
        own = [c for _, c in self._load_commits(encoded) if c.owner == self.owner]
        replaced = {rel for c in own for rel in c.replaces}
        entries: dict[str, dict[str, Any]] = {}
        for c in own:
            for out in c.outputs:
                rel = out["path"]
                if rel not in replaced and _is_legacy(rel):
                    entries.setdefault(rel, out)
        return list(entries.values())

    def legacy(self) -> dict[str, list[PartFile]]:
        found: dict[str, list[PartFile]] = {}
        for encoded in self.variables():
            entries = self._own_legacy(encoded)
            if entries:
                found[encoded] = [
                    PartFile(
                        self,
                        out["path"],
                        self.full(out["path"]),
                        partition_of_rel(out["path"]),
                        size=int(out["size"]),
                        rows=int(out["rows"]),
                        lo=int(out["lo"]),
                        hi=int(out["hi"]),
                    )
                    for out in entries
                ]
        return found

    def relocate(self, encoded: str, kind: Kind) -> None:
        """Copy this store's format-1 files of the variable to its kind's folder, publish
        the copies with one commit record that replaces the originals (readers switch at
        once), then delete the originals. Called again, it copies what no commit names
        yet and deletes what a commit replaced. Another store's files stay where they
        are (it upgrades its own; readers find them through its commits)."""
        mark = f"_upgrade_{self.owner}"  # names this store's relocation commits
        if self.local:  # a commit written to its temporary by a killed run, never renamed
            for info in self._list(self._commit_dir(encoded)):
                if info.base_name.startswith(".") and info.base_name.endswith(f"{mark}.json.tmp"):
                    self.fs.delete_file(info.path)
        entries = self._own_legacy(encoded)
        if entries:
            moved = []
            for out in entries:
                rel = out["path"]
                target = part_rel(kind, encoded, partition_of_rel(rel), rel.rsplit("/", 1)[1])
                self._copy(rel, target)
                moved.append({**out, "path": target})
            record = self._record(
                f"{new_batch_id()}{mark}", encoded, kind, moved, [out["path"] for out in entries]
            )
            self.put_commit(record)
        own = [c for _, c in self._load_commits(encoded) if c.owner == self.owner]
        self.delete(sorted({rel for c in own for rel in c.replaces if _is_legacy(rel)}))
        if self.local:  # a filesystem keeps the emptied folders; an object store has none
            self._remove_emptied(self.full(variable_folder(encoded)))

    def _remove_emptied(self, folder: str) -> None:
        """Remove a format-1 variable folder that holds no file (another store's files
        keep it until that store upgrades). An empty folder is removed too: the removal
        is recursive, its date= folders first, so a kill between them and the folder
        itself leaves it empty, and the next run (its plan still names the variable)
        must finish it."""
        if self.fs.get_file_info(folder).type != pafs.FileType.Directory:
            return
        if not any(info.type == pafs.FileType.File for info in self._list_all(folder)):
            self.fs.delete_dir(folder)

    def _list_all(self, directory: str) -> list[pafs.FileInfo]:
        try:
            selector = pafs.FileSelector(directory, allow_not_found=True, recursive=True)
            return list(self.fs.get_file_info(selector))
        except FileNotFoundError:
            return []

    def _copy(self, source: str, target: str) -> None:
        """Copy one object (server-side where the store can); on a local filesystem
        through a hidden temporary, fsynced, renamed into place. The temporary's name is
        fixed (the file's batch is this store's, the upgrade holds the compaction lock), so
        the copy a killed upgrade left half done is overwritten by the next run's."""
        src, path = self.full(source), self.full(target)
        parent = path.rsplit("/", 1)[0]
        if self.local:
            self.fs.create_dir(parent, recursive=True)
            tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.upgrade.tmp"
            self.fs.copy_file(src, tmp)
            fsync_path(tmp)
            self.fs.move(tmp, path)
            fsync_path(parent)
        else:
            self.fs.copy_file(src, path)


def _temporary(path: str) -> str:
    """The hidden temporary a local filesystem writes `path` through before renaming it.
    One fixed name per object: objects and batch ids are unique to this store, and a
    retry (a batch rolled forward) overwrites what a killed attempt left, a roll back
    deletes it (`discard`)."""
    parent, name = path.rsplit("/", 1)
    return f"{parent}/.{name}.tmp"


def _is_legacy(rel: str) -> bool:
    """Whether a file's name is where format 1 put it (`variable=...` at the top)."""
    return rel.startswith("variable=")
