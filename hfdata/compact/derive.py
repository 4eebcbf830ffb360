"""Derived files (issue 19): the stats and rollup sidecars of published Parquet files.

After each batch publishes (compaction) or after a variable's batches (optimize),
`derive_missing` lists what sidecars the variable has, then its live files; it writes
each live file's missing sidecars (`derive`: its `FileStats` and a rollup per resolution
in the store's settings, written together and each atomically by the `PartsRoot`) and
deletes the sidecars whose data file is no longer live (orphans: a file optimize
replaced, a dropped variable's). The files compaction just published are derived from
the rows it has in memory (the conformed table it wrote: the file's exact contents);
any other (a crash left it without sidecars, optimize's output, `upgrade`) is re-read.
`derive_all` does it for the whole root (`upgrade`, which also sweeps the orphans of
variables with no Parquet left), and `forget` removes a dropped variable's.

Memory is bounded as optimize's is: a file is derived whole up to `WHOLE_ROWS` rows
(file_stats needs every row at once, about 60 bytes a row at its peak); a larger one (a
month partition of a fast sensor) window by window: its rollups exactly, its stats
merged across the windows (`WindowedStats`: the whole file's but for a float sum added
window by window), with a first pass over its timestamps for the gap floor when the
store sets none. One whose intervals are too varied to tally (`too_varied`) gets no
stats sidecar, and readers compute its stats from its points.

Nothing here changes the commit protocol: a sidecar counts only while its data file is
live, and a live file without one is computed from its points by readers
(docs/contracts.md, "Derived files"). So every step may be killed anywhere: a sidecar is
whole or absent, and the next run writes what is missing. Sidecars are not fsynced
(derived data; docs/decisions.md, "Issue 19: sidecars are not fsynced"): after a power
cut one may be absent, empty or torn; readers take an unreadable one for missing, the
next run rewrites an empty one (the listing gives sizes), and `derive_all` (`upgrade`)
reads each one and rewrites any that does not decode. Sidecars are listed before the
data files, so a sidecar another store sharing the root writes meanwhile (after
publishing its file) is never taken for an orphan. Callers hold the compaction lock.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
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
from hfdata.parquet.rollups import ROLLUP_KINDS, build_many
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.sidecars import (
    ROLLUPS_DIR,
    STATS_DIR,
    data_rel,
    decode_rollup,
    encode_rollup,
    rollup_rel,
    rollups_prefix,
    stats_prefix,
    stats_rel,
)
from hfdata.parquet.stats import FileStats, IntervalTally, WindowedStats, file_stats
from hfdata.settings import StoreSettings

__all__ = [
    "WHOLE_ROWS",
    "WINDOW_ROWS",
    "Derived",
    "Published",
    "derive",
    "derive_after_publish",
    "derive_all",
    "derive_missing",
    "forget",
    "wanted",
]

WHOLE_ROWS: Final = 4_000_000  # a file up to this many rows is derived at once (~250 MB)
WINDOW_ROWS: Final = 2_000_000  # rows a larger file's rollups are built from at a time
FLUSH_FILES: Final = 64  # files whose sidecars are written together, at most
FLUSH_BYTES: Final = 32 << 20  # sidecar bytes held before they are written, at most
_COLUMNS: Final = ("timestamp", "value")


Published = tuple[PartFile, pa.Table]  # a file just published, and the rows it holds


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
    rows: Mapping[str, pa.Table] | None = None,
) -> Derived:
    """Write the sidecars of published `files` of one variable (of `kind`) that are not in
    `present`. A file whose rows the caller has in memory (`rows`, by rel: the table
    compaction just wrote, conformed to its kind, which is exactly what the file holds)
    is derived from them; any other is read back whole. The sidecars are written
    together (`PartsRoot.put_sidecars`), a file's rollups before its stats. A file that
    fails (an I/O error, a damaged file) is a warning: its data is published, and the
    next run derives it."""
    written = failed = 0
    pending: list[tuple[PartFile, list[tuple[str, bytes]]]] = []
    size = 0

    def flush() -> None:
        nonlocal written, failed, size
        items = [item for _, each in pending for item in each]
        try:
            parts.put_sidecars(items)
            written += len(items)
        except (OSError, HfdataError) as exc:
            failed += len(pending)
            _warn(parts, [file for file, _ in pending], exc)
        pending.clear()
        size = 0

    for file in files:
        todo = [rel for rel in wanted(settings, file, kind) if rel not in present]
        if not todo:
            continue
        table = rows.get(file.rel) if rows is not None else None
        try:
            items = _sidecars_of(parts, settings, file, kind, set(todo), table)
        except FileNotFoundError:
            continue  # replaced meanwhile (another store's optimize): nothing to describe
        except (OSError, HfdataError, ValueError) as exc:
            failed += 1
            _warn(parts, [file], exc)
            continue
        if items:
            pending.append((file, items))
            size += sum(len(data) for _, data in items)
        if len(pending) >= FLUSH_FILES or size >= FLUSH_BYTES:
            flush()
    if pending:
        flush()
    return Derived(written=written, failed=failed)


def _warn(parts: PartsRoot, files: Sequence[PartFile], exc: BaseException) -> None:
    what = parts.describe(files[0]) + (f" and {len(files) - 1} more" if len(files) > 1 else "")
    warnings.warn(
        f"could not write the stats and rollups of {what} ({exc}); readers compute them "
        "from its points, and the next compaction tries again",
        RuntimeWarning,
        stacklevel=3,
    )


def _sidecars_of(
    parts: PartsRoot,
    settings: StoreSettings,
    file: PartFile,
    kind: Kind,
    todo: set[str],
    table: pa.Table | None,
) -> list[tuple[str, bytes]]:
    """The `todo` sidecars of `file` as (rel, bytes), rollups first: from `table` (its
    rows, in memory) or read back."""
    if table is None:
        with parts.reading(file):
            md = parts.read_footer(file)
            if md.num_rows == 0:
                return []
            if md.num_rows > WHOLE_ROWS:
                groups = partial(_row_group_windows, parts, file, md)
                return _windowed(settings, file, kind, todo, groups)
            table = read_whole(parts.fetch(file), _COLUMNS)
    elif table.num_rows > WHOLE_ROWS:
        return _windowed(settings, file, kind, todo, partial(_slices, table))
    if table.num_rows == 0:
        return []
    ns, values = _points(table)
    items = []
    rules = settings.resolutions()
    if any(rollup_rel(file, rule) in todo for rule, _ in rules):
        # every resolution, also one not asked for: a coarser rollup is composed from a
        # finer one (`build_many`), so a sidecar's bits never depend on which were missing
        built = build_many(ns, values, kind, [resolution for _, resolution in rules])
        for (rule, _), rollup in zip(rules, built, strict=True):
            rel = rollup_rel(file, rule)
            if rel in todo:
                items.append((rel, encode_rollup(rollup)))
    rel = stats_rel(file)
    if rel in todo:  # last: a file with stats has its rollups too, unless a kill cut in
        items.append((rel, file_stats(ns, values, kind, settings.gap_threshold_ns).to_json()))
    return items


def _points(table: pa.Table) -> tuple[npt.NDArray[np.int64], pa.Array]:
    ts = table.column("timestamp").combine_chunks().view(pa.int64())
    return np.asarray(ts.to_numpy(), dtype=np.int64), table.column("value").combine_chunks()


def _row_group_windows(
    parts: PartsRoot,
    file: PartFile,
    md: pq.FileMetaData,
    cut_every: int,
    columns: Sequence[str] = _COLUMNS,
) -> Iterator[pa.Table]:
    """A file's rows, about `WINDOW_ROWS` at a time (whole row groups; `_windowed` cuts
    them at a bin edge)."""
    groups = list(range(md.num_row_groups))
    step = max(1, WINDOW_ROWS // max(1, md.row_group(0).num_rows))
    for first in range(0, len(groups), step):
        with parts.reading(file):
            yield read_groups(file, md, groups[first : first + step], list(columns))


def _slices(
    table: pa.Table, cut_every: int, columns: Sequence[str] = _COLUMNS
) -> Iterator[pa.Table]:
    """An in-memory table's rows about `WINDOW_ROWS` at a time (zero-copy slices), each
    ending at a multiple of `cut_every` (ns) so no bin straddles two."""
    ns = np.asarray(table.column("timestamp").to_numpy(), dtype="M8[ns]").view(np.int64)
    start, n = 0, len(ns)
    while start < n:
        end = start + WINDOW_ROWS
        if end < n:  # back to the start of the bin row `end` is in, or on to its end
            edge = int(ns[end] - ns[end] % cut_every)
            end = int(np.searchsorted(ns, edge, side="left"))
            if end <= start:
                end = int(np.searchsorted(ns, edge + cut_every, side="left"))
        end = min(end, n)
        yield table.slice(start, end - start).select(list(columns))
        start = end


Windows = Callable[[int, Sequence[str]], Iterator[pa.Table]]


def _windowed(
    settings: StoreSettings, file: PartFile, kind: Kind, todo: set[str], windows: Windows
) -> list[tuple[str, bytes]]:
    """A file over `WHOLE_ROWS`, in memory bounded by `WINDOW_ROWS`: its rollups and stats
    built window by window, each window cut at a multiple of every resolution (at a
    timestamp, without rollups) so no bin and no timestamp straddles two. The rollups'
    concatenation is exactly the whole file's; the stats are merged (`WindowedStats`:
    `file_stats` of the whole file, but for a float sum added window by window), their
    gap floor from a first pass over the timestamps when the store sets none. A file
    with too many distinct intervals to tally (`IntervalTally.too_varied`) gets no
    stats: readers compute them from its points."""
    rules = settings.resolutions()  # all of them, as `_sidecars_of` builds them
    rollups = any(rollup_rel(file, rule) in todo for rule, _ in rules)
    cut_every = math.lcm(*(n for _, n in rules))  # 1 without rollups: cut at a timestamp
    stats = None
    if stats_rel(file) in todo:
        stats = _windowed_stats(kind, windows, settings.gap_threshold_ns, cut_every)
    if not rollups and stats is None:
        return []
    pieces: dict[str, list[pa.Table]] = {rule: [] for rule, _ in rules}
    carry: pa.Table | None = None
    pieces_of = windows(cut_every, _COLUMNS)
    window = next(pieces_of, None)
    while window is not None:
        table = window if carry is None else pa.concat_tables([carry, window])
        window = next(pieces_of, None)
        last = window is None
        ns, values = _points(table)
        cut = len(ns) if last else int(np.searchsorted(ns, ns[-1] - ns[-1] % cut_every))
        if cut and rollups:
            built = build_many(ns[:cut], values[:cut], kind, [n for _, n in rules])
            for (rule, _), rollup in zip(rules, built, strict=True):
                pieces[rule].append(rollup)
        if cut and stats is not None:
            stats.add(ns[:cut], values[:cut])
        carry = table.slice(cut) if cut < len(ns) else None
    items = [
        (rollup_rel(file, rule), encode_rollup(pa.concat_tables(pieces[rule])))
        for rule, _ in rules
        if rollup_rel(file, rule) in todo
    ]
    if stats is not None and not stats.too_varied:  # last: with stats, rollups too
        items.append((stats_rel(file), stats.result().to_json()))
    return items


def _windowed_stats(
    kind: Kind, windows: Windows, gap_threshold: int | None, cut_every: int
) -> WindowedStats | None:
    """A `WindowedStats` for the file with its gap floor: the store's threshold, or 10x
    the median interval tallied from a pass over its timestamps (None if they are too
    varied to tally)."""
    tally = IntervalTally()
    if gap_threshold is None:
        for window in windows(cut_every, ("timestamp",)):
            ts = window.column("timestamp").combine_chunks().view(pa.int64())
            tally.add(np.asarray(ts.to_numpy(), dtype=np.int64))
            if tally.too_varied:
                return None
    return WindowedStats(kind, tally.gap_floor(gap_threshold))


def _variable_sidecars(
    parts: PartsRoot, settings: StoreSettings, kinds: Iterable[str], encoded: str
) -> dict[str, int]:
    """The variable's sidecars with their sizes."""
    found: dict[str, int] = {}
    for kind in kinds:
        found.update(parts.sidecar_sizes(stats_prefix(kind, encoded)))
        for rule in settings.rollups:
            found.update(parts.sidecar_sizes(rollups_prefix(rule, kind, encoded)))
    return found


def _readable(parts: PartsRoot, rel: str, kind: Kind) -> bool:
    """Whether the sidecar at `rel` (of a live file of `kind`) is one readers can use:
    whole, of this version (a torn one, which a power cut can leave, is not)."""
    try:
        data = parts.get_sidecar(rel)
    except OSError:
        return False
    if data is None:
        return False
    try:
        if rel.startswith(f"{STATS_DIR}/"):
            FileStats.from_json(data)
        else:
            decode_rollup(data, kind)
    except (ValueError, TypeError):
        return False
    return True


def derive_missing(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    encoded: str,
    *,
    every_kind: bool = False,
    published: Sequence[Published] = (),
    check: bool = False,
) -> Derived:
    """Build the sidecars a variable's live files lack and delete its orphans. Looks in
    its kind's folders only, or in every kind's with `every_kind` (a variable whose
    Parquet was dropped, or moved to another kind's folder). `published`: files the
    caller just published with their rows, derived from those rather than re-read.

    Sidecars are never fsynced, so a power cut can leave one empty (its name committed,
    its bytes not) or, on some filesystems, torn. An empty one counts as missing here
    (its size comes with the listing) and is rewritten; with `check` (`upgrade`) every
    live file's sidecar is also read, and one readers cannot use is rewritten."""
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
        live_kind = listing.kind
        present = {rel for rel, size in have.items() if size > 0 and data_rel(rel) in live}
        if check:
            present = {rel for rel in present if _readable(parts, rel, live_kind)}
        rows = {file.rel: table for file, table in published}
        done = derive(root, parts, settings, listing.files, live_kind, present=present, rows=rows)
    if orphans:
        parts.delete_sidecars(orphans)
    return done + Derived(deleted=len(orphans))


def derive_after_publish(
    root: Path,
    parts: PartsRoot,
    settings: StoreSettings,
    encoded: str,
    published: Sequence[Published] = (),
) -> Derived:
    """`derive_missing` for a job whose batches are published already (compaction,
    after each batch, with the batch's files and rows; optimize): an I/O error (listing
    or deleting sidecars) is a warning, since the data is in place and the next run
    derives again."""
    try:
        return derive_missing(root, parts, settings, encoded, published=published)
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
    """Every variable's missing sidecars built (and its unreadable ones rebuilt: a power
    cut can tear them) and orphans deleted, including those of variables that have
    sidecars but no Parquet any more (a drop cut short)."""
    parts.sweep_sidecars()
    names = set(parts.variables()) | _sidecar_variables(parts, settings)
    done = Derived()
    for encoded in sorted(names):
        done += derive_missing(root, parts, settings, encoded, every_kind=True, check=True)
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
