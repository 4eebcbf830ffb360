"""`upgrade`: a store of format 1 or 2 brought to format 3, crash-safe, nothing lost or
doubled.

Format 2 (issue 16) puts each variable's Parquet folder in its kind's folder,
`kind=<kind>/variable=<var>/...`, every file of a kind with that kind's schema, so an
outside engine reads "all float variables" as one table (docs/contracts.md, "Format
versions"). The upgrade, under the compaction lock, after rolling leftover journals
forward or back:

1. writes its plan, `_journal/upgrade.plan` (every format-1 variable and its kind), durably;
   a later run finds it and follows the same plan;
2. per variable, fixes its kind in `_schema.json` if it had none (format 1 stored a variable
   of only missing values as float), then has the store's `PartsRoot` relocate its files
   under the publish lock: one rename of its folder on a local root; on an object store,
   copies published by one commit record that replaces the originals, which are deleted
   after. Readers see the variable in the old place or the new, never both or neither;
3. (format 3, issue 20; a store of format 2 starts here) rewrites, through the ordinary
   batch protocol (`hfdata.compact.batch`), every one of this store's files whose schema
   is not exactly its kind's: one batch per partition, its files merged in batch order
   (stably) into one that replaces them, each row given `arrived` = the time in its
   file's batch name (the file's creation: the point was known by then at the latest;
   a file whose name holds none, the upgrade's start). This also conforms format 1's
   all-null float64 files written before a variable's kind was known. Log segments are
   untouched: lines written before format 3 get their arrival by the log's legacy rule;
4. removes the plan, then records format version 3 in `hfdata.json` (atomically).

Killed anywhere, the store still reads as its old format (refused until upgraded), and
the next run finishes every step: each is idempotent (a rewritten partition's file has
its kind's schema and is left alone), and the batches of step 3 are rolled forward or
back as any compaction's are. The rewritten files have new names, so their stats and
rollups are built below and the old files' deleted as orphans.

Then, in a store of any version, every live file's missing stats and rollup sidecars
are built and orphaned ones deleted (issue 19, `hfdata.compact.derive.derive_all`): a
store written before issue 19 gets them here, and a run cut short resumes where it
stopped (each sidecar is written atomically; what exists is skipped).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import orjson

from hfdata.compact.batch import failing_as, run_batch
from hfdata.compact.derive import derive_all
from hfdata.compact.journal import Journal
from hfdata.compact.progress import progress_bar
from hfdata.compact.recovery import compact_lock
from hfdata.durable import atomic_write, fsync_dir, make_dirs
from hfdata.errors import CorruptFile
from hfdata.kinds import KINDS, Kind
from hfdata.layout import (
    SCHEMA_FILE,
    batch_time_ns,
    decode_name,
    encoded_log_dir,
    journal_dir,
    new_batch_id,
)
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.log.schema import load_schema, store_schema
from hfdata.parquet.files import has_kind_schema
from hfdata.parquet.merge import merge_sorted_files
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.settings import (
    FORMAT_VERSION,
    SETTINGS_FILE,
    StoreSettings,
    load_or_create,
    record_format_version,
    recorded_format_version,
)

__all__ = ["PLAN_FILE", "UpgradeReport", "upgrade"]

PLAN_FILE: Final = "upgrade.plan"  # in _journal/; not a batch journal (those are *.json)
_UPGRADED: Final = "_v3"  # suffix of a file rewritten with `arrived` (after its first's batch)


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    """What `upgrade` did: the format versions before and after, the variables and files
    moved into their kind's folders, the files rewritten to their kind's schema, the
    stats and rollup sidecars written and the orphaned ones deleted."""

    from_version: int
    to_version: int
    variables: int = 0
    files: int = 0
    rewritten: int = 0
    seconds: float = 0.0
    sidecars: int = 0
    orphans: int = 0


def upgrade(
    root: Path,
    parts: PartsRoot,
    *,
    progress: bool | None = None,
    settings: StoreSettings | None = None,
) -> UpgradeReport:
    """Bring the store at `root` to `FORMAT_VERSION` (nothing to do if it is there), then
    build the stats and rollups its live files lack (`settings`: the store's, read from
    `hfdata.json` when not given)."""
    started = time.monotonic()
    if settings is None:
        settings = load_or_create(root, {})
    with compact_lock(root, True, parts):  # leftover journals are recovered first
        before = recorded_format_version(root)
        variables = files = rewritten = 0
        if before < FORMAT_VERSION:
            variables, files, rewritten = _to_current(root, parts, progress, before)
        # Issue 19's derived files, outside the format: a store of any version may lack
        # them (written before, or a crash between a publish and its sidecars). Each is
        # written atomically, so a run cut short leaves whole ones, and the next finishes.
        with failing_as(f"building the stats and rollups of {root}"):
            bar = progress_bar(progress, len(parts.variables()), "deriving", "variable")
            try:
                derived = derive_all(root, parts, settings, progress=bar)
            finally:
                if bar is not None:
                    bar.close()
    return UpgradeReport(
        before,
        FORMAT_VERSION,
        variables,
        files,
        rewritten,
        time.monotonic() - started,
        sidecars=derived.written,
        orphans=derived.deleted,
    )


def _to_current(
    root: Path, parts: PartsRoot, progress: bool | None, before: int
) -> tuple[int, int, int]:
    """Steps 1-4 (the module docstring); returns (variables, files moved, rewritten)."""
    started = time.time_ns()
    plan: list[tuple[str, Kind]] = []
    files = 0
    with failing_as(f"upgrading {root}"):
        if before < 2:
            plan, files = _load_or_write_plan(root, parts)
        _sweep_temporaries(root, plan)
    bar = progress_bar(progress, len(plan), "upgrading", "variable")
    try:
        for encoded, kind in plan:
            with failing_as(f"upgrading {decode_name(encoded)!r}"):
                log = encoded_log_dir(root, encoded)
                if log.is_dir() and load_schema(log) is None:
                    store_schema(log, kind)
                with flock(root / PUBLISH_LOCK):
                    parts.relocate(encoded, kind)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    rewritten = 0
    with failing_as(f"upgrading {root}"):
        names = parts.variables()
    bar = progress_bar(progress, len(names), "adding arrival times", "variable")
    try:
        for encoded in names:
            with failing_as(f"upgrading {decode_name(encoded)!r}"):
                known = parts.listing(encoded).kind or load_schema(encoded_log_dir(root, encoded))
                if known is not None:
                    rewritten += _conform(root, parts, encoded, known, started)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    # The plan goes first: once the version is recorded no run looks at it again, so a
    # kill between the two steps the other way round would leave it forever. Killed
    # here, the next run finds no format-1 files, writes an empty plan, and records.
    with failing_as(f"upgrading {root}"):
        (journal_dir(root) / PLAN_FILE).unlink(missing_ok=True)
        fsync_dir(journal_dir(root))
        record_format_version(root, FORMAT_VERSION)
    return len(plan), files, rewritten


def _load_or_write_plan(root: Path, parts: PartsRoot) -> tuple[list[tuple[str, Kind]], int]:
    """The plan an earlier run wrote, or a new one written durably before any move."""
    path = journal_dir(root) / PLAN_FILE
    if path.exists():
        raw = orjson.loads(path.read_bytes())
        return [(str(e), k) for e, k in raw["variables"]], int(raw["files"])
    legacy = parts.legacy()
    plan = [(encoded, _kind_of(root, parts, encoded, files)) for encoded, files in legacy.items()]
    files = sum(len(f) for f in legacy.values())
    make_dirs(journal_dir(root))
    body = {"format": "hfdata-upgrade", "to": FORMAT_VERSION, "variables": plan, "files": files}
    atomic_write(path, orjson.dumps(body))
    return plan, files


def _sweep_temporaries(root: Path, plan: list[tuple[str, Kind]]) -> None:
    """Remove what an earlier run killed mid-write left: the hidden temporaries of the
    version record (`hfdata.json`) and of the `_schema.json`s step 2 writes. Nothing else
    writes them now: the upgrade holds the compaction lock, and no writer opens a store
    of the old format."""
    strays = list(root.glob(f".{SETTINGS_FILE}.*.tmp"))
    for encoded, _ in plan:
        strays += encoded_log_dir(root, encoded).glob(f".{SCHEMA_FILE}.*.tmp")
    for stray in strays:
        stray.unlink(missing_ok=True)


_KIND_OF_TYPE: Final = {"double": "float", "int64": "int", "bool": "bool", "string": "string"}


def _kind_of(root: Path, parts: PartsRoot, encoded: str, files: list[PartFile]) -> Kind:
    """The variable's kind: its `_schema.json`'s; without one, its files' value type
    (all-null float64 files, a variable of only missing values, are float)."""
    kind = load_schema(encoded_log_dir(root, encoded))
    if kind is not None:
        return kind
    for file in files:
        value = parts.read_footer(file).schema.to_arrow_schema().field("value").type
        found = _KIND_OF_TYPE.get(str(value).replace("large_", ""))
        if found in KINDS:
            return found
        raise CorruptFile(
            f"{parts.describe(file)} holds values of type {value}, which is no hfdata kind, "
            f"and variable {decode_name(encoded)!r} has no _schema.json to say its kind; write "
            '{"kind": "<kind>", "format_version": 1} to its log folder\'s _schema.json and '
            "run the upgrade again"
        )
    return "float"


def _conform(root: Path, parts: PartsRoot, encoded: str, kind: Kind, started: int) -> int:
    """Rewrite this store's files of the variable whose schema is not exactly its kind's
    (step 3): per partition one batch, its files merged in name (batch) order into one
    that replaces them, each row's `arrived` its file's batch time (`started` where the
    name has none). Returns how many files were rewritten.

    The merged file is named after the first file it replaces,
    `part-<its batch>_v3.parquet`, so files keep their place in name order, which is the
    read order of equal timestamps across files. In a root shared with other stores a
    partition's files are cut into runs that no other store's file interleaves (one
    batch each), for the same reason."""
    runs: list[list[PartFile]] = []
    previous: PartFile | None = None
    for file in parts.listing(encoded).files:
        schema = parts.read_footer(file).schema.to_arrow_schema()
        if file.own and not has_kind_schema(schema, kind):
            if not runs or runs[-1][-1] is not previous or file.key != runs[-1][-1].key:
                runs.append([])
            runs[-1].append(file)
        previous = file
    for run in runs:
        arrivals = [batch_time_ns(file.name) or started for file in run]
        journal = Journal(new_batch_id())
        first = run[0].name.removeprefix("part-").removesuffix(".parquet")
        staged = parts.stage(encoded, kind, run[0].key, f"{first}{_UPGRADED}")
        journal.outputs.append(staged)
        journal.replaces.extend(parts.journal_name(file) for file in run)
        merged = merge_sorted_files(run, None, kind=kind, arrivals=arrivals)
        run_batch(root, journal, [(staged, merged)], parts, encoded, kind)
    return sum(len(run) for run in runs)
