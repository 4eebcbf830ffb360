"""Arrival times and tombstones in the log (format 3): what writers write, what readers
make of it (docs/contracts.md, "Log line format")."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from logutil import all_log_lines, segment_files, write_segment

import hfdata
from hfdata.errors import InvalidArgument, InvalidVariableName, StoreClosed, VariableNotFound
from hfdata.log import writer as _writer
from hfdata.log.lineformat import tombstone_line
from hfdata.log.parse import read_segment
from hfdata.read.tail import clear_segments, segment_log

T0 = datetime(2026, 11, 26, 11, 35, 11, 123456, tzinfo=UTC)
NS0 = int(pd.Timestamp(T0).value)


def ns(column: pa.ChunkedArray) -> list[int]:
    return column.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]


def series(n: int, first: datetime = T0) -> pd.Series:
    return pd.Series(range(n), index=pd.date_range(first, periods=n, freq="1s"), dtype=float)


@pytest.mark.parametrize("durability", ["flush", "fsync", "buffered"])
def test_single_appends_carry_their_call_time(tmp_path: Path, durability: str) -> None:
    """Fast path, checked path (a string timestamp, an int value, metadata), every mode:
    the arrival lies inside the call, one clock read per call."""
    calls = [
        (T0, 1.5, None),
        ("2026-11-26T11:35:12Z", 2, None),
        (T0 + timedelta(seconds=2), 3.5, {"a": 1}),
        (T0 + timedelta(seconds=3), float("nan"), None),
    ]
    bounds = []
    with hfdata.open_store(tmp_path, durability=durability) as store:  # type: ignore[arg-type]
        for ts, value, meta in calls:
            before = time.time_ns()
            store.append("v", ts, value, meta)
            bounds.append((before, time.time_ns()))
    lines = all_log_lines(tmp_path, "v")
    assert len(lines) == len(calls)
    for line, (lo, hi) in zip(lines, bounds, strict=True):
        assert next(iter(line)) == "arrived"  # the first key: readers find it at offset 0
        assert lo <= line["arrived"] <= hi
    [segment] = segment_files(tmp_path, "v")
    parsed = read_segment(segment, "float")
    assert ns(parsed.table.column("arrived")) == [line["arrived"] for line in lines]


def test_append_many_writes_one_marker_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run gets a marker holding the call's one arrival; the runs' lines have none."""
    monkeypatch.setattr(_writer, "_BATCH_ROWS", 3)
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0 - timedelta(hours=1), 0.0)
        before = time.time_ns()
        assert store.append_many("v", series(7)) == 7
        after = time.time_ns()
    lines = all_log_lines(tmp_path, "v")
    assert [sorted(x) for x in lines] == [
        ["arrived", "timestamp", "value"],
        *([["arrived"]] + [["timestamp", "value"]] * 3) * 2,
        ["arrived"],
        ["timestamp", "value"],
    ]
    markers = {x["arrived"] for x in lines[1:] if len(x) == 1}
    [arrived] = markers
    assert before <= arrived <= after
    [segment] = segment_files(tmp_path, "v")
    parsed = read_segment(segment, "float")
    assert ns(parsed.table.column("arrived")) == [lines[0]["arrived"]] + [arrived] * 7
    assert parsed.bad == [] and parsed.marker == arrived


def test_delete_writes_a_tombstone_line(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        before = time.time_ns()
        store.delete("v", "2026-11-26T11:00Z", T0 + timedelta(hours=1))
        after = time.time_ns()
    _, tombstone = all_log_lines(tmp_path, "v")
    assert list(tombstone) == ["arrived", "delete"]
    assert before <= tombstone["arrived"] <= after
    assert tombstone["delete"] == {
        "start": "2026-11-26T11:00:00Z",
        "end": "2026-11-26T12:35:11.123456Z",
    }
    [segment] = segment_files(tmp_path, "v")
    parsed = read_segment(segment, "float")
    assert parsed.table.num_rows == 1 and parsed.bad == []
    start = pd.Timestamp("2026-11-26T11:00Z").value
    assert parsed.tombstones.to_pydict() == {
        "start": [pd.Timestamp(start, tz="UTC")],
        "end": [pd.Timestamp(T0 + timedelta(hours=1))],
        "recorded": [pd.Timestamp(tombstone["arrived"], tz="UTC")],
    }


def test_fsync_mode_fsyncs_a_tombstone_before_returning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(tmp_path, durability="fsync") as store:
        store.append("v", T0, 1.0)
        calls: list[int] = []
        real = os.fsync

        def spy(fd: int) -> None:
            calls.append(fd)
            real(fd)

        monkeypatch.setattr("hfdata.log.segment.os.fsync", spy)
        store.delete("v", T0, T0 + timedelta(seconds=1))
        assert len(calls) == 1


def test_buffered_tombstone_is_read_at_once(tmp_path: Path) -> None:
    """Buffered mode keeps the line in memory like a point; a read of the same store
    flushes it first, so its tail sees the tombstone."""
    with hfdata.open_store(tmp_path, durability="buffered") as store:
        store.append("v", T0, 1.0)
        store.delete("v", T0, T0 + timedelta(seconds=1))
        assert all_log_lines(tmp_path, "v") == []  # still in the buffer
        store.read("v")  # read-your-writes writes the buffer out
        [segment] = segment_files(tmp_path, "v")
        clear_segments()
        log = segment_log(segment, "float", locked=False)
        assert log.table.num_rows == 1 and log.tombstones.num_rows == 1


def test_delete_checks_its_arguments(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        with pytest.raises(InvalidArgument, match="before end") as err:
            store.delete("v", T0, T0)
        assert err.value.argument == "start"
        with pytest.raises(InvalidArgument, match="start and end") as err:
            store.delete("v", T0, None)
        assert err.value.argument == "end"
        with pytest.raises(VariableNotFound, match="no variable 'w'"):
            store.delete("w", T0, T0 + timedelta(seconds=1))
        with pytest.raises(InvalidVariableName):
            store.delete("..", T0, T0 + timedelta(seconds=1))
        assert not (tmp_path / "log" / "w").exists()  # a refused delete creates nothing
        assert len(all_log_lines(tmp_path, "v")) == 1
    with pytest.raises(StoreClosed):
        store.delete("v", T0, T0 + timedelta(seconds=1))


def test_delete_of_a_variable_held_only_in_parquet(tmp_path: Path) -> None:
    """A variable whose log directory is gone but whose Parquet holds points exists."""
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
    with hfdata.open_store(tmp_path) as store:
        store.compact()
    shutil.rmtree(tmp_path / "log" / "v")
    assert list((tmp_path / "parquet").rglob("*.parquet"))
    with hfdata.open_store(tmp_path) as store:
        store.delete("v", T0, T0 + timedelta(seconds=1))
    assert [sorted(x) for x in all_log_lines(tmp_path, "v")] == [["arrived", "delete"]]


def test_tail_cache_carries_the_last_marker_into_later_bytes(tmp_path: Path) -> None:
    """A segment read, grown, and read again: the new lines after an earlier marker take
    the marker's arrival, not the file's mtime; lines before any marker take the mtime."""
    legacy = b'{"timestamp":"2026-11-26T11:35:11Z","value":1.0}\n'
    marker = b'{"arrived":1800000000000000000}\n'
    batch = b'{"timestamp":"2026-11-26T11:35:12Z","value":2.0}\n'
    tomb = tombstone_line(1_800_000_000_000_000_001, "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z")
    path = write_segment(tmp_path, "v", legacy + marker + batch, name="w0-000001.jsonl.active")
    os.utime(path, ns=(NS0, NS0))
    clear_segments()
    first = segment_log(path, "float", locked=False)
    assert ns(first.table.column("arrived")) == [NS0, 1_800_000_000_000_000_000]
    with open(path, "ab") as fh:
        fh.write(batch + tomb)
    os.utime(path, ns=(NS0 + 5, NS0 + 5))
    grown = segment_log(path, "float", locked=False)
    assert ns(grown.table.column("arrived")) == [NS0] + [1_800_000_000_000_000_000] * 2
    assert ns(grown.tombstones.column("recorded")) == [1_800_000_000_000_000_001]
    clear_segments()
    whole = segment_log(path, "float", locked=False)  # parsed in one go: the same
    assert ns(whole.table.column("arrived")) == [NS0 + 5] + [1_800_000_000_000_000_000] * 2
    assert whole.tombstones.equals(grown.tombstones)
