"""`hfdata.parquet.merge`: windowed merging gives exactly what sorting the whole concatenation
gives (order among equal timestamps and deduplication included), for any window size."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hfdata.errors import CorruptFile
from hfdata.parquet.files import sort_stable
from hfdata.parquet.local import file_at
from hfdata.parquet.merge import _windows, merge_sorted_files

SCHEMA = pa.schema(
    [
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("metadata", pa.string()),
        pa.field("arrived", pa.timestamp("ns", tz="UTC"), nullable=False),
    ]
)
_serial = itertools.count()


def _file(
    directory: Path, stamps: list[int], group_rows: int, arrivals: list[int] | None = None
) -> Path:
    """A sorted file of `stamps` (ns) whose values are unique, so order is visible;
    `arrivals` (ns, default all 1) are its rows' `arrived`, in the order of `stamps`."""
    n = len(stamps)
    arrivals = [1] * n if arrivals is None else arrivals
    order = sorted(range(n), key=lambda i: stamps[i])
    start = next(_serial) * 1000
    table = pa.table(
        {
            "timestamp": pa.array(sorted(stamps), pa.timestamp("ns", tz="UTC")),
            "value": np.arange(start, start + n, dtype=float),
            "metadata": [None if i % 3 else f'{{"i":{i}}}' for i in range(n)],
            "arrived": pa.array([arrivals[i] for i in order], pa.timestamp("ns", tz="UTC")),
        },
        schema=SCHEMA,
    )
    path = directory / f"part-{next(_serial):06d}.parquet"
    pq.write_table(table, path, row_group_size=group_rows, write_page_checksum=True)
    return path


def _reference(paths: list[Path], dedupe: str | None) -> pa.Table:
    """Sort the concatenation; per timestamp keep the greatest (`"last"`) or smallest
    (`"first"`) arrival, ties broken by stored order (later for last, earlier for first)."""
    table = sort_stable(pa.concat_tables(pq.read_table(p) for p in paths))
    if dedupe is None:
        return table
    rows = table.to_pylist()
    best: dict[object, int] = {}
    for i, row in enumerate(rows):
        j = best.get(row["timestamp"])
        later, earlier = (
            (j is not None and row["arrived"] >= rows[j]["arrived"]),
            (j is not None and row["arrived"] < rows[j]["arrived"]),
        )
        if j is None or (later if dedupe == "last" else earlier):
            best[row["timestamp"]] = i
    return table.take(pa.array(sorted(best.values())))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(
        st.lists(st.tuples(st.integers(0, 60), st.integers(1, 4)), min_size=1, max_size=40),
        min_size=1,
        max_size=4,
    ),
    group_rows=st.integers(1, 8),
    window_rows=st.integers(1, 60),
    dedupe=st.sampled_from([None, "last", "first"]),
)
def test_windows_merge_like_one_sort(
    files: list[list[tuple[int, int]]], group_rows: int, window_rows: int, dedupe: str | None
) -> None:
    """Rows are (timestamp, arrival); few arrivals, so ties in both are common."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            _file(Path(tmp), [t for t, _ in rows], group_rows, [a for _, a in rows])
            for rows in files
        ]
        parts = [file_at(p) for p in paths]
        pieces = list(merge_sorted_files(parts, dedupe, window_rows=window_rows))  # type: ignore[arg-type]
        got = pa.concat_tables(pieces)
        assert got.equals(_reference(paths, dedupe))
        assert all(p.num_rows for p in pieces)


def test_a_partition_larger_than_a_window_comes_in_several_tables(tmp_path: Path) -> None:
    paths = [_file(tmp_path, list(range(0, 1000, 2)), 50), _file(tmp_path, list(range(500)), 50)]
    pieces = list(merge_sorted_files([file_at(p) for p in paths], window_rows=200))
    assert len(pieces) >= 4 and max(p.num_rows for p in pieces) <= 300
    assert pa.concat_tables(pieces).equals(_reference(paths, None))


def test_empty_files_still_give_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "part-empty.parquet"
    pq.write_table(SCHEMA.empty_table(), path)
    [only] = list(merge_sorted_files([file_at(path)]))
    assert only.num_rows == 0 and only.schema.names == SCHEMA.names


def test_a_damaged_file_is_named(tmp_path: Path) -> None:
    good = _file(tmp_path, list(range(100)), 10)
    bad = _file(tmp_path, list(range(100)), 10)
    data = bytearray(bad.read_bytes())
    data[40:80] = bytes(40)
    bad.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match=bad.name):
        list(merge_sorted_files([file_at(good), file_at(bad)]))


def test_windows_cover_every_timestamp_once() -> None:
    groups = np.array([[0, 9, 10], [5, 20, 10], [10, 19, 10], [30, 30, 1]], np.int64)
    windows = _windows(groups, 15)
    assert windows[0][0] == 0 and windows[-1][1] == 30
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(windows))
    assert _windows(np.empty((0, 3), np.int64), 10) == []
