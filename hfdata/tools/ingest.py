"""Points from text (JSON Lines or CSV), checked line by line and appended in batches.

Used by `hfdata append` and `hfdata import-legacy`. Every line is checked on its
own (timestamp, value against the variable's kind, metadata), so one bad line is
reported with its line number while the good ones are kept. Good points are
collected into Arrow batches and handed to `Store.append_many`, so a file of any
size streams through in bounded memory. `FieldNames` says which keys/columns hold
the parts of a point (other keys are refused or kept as metadata, never dropped);
batches cut by size or time come from `hfdata.tools.linesource`, and a uniform batch is
checked at once by `hfdata.tools.ingestbatch`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Final, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from hfdata.errors import (
    HfdataError,
    InvalidInput,
    InvalidMetadata,
    InvalidTimestamp,
    SchemaMismatch,
)
from hfdata.kinds import KINDS, NONFINITE_TEXT, Kind, check_metadata, infer_kind, json_value
from hfdata.layout import log_dir
from hfdata.log.parse import ARROW_TYPES
from hfdata.log.schema import load_schema
from hfdata.store import Store
from hfdata.timeparse import TimeRules, epoch_text_ns, to_ns
from hfdata.tools.ingestbatch import CsvColumns, csv_batch, json_batch

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FLUSH",
    "CsvRecords",
    "ExtraKeys",
    "FieldNames",
    "IngestReport",
    "Parsed",
    "PointParser",
    "Rejected",
    "TextFormat",
    "ingest",
    "jsonl_records",
    "jsonl_rows",
    "resolve_kind",
    "sniff_format",
]

TextFormat = Literal["jsonl", "csv"]
ExtraKeys = Literal["refuse", "metadata"]
DEFAULT_BATCH_ROWS: Final = 100_000
_KEEP_REJECTED: Final = 1_000  # rejected lines kept in the report (all are counted)
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})
_Point = tuple[int, Any, Any]  # (ns, value, metadata dict or None)
_UTC_TEXT: Final = re.compile(
    r"(?P<minute>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?(?P<zone>Z|\+00:00)?\Z"
)


@dataclass(frozen=True, slots=True)
class FieldNames:
    """Which JSON keys / CSV header columns hold a point's parts, and what other keys do.

    `extra_keys="refuse"` rejects a line with any other key (nothing is dropped
    silently); `"metadata"` moves the other keys into the point's metadata (a key
    already in its metadata is a rejected line, never an overwrite). `named` says the
    caller chose the names (`--timestamp-column` ...), so a CSV must have a header.
    """

    timestamp: str = "timestamp"
    value: str = "value"
    metadata: str = "metadata"
    extra_keys: ExtraKeys = "refuse"
    named: bool = False


_DEFAULT_FIELDS: Final = FieldNames()
# CSV column positions: timestamp, value, metadata (or None), other (position, name) pairs


@dataclass(frozen=True, slots=True)
class Parsed:
    """A whole batch checked at once (see `hfdata.tools.ingestbatch`): its points, lines a..b."""

    table: pa.Table
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that did not become a point: its 1-based number, the reason and its text."""

    line: int
    reason: str
    text: str


@dataclass(slots=True)
class IngestReport:
    """What one `ingest` call did."""

    source: str
    variable: str
    lines: int = 0
    appended: int = 0
    rejected_count: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    failure: str | None = None  # set when a whole batch was refused and ingest stopped
    rejects: IO[str] | None = None  # every rejected line, in full, is written here

    def reject(self, line: int, reason: str, text: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _KEEP_REJECTED:
            self.rejected.append(Rejected(line, reason, text[:200]))
        if self.rejects is not None:
            self.rejects.write(text + "\n")


def resolve_kind(store: Store, variable: str, requested: Kind | None) -> Kind | None:
    """The variable's recorded kind, checked against a requested one (None if neither)."""
    if requested is not None and requested not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {requested!r}")
    known = load_schema(log_dir(store.root, variable))
    if known is not None and requested is not None and known != requested:
        raise SchemaMismatch(
            f"variable {variable!r} already holds {known} values; cannot append as {requested}"
        )
    return known or requested


class PointParser:
    """Turns one JSON object or CSV row into a checked point for one variable.

    `kind` is the variable's kind if known; otherwise the first non-null value fixes
    it (CSV text that reads as a number is `float`, `true`/`false` is `bool`, anything
    else `string`; pass a kind to override).
    """

    def __init__(
        self,
        variable: str,
        kind: Kind | None,
        rules: TimeRules,
        fields: FieldNames = _DEFAULT_FIELDS,
    ) -> None:
        self.variable = variable
        self.kind: Kind | None = kind
        self.rules = rules
        self.fields = fields
        self._known = frozenset((fields.timestamp, fields.value, fields.metadata))
        self._minutes: dict[str, int] = {}

    # -- timestamps ---------------------------------------------------------------------
    def timestamp(self, raw: Any) -> int:
        """A JSON value or CSV cell to nanoseconds: ISO-8601 text (from a cache of
        minutes), text in the rules' `timestamp_format` when one is given, or a number
        (also as text) in the rules' `epoch_unit`; without a unit a number is refused
        with a message naming `--epoch-unit`."""
        formatted = self.rules.timestamp_format is not None
        if type(raw) is str and not formatted:
            fast = self._fast_timestamp(raw)
            if fast is not None:
                return fast
        if isinstance(raw, str) and not formatted and self.rules.epoch_unit is not None:
            exact = epoch_text_ns(raw, self.rules)
            if exact is not None:
                return exact
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise InvalidTimestamp(f"timestamp {raw!r:.60} is not a string or number")
        return to_ns(raw, self.rules)

    def _fast_timestamp(self, text: str) -> int | None:
        """UTC text such as `2026-11-26T10:00:01.25Z`, from a cache of minutes; else None.

        Input lines usually share their date, hour and minute, so the minute's
        nanoseconds are parsed once by `to_ns`; anything unusual takes the full path.
        """
        m = _UTC_TEXT.match(text)
        if m is None or (m["zone"] is None and not self.rules.naive_is_utc):
            return None
        second = int(m["second"])
        if second > 59:
            return None  # to_ns raises the proper error
        minute = m["minute"]
        base = self._minutes.get(minute)
        if base is None:
            if len(self._minutes) > 10_000:
                self._minutes.clear()
            try:
                base = self._minutes[minute] = to_ns(minute + ":00Z", self.rules)
            except InvalidTimestamp:
                return None  # to_ns on the whole text gives the message
        frac = m["frac"]
        return base + second * 1_000_000_000 + (int(frac.ljust(9, "0")) if frac else 0)

    # -- values -------------------------------------------------------------------------
    def value(self, raw: Any) -> Any:
        """A JSON-decoded value checked against the kind (fixing the kind if unset)."""
        if type(raw) is float and self.kind == "float" and raw - raw == 0.0:
            return raw  # a finite float: the common case
        if raw is None:
            return None
        if self.kind is None:
            if isinstance(raw, str) and raw in NONFINITE_TEXT:
                self.kind = "float"
            else:
                self.kind = infer_kind(raw)
        assert self.kind is not None
        if self.kind == "float" and isinstance(raw, str) and raw in NONFINITE_TEXT:
            return NONFINITE_TEXT[raw]
        checked = json_value(self.kind, raw, self.variable)
        if self.kind == "float":
            return float(raw)
        return checked

    def text_value(self, cell: str) -> Any:
        """A CSV cell as a value of the kind; an empty cell is a missing value."""
        if cell == "":
            return None
        kind = self.kind or _infer_text_kind(cell)
        if kind == "float":
            try:
                quick = float(cell)
            except ValueError:
                pass
            else:
                if quick - quick == 0.0:
                    return quick if self.kind else self.value(quick)
            number = _number_or_none(cell)
            if number is None:
                raise ValueError(f"{cell!r:.60} is not a number (variable holds float values)")
            result: Any = float(number)
        elif kind == "int":
            try:
                result = int(cell.strip())
            except ValueError:
                raise ValueError(
                    f"{cell!r:.60} is not an integer (variable holds int values)"
                ) from None
        elif kind == "bool":
            low = cell.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(f"{cell!r:.60} is not true/false (variable holds bool values)")
            result = low in _TRUE
        elif kind == "string":
            result = cell
        else:
            result = _loads(cell)
        return self.value(result)

    @staticmethod
    def metadata(raw: Any) -> dict[str, Any] | None:
        if raw is None or raw == "" or raw == {}:
            return None
        if isinstance(raw, str):
            try:
                raw = _loads(raw)
            except ValueError:
                raise InvalidMetadata(f"metadata {raw!r:.60} is not JSON") from None
        check_metadata(raw)
        return raw  # type: ignore[no-any-return]

    # -- whole lines --------------------------------------------------------------------
    def json_object(self, obj: Any) -> _Point:
        if type(obj) is not dict:
            raise ValueError("line is not a JSON object")
        fields = self.fields
        try:
            raw_ts, raw_value = obj[fields.timestamp], obj[fields.value]
        except KeyError:
            raise ValueError(self._missing(obj)) from None
        raw_meta = obj.get(fields.metadata)
        meta: dict[str, Any] | None
        if len(obj) > 2 and len(obj) > 2 + (fields.metadata in obj):
            meta = self._with_extras(self.metadata(raw_meta), obj)
        else:
            meta = self.metadata(raw_meta)
        return self.timestamp(raw_ts), self.value(raw_value), meta

    def _missing(self, obj: dict[str, Any]) -> str:
        fields = self.fields
        name = fields.timestamp if fields.timestamp not in obj else fields.value
        keys = ", ".join(map(repr, list(obj)[:10])) or "none"
        hint = "" if fields.named else "; name the fields with --timestamp-column/--value-column"
        return f"no {name!r} field (keys: {keys}){hint}"

    def _with_extras(self, meta: dict[str, Any] | None, obj: dict[str, Any]) -> dict[str, Any]:
        """The point's metadata with the line's other keys, or ValueError naming them."""
        extra = {k: v for k, v in obj.items() if k not in self._known}
        names = ", ".join(map(repr, extra))
        if self.fields.extra_keys != "metadata":
            f = self.fields
            raise ValueError(
                f"unexpected key{'s' if len(extra) > 1 else ''} {names} (only {f.timestamp!r}, "
                f"{f.value!r} and {f.metadata!r} are read); add --extra-keys metadata to keep "
                "them in the point's metadata"
            )
        clash = [k for k in extra if meta is not None and k in meta]
        if clash:
            raise ValueError(
                f"key {', '.join(map(repr, clash))} is both a field of the line and a "
                "metadata key; rename one of them"
            )
        merged = {**(meta or {}), **extra}
        check_metadata(merged)
        return merged

    def csv_row(self, row: list[str], columns: CsvColumns) -> _Point:
        ts_col, value_col, meta_col, extras = columns
        if len(row) <= max(ts_col, value_col):
            raise ValueError(f"expected at least {max(ts_col, value_col) + 1} fields")
        ns = self.timestamp(row[ts_col].strip())
        meta = None
        if meta_col is not None and meta_col < len(row):
            meta = self.metadata(row[meta_col])
        if extras:
            more = {name: row[i] for i, name in extras if i < len(row) and row[i] != ""}
            if more:
                meta = self._with_extras(meta, more)
        return ns, self.text_value(row[value_col]), meta


def _number_or_none(text: str) -> float | int | None:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(NONFINITE_TEXT.get(text, text))
    except ValueError:
        return None


def _infer_text_kind(cell: str) -> Kind:
    if _number_or_none(cell) is not None:
        return "float"
    if cell.strip().lower() in ("true", "false"):
        return "bool"
    return "string"


def _loads(text: str | bytes) -> Any:
    """orjson, falling back to the stdlib for the `NaN`/`Infinity` literals Python writes."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"bad JSON: {exc}") from None


# -- readers: (line number, parsed item or the error that stopped it, raw line) -----------------
_Item = tuple[int, Any, Any]


def jsonl_rows(stream: IO[bytes]) -> Iterator[_Item]:
    """Decoded JSON values of a JSON Lines stream; blank lines are skipped."""
    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        try:
            yield number, _loads(line), line
        except ValueError as exc:
            yield number, exc, line


# Ends a batch: `ingest` appends the points it holds (input read as it arrives).
FLUSH: Final[_Item] = (0, None, None)


def jsonl_records(
    batches: Iterable[list[tuple[int, bytes]]], parser: PointParser | None = None
) -> Iterator[_Item]:
    """Decoded JSON values of batches of numbered lines, each batch followed by `FLUSH`.

    With `parser`, a batch of uniform lines is checked at once and yielded as one
    `Parsed` item (`hfdata.tools.ingestbatch`); any other batch line by line.
    """
    for batch in batches:
        table = json_batch([line for _, line in batch], parser) if parser else None
        if table is not None:
            yield batch[-1][0], Parsed(table, batch[0][0], batch[-1][0]), None
            batch = []
        for number, line in batch:
            if not line or line.isspace():
                continue
            try:
                yield number, _loads(line), line
            except ValueError as exc:
                yield number, exc, line
        yield FLUSH


class CsvRecords:
    """Rows of batches of numbered CSV records, and where their columns are.

    The first non-blank row is the header when it names the timestamp column
    (`timestamp` or `FieldNames.timestamp`, any case); without a header the columns
    are `timestamp,value[,metadata]`. A first row that is clearly a header (no cell
    reads as a number or a timestamp) but names no timestamp column is refused with
    `InvalidInput`, never stored as a data line; so is a header with columns hfdata
    does not read, unless `extra_keys="metadata"` keeps them (as text) in metadata.
    """

    def __init__(self, parser: PointParser) -> None:
        self.parser = parser
        self.columns: CsvColumns = (0, 1, 2, ())
        self._first = True

    def convert(self, row: list[str]) -> _Point:
        return self.parser.csv_row(row, self.columns)

    def items(self, batches: Iterable[list[tuple[int, bytes]]]) -> Iterator[_Item]:
        """(line number, cells, cells) of every non-blank record; `FLUSH` after each batch."""
        for batch in batches:
            while self._first and batch:  # header, BOM and leading blank lines
                item = self._item(*batch[0])
                batch = batch[1:]
                if item is not None:
                    yield item
            table = csv_batch([r for _, r in batch], self.columns, self.parser)
            if table is not None:
                yield batch[-1][0], Parsed(table, batch[0][0], batch[-1][0]), None
                batch = []
            for number, record in batch:
                item = self._item(number, record)
                if item is not None:
                    yield item
            yield FLUSH

    def _item(self, number: int, record: bytes) -> _Item | None:
        """The record's cells (None for a blank record or the header)."""
        text = record.decode("utf-8", "replace")
        if self._first:
            text = text.removeprefix("\ufeff")
        if not text.strip(" \t\r,"):
            return None
        text = text.removesuffix("\r")
        row = text.split(",") if '"' not in text else next(csv.reader((text,)), [])
        if self._first:
            self._first = False
            if self._header(row):
                return None
        return number, row, row

    def _header(self, row: list[str]) -> bool:
        """Take the columns from a header row (True), or check the first data row (False)."""
        fields = self.parser.fields
        names = [cell.strip() for cell in row]
        cells = ",".join(names)
        ts = _column(names, fields.timestamp)
        value, meta = _column(names, fields.value), _column(names, fields.metadata)
        if ts is None:
            if not any(self._is_data(cell) for cell in names):
                flags = "--timestamp-column NAME --value-column NAME"
                raise InvalidInput(
                    f"the first CSV row {cells!r} looks like a header but has no "
                    f"{fields.timestamp!r} column; say which columns to read with {flags}"
                )
            if fields.named:
                raise InvalidInput(
                    f"--timestamp-column {fields.timestamp} names a header column, but the "
                    f"first CSV row {cells!r} is data; give a file with a header row"
                )
            return False
        if value is None:
            raise InvalidInput(
                f"the CSV header {cells!r} has no {fields.value!r} column; name the value "
                "column with --value-column NAME"
            )
        extras = tuple(
            (i, name) for i, name in enumerate(names) if name and i not in (ts, value, meta)
        )
        if extras and fields.extra_keys != "metadata":
            unread = ", ".join(repr(name) for _, name in extras)
            raise InvalidInput(
                f"the CSV header {cells!r} has columns hfdata would not read: {unread}; add "
                "--extra-keys metadata to keep them in each point's metadata, or leave them out"
            )
        self.columns = (ts, value, meta, extras)
        return True

    def _is_data(self, cell: str) -> bool:
        """A cell that reads as a number or a timestamp (so its row is not a header)."""
        if _number_or_none(cell) is not None:
            return True
        try:
            self.parser.timestamp(cell)
        except (HfdataError, ValueError, TypeError, OverflowError):
            return False
        return True


def _column(names: list[str], wanted: str) -> int | None:
    """Position of a header cell: the exact name, else the same name in another case."""
    if wanted in names:
        return names.index(wanted)
    lowered = [name.lower() for name in names]
    return lowered.index(wanted.lower()) if wanted.lower() in lowered else None


def sniff_format(head: bytes) -> TextFormat:
    """`jsonl` if the first non-blank byte is `{`, else `csv`."""
    stripped = head.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:].lstrip()
    return "jsonl" if not stripped or stripped.startswith(b"{") else "csv"


# -- batching into the store ----------------------------------------------------------------
def _table(kind: Kind | None, points: list[_Point]) -> Any:
    ns = np.fromiter((p[0] for p in points), dtype=np.int64, count=len(points))
    metas = [p[2] for p in points]
    has_meta = any(m is not None for m in metas)
    if kind == "json":
        index = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
        columns: dict[str, Any] = {"value": pd.Series([p[1] for p in points], dtype=object)}
        if has_meta:
            columns["metadata"] = pd.Series(metas, dtype=object)
        return pd.DataFrame({k: v.to_numpy() for k, v in columns.items()}, index=index)
    arrays = {
        "timestamp": pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        "value": pa.array([p[1] for p in points], ARROW_TYPES[kind or "float"]),
    }
    if has_meta:
        arrays["metadata"] = pa.array(
            [None if m is None else orjson.dumps(m).decode() for m in metas], pa.string()
        )
    return pa.table(arrays)


def ingest(
    store: Store,
    variable: str,
    items: Iterable[_Item],
    convert: Callable[[Any], _Point],
    parser: PointParser,
    *,
    source: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    fixed_kind: Kind | None = None,
    rejects: IO[str] | None = None,
) -> IngestReport:
    """Check each item with `convert`, append good points in batches, keep the bad ones.

    A batch is appended when it holds `batch_rows` points, when `items` yields
    `FLUSH` (input read as it arrives: see `hfdata.tools.linesource`) and at the end.
    Rejected lines are counted, the first ones kept in the report, and all of them
    written to `rejects` if given. Stops early (setting `report.failure`) only if the
    store refuses a whole batch, e.g. because another process fixed the variable's
    kind differently meanwhile.
    """
    report = IngestReport(source=source, variable=variable, rejects=rejects)
    points: list[_Point] = []
    first_line = last_line = 0
    for entry in _ending(items):
        if entry is not FLUSH:
            number, item, raw = entry
            if type(item) is Parsed:  # a whole batch, checked at once: no points are held
                report.lines += item.last - item.first + 1
                if not _append(
                    store, variable, item.table, "float", report, item.first, item.last, fixed_kind
                ):
                    return report
                continue
            last_line = number
            report.lines += 1
            if isinstance(item, Exception):
                report.reject(number, _reason(item), _text(raw))
                continue
            try:
                point = convert(item)
            except (HfdataError, ValueError, TypeError) as exc:
                report.reject(number, _reason(exc), _text(raw))
                continue
            if not points:
                first_line = number
            points.append(point)
            if len(points) < batch_rows:
                continue
        if points:
            table = _table(parser.kind, points)
            if not _append(
                store, variable, table, parser.kind, report, first_line, last_line, fixed_kind
            ):
                return report
            points = []
    return report


def _ending(items: Iterable[_Item]) -> Iterator[_Item]:
    """The items, then `FLUSH` (whatever is held at the end is appended)."""
    yield from items
    yield FLUSH


def _append(
    store: Store,
    variable: str,
    table: Any,
    kind: Kind | None,
    report: IngestReport,
    first: int,
    last: int,
    fixed_kind: Kind | None,
) -> bool:
    """Append one batch; False (and `report.failure` set) if the store refused it."""
    try:
        report.appended += store.append_many(variable, table, kind=fixed_kind or kind)
    except (HfdataError, ValueError, TypeError) as exc:
        report.failure = f"lines {first}-{last} were not appended: {_reason(exc)}"
        return False
    return True


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__


def _text(raw: Any) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    if isinstance(raw, list):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(raw)
        return buffer.getvalue()
    return str(raw)
