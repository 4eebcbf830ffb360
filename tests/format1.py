"""The format-1 stores of `data/format1.tar.gz` (written by hfdata at b8f0e16; see
`data/make_format1.py`), a current store turned into format 2 (`to_format2`), and how
their reads are compared after an upgrade. Shared by `test_upgrade.py` and
`reliability/test_upgrade_killed.py`."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

import hfdata

__all__ = [
    "DATA",
    "assert_reads_equal",
    "data_files",
    "expected_reads",
    "extract",
    "point_shared_roots",
    "reads",
    "to_format2",
]

DATA = Path(__file__).parent / "data" / "format1.tar.gz"


def extract(into: Path) -> Path:
    """The tarball extracted into `into`; returns its `format1` folder."""
    with tarfile.open(DATA) as tar:
        tar.extractall(into, filter="data")
    return into / "format1"


def point_shared_roots(base: Path) -> None:
    """Point `shared_a`/`shared_b` at the `shared_root` beside them (they record where
    they were made; a copy must not write into the original)."""
    for name in ("shared_a", "shared_b"):
        settings = base / name / "hfdata.json"
        if settings.exists():
            recorded = json.loads(settings.read_text())
            recorded["parquet_root"] = str(base / "shared_root")
            settings.write_text(json.dumps(recorded))


def expected_reads(folder: Path) -> dict[str, pa.Table]:
    """What the old hfdata read, per variable (`expected/<store>/<encoded>.parquet`)."""
    return {unquote(p.stem): pq.read_table(p) for p in sorted(folder.glob("*.parquet"))}


def reads(store: hfdata.Store) -> dict[str, pa.Table]:
    """Every variable's `read(metadata=True)`, timestamps as int64 ns."""
    out = {}
    for name in store.variables():
        table = store.read(name, metadata=True, output="arrow")
        ns = table.column("timestamp").cast(pa.int64())
        out[name] = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", ns)
    return out


def assert_reads_equal(got: dict[str, pa.Table], want: dict[str, pa.Table]) -> int:
    """Same variables, columns and values (by repr: NaN equals NaN, 1 differs from 1.0
    and True, None stays None); returns the rows compared."""
    assert sorted(got) == sorted(want)
    rows = 0
    for name, table in want.items():
        assert got[name].column_names == table.column_names, name
        for column in table.column_names:
            left = [repr(v) for v in got[name].column(column).to_pylist()]
            right = [repr(v) for v in table.column(column).to_pylist()]
            assert left == right, (name, column)
        rows += table.num_rows
    return rows


def data_files(parquet: Path) -> Iterator[Path]:
    """The data files of a local Parquet tree (`kind=*/`: no sidecars, no tombstones)."""
    for path in sorted(parquet.glob("kind=*/variable=*/date=*/*.parquet")):
        if not path.name.startswith("."):
            yield path


def to_format2(root: Path) -> dict[str, int]:
    """Turn a current store with a local Parquet tree and no deletions into what format 2
    wrote: every data file rewritten under its own name without `arrived`, the version
    recorded as 2. Returns each file's row count by its path relative to `parquet/`."""
    assert not (root / "parquet" / "_tombstones").exists(), "format 2 had no tombstones"
    rows = {}
    for path in data_files(root / "parquet"):
        table = pq.read_table(path).drop_columns(["arrived"])
        pq.write_table(table, path, compression="zstd", write_page_checksum=True)
        rows[str(path.relative_to(root / "parquet"))] = table.num_rows
    settings = root / "hfdata.json"
    recorded = json.loads(settings.read_text())
    recorded["format_version"] = 2
    settings.write_text(json.dumps(recorded))
    return rows
