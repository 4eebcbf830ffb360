"""Compaction: layout, protocol, recovery, quarantine, optimize, retention, drop."""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from logutil import line, write_segment

import hfdata
from hfdata.compact import journal as journal_mod
from hfdata.compact import recovery as recovery_mod
from hfdata.compact import retention as retention_mod
from hfdata.compact.retention import PruneReport
from hfdata.errors import CompactionFailed, CompactionInProgress, CorruptFile, VariableNotFound
from hfdata.locks import COMPACT_LOCK, flock
from hfdata.parquet import local as local_mod

T0 = pd.Timestamp("2026-11-26T22:00:00Z")


def frame(start: pd.Timestamp, n: int, first_value: int = 0, freq: str = "7s") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    return pd.DataFrame({"value": np.arange(first_value, first_value + n, dtype=np.float64)}, idx)


def dataset(root: Path) -> pa.Table:
    return ds.dataset(root / "parquet", partitioning="hive").to_table()


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".part")]


def journals(root: Path) -> list[Path]:
    directory = root / "_journal"
    return list(directory.iterdir()) if directory.is_dir() else []


def assert_clean(root: Path) -> None:
    assert temp_files(root) == []
    assert journals(root) == []


pytestmark = pytest.mark.store_options(max_segment_bytes=4000)  # for the `store` fixture


# -- layout and schema ----------------------------------------------------------------------
def test_layout_schema_and_values_read_back_by_pyarrow_and_polars(store: hfdata.Store) -> None:
    store.append_many("temp/room a", frame(T0, 3000))
    for i in range(5):
        store.append("temp/room a", T0 + pd.Timedelta(hours=9, seconds=i), 0.5, {"z": 1, "a": i})
    store.append_many("count", frame(T0, 10).astype({"value": "int64"}), kind="int")
    report = store.compact(include_active=True)
    root = store.root
    assert report.rows == 3015 and report.quarantined == 0
    assert report.partitions == 3  # temp: 11-26 and 11-27; count: 11-26
    assert report.files == 3 and report.segments > 2
    files = sorted((root / "parquet").glob("kind=*/**/*.parquet"))  # not _stats/, _rollups/
    # one dataset per kind: a float and an int variable do not share a value type
    table = ds.dataset(
        root / "parquet/kind=float/variable=temp%2Froom%20a", partitioning="hive"
    ).to_table()
    assert table.num_rows == 3005
    # one kind's folder is one dataset: its files share one schema
    floats = ds.dataset(root / "parquet/kind=float", partitioning="hive")
    assert floats.count_rows() == 3005
    assert ds.dataset(root / "parquet/kind=int", partitioning="hive").count_rows() == 10
    for path in files:
        schema = pq.read_schema(path)
        # hive columns only in the path; `arrived` since format 3
        assert schema.names == ["timestamp", "value", "metadata", "arrived"]
        assert schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
        meta = pq.ParquetFile(path).metadata
        column = meta.row_group(0).column(0)
        assert column.compression == "ZSTD" and column.statistics.has_min_max
        assert "RLE_DICTIONARY" in meta.row_group(0).column(2).encodings
        ts = pq.read_table(path).column("timestamp").cast(pa.int64()).to_numpy()
        assert (np.diff(ts) >= 0).all()
    temp = table.sort_by("timestamp")
    assert temp.column("value").to_pylist()[:3000] == list(np.arange(3000.0))
    assert temp.column("metadata").to_pylist()[-1] == '{"a":4,"z":1}'
    count_file = next(root.glob("parquet/kind=int/variable=count/*/*.parquet"))
    assert pq.read_schema(count_file).field("value").type == pa.int64()
    for name, kind, rows in (("temp%2Froom%20a", "float", 3005), ("count", "int", 10)):
        pattern = root / "parquet" / f"kind={kind}" / f"variable={name}" / "**" / "*.parquet"
        lazy = pl.scan_parquet(pattern, hive_partitioning=True)
        counts = dict(lazy.group_by("variable").len().collect().iter_rows())
        assert counts == {"temp/room a" if "temp" in name else "count": rows}


def test_hour_partitions(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "h", partition="hour") as s:
        s.append_many("x", frame(T0, 1000))  # 7000 s: two hours
        s.compact(include_active=True)
    keys = sorted(p.name for p in (tmp_path / "h/parquet/kind=float/variable=x").iterdir())
    assert keys == ["date=2026-11-26T22", "date=2026-11-26T23"]


def test_rerun_is_idempotent(store: hfdata.Store) -> None:
    store.append_many("x", frame(T0, 500))
    first = store.compact(include_active=True)
    files = sorted((store.root / "parquet").rglob("*.parquet"))
    again = store.compact()
    assert first.rows == 500 and again.rows == 0 and again.segments == 0
    assert sorted((store.root / "parquet").rglob("*.parquet")) == files
    assert dataset(store.root).num_rows == 500
    assert list((store.root / "log/x").glob("*.jsonl")) == []


def test_equal_timestamps_keep_arrival_then_segment_order(tmp_path: Path) -> None:
    root = tmp_path / "eq"
    with hfdata.open_store(root) as first, hfdata.open_store(root) as second:
        for i in range(3):
            first.append("x", T0, float(i))
        second.append("x", T0, 10.0)
        first.append("x", T0 - pd.Timedelta(seconds=1), -1.0)
        second.append("x", T0, 11.0)
        first.rotate()
        second.rotate()
        first.compact()
        first_wins = first.writer_id < second.writer_id  # segment names sort by writer id
    values = dataset(root).column("value").to_pylist()
    ties = [0.0, 1.0, 2.0, 10.0, 11.0] if first_wins else [10.0, 11.0, 0.0, 1.0, 2.0]
    assert values == [-1.0, *ties]


# -- late data and optimize -------------------------------------------------------------------
def test_late_data_is_a_new_file_and_optimize_merges(store: hfdata.Store) -> None:
    store.append_many("x", frame(T0, 100, 0))
    store.compact(include_active=True)
    store.append_many("x", frame(T0 - pd.Timedelta(minutes=30), 50, 100, freq="1s"))
    store.compact(include_active=True)
    part = store.root / "parquet/kind=float/variable=x/date=2026-11-26"
    assert len(list(part.glob("*.parquet"))) == 2
    report = store.optimize()
    files = list(part.glob("*.parquet"))
    assert len(files) == 1 and report.files == 1 and report.rows == 150
    merged = pq.read_table(files[0])
    assert merged.num_rows == 150
    assert (np.diff(merged.column("timestamp").cast(pa.int64()).to_numpy()) >= 0).all()
    assert_clean(store.root)


@pytest.mark.parametrize(("dedupe", "expected"), [(None, 6), ("last", 3), ("first", 3)])
def test_optimize_dedupe(store: hfdata.Store, dedupe: str | None, expected: int) -> None:
    stamps = [T0, T0 + pd.Timedelta(seconds=1), T0 + pd.Timedelta(seconds=2)]
    for ts in stamps:
        store.append("x", ts, 1.0)
    store.compact(include_active=True)
    for ts in stamps:
        store.append("x", ts, 2.0)
    store.compact(include_active=True)
    store.optimize(dedupe=dedupe)  # type: ignore[arg-type]
    values = dataset(store.root).column("value").to_pylist()
    assert len(values) == expected
    if dedupe == "last":
        assert values == [2.0, 2.0, 2.0]
    elif dedupe == "first":
        assert values == [1.0, 1.0, 1.0]
    else:
        assert values == [1.0, 2.0] * 3


def _two_files(store: hfdata.Store) -> Path:
    """A partition holding two Parquet files (150 points); its directory."""
    store.append_many("x", frame(T0, 100, 0))
    store.compact(include_active=True)
    store.append_many("x", frame(T0 - pd.Timedelta(minutes=30), 50, 100, freq="1s"))
    store.compact(include_active=True)
    return store.root / "parquet/kind=float/variable=x/date=2026-11-26"


def test_optimize_that_cannot_write_fails_typed_and_keeps_the_files(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = _two_files(store)
    before = sorted(part.glob("*.parquet"))
    expected = store.read("x")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(local_mod, "write_parquet", disk_full)
    with pytest.raises(CompactionFailed, match=r"optimizing 'x' \(date=2026-11-26\)") as failed:
        store.optimize()
    assert failed.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert sorted(part.glob("*.parquet")) == before
    pd.testing.assert_frame_equal(store.read("x"), expected)
    assert_clean(store.root)


def test_optimize_of_a_damaged_file_is_corrupt_file_and_merges_nothing(
    store: hfdata.Store,
) -> None:
    """A page that fails its checksum is named, not merged into the new file (which
    would replace the damaged one and lose the evidence)."""
    part = _two_files(store)
    before = sorted(part.glob("*.parquet"))
    damaged = bytearray(before[0].read_bytes())
    damaged[100:200] = bytes(100)  # inside the first data page
    before[0].write_bytes(bytes(damaged))
    with pytest.raises(CorruptFile, match=before[0].name):
        store.optimize()
    assert sorted(part.glob("*.parquet")) == before
    assert_clean(store.root)


# -- quarantine --------------------------------------------------------------------------------
def test_each_kind_of_bad_line_is_quarantined(tmp_path: Path) -> None:
    root = tmp_path / "q"
    hfdata.open_store(root).close()
    good = line("2026-11-26T11:35:11Z", 1.5)
    bad_lines = {
        b"{not json": "bad JSON",
        line("2026-11-26T11:35:11Z", "3.5")[:-1]: "float variable",
        line("2026-11-26T11:35:11Z", True)[:-1]: "boolean",
        line("2026-02-30T11:35:11Z", 1.0)[:-1]: "not a real date",
        line("yesterday", 1.0)[:-1]: "cannot parse timestamp",
        b'{"timestamp":"2026-11-26T11:35:11Z"}': "no 'value'",
        b"[1,2]": "not a JSON object",
    }
    data = good + b"".join(b + b"\n" for b in bad_lines) + good + b'{"timestamp":"20'
    segment = write_segment(root, "v", data)
    with hfdata.open_store(root) as s:
        report = s.compact()
    assert report.rows == 2 and report.quarantined == len(bad_lines) + 1
    records = [
        orjson.loads(x)
        for x in (root / "_quarantine/v/w0-000001.bad.jsonl").read_bytes().splitlines()
    ]
    assert len(records) == len(bad_lines) + 1
    for record, (raw, reason) in zip(records, bad_lines.items(), strict=False):
        assert record["file"] == "log/v/w0-000001.jsonl"
        assert data[record["offset"] :].startswith(raw)
        assert reason in record["reason"]
        assert record["line"] == raw.decode()
    assert "torn" in records[-1]["reason"] and records[-1]["offset"] == len(data) - 16
    assert not segment.exists() and (root / "log/v/compacted/w0-000001.jsonl").exists()
    assert dataset(root).num_rows == 2


def test_orphaned_active_segment_is_recovered(tmp_path: Path) -> None:
    root = tmp_path / "o"
    with hfdata.open_store(root) as live:
        live.append("v", T0, 1.0)  # a live writer: its .active segment must be left alone
        lines = b"".join(line(f"2026-11-26T11:35:1{i}Z", float(i)) for i in range(3))
        write_segment(
            root, "v", lines + b'{"timestamp":"2026-11-26T1', name="dead-000001.jsonl.active"
        )
        report = live.compact()
        assert report.rows == 3 and report.quarantined == 1
        torn = orjson.loads((root / "_quarantine/v/dead-000001.torn.jsonl").read_bytes())
        assert torn["offset"] == len(lines) and torn["line"] == '{"timestamp":"2026-11-26T1'
        assert (root / "log/v/compacted/dead-000001.jsonl").read_bytes() == lines
        assert len(list((root / "log/v").glob("*.active"))) == 1  # the live one
        assert live.compact(include_active=True).rows == 1
    assert dataset(root).num_rows == 4


def test_failure_while_closing_a_dead_writers_segment_is_typed_then_redone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "o"
    lines = b"".join(line(f"2026-11-26T11:35:1{i}Z", float(i)) for i in range(3))
    with hfdata.open_store(root) as store:
        write_segment(
            root, "v", lines + b'{"timestamp":"2026-11-26T1', name="dead-000001.jsonl.active"
        )
        monkeypatch.setattr("hfdata.compact.recovery.os.ftruncate", _fail_on_call(1, os.ftruncate))
        with pytest.raises(CompactionFailed, match="compacting 'v' failed: injected failure"):
            store.compact()
        monkeypatch.undo()
        report = store.compact()
        assert report.rows == 3 and report.quarantined == 1
    assert dataset(root).num_rows == 3
    assert (root / "log/v/compacted/dead-000001.jsonl").read_bytes() == lines
    quarantined = (root / "_quarantine/v/dead-000001.torn.jsonl").read_bytes()
    assert quarantined.count(b"\n") == 1  # written again, not twice


# -- locks and concurrency -----------------------------------------------------------------------
def test_second_compactor_raises_or_waits(store: hfdata.Store) -> None:
    store.append_many("x", frame(T0, 300))
    store.rotate()
    with flock(store.root / COMPACT_LOCK) as held:
        assert held
        with pytest.raises(CompactionInProgress, match="wait=True"):
            store.compact(wait=False)
    reports: list[hfdata.CompactionReport] = []
    threads = [threading.Thread(target=lambda: reports.append(store.compact())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.rows for r in reports) == [0, 300]
    assert dataset(store.root).num_rows == 300


# -- retention and drop --------------------------------------------------------------------------
def test_log_retention(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "r0", log_retention=timedelta(0)) as s:
        s.append_many("x", frame(T0, 10))
        s.compact(include_active=True)
        assert list((s.root / "log/x/compacted").iterdir()) == []
    with hfdata.open_store(tmp_path / "r7") as s:
        s.append_many("x", frame(T0, 10))
        s.compact(include_active=True)
        old = next((s.root / "log/x/compacted").iterdir())
        os.utime(old, (0, 0))
        s.append_many("x", frame(T0, 10))
        s.compact(include_active=True)
        remaining = list((s.root / "log/x/compacted").iterdir())
        assert len(remaining) == 1 and remaining[0] != old


def test_drop(store: hfdata.Store) -> None:
    store.append_many("x", frame(T0, 10))
    store.append_many("y", frame(T0, 10))
    store.compact(include_active=True)
    store.drop("x")
    assert not (store.root / "parquet/kind=float/variable=x").exists()
    assert not (store.root / "log/x").exists()
    assert set(dataset(store.root).column("variable").to_pylist()) == {"y"}
    with pytest.raises(VariableNotFound):
        store.drop("x")


def test_an_interrupted_drop_is_never_a_variable_and_is_swept(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drop killed after its renames leaves trash folders: no reader lists them as a
    variable, and the next compaction deletes them."""
    store.append_many("x", frame(T0, 10))
    store.append_many("y", frame(T0, 10))
    store.compact(include_active=True)
    monkeypatch.setattr("hfdata.compact.drop.shutil.rmtree", lambda *a, **k: None)  # killed here
    store.drop("x")
    monkeypatch.undo()
    trash = [p for p in (store.root / "log").iterdir() if p.name not in ("y",)]
    assert len(trash) == 1 and trash[0].name.startswith(".dropped!")
    assert store.variables() == ["y"]
    store.compact()
    assert [p.name for p in (store.root / "log").iterdir()] == ["y"]
    assert not [p for p in (store.root / "parquet").iterdir() if p.name.startswith(".")]


def test_a_variable_named_like_trash_is_kept(tmp_path: Path) -> None:
    """Names such as `.dropped-x` are legal variables; the trash sweep never deletes them."""
    with hfdata.open_store(tmp_path / "s") as s:
        for name in (".dropped-x", ".dropped!x"):
            s.append_many(name, frame(T0, 10))
        s.compact(include_active=True)
    with hfdata.open_store(tmp_path / "s") as s:  # recovery sweeps trash on open
        s.compact()
        assert s.variables() == [".dropped!x", ".dropped-x"]
        assert len(s.read(".dropped-x")) == len(s.read(".dropped!x")) == 10


def test_compacting_or_optimizing_an_unknown_variable_names_close_matches(
    store: hfdata.Store,
) -> None:
    store.append_many("sensor_a", frame(T0, 10))
    for call in (store.compact, store.optimize):
        with pytest.raises(VariableNotFound, match="did you mean 'sensor_a'"):
            call(variables=["sensor_b"])
    assert store.compact(variables=["sensor_a"], include_active=True).rows == 10


# -- failures at each protocol step ------------------------------------------------------------
def _fail_on_call(n: int, real: object) -> object:
    calls = [0]

    def wrapper(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] >= n:
            raise OSError(5, "injected failure")
        return real(*args, **kwargs)  # type: ignore[operator]

    return wrapper


@pytest.mark.parametrize(
    ("module", "name", "nth"),
    [
        (journal_mod.Journal, "save", 1),  # step 4: the journal
        (local_mod, "write_parquet", 2),  # step 5: second output
        (local_mod, "rename_within", 1),  # step 6: first output rename
        (journal_mod, "rename_within", 1),  # step 6: a segment move (the first)
        (local_mod, "fsync_dir", 2),  # step 6: directory fsync after the renames
    ],
)
def test_failure_at_each_step_then_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: object, name: str, nth: int
) -> None:
    root = tmp_path / "f"
    with hfdata.open_store(root, max_segment_bytes=2000) as s:
        s.append_many("x", frame(T0 + pd.Timedelta(minutes=110), 200))  # two partitions
        s.rotate()
        monkeypatch.setattr(module, name, _fail_on_call(nth, getattr(module, name)))
        with pytest.raises(CompactionFailed, match="injected") as failed:
            s.compact()
        assert failed.value.errno == 5 and isinstance(failed.value.__cause__, OSError)
        assert str(failed.value).startswith("[Errno 5] compacting 'x' failed: ")
        assert "No point was lost or doubled" in str(failed.value)
        monkeypatch.undo()
    with hfdata.open_store(root) as s:  # recovery at open, then the rest
        assert journals(root) == []
        s.compact()
    assert dataset(root).num_rows == 200
    assert sorted(dataset(root).column("value").to_pylist()) == list(np.arange(200.0))
    assert_clean(root)
    assert list((root / "log/x").glob("*.jsonl")) == []


# -- SIGKILL at random points ---------------------------------------------------------------------
_KILLER = """
import os, signal, sys
kill_at = int(sys.argv[2])
calls = [0]
def hook(fn):
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapper
import hfdata
import hfdata.compact.compaction
hfdata.compact.compaction.BATCH_BYTES = 3000
for name in ("rename", "replace", "fsync", "unlink", "ftruncate"):
    setattr(os, name, hook(getattr(os, name)))
hfdata.open_store(sys.argv[1]).compact()
"""


def _kill_trials(tmp_path: Path, trials: int, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "k"
    expected = 0
    killed = 0
    for trial in range(trials):
        with hfdata.open_store(root, max_segment_bytes=1500) as s:
            for var in ("a", "b/c"):
                s.append_many(var, frame(T0 + pd.Timedelta(hours=trial), 40, expected))
                expected += 40
        good = line("2026-11-26T11:35:11Z", float(expected))
        write_segment(root, "a", good + b"{bad\n", name=f"x{trial}-000001.jsonl")
        expected += 1
        kill_at = rng.randint(1, 40)
        proc = subprocess.run(
            [sys.executable, "-c", _KILLER, str(root), str(kill_at)],
            capture_output=True,
            check=False,
        )
        assert proc.returncode in (0, -9), proc.stderr.decode()
        killed += proc.returncode == -9
        with hfdata.open_store(root) as s:
            s.compact()
        table = dataset(root)
        assert table.num_rows == expected
        assert sorted(table.column("value").to_pylist()) == list(np.arange(float(expected)))
        assert_clean(root)
        assert list(root.glob("log/*/*.jsonl")) == []
    assert killed > 0


def test_sigkill_during_compaction_then_recovery(tmp_path: Path) -> None:
    _kill_trials(tmp_path, 3, seed=7)


@pytest.mark.slow
def test_sigkill_torture(tmp_path: Path) -> None:
    _kill_trials(tmp_path, 25, seed=11)


# -- progress -----------------------------------------------------------------------------------
@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_is_forced_on_or_off(
    store: hfdata.Store, capsys: pytest.CaptureFixture[str], progress: bool
) -> None:
    store.append_many("x", frame(T0, 50))
    store.compact(include_active=True, progress=progress)
    store.append_many("x", frame(T0, 50))
    store.compact(include_active=True)  # default: no terminal under pytest, so no bar
    err = capsys.readouterr().err
    assert ("compacting" in err) is progress


# -- log bytes and prune_log (issue 14: 355 MB of log reported as 5.9 MB) ------------------------
def log_segment_bytes(root: Path, variable: str) -> tuple[int, int]:
    """(every log segment's bytes, the compacted ones'), straight from the directory."""
    directory = root / "log" / variable
    every = sum(p.stat().st_size for p in directory.rglob("*.jsonl*"))
    compacted = sum(p.stat().st_size for p in (directory / "compacted").glob("*.jsonl"))
    return every, compacted


def test_info_reports_log_bytes_apart_from_parquet(store: hfdata.Store) -> None:
    store.append_many("x", frame(T0, 2000))
    store.compact(include_active=True)
    store.append_many("x", frame(T0 + pd.Timedelta(days=1), 10))  # a pending tail
    store.flush()
    info = store.info("x")
    every, compacted = log_segment_bytes(store.root, "x")
    parquet = sum(p.stat().st_size for p in (store.root / "parquet").glob("kind=*/**/*.parquet"))
    assert compacted > 0 and every > compacted
    assert (info.log_bytes, info.compacted_log_bytes, info.compacted_segments) == (
        every,
        compacted,
        1,
    )
    assert info.parquet_bytes == parquet
    assert info.bytes_on_disk == parquet + every  # the log was left out before


def test_prune_log_removes_compacted_segments_now(store: hfdata.Store) -> None:
    store.append_many("x", frame(T0, 500))
    store.append_many("y", frame(T0, 500))
    store.compact(include_active=True)
    store.append_many("x", frame(T0 + pd.Timedelta(days=1), 10))
    store.flush()
    pending = sorted(p.name for p in (store.root / "log/x").glob("*.jsonl*"))
    _, x_compacted = log_segment_bytes(store.root, "x")
    _, y_compacted = log_segment_bytes(store.root, "y")
    report = store.prune_log()
    assert (report.files, report.bytes) == (2, x_compacted + y_compacted)
    for name in ("x", "y"):
        assert list((store.root / "log" / name / "compacted").iterdir()) == []
        assert store.info(name).compacted_log_bytes == 0
    assert sorted(p.name for p in (store.root / "log/x").glob("*.jsonl*")) == pending
    assert len(store.read("x")) == 510 and len(store.read("y")) == 500
    assert store.prune_log() == PruneReport(0, 0)


def test_prune_log_older_than_and_variables(store: hfdata.Store) -> None:
    for name in ("x", "y"):
        store.append_many(name, frame(T0, 100))
    store.compact(include_active=True)
    store.append_many("x", frame(T0, 100, first_value=100))
    store.compact(include_active=True)
    old, new = sorted((store.root / "log/x/compacted").iterdir())
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    size = old.stat().st_size
    report = store.prune_log(timedelta(days=1), variables=["x"])
    assert report == PruneReport(files=1, bytes=size)
    assert list((store.root / "log/x/compacted").iterdir()) == [new]
    assert len(list((store.root / "log/y/compacted").iterdir())) == 1  # not named: kept
    with pytest.raises(VariableNotFound):
        store.prune_log(variables=["nope"])
    with pytest.raises(ValueError, match="older_than"):
        store.prune_log(timedelta(seconds=-1))


def test_prune_log_takes_the_compaction_lock(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pruning deletes under `.compact.lock`, waiting for it, as log retention does inside a
    compaction: it never runs while a batch moves segments into compacted/, and it rolls a
    leftover journal forward or back first."""
    store.append_many("x", frame(T0, 10))
    store.compact(include_active=True)
    seen: list[tuple[Path, bool]] = []
    real = recovery_mod.compact_lock

    def spy(root: Path, wait: bool, remote: object = None) -> object:
        seen.append((root, wait))
        return real(root, wait, remote)  # type: ignore[arg-type]

    monkeypatch.setattr(retention_mod, "compact_lock", spy)
    assert store.prune_log().files == 1
    assert seen == [(store.root, True)]
