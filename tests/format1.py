"""The format-1 stores of `data/format1.tar.gz` (written by hfdata at b8f0e16; see
`data/make_format1.py`), and how their reads are compared after an upgrade. Shared by
`test_upgrade.py` and `reliability/test_upgrade_killed.py`."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

import hfdata

__all__ = ["DATA", "assert_reads_equal", "expected_reads", "extract", "point_shared_roots", "reads"]

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
