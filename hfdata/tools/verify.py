"""`hfdata verify`: check a store's log and Parquet against each other, without changing it.

Reports, per variable: bad and torn lines still in the log, orphan `.active`
segments (their writer died; the next compaction recovers them), stray temporary
files, quarantined lines, Parquet files that cannot be read, have the wrong
schema, are unsorted or hold points outside their partition, and points of
already compacted log segments that are missing from Parquet. Leftover compaction
journals are reported too. Directory listings are taken under `.publish.lock`
(shared), as readers do, so a concurrent compaction is seen wholly or not at all.

The stats and rollup sidecars (issue 19, docs/contracts.md "Derived files") are checked
against the files they name: one that disagrees with its file (rows, first or last
timestamp; a rollup's rows and bins) is an error, one whose file is no longer live (an
orphan, which readers ignore) a warning; files without them are counted (readers compute
those from the points; `hfdata upgrade` builds them), and so is one that cannot be
decoded (empty or torn: sidecars are not fsynced, and readers take it for missing).

Valid but implausible data is a warning (the store is consistent; its content looks
wrong, usually timestamps parsed with the wrong rule): a variable whose points span
more than 50 years, points before 1970 or more than a day in the future, and
timestamps holding different values. These are checked one partition at a time
(its Parquet files plus its points in the log tail), never the whole variable at once.
Stuck values and long NaN runs are `Store.quality`'s findings
(`hfdata.report.quality.quality_warnings`, its default thresholds), one line per
variable and check, from the runs each file's stats list. Spikes are checked only
with `quality="full"` (`hfdata verify --quality full`): that check scores every point,
and verify stays cheap by default (docs/decisions.md, "Issue 19: report edge cases").

The Parquet files are those the store's `PartsRoot` lists, as hfdata's readers see
them: with a `parquet_root` elsewhere (an object store), the live set of the commit
records, each object fetched once; the `storage_options` are those the store is
opened with.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hfdata.compact.derive import wanted
from hfdata.durable import scandir
from hfdata.errors import CorruptFile
from hfdata.kinds import KINDS, Kind
from hfdata.layout import (
    PARQUET_DIR,
    Partition,
    compacted_dir,
    decode_name,
    encode_name,
    journal_dir,
    kind_folder,
    kind_of_folder,
    log_dir,
    log_root,
    parse_segment_name,
    partition_key_ns,
    quarantine_root,
    variable_folder,
)
from hfdata.locks import COMPACT_LOCK, PUBLISH_LOCK, flock, is_locked
from hfdata.log.parse import legacy_arrival, parse_log_bytes
from hfdata.log.schema import load_schema
from hfdata.parquet.files import ARRIVED, KIND_SCHEMAS, has_kind_schema, sort_stable
from hfdata.parquet.local import LocalRoot
from hfdata.parquet.reader import file_span
from hfdata.parquet.rollups import ROLLUP_KINDS
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.roots import open_root
from hfdata.parquet.sidecars import ROLLUPS_DIR, STATS_DIR, data_rel, decode_rollup
from hfdata.parquet.stats import FileStats
from hfdata.parquet.tombstones import TOMBSTONE_SCHEMA, read_tombstones
from hfdata.parquet.versions import deleted_mask
from hfdata.report.quality import VerifyQuality, quality_warnings
from hfdata.settings import (
    FORMAT_VERSION,
    SETTINGS_FILE,
    StoreSettings,
    load_or_create,
    recorded_format_version,
)
from hfdata.timeparse import format_ns

__all__ = ["Finding", "Level", "verify"]

Level = Literal["ok", "warning", "error"]
_HOUR_NS: Final = 3_600_000_000_000
_SHOW: Final = 5  # bad lines listed per segment
_DAY_NS: Final = 86_400 * 1_000_000_000
_MAX_SPAN_YEARS: Final = 50
_YEAR_NS: Final = 365 * _DAY_NS + _DAY_NS // 4  # a Julian year


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the verify report."""

    level: Level
    message: str


@dataclass(slots=True)
class _Plausibility:
    """Running tallies of one variable's implausible points, fed one partition at a time."""

    now_ns: int
    lowest: int | None = None
    highest: int | None = None
    before_1970: int = 0
    future: int = 0
    conflicts: int = 0
    example: tuple[int, Any, Any] | None = None  # a timestamp and two of its values

    def add(self, ns: npt.NDArray[np.int64], values: list[npt.NDArray[Any]]) -> None:
        """Tally one partition: `ns` its timestamps, `values` their values in pieces."""
        if not len(ns):
            return
        low, high = int(ns.min()), int(ns.max())
        self.lowest = low if self.lowest is None else min(self.lowest, low)
        self.highest = high if self.highest is None else max(self.highest, high)
        self.before_1970 += int(np.count_nonzero(ns < 0))
        self.future += int(np.count_nonzero(ns > self.now_ns + _DAY_NS))
        order = np.argsort(ns, kind="stable")
        ordered = ns[order]
        pairs = np.flatnonzero(ordered[1:] == ordered[:-1])
        if not len(pairs):
            return
        merged = np.concatenate(values) if len(values) > 1 else values[0]
        a, b = merged[order[pairs]], merged[order[pairs + 1]]
        differ = a != b
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            differ &= ~(np.isnan(a) & np.isnan(b))
        clashing = ordered[pairs[differ]]
        self.conflicts += len(np.unique(clashing))
        if self.example is None and len(clashing):
            first = int(np.flatnonzero(differ)[0])
            self.example = (int(clashing[0]), _plain(a[first]), _plain(b[first]))

    def findings(self, name: str) -> list[Finding]:
        """The warnings, in the caller's terms."""
        out: list[Finding] = []
        hint = "were the timestamps parsed with the right rule (epoch unit, format)?"
        if self.lowest is not None and self.highest is not None:
            years = (self.highest - self.lowest) / _YEAR_NS
            if years > _MAX_SPAN_YEARS:
                out.append(
                    Finding(
                        "warning",
                        f"{name}: points span {years:,.0f} years ({format_ns(self.lowest)} to "
                        f"{format_ns(self.highest)}), more than {_MAX_SPAN_YEARS}; {hint}",
                    )
                )
            if self.before_1970:
                out.append(
                    Finding(
                        "warning",
                        f"{name}: {self.before_1970:,} points are dated before 1970 (earliest "
                        f"{format_ns(self.lowest)}); {hint}",
                    )
                )
            if self.future:
                out.append(
                    Finding(
                        "warning",
                        f"{name}: {self.future:,} points are dated more than a day in the "
                        f"future (latest {format_ns(self.highest)}); {hint}",
                    )
                )
        if self.example is not None:
            at, one, other = self.example
            out.append(
                Finding(
                    "warning",
                    f"{name}: {self.conflicts:,} timestamps hold different values (e.g. "
                    f"{format_ns(at)}: {one!r} and {other!r}); read(dedupe='last'|'first') or "
                    "'hfdata optimize --dedupe' keeps one point per timestamp",
                )
            )
        return out


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(slots=True)
class _Listing:
    """The files of one variable, as seen at one instant."""

    closed: list[Path] = field(default_factory=list)
    active: list[Path] = field(default_factory=list)
    compacted: list[Path] = field(default_factory=list)
    stray: list[Path] = field(default_factory=list)
    parquet: dict[str, list[PartFile]] = field(default_factory=dict)
    parquet_stray: list[str] = field(default_factory=list)


def verify(
    root: Path,
    storage_options: dict[str, Any] | None = None,
    *,
    quality: VerifyQuality = "stats",
) -> list[Finding]:
    """Every finding for the store at `root`, errors and warnings included; `quality`
    "stats" warns of stuck values and NaN runs from the per-file stats, "full" also of
    spikes (reading every point)."""
    if not (root / SETTINGS_FILE).is_file():
        return [Finding("error", f"{root} is not an hfdata store (no {SETTINGS_FILE})")]
    try:
        settings = load_or_create(root, {})
    except (ValueError, CorruptFile) as exc:
        return [Finding("error", f"{root / SETTINGS_FILE}: {exc}")]
    if settings.parquet_root is None and storage_options:
        raise ValueError("storage_options need a store with a parquet_root")
    version = recorded_format_version(root)
    if version < FORMAT_VERSION:
        return [
            Finding(
                "error",
                f"{root} has format version {version}; this hfdata reads {FORMAT_VERSION}: "
                f"run 'hfdata upgrade {root}' (with its other users stopped), then verify",
            )
        ]
    parts = open_root(root, settings.parquet_root, storage_options, owner=settings.store_id)
    findings: list[Finding] = _check_tree(parts)
    with flock(root / PUBLISH_LOCK, shared=True):
        journals = sorted(p for p in journal_dir(root).glob("*.json") if not p.name.startswith("."))
        listings = _list(root, parts)
    compacting = is_locked(root / COMPACT_LOCK)
    for journal in journals:
        if compacting:
            findings.append(Finding("ok", f"compaction in progress ({journal.name})"))
        else:
            findings.append(
                Finding(
                    "warning",
                    f"leftover journal {journal.relative_to(root)} of an interrupted compaction;"
                    f" the next compaction or open rolls it {_direction(journal)}",
                )
            )
    for name, listing in sorted(listings.items()):
        found, tombstones = _check_tombstones(root, parts, name)
        findings.extend(
            _check_variable(root, name, listing, settings.partition, compacting, tombstones)
        )
        findings.extend(found)
    findings.extend(_check_quarantine(root))
    findings.extend(_check_sidecars(parts, settings, listings))
    findings.extend(
        Finding("warning", m)
        for m in quality_warnings(root, parts, settings, sorted(listings), quality)
    )
    if not listings:
        findings.append(Finding("ok", "the store holds no variables yet"))
    return findings


def _check_tree(parts: PartsRoot) -> list[Finding]:
    """A local tree holds only kind folders, each variable in one of them (readers look
    in the first they find: files in a second would be invisible)."""
    if not isinstance(parts, LocalRoot):
        return []
    found = []
    for entry in scandir(parts.base):
        if entry.name.startswith((".", "_")) or kind_of_folder(entry.name) in KINDS:
            continue
        found.append(
            Finding(
                "error",
                f"{PARQUET_DIR}/{entry.name}: not a kind=<kind> folder; hfdata and outside "
                "engines reading kind folders do not see it; move its files out of the store",
            )
        )
    kinds: dict[str, list[str]] = defaultdict(list)
    for kind, encoded in parts.folders():
        kinds[encoded].append(kind)
    for encoded, held in sorted(kinds.items()):
        if len(held) > 1:
            found.append(
                Finding(
                    "error",
                    f"{decode_name(encoded)}: Parquet folders in {len(held)} kinds' folders "
                    f"({', '.join(held)}); readers see only the {held[0]} one. Move the files "
                    "of the wrong kind out of the store",
                )
            )
    return found


def _direction(journal: Path) -> str:
    """`forward` once a batch was publishing, `back` before (see the compaction protocol)."""
    try:
        state = orjson.loads(journal.read_bytes()).get("state")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return "forward or back"
    return "forward" if state == "publishing" else "back"


def _list(root: Path, parts: PartsRoot) -> dict[str, _Listing]:
    listings: dict[str, _Listing] = defaultdict(_Listing)
    log = log_root(root)
    if log.is_dir():
        for var_dir in sorted(p for p in log.iterdir() if p.is_dir()):
            listing = listings[decode_name(var_dir.name)]
            for path in sorted(var_dir.iterdir()):
                parsed = parse_segment_name(path.name)
                if parsed is not None:
                    (listing.active if parsed[2] else listing.closed).append(path)
                elif path.name.startswith(".") and path.name.endswith(".tmp"):
                    listing.stray.append(path)
            compacted = compacted_dir(var_dir)
            if compacted.is_dir():
                listing.compacted = sorted(
                    p for p in compacted.iterdir() if parse_segment_name(p.name) is not None
                )
    for encoded in parts.variables():
        listing = listings[decode_name(encoded)]
        found = parts.listing(encoded)
        for file in found.files:
            listing.parquet.setdefault(file.key, []).append(file)
        listing.parquet_stray.extend(found.strays)
    return listings


def _line_number(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _check_variable(
    root: Path,
    name: str,
    listing: _Listing,
    partition: Partition,
    compacting: bool,
    tombstones: pa.Table,
) -> list[Finding]:
    out: list[Finding] = []
    try:
        kind: Kind | None = load_schema(log_dir(root, name))
    except CorruptFile as exc:
        out.append(Finding("error", f"{name}: unreadable _schema.json ({exc})"))
        kind = None
    tail: list[pa.Table] = []
    for path in listing.closed:
        tail.append(_check_segment(root, name, path, kind, out, active=False))
    for path in listing.active:
        if is_locked(path):
            tail.append(_check_segment(root, name, path, kind, [], active=True))
            continue
        out.append(
            Finding(
                "warning",
                f"{name}: orphan segment {path.relative_to(root)} (its writer died); "
                "the next compaction recovers it",
            )
        )
        tail.append(_check_segment(root, name, path, kind, out, active=True))
    pending = sum(t.num_rows for t in tail)
    for path in listing.stray:
        if not is_locked(path) and not compacting:
            out.append(Finding("warning", f"{name}: stray temporary file {path.relative_to(root)}"))
    if listing.parquet_stray and not compacting:
        out.append(
            Finding(
                "warning",
                f"{name}: {len(listing.parquet_stray)} leftover temporary Parquet file(s), e.g. "
                f"{listing.parquet_stray[0]}; readers ignore them",
            )
        )
    plausible = _Plausibility(time.time_ns())
    tail_parts = _by_partition(tail, partition)
    del tail
    stamps, rows, files = _check_parquet(
        root, name, listing, kind, partition, out, tail_parts, plausible
    )
    missing, checked = _cross_check(name, listing, kind, stamps, partition, tombstones)
    if missing:
        out.append(
            Finding(
                "error",
                f"{name}: {missing:,} points of compacted log segments are missing from Parquet",
            )
        )
    out.append(
        Finding(
            "ok",
            f"{name}: {kind or 'no kind yet'}; log: {len(listing.closed)} closed, "
            f"{len(listing.active)} active segments ({pending:,} points not yet in Parquet); "
            f"Parquet: {files} files, {rows:,} rows in {len(listing.parquet)} partitions; "
            f"{checked:,} points of {len(listing.compacted)} compacted segments cross-checked",
        )
    )
    out.extend(plausible.findings(name))
    return out


def _by_partition(
    tables: list[pa.Table], partition: Partition
) -> dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]]:
    """The log tail's (timestamps, values), split by the partition they will go to."""
    parts: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]] = defaultdict(list)
    for table in tables:
        if not table.num_rows:
            continue
        ns = table.column("timestamp").cast(pa.int64()).to_numpy()
        values = table.column("value").to_numpy()
        hours, at = np.unique(ns // _HOUR_NS, return_inverse=True)  # partitions are whole hours
        keys = np.array([partition_key_ns(int(h) * _HOUR_NS, partition) for h in hours])[at]
        for key in np.unique(keys):
            mask = keys == key
            parts[str(key)].append((ns[mask], values[mask]))
    return parts


def _check_segment(
    root: Path, name: str, path: Path, kind: Kind | None, out: list[Finding], *, active: bool
) -> pa.Table:
    """Report the segment's bad and torn lines; returns its points (`timestamp`, `value`)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # compacted or rotated meanwhile
        return pa.table({"timestamp": pa.array([], pa.int64()), "value": pa.array([])})
    parsed = parse_log_bytes(data, kind, arrived=1, source=str(path))  # arrival unused
    where = path.relative_to(root)
    for bad in parsed.bad[:_SHOW]:
        out.append(
            Finding(
                "warning",
                f"{where}:{_line_number(data, bad.offset)}: bad line ({bad.reason}); "
                "compaction will quarantine it",
            )
        )
    if len(parsed.bad) > _SHOW:
        out.append(Finding("warning", f"{where}: ... {len(parsed.bad) - _SHOW} more bad lines"))
    if parsed.torn and not active:
        out.append(
            Finding(
                "warning",
                f"{where}: torn last line ({len(parsed.torn)} bytes without a newline, from a "
                "failed write); it is not data and compaction will quarantine it",
            )
        )
    elif parsed.torn:
        out.append(Finding("warning", f"{where}: torn tail of {len(parsed.torn)} bytes (not data)"))
    return parsed.table.select(["timestamp", "value"])


def _check_parquet(
    root: Path,
    name: str,
    listing: _Listing,
    kind: Kind | None,
    partition: Partition,
    out: list[Finding],
    tail: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]],
    plausible: _Plausibility,
) -> tuple[dict[str, npt.NDArray[np.int64]], int, int]:
    """Check each Parquet file; feed `plausible` each partition's points (with the log
    tail's for it) and drop them before the next one. Returns the sorted timestamps per
    partition (for the cross-check), the rows and the files read."""
    stamps: dict[str, npt.NDArray[np.int64]] = {}
    rows = files = 0
    want_ts = pa.timestamp("ns", tz="UTC")
    for key in sorted(listing.parquet.keys() | tail.keys()):
        paths = listing.parquet.get(key, [])
        parts: list[npt.NDArray[np.int64]] = []
        values: list[npt.NDArray[Any]] = []
        for path in paths:
            where = path.root.describe(path)
            try:
                table, schema = _timestamps(path)
            except FileNotFoundError:
                continue  # replaced by optimize meanwhile
            except (OSError, pa.ArrowException) as exc:
                out.append(Finding("error", f"{where}: unreadable Parquet file ({exc})"))
                continue
            files += 1
            if schema.field("timestamp").type != want_ts:
                out.append(
                    Finding("error", f"{where}: timestamp is {schema.field('timestamp').type}")
                )
                continue
            if kind is not None:
                out.extend(_check_kind(where, path, schema, kind))
            if ARRIVED in table.column_names and table.column(ARRIVED).null_count:
                nulls = table.column(ARRIVED).null_count
                out.append(Finding("error", f"{where}: {nulls:,} rows without `arrived`"))
            ns = table.column("timestamp").cast(pa.int64()).to_numpy()
            rows += len(ns)
            if len(ns) and bool(np.any(np.diff(ns) < 0)):
                out.append(Finding("error", f"{where}: rows are not sorted by timestamp"))
            if len(ns):
                outside = {partition_key_ns(int(ns.min()), partition)} | {
                    partition_key_ns(int(ns.max()), partition)
                }
                if outside != {key}:
                    out.append(
                        Finding(
                            "error",
                            f"{where}: holds points of partition(s) {sorted(outside)}, not {key}",
                        )
                    )
            parts.append(ns)
            if "value" in table.column_names:
                values.append(table.column("value").to_numpy())
            else:
                values.append(np.full(len(ns), None, dtype=object))
        if paths:
            stamps[key] = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)
        for ns, vals in tail.get(key, []):
            parts.append(ns)
            values.append(vals)
        if parts:
            plausible.add(np.concatenate(parts), values)
    return stamps, rows, files


def _check_tombstones(root: Path, parts: PartsRoot, name: str) -> tuple[list[Finding], pa.Table]:
    """A variable's tombstone files (`parquet/_tombstones/`) are readable, have their
    schema, and delete non-empty ranges (`start < end`). Returns the findings and the
    tombstones read."""
    out: list[Finding] = []
    tables = [TOMBSTONE_SCHEMA.empty_table()]
    with flock(root / PUBLISH_LOCK, shared=True):
        files = parts.tombstones(encode_name(name))
    for file in files:
        where = file.root.describe(file)
        try:
            schema = file.root.parquet_file(file).schema_arrow
            table = read_tombstones([file])
        except FileNotFoundError:
            continue  # merged by optimize meanwhile
        except (OSError, pa.ArrowException) as exc:
            out.append(Finding("error", f"{where}: unreadable tombstone file ({exc})"))
            continue
        if [(f.name, f.type) for f in schema] != [(f.name, f.type) for f in TOMBSTONE_SCHEMA]:
            got = ", ".join(f"{f.name}: {f.type}" for f in schema)
            out.append(Finding("error", f"{where}: schema is ({got}), not a tombstone file's"))
            continue
        starts = table.column("start").cast(pa.int64()).to_numpy()
        ends = table.column("end").cast(pa.int64()).to_numpy()
        empty = int(np.count_nonzero(starts >= ends))
        if empty:
            out.append(Finding("error", f"{where}: {empty} tombstone(s) with start >= end"))
        tables.append(table)
    if files:
        out.append(Finding("ok", f"{name}: {len(files)} tombstone file(s) read"))
    return out, pa.concat_tables(tables)


def _check_kind(where: str, file: PartFile, schema: pa.Schema, kind: Kind) -> list[Finding]:
    """A file sits in its kind's folder with exactly its kind's schema (docs/contracts.md,
    "On-disk layout"): what lets outside engines read a kind's folder as one table."""
    folder = kind_folder(kind)
    if file.rel.startswith(variable_folder("")):
        return [
            Finding(
                "warning",
                f"{where}: another store's file where format 1 put it, not in {folder}/; hfdata "
                "reads it, outside engines reading kind folders do not; that store's "
                "'hfdata upgrade' moves it (and gives it its kind's schema)",
            )
        ]
    found = []
    if not file.rel.startswith(f"{folder}/"):
        found.append(Finding("error", f"{where}: not in {folder}/, the folder of its kind"))
    want = KIND_SCHEMAS[kind]
    if has_kind_schema(schema, kind):
        return found
    if not file.own and [(f.name, f.type) for f in schema] == [
        (f.name, f.type) for f in want if f.name != ARRIVED
    ]:
        found.append(
            Finding(
                "warning",
                f"{where}: another store's file written before format 3 (no `arrived` column); "
                "that store's 'hfdata upgrade' rewrites it with its points' arrival times",
            )
        )
        return found
    if schema.names == want.names and schema.field("timestamp").type == want.field(0).type:
        got_type = schema.field("value").type
        found.append(Finding("error", f"{where}: value is {got_type}, the kind is {kind}"))
    else:
        got = ", ".join(f"{f.name}: {f.type}" for f in schema)
        need = ", ".join(f"{f.name}: {f.type}" for f in want)
        found.append(
            Finding("error", f"{where}: schema is ({got}); a {kind} variable's files have ({need})")
        )
    return found


def _timestamps(file: PartFile) -> tuple[pa.Table, pa.Schema]:
    """The timestamp and value columns and the schema of a Parquet file (an object: one
    GET)."""
    pf = file.root.parquet_file(file)
    schema = pf.schema_arrow
    columns = [c for c in ("timestamp", "value", ARRIVED) if c in schema.names]
    return pf.read(columns=columns, use_threads=False), schema


def _cross_check(
    name: str,
    listing: _Listing,
    kind: Kind | None,
    stamps: dict[str, npt.NDArray[np.int64]],
    partition: Partition,
    tombstones: pa.Table,
) -> tuple[int, int]:
    """(points of compacted segments not found in Parquet, points checked).

    Judged by timestamp, so `optimize(dedupe=...)`, which keeps one point per
    timestamp, never counts as a loss; a point a compacted tombstone deletes is not
    looked for (`optimize` removes such points once `history_retention` has passed).
    """
    missing = checked = 0
    for path in listing.compacted:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # deleted by log retention meanwhile
            continue
        arrived = legacy_arrival(path.stat().st_mtime_ns)
        table = sort_stable(parse_log_bytes(data, kind, arrived=arrived, source=str(path)).table)
        if tombstones.num_rows:
            table = table.filter(pa.array(~deleted_mask(table, tombstones)))
        ns = table.column("timestamp").cast(pa.int64()).to_numpy()
        checked += len(ns)
        ns = np.sort(ns)
        hours = ns // _HOUR_NS
        for chunk in np.split(ns, np.flatnonzero(np.diff(hours)) + 1):
            if not len(chunk):
                continue
            present = stamps.get(partition_key_ns(int(chunk[0]), partition))
            if present is None or not len(present):
                missing += len(chunk)
                continue
            at = np.minimum(np.searchsorted(present, chunk), len(present) - 1)
            missing += int(np.count_nonzero(present[at] != chunk))
    return missing, checked


def _check_quarantine(root: Path) -> list[Finding]:
    """One warning per variable with quarantined lines: how many, and the usual reason.

    Compaction writes `_quarantine/<var>/<segment>.bad.jsonl` (and `.torn.jsonl`),
    one `{file, offset, reason, line}` record per line.
    """
    base = quarantine_root(root)
    if not base.is_dir():
        return []
    out: list[Finding] = []
    for var_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        files = [
            p for p in sorted(var_dir.rglob("*")) if p.is_file() and not p.name.startswith(".")
        ]
        if not files:
            continue
        reasons: Counter[str] = Counter()
        lines = 0
        for path in files:
            for raw in path.read_bytes().splitlines():
                lines += 1
                try:
                    record = orjson.loads(raw)
                    reason = str(record.get("reason", "?")) if isinstance(record, dict) else "?"
                except orjson.JSONDecodeError:
                    reason = "?"
                reasons["torn write" if path.name.endswith(".torn.jsonl") else reason] += 1
        usual, times = reasons.most_common(1)[0] if reasons else ("?", 0)
        out.append(
            Finding(
                "warning",
                f"{decode_name(var_dir.name)}: {lines:,} quarantined lines in {len(files)} "
                f"file(s) under {var_dir.relative_to(root)} (most often: {usual[:80]} x{times});"
                " bad input set aside by compaction",
            )
        )
    return out


def _check_sidecars(
    parts: PartsRoot, settings: StoreSettings, listings: dict[str, _Listing]
) -> list[Finding]:
    """Each sidecar against the live file it names (from the file's footer: rows, first
    and last timestamp), orphans, and how many live files lack theirs."""
    live = {
        f.rel: f
        for listing in listings.values()
        for files in listing.parquet.values()
        for f in files
    }
    resolutions = dict(settings.resolutions())
    out: list[Finding] = []
    orphans: list[str] = []
    unreadable: list[str] = []
    seen: set[str] = set()
    found = parts.sidecars(STATS_DIR)
    for rule in resolutions:
        found += parts.sidecars(f"{ROLLUPS_DIR}/res={rule}")
    for rel in found:
        data = data_rel(rel)
        file = live.get(data) if data is not None else None
        if file is None:
            orphans.append(rel)
            continue
        problem = _sidecar_problem(parts, rel, file, resolutions)
        if isinstance(problem, _Unreadable):
            unreadable.append(f"{rel} ({problem.reason})")
            continue  # counted missing: readers take it for absent
        seen.add(rel)
        if problem is not None:
            out.append(
                Finding(
                    "error",
                    f"{rel}: {problem}; delete it (readers then compute from the points of "
                    f"{parts.describe(file)}) and run 'hfdata upgrade' to build it again",
                )
            )
    if orphans:
        out.append(
            Finding(
                "warning",
                f"{len(orphans):,} stats or rollup files name no live Parquet file (e.g. "
                f"{orphans[0]}): left by an optimize, drop or crash; readers ignore them, and "
                "the next compaction of their variable or 'hfdata upgrade' removes them",
            )
        )
    lacking = 0
    for f in live.values():
        kind = kind_of_folder(f.rel.split("/", 1)[0])
        if kind in KINDS:
            lacking += len(set(wanted(settings, f, kind)) - seen)
    if lacking:
        torn = (
            f", {len(unreadable):,} of them unreadable (e.g. {unreadable[0]}: a sidecar is "
            "never fsynced, and a power cut can leave one empty or torn)"
            if unreadable
            else ""
        )
        out.append(
            Finding(
                "ok",
                f"{lacking:,} stats or rollup files not built yet (files written before them, "
                f"over the size derived at once, or a crash){torn}; readers compute those "
                "from the points, 'hfdata upgrade' builds them",
            )
        )
    return out


@dataclass(frozen=True)
class _Unreadable:
    """A sidecar readers cannot use (empty, torn, of another version): counted missing."""

    reason: str


def _sidecar_problem(
    parts: PartsRoot, rel: str, file: PartFile, resolutions: dict[str, int]
) -> str | _Unreadable | None:
    """What is wrong with one sidecar of a live file, or None. One that cannot be decoded
    is `_Unreadable`, not an error: sidecars are not fsynced, so a power cut may leave
    one empty or torn, and readers then compute from the points (docs/contracts.md,
    "Derived files"). One that decodes but disagrees with its file is an error."""
    try:
        with file.root.reading(file):
            first, last, rows = file_span(file)
        data = parts.get_sidecar(rel)
    except FileNotFoundError:
        return None  # replaced meanwhile
    except OSError as exc:
        return f"cannot be checked ({exc})"
    if data is None:
        return None  # deleted meanwhile (an optimize's housekeeping)
    if rel.startswith(f"{STATS_DIR}/"):
        try:
            stats = FileStats.from_json(data)
        except (ValueError, TypeError) as exc:
            return _Unreadable(f"not a stats file this hfdata reads: {exc}")
        told = (stats.rows, stats.first_ts, stats.last_ts)
        if told != (rows, first, last):
            return (
                f"says {told[0]:,} rows from {format_ns(told[1])} to {format_ns(told[2])}; "
                f"the file holds {rows:,} from {format_ns(first)} to {format_ns(last)}"
            )
        return None
    rule = rel.split("/", 2)[1].removeprefix("res=")
    kind = kind_of_folder(file.rel.split("/", 1)[0])
    if kind not in ROLLUP_KINDS:
        return f"a rollup of a {kind} variable, which has none"
    try:
        table = decode_rollup(data, cast("Kind", kind))
    except ValueError as exc:
        return _Unreadable(f"not a rollup this hfdata reads: {exc}")
    resolution = resolutions[rule]
    held = int(pc.sum(table.column("rows")).as_py() or 0)
    bins = table.column("bin").cast(pa.int64()).to_numpy()
    span = (int(bins.min()), int(bins.max())) if len(bins) else None
    want = (first - first % resolution, last - last % resolution)
    if held != rows or span != want:
        return f"rolls up {held:,} rows in bins {span}; the file holds {rows:,} in bins {want}"
    return None
