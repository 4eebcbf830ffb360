"""`hfdata verify`: check a store's log and Parquet against each other, without changing it.

Reports, per variable: bad and torn lines still in the log, orphan `.active`
segments (their writer died; the next compaction recovers them), stray temporary
files, quarantined lines, Parquet files that cannot be read, have the wrong
schema, are unsorted or hold points outside their partition, and points of
already compacted log segments that are missing from Parquet. Leftover compaction
journals are reported too. Directory listings are taken under `.publish.lock`
(shared), as readers do, so a concurrent compaction is seen wholly or not at all.

With a `parquet_root` elsewhere (an object store), its Parquet is the live set of
the commit records, as hfdata's readers see it, each object fetched once; the
`storage_options` are those the store is opened with.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.kinds import Kind, load_schema
from hfdata.layout import Partition, decode_name, log_dir, parse_segment_name, partition_key_ns
from hfdata.locks import COMPACT_LOCK, PUBLISH_LOCK, flock, is_locked
from hfdata.parse import ARROW_TYPES, parse_log_bytes
from hfdata.settings import SETTINGS_FILE, load_or_create

if TYPE_CHECKING:
    from hfdata.objectstore import ParquetRoot, RemoteFile

__all__ = ["Finding", "Level", "verify"]

Level = Literal["ok", "warning", "error"]
_HOUR_NS: Final = 3_600_000_000_000
_SHOW: Final = 5  # bad lines listed per segment


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the verify report."""

    level: Level
    message: str


@dataclass(slots=True)
class _Listing:
    """The files of one variable, as seen at one instant."""

    closed: list[Path] = field(default_factory=list)
    active: list[Path] = field(default_factory=list)
    compacted: list[Path] = field(default_factory=list)
    stray: list[Path] = field(default_factory=list)
    parquet: dict[str, list[Path | RemoteFile]] = field(default_factory=dict)
    parquet_stray: list[Path] = field(default_factory=list)


def verify(root: Path, storage_options: dict[str, Any] | None = None) -> list[Finding]:
    """Every finding for the store at `root`, errors and warnings included."""
    if not (root / SETTINGS_FILE).is_file():
        return [Finding("error", f"{root} is not an hfdata store (no {SETTINGS_FILE})")]
    try:
        settings = load_or_create(root, {})
    except ValueError as exc:
        return [Finding("error", f"{root / SETTINGS_FILE}: {exc}")]
    remote: ParquetRoot | None = None
    if settings.parquet_root is not None:
        from hfdata.objectstore import ParquetRoot

        remote = ParquetRoot(settings.parquet_root, storage_options, owner=settings.store_id)
    elif storage_options:
        raise ValueError("storage_options need a store with a parquet_root")
    findings: list[Finding] = []
    with flock(root / PUBLISH_LOCK, shared=True):
        journals = sorted(
            p for p in (root / "_journal").glob("*.json") if not p.name.startswith(".")
        )
        listings = _list(root, remote)
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
        findings.extend(_check_variable(root, name, listing, settings.partition, compacting))
    findings.extend(_check_quarantine(root))
    if not listings:
        findings.append(Finding("ok", "the store holds no variables yet"))
    return findings


def _direction(journal: Path) -> str:
    """`forward` once a batch was publishing, `back` before (see the compaction protocol)."""
    try:
        state = orjson.loads(journal.read_bytes()).get("state")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return "forward or back"
    return "forward" if state == "publishing" else "back"


def _list(root: Path, remote: ParquetRoot | None) -> dict[str, _Listing]:
    listings: dict[str, _Listing] = defaultdict(_Listing)
    log = root / "log"
    if log.is_dir():
        for var_dir in sorted(p for p in log.iterdir() if p.is_dir()):
            listing = listings[decode_name(var_dir.name)]
            for path in sorted(var_dir.iterdir()):
                parsed = parse_segment_name(path.name)
                if parsed is not None:
                    (listing.active if parsed[2] else listing.closed).append(path)
                elif path.name.startswith(".") and path.name.endswith(".tmp"):
                    listing.stray.append(path)
            compacted = var_dir / "compacted"
            if compacted.is_dir():
                listing.compacted = sorted(
                    p for p in compacted.iterdir() if parse_segment_name(p.name) is not None
                )
    if remote is not None:
        for encoded in remote.variables():
            listing = listings[decode_name(encoded)]
            for file in remote.live(encoded)[1]:
                listing.parquet.setdefault(file.key, []).append(file)
        return listings
    parquet = root / "parquet"
    if parquet.is_dir():
        for var_dir in sorted(parquet.glob("variable=*")):
            listing = listings[decode_name(var_dir.name.removeprefix("variable="))]
            for part in sorted(var_dir.glob("date=*")):
                key = part.name.removeprefix("date=")
                for path in sorted(part.iterdir()):
                    if path.name.startswith(".") or path.name.endswith(".tmp"):
                        listing.parquet_stray.append(path)
                    elif path.suffix == ".parquet":
                        listing.parquet.setdefault(key, []).append(path)
    return listings


def _line_number(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _check_variable(
    root: Path, name: str, listing: _Listing, partition: Partition, compacting: bool
) -> list[Finding]:
    out: list[Finding] = []
    try:
        kind: Kind | None = load_schema(log_dir(root, name))
    except (ValueError, KeyError) as exc:
        out.append(Finding("error", f"{name}: unreadable _schema.json ({exc})"))
        kind = None
    pending = 0
    for path in listing.closed:
        pending += _check_segment(root, name, path, kind, out, active=False)
    for path in listing.active:
        if is_locked(path):
            pending += _check_segment(root, name, path, kind, [], active=True)
            continue
        out.append(
            Finding(
                "warning",
                f"{name}: orphan segment {path.relative_to(root)} (its writer died); "
                "the next compaction recovers it",
            )
        )
        pending += _check_segment(root, name, path, kind, out, active=True)
    for path in listing.stray:
        if not is_locked(path) and not compacting:
            out.append(Finding("warning", f"{name}: stray temporary file {path.relative_to(root)}"))
    if listing.parquet_stray and not compacting:
        out.append(
            Finding(
                "warning",
                f"{name}: {len(listing.parquet_stray)} leftover temporary Parquet file(s), e.g. "
                f"{listing.parquet_stray[0].relative_to(root)}; readers ignore them",
            )
        )
    stamps, rows, files = _check_parquet(root, name, listing, kind, partition, out)
    missing, checked = _cross_check(name, listing, kind, stamps, partition)
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
    return out


def _check_segment(
    root: Path, name: str, path: Path, kind: Kind | None, out: list[Finding], *, active: bool
) -> int:
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # compacted or rotated meanwhile
        return 0
    parsed = parse_log_bytes(data, kind, source=str(path))
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
    return int(parsed.table.num_rows)


def _check_parquet(
    root: Path,
    name: str,
    listing: _Listing,
    kind: Kind | None,
    partition: Partition,
    out: list[Finding],
) -> tuple[dict[str, npt.NDArray[np.int64]], int, int]:
    stamps: dict[str, npt.NDArray[np.int64]] = {}
    rows = files = 0
    want_ts = pa.timestamp("ns", tz="UTC")
    for key, paths in listing.parquet.items():
        parts: list[npt.NDArray[np.int64]] = []
        for path in paths:
            where = path.relative_to(root) if isinstance(path, Path) else path.path
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
            if kind is not None and "value" in schema.names:
                got = schema.field("value").type
                if got != ARROW_TYPES[kind] and not (kind == "string" and got == pa.large_string()):
                    out.append(Finding("error", f"{where}: value is {got}, the kind is {kind}"))
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
        stamps[key] = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)
    return stamps, rows, files


def _timestamps(path: Path | RemoteFile) -> tuple[pa.Table, pa.Schema]:
    """The timestamp column and the schema of a Parquet file (an object: one GET)."""
    if isinstance(path, Path):
        return pq.read_table(path, columns=["timestamp"]), pq.read_schema(path)
    from hfdata.objectstore import fetch, vanished_as_not_found

    with vanished_as_not_found(path):
        pf = pq.ParquetFile(pa.BufferReader(fetch(path)), page_checksum_verification=True)
    return pf.read(columns=["timestamp"], use_threads=False), pf.schema_arrow


def _cross_check(
    name: str,
    listing: _Listing,
    kind: Kind | None,
    stamps: dict[str, npt.NDArray[np.int64]],
    partition: Partition,
) -> tuple[int, int]:
    """(points of compacted segments not found in Parquet, points checked).

    Judged by timestamp, so `optimize(dedupe=...)`, which keeps one point per
    timestamp, never counts as a loss.
    """
    missing = checked = 0
    for path in listing.compacted:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # deleted by log retention meanwhile
            continue
        ns = (
            parse_log_bytes(data, kind, source=str(path))
            .table.column("timestamp")
            .cast(pa.int64())
            .to_numpy()
        )
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
    base = root / "_quarantine"
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
