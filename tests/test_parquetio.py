"""`hfdata.parquet.files`: a file written from pieces is the file written from their
concatenation (full row groups wherever the pieces are cut), and says what it holds."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hfdata.parquet.files import ROW_GROUP_ROWS, write_parquet

T0 = 1_795_000_000_000_000_000


def _table(n: int) -> pa.Table:
    return pa.table(
        {
            "timestamp": pa.array(T0 + np.arange(n, dtype=np.int64), pa.timestamp("ns", tz="UTC")),
            "value": np.arange(n, dtype=float),
            "metadata": pa.array(["{}" if i % 7 == 0 else None for i in range(n)], pa.string()),
        }
    )


def _groups(path: Path) -> list[int]:
    md = pq.read_metadata(path)
    return [md.row_group(i).num_rows for i in range(md.num_row_groups)]


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 3 * ROW_GROUP_ROWS + 100), max_size=5))
def test_pieces_write_the_file_of_their_concatenation(cuts: list[int]) -> None:
    table = _table(3 * ROW_GROUP_ROWS + 100)
    bounds = [0, *sorted(cuts), table.num_rows]
    pieces = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    with tempfile.TemporaryDirectory() as tmp:
        whole, parts = Path(tmp) / "whole.parquet", Path(tmp) / "parts.parquet"
        write_parquet(table, whole)
        written = write_parquet(iter(pieces), parts)
        assert _groups(parts) == _groups(whole) == [ROW_GROUP_ROWS] * 3 + [100]
        assert pq.read_table(parts).equals(pq.read_table(whole))
        assert (written.rows, written.lo, written.hi) == (
            table.num_rows,
            T0,
            T0 + table.num_rows - 1,
        )


def test_empty_pieces_are_skipped_and_an_empty_file_keeps_its_schema(tmp_path: Path) -> None:
    empty = _table(0)
    written = write_parquet(iter([empty, _table(5), empty]), tmp_path / "a.parquet")
    assert (written.rows, written.lo, written.hi) == (5, T0, T0 + 4)
    nothing = write_parquet(iter([empty]), tmp_path / "b.parquet")
    assert (nothing.rows, nothing.lo, nothing.hi) == (0, 0, 0)
    assert pq.read_schema(tmp_path / "b.parquet").names == empty.schema.names
    with pytest.raises(ValueError, match="at least one table"):
        write_parquet(iter([]), tmp_path / "c.parquet")
