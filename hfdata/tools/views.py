"""What the command line prints and writes: variable info tables and frames as CSV/JSON/Parquet.

Kept apart from `cli.py` so the argument handling stays short and these
formatters can be tested without a subprocess. Timestamps are written the way
the log writes them (RFC 3339, UTC, `Z`, no precision lost), and JSON output keeps
NaN and infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final, Literal

import orjson
import polars as pl

__all__ = [
    "TIMESTAMP_FORMAT",
    "human_bytes",
    "info_json",
    "info_pairs",
    "info_record",
    "info_row",
    "info_rows_header",
    "listing_csv",
    "listing_json",
    "text_table",
    "write_frame",
]

TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.fZ"
_CHUNK_ROWS: Final = 100_000
_NONFINITE: Final = {math.inf: "Infinity", -math.inf: "-Infinity"}
# Columns of `hfdata ls -l`: table title, JSON/CSV key, the VariableInfo fields that may
# hold it. Sizes: Parquet plus the whole log, the Parquet, the log (pending and compacted
# segments) and the compacted part of the log (kept for log retention; `prune` removes it).
_LS_COLUMNS: Final = (
    ("variable", "variable", ("name", "variable")),
    ("kind", "kind", ("kind",)),
    ("rows", "rows", ("rows", "total_rows")),
    ("parquet rows", "parquet_rows", ("parquet_rows", "rows_parquet")),
    ("log rows", "log_rows", ("log_rows", "rows_log")),
    ("first", "first", ("first", "first_timestamp", "start")),
    ("last", "last", ("last", "last_timestamp", "end")),
    ("size", "bytes_on_disk", ("bytes_on_disk", "bytes", "size_bytes", "disk_bytes")),
    ("parquet", "parquet_bytes", ("parquet_bytes",)),
    ("log", "log_bytes", ("log_bytes",)),
    ("compacted log", "compacted_log_bytes", ("compacted_log_bytes",)),
    ("parquet folder", "parquet_folder", ("parquet_folder",)),
)


def human_bytes(size: float) -> str:
    """`1.5 MiB` style sizes."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _rfc3339(value: Any) -> str:
    """A datetime (pandas' too, nanoseconds kept) as RFC 3339, UTC written `Z`."""
    text = str(value.isoformat())
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _show(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if "bytes" in name and isinstance(value, int):
        return f"{human_bytes(value)} ({value:,} bytes)"
    if hasattr(value, "isoformat"):
        return _rfc3339(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, list | tuple):
        if len(value) > 6:
            return f"{len(value)}: {', '.join(map(str, value[:3]))} … {value[-1]}"
        return ", ".join(map(str, value)) or "-"
    return str(value)


def _fields(info: Any) -> dict[str, Any]:
    """A VariableInfo's fields, plus its `rows` total if that is a property."""
    if dataclasses.is_dataclass(info) and not isinstance(info, type):
        fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    else:
        fields = dict(vars(info))
    if "rows" not in fields and isinstance(getattr(info, "rows", None), int):
        names = list(fields)
        at = next((i for i, n in enumerate(names) if n.endswith("rows")), len(names))
        items = list(fields.items())
        items.insert(at, ("rows", info.rows))
        fields = dict(items)
    return fields


def info_pairs(info: Any) -> list[tuple[str, str]]:
    """`(field, readable value)` for every field of a `VariableInfo`."""
    return [(name.replace("_", " "), _show(name, value)) for name, value in _fields(info).items()]


def info_json(info: Any) -> str:
    """A `VariableInfo` as one JSON object."""

    return orjson.dumps(_fields(info), default=_json_default, option=orjson.OPT_UTC_Z).decode()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return _rfc3339(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(type(obj).__name__)


def info_rows_header() -> list[str]:
    """Column titles of `hfdata ls -l`."""
    return [title for title, _, _ in _LS_COLUMNS]


def info_record(info: Any) -> dict[str, object]:
    """One `hfdata ls -l` row as machine-readable values, keyed like the `VariableInfo`
    fields: numbers as numbers (bytes as byte counts), times as RFC 3339 strings, a
    missing value as None."""
    fields = _fields(info)
    record: dict[str, object] = {}
    for _, key, names in _LS_COLUMNS:
        value = next((fields[n] for n in names if n in fields), None)
        if hasattr(value, "isoformat"):
            value = _rfc3339(value)
        elif isinstance(value, list | tuple):
            value = len(value)
        record[key] = value
    return record


def info_row(info: Any) -> list[object]:
    """One `hfdata ls -l` row for the text table: sizes readable (`3.0 MiB`)."""
    return [
        human_bytes(value) if "bytes" in key and isinstance(value, int) else value
        for key, value in info_record(info).items()
    ]


def listing_json(infos: Sequence[Any]) -> str:
    """`hfdata ls -l --json`: a JSON array with one `info_record` object per variable."""
    return orjson.dumps([info_record(i) for i in infos]).decode()


def listing_csv(infos: Sequence[Any]) -> str:
    """`hfdata ls -l --csv`: a header of `info_record` keys, one row per variable (a
    missing value is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([key for _, key, _ in _LS_COLUMNS])
    for info in infos:
        writer.writerow(["" if v is None else v for v in info_record(info).values()])
    return out.getvalue()


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows)
        and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# -- frames ----------------------------------------------------------------------------------
def _flat(frame: Any) -> pl.DataFrame:
    """Any read result as a flat polars frame with a `timestamp` column first."""
    if isinstance(frame, pl.DataFrame):
        return frame
    import pandas as pd
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        table = pl.from_arrow(frame)
        assert isinstance(table, pl.DataFrame)
        return table
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if isinstance(frame, pd.DataFrame):
        if isinstance(frame.columns, pd.MultiIndex):
            frame = frame.copy()
            frame.columns = ["_".join(str(p) for p in col if str(p)) for col in frame.columns]
        converted = pl.from_pandas(frame.reset_index(), nan_to_null=False)
        assert isinstance(converted, pl.DataFrame)
        return converted
    raise TypeError(f"cannot write a {type(frame).__name__}")


def _json_lines(frame: pl.DataFrame) -> Iterator[bytes]:
    temporal = [n for n, t in frame.schema.items() if t.is_temporal()]
    text = frame.with_columns(
        pl.col(n).dt.to_string(TIMESTAMP_FORMAT)
        for n in temporal
        if isinstance(frame.schema[n], pl.Datetime)
    )
    meta = [n for n in text.columns if n == "metadata" or n.endswith("_metadata")]
    floats = [n for n, t in text.schema.items() if t.is_float()]
    for chunk in text.iter_slices(_CHUNK_ROWS):
        for row in chunk.iter_rows(named=True):
            for name in floats:
                value = row[name]
                if value is not None and not math.isfinite(value):
                    row[name] = "NaN" if math.isnan(value) else _NONFINITE[value]
            for name in meta:
                value = row[name]
                if value is None:
                    del row[name]
                else:
                    row[name] = orjson.Fragment(value)
            yield orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)


def write_frame(frame: Any, fmt: Literal["csv", "json", "parquet"], output: Path | None) -> None:
    """Write a read result as CSV, JSON Lines or Parquet to `output` (stdout if None)."""
    flat = _flat(frame)
    flat = flat.with_columns(  # one resolution for every output: nanoseconds, as stored
        pl.col(n).dt.cast_time_unit("ns")
        for n, t in flat.schema.items()
        if isinstance(t, pl.Datetime)
    )
    if fmt == "parquet":
        if output is None:
            raise ValueError("Parquet output needs a file (-o FILE)")
        flat.write_parquet(output, compression="zstd")
        return
    with _open_output(output) as target:
        if fmt == "csv" and output is not None:
            flat.write_csv(target, datetime_format=TIMESTAMP_FORMAT)
        elif fmt == "csv":  # in slices, so a closed pipe is Python's BrokenPipeError
            for number, chunk in enumerate(flat.iter_slices(_CHUNK_ROWS)):
                text = chunk.write_csv(datetime_format=TIMESTAMP_FORMAT, include_header=not number)
                target.write(text.encode())
            if flat.height == 0:
                target.write(flat.write_csv(include_header=True).encode())
        else:
            for line in _json_lines(flat):
                target.write(line)


@contextlib.contextmanager
def _open_output(output: Path | None) -> Iterator[IO[bytes]]:
    """stdout's binary buffer, or a file opened for writing."""
    if output is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as handle:
        yield handle
