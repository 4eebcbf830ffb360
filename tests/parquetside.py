"""What a store holds on its Parquet side and in its log, row by row with arrivals and
tombstone by tombstone (issue 20): shared by `test_tombstones_parquet.py` and the kill
trials of compaction with tombstones in flight."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hfdata.layout import decode_name, parse_segment_name
from hfdata.log.parse import read_segment
from hfdata.log.schema import load_schema

__all__ = ["Row", "Tomb", "log_state", "parquet_rows", "parquet_tombstones", "store_state"]

Row = tuple[str, int, object, int]  # variable, timestamp ns, value, arrived ns
Tomb = tuple[str, int, int, int]  # variable, start, end, recorded (ns)


def _ns(column: pa.ChunkedArray) -> list[int]:
    return [int(v) for v in column.cast(pa.int64()).to_pylist()]


def parquet_rows(root: Path) -> Counter[Row]:
    """Every row of the local Parquet tree's data files, with its `arrived`."""
    rows: Counter[Row] = Counter()
    for path in sorted((root / "parquet").glob("kind=*/variable=*/date=*/*.parquet")):
        if path.name.startswith("."):
            continue
        variable = decode_name(path.parent.parent.name.removeprefix("variable="))
        table = pq.read_table(path)
        for ns, value, arrived in zip(
            _ns(table.column("timestamp")),
            table.column("value").to_pylist(),
            _ns(table.column("arrived")),
            strict=True,
        ):
            rows[variable, ns, value, arrived] += 1
    return rows


def parquet_tombstones(root: Path) -> Counter[Tomb]:
    """Every tombstone of the local Parquet tree's `_tombstones/` files."""
    found: Counter[Tomb] = Counter()
    for path in sorted((root / "parquet" / "_tombstones").glob("variable=*/*.parquet")):
        if path.name.startswith("."):
            continue
        variable = decode_name(path.parent.name.removeprefix("variable="))
        table = pq.read_table(path)
        for start, end, recorded in zip(
            _ns(table.column("start")),
            _ns(table.column("end")),
            _ns(table.column("recorded")),
            strict=True,
        ):
            found[variable, start, end, recorded] += 1
    return found


def log_state(root: Path, *, compacted: bool = False) -> tuple[Counter[Row], Counter[Tomb]]:
    """Rows and tombstones of the segments waiting in `log/<var>/` (closed and active),
    or with `compacted`, of those moved to `compacted/` too."""
    rows: Counter[Row] = Counter()
    tombs: Counter[Tomb] = Counter()
    for folder in sorted((root / "log").iterdir()):
        if not folder.is_dir():
            continue
        variable = decode_name(folder.name)
        kind = load_schema(folder)
        segments = [p for p in folder.iterdir() if parse_segment_name(p.name) is not None]
        if compacted and (folder / "compacted").is_dir():
            segments += [p for p in (folder / "compacted").iterdir() if parse_segment_name(p.name)]
        for path in sorted(segments):
            parsed = read_segment(path, kind)
            table = parsed.table
            for ns, value, arrived in zip(
                _ns(table.column("timestamp")),
                table.column("value").to_pylist(),
                _ns(table.column("arrived")),
                strict=True,
            ):
                rows[variable, ns, value, arrived] += 1
            t = parsed.tombstones
            for start, end, recorded in zip(
                _ns(t.column("start")), _ns(t.column("end")), _ns(t.column("recorded")), strict=True
            ):
                tombs[variable, start, end, recorded] += 1
    return rows, tombs


def store_state(root: Path) -> tuple[Counter[Row], Counter[Tomb]]:
    """Parquet plus the log still waiting: every row and tombstone the store holds."""
    rows, tombs = log_state(root)
    return rows + parquet_rows(root), tombs + parquet_tombstones(root)
