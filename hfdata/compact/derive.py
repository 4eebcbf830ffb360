"""Derived files (issue 19): the stats and rollup sidecars of published Parquet files.

After a variable's batches publish, `derive_missing` (compaction, optimize) lists what
sidecars the variable has, then its live files; it writes each live file's missing
sidecars (`derive`: the published file re-read, its `FileStats` and a rollup per
resolution in the store's settings, each written atomically by the `PartsRoot`) and
deletes the sidecars whose data file is no longer live (orphans: a file optimize
replaced, a dropped variable's). `derive_all` does it for the whole root (`upgrade`,
which also sweeps the orphans of variables with no Parquet left), and `forget` removes a
dropped variable's.

Memory is bounded as optimize's is: a file is read whole up to `WHOLE_ROWS` rows
(file_stats needs every row at once, about 60 bytes a row at its peak); a larger one (a
month partition of a fast sensor) gets its rollups window by window and no stats
sidecar, so readers compute its stats from its points.

Nothing here changes the commit protocol: a sidecar counts only while its data file is
live, and a live file without one is computed from its points by readers
(docs/contracts.md, "Derived files"). So every step may be killed anywhere: a sidecar is
whole or absent, and the next run writes what is missing. Sidecars are listed before
the data files, so a sidecar another store sharing the root writes meanwhile (after
publishing its file) is never taken for an orphan. Callers hold the compaction lock.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.errors import HfdataError
from hfdata.kinds import KINDS, Kind
from hfdata.layout import decode_name, kind_of_folder, variable_of_folder
from hfdata.parquet.reader import read_groups, read_whole
from hfdata.parquet.rollups import ROLLUP_KINDS, build
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.sidecars import (
    ROLLUPS_DIR,
    STATS_DIR,
    data_rel,
    encode_rollup,
    rollup_rel,
    rollups_prefix,
    stats_prefix,
    stats_rel,
)
from hfdata.parquet.stats import file_stats
from hfdata.settings import StoreSettings

__all__ = [
    "WHOLE_ROWS",
    "WINDOW_ROWS",
    "Derived",
    "derive",
    "derive_after_publish",
    "derive_all",
    "derive_missing",
    "forget",
    "wanted",
]

WHOLE_ROWS: Final = 4_000_000  # a file up to this many rows is derived at once (~250 MB)
WINDOW_ROWS: Final = 2_000_000  # rows a larger file's rollups are built from at a time
_COLUMNS: Final = ("timestamp", "value")


@dataclass(frozen=True, slots=True)
class Derived:
    """What a derive run did: sidecars written, orphans deleted, files it could not
    derive (a warning said why; the next run tries again)."""

    written: int = 0
    deleted: int = 0
    failed: int = 0

    def __add__(self, other: Derived) -> Derived:
        return Derived(
            self.written + other.written, self.deleted + other.deleted, self.failed + other.failed
        )


def wanted(settings: StoreSettings, file: PartFile, kind: Kind) -> list[str]:
    """The sidecars a live file of `kind` has when complete: its stats, and a rollup per
    resolution for a numeric kind. None for a file where format 1 put it (another
    store's, in a shared root): readers compute those."""
    if kind_of_folder(file.rel.split("/", 1)[0]) != kind:
        return []
    found = [stats_rel(file)]
    if kind in ROLLUP_KINDS:
        found.extend(rollup_rel(file, rule) for rule in settings.rollups)
    return found


def derive(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    files: Sequence[PartFile],
    kind: Kind,
    *,
    present: frozenset[str] | set[str] = frozenset(),
) -> Derived:
    """Write the sidecars of published `files` of one variable (of `kind`) that are not in
    `present`. Each file is read back whole (what readers will read), so a sidecar
    describes the published bytes. A file that fails (an I/O error, a damaged file) is
    a warning: its data is published, and the next run derives it."""
    written = failed = 0
    for file in files:
        todo = [rel for rel in wanted(settings, file, kind) if rel not in present]
        if not todo:
            continue
        try:
            written += _derive_one(parts, settings, file, kind, set(todo))
        except FileNotFoundError:
            continue  # replaced meanwhile (another store's optimize): nothing to describe
        except (OSError, HfdataError, ValueError) as exc:
            failed += 1
            warnings.warn(
                f"could not write the stats and rollups of {parts.describe(file)} ({exc}); "
                "readers compute them from its points, and the next compaction tries again",
                RuntimeWarning,
                stacklevel=2,
            )
    return Derived(written=written, failed=failed)


def _derive_one(
    parts: PartsRoot, settings: StoreSettings, file: PartFile, kind: Kind, todo: set[str]
) -> int:
    with parts.reading(file):
        md = parts.read_footer(file)
        if md.num_rows == 0:
            return 0
        if md.num_rows > WHOLE_ROWS:
            return _derive_windowed(parts, settings, file, kind, todo, md)
        table = read_whole(parts.fetch(file), _COLUMNS)
    ns, values = _points(table)
    written = 0
    for rule, resolution in settings.resolutions():
        rel = rollup_rel(file, rule)
        if rel in todo:
            parts.put_sidecar(rel, encode_rollup(build(ns, values, kind, resolution)))
            written += 1
    rel = stats_rel(file)
    if rel in todo:  # last: a file with stats has its rollups too, unless a kill cut in
        stats = file_stats(ns, values, kind, settings.gap_threshold_ns)
        parts.put_sidecar(rel, stats.to_json())
        written += 1
    return written


def _points(table: pa.Table) -> tuple[npt.NDArray[np.int64], pa.Array]:
    ts = table.column("timestamp").combine_chunks().view(pa.int64())
    return np.asarray(ts.to_numpy(), dtype=np.int64), table.column("value").combine_chunks()


def _derive_windowed(
    parts: PartsRoot,
    settings: StoreSettings,
    file: PartFile,
    kind: Kind,
    todo: set[str],
    md: pq.FileMetaData,
) -> int:
    """A file over `WHOLE_ROWS`: its rollups built window by window, each window cut at a
    multiple of every resolution so no bin straddles two (the concatenation is exactly
    the whole file's rollup), in memory bounded by `WINDOW_ROWS`. Its stats are not
    written (they need every row at once): readers compute them from its points."""
    rules = [(r, n) for r, n in settings.resolutions() if rollup_rel(file, r) in todo]
    if not rules:
        return 0
    cut_every = math.lcm(*(n for _, n in rules))
    pieces: dict[str, list[pa.Table]] = {rule: [] for rule, _ in rules}
    carry: pa.Table | None = None
    groups = list(range(md.num_row_groups))
    step = max(1, WINDOW_ROWS // max(1, md.row_group(0).num_rows))
    for first in range(0, len(groups), step):
        with parts.reading(file):
            table = read_groups(file, md, groups[first : first + step], _COLUMNS)
        if carry is not None:
            table = pa.concat_tables([carry, table])
        last = first + step >= len(groups)
        ns, values = _points(table)
        cut = len(ns) if last else int(np.searchsorted(ns, ns[-1] - ns[-1] % cut_every))
        for rule, resolution in rules:
            if cut:
                pieces[rule].append(build(ns[:cut], values[:cut], kind, resolution))
        carry = table.slice(cut) if cut < len(ns) else None
    for rule, _ in rules:
        parts.put_sidecar(rollup_rel(file, rule), encode_rollup(pa.concat_tables(pieces[rule])))
    return len(rules)


def _variable_sidecars(
    parts: PartsRoot, settings: StoreSettings, kinds: Iterable[str], encoded: str
) -> list[str]:
    found: list[str] = []
    for kind in kinds:
        found += parts.sidecars(stats_prefix(kind, encoded))
        for rule in settings.rollups:
            found += parts.sidecars(rollups_prefix(rule, kind, encoded))
    return found


def derive_missing(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    encoded: str,
    *,
    every_kind: bool = False,
) -> Derived:
    """Build the sidecars a variable's live files lack and delete its orphans. Looks in
    its kind's folders only, or in every kind's with `every_kind` (a variable whose
    Parquet was dropped, or moved to another kind's folder)."""
    kinds: tuple[str, ...] = KINDS
    if not every_kind:
        kind = parts.listing(encoded, keys=()).kind  # one lookup: the folder or records
        kinds = (kind,) if kind is not None else ()
    have = _variable_sidecars(parts, settings, kinds, encoded)  # before the data: see above
    listing = parts.listing(encoded)
    live = {f.rel for f in listing.files}
    orphans = [rel for rel in have if data_rel(rel) not in live]
    done = Derived()
    if listing.kind is not None:
        done = derive(root, parts, settings, listing.files, listing.kind, present=set(have))
    if orphans:
        parts.delete_sidecars(orphans)
    return done + Derived(deleted=len(orphans))


def derive_after_publish(
    root: Path, parts: PartsRoot, settings: StoreSettings, encoded: str
) -> Derived:
    """`derive_missing` for a job whose batches are published already (compaction,
    optimize): an I/O error (listing or deleting sidecars) is a warning, since the data
    is in place and the next run derives again."""
    try:
        return derive_missing(root, parts, settings, encoded)
    except OSError as exc:
        warnings.warn(
            f"could not update the stats and rollups of {decode_name(encoded)!r} ({exc}); "
            "readers compute what is missing from the points, and the next compaction "
            "tries again",
            RuntimeWarning,
            stacklevel=2,
        )
        return Derived(failed=1)


def derive_all(
    root: Path, parts: PartsRoot, settings: StoreSettings, *, progress: Any = None
) -> Derived:
    """Every variable's missing sidecars built and orphans deleted, including those of
    variables that have sidecars but no Parquet any more (a drop cut short)."""
    parts.sweep_sidecars()
    names = set(parts.variables()) | _sidecar_variables(parts, settings)
    done = Derived()
    for encoded in sorted(names):
        done += derive_missing(root, parts, settings, encoded, every_kind=True)
        if progress is not None:
            progress.update(1)
    return done


def _sidecar_variables(parts: PartsRoot, settings: StoreSettings) -> set[str]:
    """Encoded names of the variables with sidecars under any kind's folder."""
    names: set[str] = set()
    prefixes = [STATS_DIR, *(f"{ROLLUPS_DIR}/res={rule}" for rule in settings.rollups)]
    for prefix in prefixes:
        for rel in parts.sidecars(prefix):
            parts_of = rel.split("/")
            depth = 1 if prefix == STATS_DIR else 2
            if len(parts_of) > depth + 1:
                encoded = variable_of_folder(parts_of[depth + 1])
                if encoded is not None:
                    names.add(encoded)
    return names


def forget(parts: PartsRoot, settings: StoreSettings, encoded: str) -> int:
    """Delete a dropped variable's sidecars (in every kind's folder). Returns how many.
    A failure is a warning: orphans are ignored by readers, and `upgrade` sweeps them."""
    try:
        found = _variable_sidecars(parts, settings, KINDS, encoded)
        parts.delete_sidecars(found)
    except OSError as exc:
        warnings.warn(
            f"could not delete the stats and rollups of dropped {decode_name(encoded)!r} "
            f"({exc}); readers ignore them, and `hfdata upgrade` removes them",
            RuntimeWarning,
            stacklevel=2,
        )
        return 0
    return len(found)
