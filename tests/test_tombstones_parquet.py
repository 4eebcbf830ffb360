"""Issue 20 on the Parquet side: `arrived` carried exactly by compaction, tombstones
published once with their batch (local and object-store roots), `drop` and `optimize`
handling them, `history_retention` removing deleted versions (against a pandas
reference), `dedupe` judged by arrival, and `verify`'s checks."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parquetside import Row, log_state, parquet_rows, parquet_tombstones

import hfdata
from hfdata.compact import optimize as optimize_module
from hfdata.parquet.objectstore import ParquetRoot
from hfdata.parquet.tombstones import TOMBSTONE_SCHEMA, load_tombstones, read_tombstones
from hfdata.tools.verify import verify

T0 = pd.Timestamp("2026-11-26T10:00:00Z")
NS0 = T0.value
SEC = 1_000_000_000


def _at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def _frame(seconds: list[int], values: list[float]) -> pd.DataFrame:
    index = pd.DatetimeIndex([_at(s) for s in seconds], name="timestamp")
    return pd.DataFrame({"value": values}, index=index)


def _errors(root: Path) -> list[str]:
    return [f.message for f in verify(root) if f.level == "error"]


# -- arrived ---------------------------------------------------------------------------------
def test_compaction_carries_each_append_calls_arrival(tmp_path: Path) -> None:
    """Each row's `arrived` in Parquet is its append call's: between the call's start and
    return, one per call, and exactly what the log said."""
    root = tmp_path / "s"
    calls: dict[int, tuple[int, int]] = {}  # call -> (started, returned)
    with hfdata.open_store(root) as store:
        for call in range(12):
            values = [call * 1000.0 + i for i in range(1 + call % 4)]
            started = time.time_ns()
            if call % 3 == 0:
                store.append("v", _at(call), values[0])
                values = values[:1]
            else:
                store.append_many("v", _frame([call * 10 + i for i in range(len(values))], values))
            calls[call] = (started, time.time_ns())
            if call in (4, 9):
                store.compact(include_active=True)
        store.compact(include_active=True)
    rows = parquet_rows(root)
    assert sum(rows.values()) == sum(1 + c % 4 if c % 3 else 1 for c in range(12))
    arrivals: dict[int, set[int]] = {}
    for (_, _, value, arrived), _n in rows.items():
        call = int(value) // 1000  # type: ignore[call-overload]
        started, returned = calls[call]
        assert started <= arrived <= returned
        arrivals.setdefault(call, set()).add(arrived)
    assert all(len(a) == 1 for a in arrivals.values())  # one arrival per call
    assert len({a for s in arrivals.values() for a in s}) == 12
    logged, _ = log_state(root, compacted=True)
    assert rows == logged  # carried exactly
    assert _errors(root) == []


# -- tombstones through compaction -----------------------------------------------------------
def _with_deletions(root: Path, **options: object) -> tuple[list[tuple[int, int]], list[str]]:
    """Points, two deletions, compaction; a third deletion, compaction. Returns the
    deletions' (started, returned) and the names of each compaction's data files."""
    spans = []
    with hfdata.open_store(root, **options) as store:  # type: ignore[arg-type]
        store.append_many("v", _frame(list(range(0, 100, 5)), [float(i) for i in range(20)]))
        for start, end in ((10, 20), (40, 41)):
            started = time.time_ns()
            store.delete("v", _at(start), _at(end))
            spans.append((started, time.time_ns()))
        store.append("v", _at(12), 99.0)  # after the deletion: visible
        store.compact(include_active=True)
        started = time.time_ns()
        store.delete("v", _at(50), _at(60))
        spans.append((started, time.time_ns()))
        store.compact(include_active=True)
    return spans, []


def test_tombstones_published_once_with_their_batch(tmp_path: Path) -> None:
    root = tmp_path / "s"
    spans, _ = _with_deletions(root)
    tombs = parquet_tombstones(root)
    assert sorted((s - NS0, e - NS0) for _, s, e, _ in tombs) == [
        (10 * SEC, 20 * SEC),
        (40 * SEC, 41 * SEC),
        (50 * SEC, 60 * SEC),
    ]
    assert set(tombs.values()) == {1}
    recorded = sorted(r for *_, r in tombs)
    for (started, returned), r in zip(spans, recorded, strict=True):
        assert started <= r <= returned
    # exactly the tombstones of the compacted segments: none lost, none doubled
    _, logged = log_state(root, compacted=True)
    assert tombs == logged
    # each tombstone file belongs to a batch that also wrote the variable's data
    files = sorted((root / "parquet" / "_tombstones").rglob("*.parquet"))
    assert len(files) == 2
    data = {p.name for p in (root / "parquet").glob("kind=*/*/*/*.parquet")}
    assert files[0].name in data  # the first batch had points and tombstones
    # read back through the root, as readers do
    with hfdata.open_store(root) as store:
        table = load_tombstones(root, store.parts, "v")
        assert table.schema.equals(TOMBSTONE_SCHEMA)
        assert table.num_rows == 3
        before = (parquet_rows(root), parquet_tombstones(root))
        store.compact()  # nothing left to compact: nothing changes
        assert (parquet_rows(root), parquet_tombstones(root)) == before
    assert _errors(root) == []


def test_a_batch_of_tombstones_only_publishes_no_data_file(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with hfdata.open_store(root) as store:
        store.append("v", _at(0), 1.0)
        store.compact(include_active=True)
        data = sorted((root / "parquet").glob("kind=*/*/*/*.parquet"))
        store.delete("v", _at(-5), _at(5))
        report = store.compact(include_active=True)
        assert report.rows == 0 and report.segments == 1
    assert sorted((root / "parquet").glob("kind=*/*/*/*.parquet")) == data
    assert sum(parquet_tombstones(root).values()) == 1
    assert _errors(root) == []


def test_drop_removes_the_tombstones(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _with_deletions(root)
    with hfdata.open_store(root) as store:
        store.drop("v")
        assert store.parts.tombstones("v") == []
    assert not (root / "parquet" / "_tombstones" / "variable=v").exists()
    assert not any((root / "parquet" / "_tombstones").iterdir())


def test_optimize_merges_a_variables_tombstone_files(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _with_deletions(root)
    before = parquet_tombstones(root)
    with hfdata.open_store(root) as store:
        store.optimize()
        files = store.parts.tombstones("v")
    assert len(files) == 1
    assert parquet_tombstones(root) == before
    assert _errors(root) == []


def test_a_listed_tombstone_file_merged_away_is_file_not_found(tmp_path: Path) -> None:
    """What makes a read's snapshot start again, as for a vanished data file."""
    root = tmp_path / "s"
    _with_deletions(root)
    with hfdata.open_store(root) as store:
        listed = store.parts.tombstones("v")
        assert len(listed) == 2
        store.optimize()
        with pytest.raises(FileNotFoundError):
            read_tombstones(listed)
        assert read_tombstones(store.parts.tombstones("v")).num_rows == 3


def test_object_store_root_commits_tombstones(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "s", tmp_path / "bucket"
    _with_deletions(root, parquet_root=elsewhere)
    assert not (root / "parquet").exists()
    other = ParquetRoot(str(elsewhere), owner="reader")  # another store's view: commits only
    files = other.tombstones("v")
    assert len(files) == 2 and all(f.rel.startswith("_tombstones/variable=v/") for f in files)
    assert read_tombstones(files).num_rows == 3
    assert all(not f.rel.startswith("_tombstones") for f in other.listing("v").files)
    with hfdata.open_store(root) as store:
        store.optimize()
        merged = store.parts.tombstones("v")
        assert len(merged) == 1 and read_tombstones(merged).num_rows == 3
        store.drop("v")
    assert ParquetRoot(str(elsewhere), owner="x").tombstones("v") == []
    assert not (elsewhere / "_tombstones" / "variable=v").exists()


def test_object_store_folds_carry_tombstones(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "s", tmp_path / "bucket"
    _with_deletions(root, parquet_root=elsewhere)
    with hfdata.open_store(root) as store:
        parts = store.parts
        assert isinstance(parts, ParquetRoot)
        before = [f.rel for f in parts.tombstones("v")]
        assert parts.fold("v", at=1)
        assert [f.rel for f in ParquetRoot(str(elsewhere), owner="y").tombstones("v")] == before


# -- verify ----------------------------------------------------------------------------------
def test_verify_reports_bad_tombstones_and_missing_arrivals(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _with_deletions(root)
    bad = (
        root
        / "parquet"
        / "_tombstones"
        / "variable=v"
        / "part-20260101T000000000000_1_aaaaaa.parquet"
    )
    ts = pa.timestamp("ns", tz="UTC")
    table = pa.table(
        {n: pa.array([NS0 + 5 * SEC], ts) for n in ("start", "recorded")}
        | {"end": pa.array([NS0], ts)},
        schema=TOMBSTONE_SCHEMA,
    )
    pq.write_table(table.select(["start", "end", "recorded"]), bad)
    assert any("start >= end" in m for m in _errors(root))
    bad.write_bytes(b"not parquet")
    assert any("unreadable tombstone file" in m for m in _errors(root))
    bad.unlink()
    data = sorted((root / "parquet").glob("kind=*/*/*/*.parquet"))[0]
    rows = pq.read_table(data)
    nullable = pa.schema([f.with_nullable(True) for f in rows.schema])
    arrived = pa.array([None] * rows.num_rows, ts)
    pq.write_table(rows.cast(nullable).set_column(3, "arrived", arrived), data)
    assert any("without `arrived`" in m for m in _errors(root))


# -- history_retention and dedupe in optimize, against a pandas reference ---------------------
def _random_store(
    root: Path, rng: random.Random, retention: timedelta | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Appends (single and batches; corrections: timestamps repeat across calls, never
    within one) and deletions, compacted now and then. Returns the reference: rows
    `ts, value, arrived` and tombstones `start, end, recorded` (ns), from the log."""
    with hfdata.open_store(root, partition="hour", history_retention=retention) as store:
        value = 0.0
        for op in range(40):
            roll = rng.random()
            if roll < 0.2 and op:
                a = rng.randrange(0, 7200)
                store.delete("v", _at(a), _at(a + rng.randrange(1, 1500)))
            elif roll < 0.5:
                value += 1
                store.append("v", _at(rng.randrange(0, 7200)), value)
            else:
                seconds = sorted(set(rng.sample(range(7200), rng.randrange(1, 40))))
                values = [value + 1 + i for i in range(len(seconds))]
                value += len(seconds)
                store.append_many("v", _frame(seconds, values))
            if rng.random() < 0.15:
                store.compact(include_active=True)
        store.compact(include_active=True)
    rows, tombs = log_state(root, compacted=True)
    assert all(n == 1 for n in rows.values())
    frame = pd.DataFrame(list(rows), columns=["var", "ts", "value", "arrived"])
    marks = pd.DataFrame(list(tombs), columns=["var", "start", "end", "recorded"])
    return frame.drop(columns="var"), marks.drop(columns="var")


def _deleted(rows: pd.DataFrame, tombs: pd.DataFrame) -> pd.Series:
    """The spec's rule, row by row: some tombstone with start <= ts < end and
    arrived < recorded."""
    hit = pd.Series(False, index=rows.index)
    for t in tombs.itertuples():
        hit |= (rows.ts >= t.start) & (rows.ts < t.end) & (rows.arrived < t.recorded)
    return hit


def _reference(
    rows: pd.DataFrame,
    tombs: pd.DataFrame,
    expired: pd.DataFrame,
    dedupe: Literal["last", "first"] | None,
) -> Counter[Row]:
    kept = rows[~_deleted(rows, expired)].copy()
    if dedupe is not None:
        kept["hidden"] = _deleted(kept, tombs)
        if dedupe == "last":
            kept = kept.sort_values(["ts", "arrived"]).groupby("ts").tail(1)
        else:
            kept = kept.sort_values(["ts", "hidden", "arrived"]).groupby("ts").head(1)
    records = zip(kept.ts.tolist(), kept.value.tolist(), kept.arrived.tolist(), strict=True)
    return Counter(("v", int(ts), float(value), int(arrived)) for ts, value, arrived in records)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dedupe", [None, "last", "first"])
def test_optimize_removes_deleted_versions_like_the_reference(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    dedupe: Literal["last", "first"] | None,
) -> None:
    rng = random.Random(seed)
    retention = timedelta(seconds=rng.choice([0, 30, 3600]))
    root = tmp_path / "s"
    rows, tombs = _random_store(root, rng, retention)
    assert len(tombs) and len(rows)
    # the moment optimize runs at: between two deletions' times, so some tombstones are
    # older than the retention and some are not
    recorded = sorted(tombs.recorded)
    cut = recorded[len(recorded) // 2]
    now = cut + int(retention.total_seconds() * SEC) + 1
    monkeypatch.setattr(optimize_module, "_clock", lambda: now)
    expired = tombs[tombs.recorded < now - int(retention.total_seconds() * SEC)]
    assert 0 < len(expired) <= len(tombs)
    with hfdata.open_store(root) as store:
        store.optimize(dedupe=dedupe)
    got = Counter[Row]()
    for (var, ts, value, arrived), n in parquet_rows(root).items():
        got[var, ts, float(value), arrived] += n  # type: ignore[arg-type]
    want = _reference(rows, tombs, expired, dedupe)
    assert got == want
    # tombstones themselves are kept, all of them
    assert sum(parquet_tombstones(root).values()) == len(tombs)
    assert _errors(root) == []


def test_without_history_retention_optimize_keeps_deleted_versions(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _with_deletions(root)
    before = parquet_rows(root)
    with hfdata.open_store(root) as store:
        store.optimize()
    assert parquet_rows(root) == before


def test_a_lone_file_is_rewritten_only_when_it_holds_an_expired_version(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with hfdata.open_store(root, history_retention=timedelta(0)) as store:
        store.append_many("v", _frame([0, 1, 2], [1.0, 2.0, 3.0]))
        store.compact(include_active=True)
        store.delete("v", _at(100), _at(200))  # deletes nothing stored
        store.compact(include_active=True)
        files = sorted((root / "parquet").glob("kind=*/*/*/*.parquet"))
        report = store.optimize()
        assert report.partitions == 0
        assert sorted((root / "parquet").glob("kind=*/*/*/*.parquet")) == files
        store.delete("v", _at(1), _at(2))
        store.compact(include_active=True)
        report = store.optimize()
        assert report.partitions == 1
    assert sorted(v for _, _, v, _ in parquet_rows(root)) == [1.0, 3.0]  # type: ignore[type-var]


# -- projection: plain reads never decode `arrived` --------------------------------------------
def test_plain_reads_do_not_decode_arrived(tmp_path: Path) -> None:
    """Every page of `arrived` is damaged (its checksum no longer matches): reads that need
    no arrival still work, so they never decode the column; decoding it fails."""
    root = tmp_path / "s"
    with hfdata.open_store(root) as store:
        store.append_many("v", _frame(list(range(0, 7200, 3)), [float(i) for i in range(2400)]))
        store.compact(include_active=True)
        want = store.read("v")
        hourly = store.read("v", resample="1h", rollups=False)
    [path] = sorted((root / "parquet").glob("kind=*/*/*/*.parquet"))
    md = pq.read_metadata(path)
    col = md.schema.names.index("arrived")
    data = bytearray(path.read_bytes())
    for i in range(md.num_row_groups):
        chunk = md.row_group(i).column(col)
        end = chunk.data_page_offset + chunk.total_compressed_size
        data[end - 1] ^= 0xFF  # the last byte of the chunk's page data
    path.write_bytes(bytes(data))
    with pytest.raises(OSError):
        pq.ParquetFile(path, page_checksum_verification=True).read(columns=["arrived"])
    with hfdata.open_store(root) as store:
        pd.testing.assert_frame_equal(store.read("v"), want)
        pd.testing.assert_frame_equal(store.read("v", resample="1h", rollups=False), hourly)
        assert len(store.read("v", start=_at(60), end=_at(120))) == 20
        assert store.scan("v").collect().height == 2400
