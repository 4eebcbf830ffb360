"""Store.read / scan / variables / info against a plain pandas reference.

`fake_compact` below turns closed segments into Parquet in the exact layout of
docs/contracts.md (sorted, stable, `part-<batch>.parquet` per partition,
segments moved to `compacted/`, all under the exclusive publish lock), so reads of
"part compacted, part in the log" are tested now.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float_values, grid_offsets
from strategies import point_lists as points_of

import hfdata
from hfdata.layout import log_dir, parquet_dir, partition_key_ns
from hfdata.locks import PUBLISH_LOCK, flock
from hfdata.log.parse import read_segment
from hfdata.log.schema import load_schema
from hfdata.read.aggregate import agg_columns, parse_aggs
from hfdata.read.info import VariableInfo
from hfdata.read.query import clear_cache

AGGS = ("mean", "sum", "min", "max", "count", "first", "last", "median", "std", "ohlc")

T0 = datetime(2026, 11, 26, 21, 30, tzinfo=UTC)
T0_NS = int(pd.Timestamp(T0).value)
_batch = iter(range(1, 1 << 30))


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write a sorted part file the way compaction is meant to (dot-file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(
        table,
        tmp,
        compression="zstd",
        row_group_size=4,  # tiny row groups so pruning by statistics is exercised
        use_dictionary=["metadata"],
        write_statistics=True,
    )
    os.replace(tmp, path)


def fake_compact(root: Path, name: str, partition: str = "day", limit: int | None = None) -> int:
    """Closed segments of `name` (the oldest `limit`) -> Parquet parts, under the lock."""
    directory = log_dir(root, name)
    kind = load_schema(directory)
    with flock(root / PUBLISH_LOCK):
        segments = sorted(
            p for p in directory.iterdir() if p.name.endswith(".jsonl") and p.is_file()
        )[:limit]
        if not segments:
            return 0
        tables = [read_segment(p, kind).table.drop_columns(["arrived"]) for p in segments]
        table = pa.concat_tables(tables)
        ns = table.column("timestamp").cast(pa.int64()).to_numpy()
        order = np.argsort(ns, kind="stable")
        table, ns = table.take(pa.array(order)), ns[order]
        keys = np.array([partition_key_ns(int(x), partition) for x in ns])  # type: ignore[arg-type]
        batch = f"{next(_batch):012d}"
        for key in dict.fromkeys(keys.tolist()):
            rows = np.flatnonzero(keys == key)
            part = table.take(pa.array(rows))
            write_parquet(part, parquet_dir(root, "float", name, key) / f"part-{batch}.parquet")
        (directory / "compacted").mkdir(exist_ok=True)
        for p in segments:
            os.rename(p, directory / "compacted" / p.name)
    return len(segments)


def fake_optimize(root: Path, name: str) -> None:
    """Merge each partition's files into one (what `optimize` does), under the lock."""
    base = parquet_dir(root, "float", name)
    with flock(root / PUBLISH_LOCK):
        for part_dir in sorted(base.iterdir()):
            files = sorted(part_dir.glob("part-*.parquet"))
            if len(files) < 2:
                continue
            table = pa.concat_tables([pq.read_table(f) for f in files])
            ns = table.column("timestamp").cast(pa.int64()).to_numpy()
            table = table.take(pa.array(np.argsort(ns, kind="stable")))
            write_parquet(table, part_dir / f"part-{next(_batch):012d}.parquet")
            for f in files:
                f.unlink()


# -- hypothesis: reads against a pandas reference -------------------------------------------

values = float_values(ties=3)
# Offsets in half seconds across ~5 hours around midnight: duplicates, gaps, two partitions.
offsets = grid_offsets(36_000)
point_lists = points_of(offsets, values, min_size=1)
small_offsets = grid_offsets(40)
dense_lists = points_of(small_offsets, values, min_size=1)


def build(root: Path, data: dict[str, list[tuple[int, float]]], split: float) -> None:
    """Append each variable's points in order; the first `split` share gets compacted.

    It is compacted in two batches, so a partition may hold two overlapping files.
    """
    with hfdata.open_store(root) as s:
        for name, pts in data.items():
            cut = int(len(pts) * split)
            cuts = {cut // 2, cut} - {0}
            for i, (off, v) in enumerate(pts):
                if i in cuts:
                    s.rotate()
                    fake_compact(root, name)
                s.append(name, T0_NS_TS(off), v, kind="float")


def T0_NS_TS(off: int) -> pd.Timestamp:
    return pd.Timestamp(T0_NS + off, unit="ns", tz="UTC")


def reference(pts: list[tuple[int, float]], lo: int | None, hi: int | None) -> pd.Series:
    """Arrival order, stable-sorted by timestamp, sliced [lo, hi)."""
    ns = np.array([T0_NS + o for o, _ in pts], dtype=np.int64)
    v = np.array([x for _, x in pts], dtype=float)
    s = pd.Series(v, index=pd.DatetimeIndex(ns.view("M8[ns]"), name="timestamp").tz_localize("UTC"))
    s = s.iloc[np.argsort(ns, kind="stable")]
    if lo is not None:
        s = s[s.index >= T0_NS_TS(lo)]
    if hi is not None:
        s = s[s.index < T0_NS_TS(hi)]
    return s.rename("value")


def as_pandas(result: Any) -> pd.DataFrame:
    """Any output form back to the pandas form, to compare rows and values."""
    if isinstance(result, pl.DataFrame):
        result = result.to_arrow()
    if isinstance(result, pa.Table):
        result = result.to_pandas().set_index("timestamp")
    return result  # type: ignore[no-any-return]


bounds = st.one_of(st.none(), offsets)
Output = Literal["pandas", "polars", "arrow"]
outputs: st.SearchStrategy[Output] = st.sampled_from(["pandas", "polars", "arrow"])


@settings(max_examples=25, deadline=None)
@given(pts=point_lists, split=st.floats(0, 1), lo=bounds, hi=bounds, output=outputs)
def test_slice_matches_reference(
    pts: list[tuple[int, float]], split: float, lo: int | None, hi: int | None, output: Output
) -> None:
    if lo is not None and hi is not None and lo >= hi:
        lo, hi = None, None
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        build(root, {"x": pts}, split)
        with hfdata.open_store(root) as s:
            start = None if lo is None else T0_NS_TS(lo).to_pydatetime()
            end = None if hi is None else T0_NS_TS(hi).isoformat()
            got = as_pandas(s.read("x", start, end, output=output))
    expected = reference(pts, lo, hi).to_frame()
    pd.testing.assert_frame_equal(got, expected, check_freq=False)


@settings(max_examples=30, deadline=None)
@given(
    pts=st.one_of(point_lists, dense_lists),
    split=st.floats(0, 1),
    rule=st.sampled_from(["1s", "7s", "1min", "1h", "1D"]),
    aggs=st.one_of(
        st.sampled_from(AGGS).map(lambda a: [a]),
        st.lists(st.sampled_from(AGGS), min_size=2, max_size=3, unique=True),
    ),
    output=outputs,
)
def test_resample_matches_reference(
    pts: list[tuple[int, float]], split: float, rule: str, aggs: list[str], output: Output
) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        build(root, {"x": pts}, split)
        with hfdata.open_store(root) as s:
            agg: Any = aggs[0] if len(aggs) == 1 else aggs
            got = as_pandas(s.read("x", resample=rule, agg=agg, output=output))
    ref = reference(pts, None, None)
    if ref.empty:
        assert len(got) == 0
        return
    sampler = ref.resample(rule, closed="left", label="left")
    frames = [getattr(sampler, a)() for a in aggs]
    expected = pd.concat(
        [f if isinstance(f, pd.DataFrame) else f.to_frame() for f in frames], axis=1
    )
    expected.columns = agg_columns(parse_aggs(aggs))
    pd.testing.assert_frame_equal(got, expected, check_freq=False, rtol=1e-9, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    a=st.one_of(point_lists, dense_lists),
    b=st.one_of(point_lists, dense_lists),
    split=st.floats(0, 1),
    agg=st.sampled_from(AGGS),
    output=outputs,
)
def test_wide_and_long_match_reference(
    a: list[tuple[int, float]], b: list[tuple[int, float]], split: float, agg: str, output: Output
) -> None:
    if not a and not b:
        return
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        build(root, {"a": a, "b": b}, split)
        with hfdata.open_store(root) as s:
            long = as_pandas(s.read(["a", "b"], output=output))
            wide = as_pandas(s.read(["a", "b"], resample="1h", agg=agg, how="wide", output=output))
    ra, rb = reference(a, None, None), reference(b, None, None)
    expected_long = pd.concat(
        [ra.to_frame().assign(variable="a"), rb.to_frame().assign(variable="b")]
    )
    expected_long = expected_long.iloc[
        np.argsort(cast(pd.DatetimeIndex, expected_long.index).asi8, kind="stable")
    ][["variable", "value"]]
    pd.testing.assert_frame_equal(long, expected_long, check_freq=False, check_dtype=False)
    # Wide: each variable resampled alone, on the grid spanning both (empty bins filled as
    # pandas fills them: 0 for count and sum, NaN otherwise).
    both = pd.concat([ra, rb]).sort_index(kind="stable")
    grid = both.resample("1h", closed="left", label="left").count().index
    cols = {}
    for name, ref in (("a", ra), ("b", rb)):
        res = ref.resample("1h", closed="left", label="left").agg(agg)
        if agg == "ohlc":
            for c in res.columns:
                cols[f"{name}.{c}"] = res[c].reindex(grid)
        else:
            res = res.reindex(grid)
            cols[name] = res.fillna(0) if agg in ("count", "sum") else res
    expected_wide = pd.DataFrame(cols, index=grid)
    pd.testing.assert_frame_equal(
        wide, expected_wide, check_freq=False, check_dtype=False, rtol=1e-9, atol=1e-6
    )


# -- behaviour -------------------------------------------------------------------------------


def test_single_variable_frame_shape(store: hfdata.Store) -> None:
    store.append("t", T0, 1.5, {"room": "a"})
    store.append("t", T0 + timedelta(seconds=1), 2.5)
    df = store.read("t")
    assert list(df.columns) == ["value"]
    assert df.index.name == "timestamp"
    assert str(df.index.tz) == "UTC"
    assert df["value"].tolist() == [1.5, 2.5]
    meta = store.read("t", metadata=True)
    assert meta["metadata"].tolist() == [{"room": "a"}, None]
    expanded = store.read("t", metadata="expand", output="polars")
    assert expanded["room"].to_list() == ["a", None]
    text = store.read("t", metadata=True, output="arrow")
    assert text.column("metadata").to_pylist() == ['{"room":"a"}', None]


def test_json_values_come_back_parsed_in_pandas_and_as_text_elsewhere(
    store: hfdata.Store,
) -> None:
    store.append("j", T0, {"b": [1, 2], "a": None})
    assert store.read("j")["value"].iloc[0] == {"a": None, "b": [1, 2]}
    assert store.read("j", output="polars")["value"].to_list() == ['{"a":null,"b":[1,2]}']


def test_dedupe_last_and_first_by_arrival(store: hfdata.Store) -> None:
    for v in (1.0, 2.0, 3.0):
        store.append("d", T0, v)
    store.rotate()
    fake_compact(store.root, "d")
    store.append("d", T0, 4.0)
    store.append("d", T0 + timedelta(seconds=1), 5.0)
    assert store.read("d")["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert store.read("d", dedupe="last")["value"].tolist() == [4.0, 5.0]
    assert store.read("d", dedupe="first")["value"].tolist() == [1.0, 5.0]


def test_include_log_false_reads_parquet_only(store: hfdata.Store) -> None:
    store.append("p", T0, 1.0)
    store.rotate()
    fake_compact(store.root, "p")
    store.append("p", T0 + timedelta(seconds=1), 2.0)
    assert store.read("p", include_log=False)["value"].tolist() == [1.0]
    assert store.read("p")["value"].tolist() == [1.0, 2.0]


def test_timestamp_forms_and_naive_timezone(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin") as s:
        s.append("v", T0, 1.0)  # 21:30 UTC = 22:30 Berlin
        s.append("v", T0 + timedelta(hours=1), 2.0)
        assert s.read("v", start="2026-11-26T22:30", end="2026-11-26T23:00")["value"].tolist() == [
            1.0
        ]
        assert s.read("v", start=np.datetime64("2026-11-26T23:30"))["value"].tolist() == [2.0]
        assert s.read("v", end=pd.Timestamp("2026-11-26T21:30:00.000000001Z")).shape == (1, 1)


def test_errors(store: hfdata.Store) -> None:
    store.append("temperature", T0, 1.0)
    with pytest.raises(hfdata.VariableNotFound, match="temperature") as info:
        store.read("temperatur")
    assert isinstance(info.value, KeyError)
    with pytest.raises(ValueError, match="before end"):
        store.read("temperature", T0, T0)
    with pytest.raises(ValueError, match="ohlc"):
        store.read("temperature", resample="1s", agg="avg")
    with pytest.raises(ValueError, match="1min"):
        store.read("temperature", resample="fortnight")
    with pytest.raises(ValueError, match="resample"):
        store.read(["temperature"], how="wide")
    with pytest.raises(ValueError, match="output"):
        store.read("temperature", output="excel")  # type: ignore[arg-type]
    with pytest.raises(hfdata.InvalidTimestamp):
        store.read("temperature", start=12)


def test_asof_with_tolerance(store: hfdata.Store) -> None:
    store.append("a", T0, 1.0)
    store.append("a", T0 + timedelta(seconds=10), 2.0)
    store.append("b", T0 + timedelta(seconds=2), 5.0)
    df = store.read(["a", "b"], how="asof", tolerance="5s")
    assert df["a"].tolist() == [1.0, 1.0, 2.0]
    assert np.isnan(df["b"].iloc[0])
    assert df["b"].iloc[1] == 5.0
    assert np.isnan(df["b"].iloc[2])  # 8 s old: beyond the tolerance


def test_torn_and_bad_lines_are_skipped(store: hfdata.Store) -> None:
    store.append("t", T0, 1.0)
    store.flush()
    (seg,) = log_dir(store.root, "t").glob("*.active")
    with open(seg, "ab") as f:
        f.write(b"not json\n")
        f.write(b'{"timestamp":"2026-11-26T21:30:01Z","value":2.0}\n')
        f.write(b'{"timestamp":"2026-11-26T21:30:02Z","val')
    assert store.read("t")["value"].tolist() == [1.0, 2.0]


def test_scan_merges_parquet_and_log(store: hfdata.Store) -> None:
    for i in range(6):
        store.append("s", T0 + timedelta(hours=i), float(i))
        if i == 3:
            store.rotate()
            fake_compact(store.root, "s")
    lf = store.scan("s", start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=5))
    assert isinstance(lf, pl.LazyFrame)
    assert lf.collect()["value"].to_list() == [1.0, 2.0, 3.0, 4.0]


def test_variables_and_info(store: hfdata.Store) -> None:
    store.append("a/b", T0, 1.0)
    store.append("a/b", T0 + timedelta(hours=5), 2.0)  # next day: second partition
    store.rotate()
    fake_compact(store.root, "a/b")
    store.append("a/b", T0 - timedelta(hours=1), 3.0)
    store.append("c", T0, "text")
    assert store.variables() == ["a/b", "c"]
    info = store.info("a/b")
    assert isinstance(info, VariableInfo)
    assert (info.kind, info.parquet_rows, info.log_rows, info.rows) == ("float", 2, 1, 3)
    assert info.partitions == ("2026-11-26", "2026-11-27")
    assert info.first == pd.Timestamp(T0 - timedelta(hours=1))
    assert info.last == pd.Timestamp(T0 + timedelta(hours=5))
    assert info.bytes_on_disk > 0
    with pytest.raises(hfdata.VariableNotFound):
        store.info("zz")


def test_pruning_reads_only_overlapping_files(store: hfdata.Store, monkeypatch: Any) -> None:
    for day in range(3):
        for i in range(12):
            store.append("p", T0 + timedelta(days=day, minutes=i), float(day * 100 + i))
    store.rotate()
    fake_compact(store.root, "p")
    opened: list[str] = []
    real = pa.memory_map

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pa, "memory_map", spy)  # how read_parquet opens a file
    clear_cache()
    df = store.read("p", T0 + timedelta(days=1, minutes=2), T0 + timedelta(days=1, minutes=5))
    assert df["value"].tolist() == [102.0, 103.0, 104.0]
    assert len(opened) == 1 and "date=2026-11-27" in opened[0]


# -- concurrency -----------------------------------------------------------------------------


def _writer(root: str, n: int) -> None:
    with hfdata.open_store(root, max_segment_bytes=4096) as s:
        for i in range(n):
            s.append("w", T0_NS_TS(i * 1_000_000), float(i))


@pytest.mark.parametrize("n", [3000, pytest.param(60_000, marks=pytest.mark.slow)])
def test_reader_sees_growing_prefix_of_live_writer(tmp_path: Path, n: int) -> None:
    hfdata.open_store(tmp_path).close()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_writer, args=(str(tmp_path), n))
    proc.start()
    seen = 0
    reads = 0
    try:
        with hfdata.open_store(tmp_path) as s:
            while seen < n:
                try:
                    values = s.read("w", output="arrow").column("value").to_numpy()
                except hfdata.VariableNotFound:
                    continue
                assert len(values) >= seen  # never goes down
                np.testing.assert_array_equal(values, np.arange(len(values), dtype=float))
                seen = len(values)
                reads += 1
                if not proc.is_alive() and seen < n:
                    assert proc.exitcode == 0
    finally:
        proc.join(timeout=60)
    assert proc.exitcode == 0
    assert seen == n and reads > 1


@pytest.mark.parametrize("segments", [40, pytest.param(400, marks=pytest.mark.slow)])
def test_reader_during_compaction_never_loses_or_doubles(tmp_path: Path, segments: int) -> None:
    total = 0
    with hfdata.open_store(tmp_path) as s:
        for seg in range(segments):
            for i in range(25):
                s.append("c", T0 + timedelta(minutes=seg * 40 + i), float(total))
                total += 1
            s.rotate()
        s.append("c", T0 + timedelta(days=3), float(total))  # its segment stays in the log
        total += 1
    done = threading.Event()

    def compactor() -> None:
        try:
            for round_ in range(segments):
                # compact one closed segment per batch, optimize every few batches
                fake_compact(tmp_path, "c", limit=1)
                if round_ % 7 == 6:
                    fake_optimize(tmp_path, "c")
        finally:
            done.set()

    thread = threading.Thread(target=compactor)
    counts: list[int] = []
    with hfdata.open_store(tmp_path) as s:
        thread.start()
        while not done.is_set() or len(counts) < 3:
            values = s.read("c", output="arrow").column("value").to_numpy()
            counts.append(len(values))
            assert len(values) == total, "a point vanished or appeared twice"
            np.testing.assert_array_equal(np.sort(values), np.arange(total, dtype=float))
    thread.join()
    assert len(list(log_dir(tmp_path, "c").glob("*.jsonl"))) == 1  # the last one
    assert counts and min(counts) == total


def test_reader_retries_when_a_listed_file_vanishes(store: hfdata.Store, monkeypatch: Any) -> None:
    from hfdata.read import query as read_mod

    store.append("r", T0, 1.0)
    store.rotate()
    calls = {"n": 0}
    real = read_mod._read_all

    def racing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # a compaction publishes between our listing and our read
            assert fake_compact(store.root, "r") == 1
        return real(*args, **kwargs)

    monkeypatch.setattr(read_mod, "_read_all", racing)
    clear_cache()
    assert store.read("r")["value"].tolist() == [1.0]
    assert calls["n"] == 2


@settings(max_examples=50, deadline=None)
@given(
    lo=st.integers(T0_NS - 400 * 86_400 * 10**9, T0_NS),
    span=st.integers(1, 90 * 86_400 * 10**9),
    partition=st.sampled_from(["hour", "day", "month"]),
)
def test_partition_keys_of_a_window(lo: int, span: int, partition: Any) -> None:
    from hfdata.read.snapshot import _keys_between

    keys = _keys_between(lo, lo + span, partition)
    if keys is None:
        return
    assert keys[0] == partition_key_ns(lo, partition)
    assert keys[-1] == partition_key_ns(lo + span, partition)
    assert keys == sorted(set(keys))
    step = {"hour": 3600, "day": 86_400, "month": 86_400}[partition] * 10**9
    sampled = {partition_key_ns(t, partition) for t in range(lo, lo + span + 1, step)}
    assert sampled <= set(keys)


def test_reader_during_real_compaction_and_optimize(tmp_path: Path) -> None:
    """The same guarantee with `Store.compact`/`optimize`."""
    with hfdata.open_store(tmp_path) as s:
        s.append("c", T0, 0.0)
        s.rotate()
        s.compact()
    done = threading.Event()
    total = [1]  # points appended and acknowledged so far

    def writer_and_compactor() -> None:
        try:
            with hfdata.open_store(tmp_path) as w:
                for round_ in range(30):
                    for _ in range(20):
                        w.append("c", T0 + timedelta(minutes=total[0]), float(total[0]))
                        total[0] += 1
                    w.rotate()
                    w.compact()
                    if round_ % 5 == 4:
                        w.optimize()
        finally:
            done.set()

    thread = threading.Thread(target=writer_and_compactor)
    seen = 0
    with hfdata.open_store(tmp_path) as s:
        thread.start()
        while not done.is_set():
            floor = total[0]  # acknowledged before this read started
            values = s.read("c", output="arrow").column("value").to_numpy()
            assert len(values) >= max(seen, floor), "a point vanished"
            np.testing.assert_array_equal(values, np.arange(len(values), dtype=float))
            seen = len(values)
    thread.join()
    with hfdata.open_store(tmp_path) as s:
        assert s.read("c")["value"].tolist() == [float(i) for i in range(total[0])]
        assert s.info("c").log_rows == 0


def test_dot_named_variables_are_listed_compacted_and_read(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append(".hidden", "2026-11-26T00:00:00Z", 1.0)
        store.append("..x", "2026-11-26T00:00:01Z", 2.0)
        assert store.variables() == ["..x", ".hidden"]
        store.compact(include_active=True)
        assert store.read(".hidden")["value"].tolist() == [1.0]
        assert store.read("..x")["value"].tolist() == [2.0]
    assert (tmp_path / "parquet" / "kind=float" / "variable=.hidden").is_dir()


# -- decoding large reads on several threads -------------------------------------------------


def _three_days_with_late_data(store: hfdata.Store) -> None:
    for day in range(3):
        midnight = T0.replace(hour=0, minute=0, second=0, microsecond=0)
        idx = pd.date_range(midnight + timedelta(days=day), periods=80_000, freq="1s", tz="UTC")
        values = np.arange(80_000.0) + day  # 5 row groups a day
        store.append_many("big", pd.DataFrame({"timestamp": idx, "value": values}))
        store.compact(include_active=True, progress=False)
    late = pd.date_range(T0 + timedelta(hours=1), periods=500, freq="7s", tz="UTC")
    store.append_many("big", pd.DataFrame({"timestamp": late, "value": -np.arange(500.0)}))
    store.compact(include_active=True, progress=False)  # a second file in day one


@pytest.mark.parametrize(
    "window",
    [(None, None), (T0 + timedelta(hours=2), T0 + timedelta(days=2, hours=1))],
    ids=["all", "slice"],
)
def test_decoding_on_several_threads_equals_one_thread(
    store: hfdata.Store, monkeypatch: Any, window: tuple[Any, Any]
) -> None:
    import hfdata.read.files as read_module

    _three_days_with_late_data(store)
    monkeypatch.setattr(read_module, "_PARALLEL_ROWS", 10**12)
    one = store.read("big", *window, resample="1h", agg=["ohlc", "count"])
    plain = store.read("big", *window)
    decoded: list[str] = []
    real = read_module._decode

    def spy(path: Path, md: Any, groups: list[int], columns: Any) -> Any:
        decoded.append(str(path))
        return real(path, md, groups, columns)

    monkeypatch.setattr(read_module, "_PARALLEL_ROWS", 0)
    monkeypatch.setattr(read_module, "_decode", spy)
    pd.testing.assert_frame_equal(store.read("big", *window), plain)
    assert len(decoded) > len(set(decoded)) >= 2  # several files, one of them in two jobs
    pd.testing.assert_frame_equal(
        store.read("big", *window, resample="1h", agg=["ohlc", "count"]), one
    )


def test_a_forked_child_decodes_large_reads_too(store: hfdata.Store, monkeypatch: Any) -> None:
    import hfdata.read.files as read_module

    _three_days_with_late_data(store)
    monkeypatch.setattr(read_module, "_PARALLEL_ROWS", 0)
    expected = len(store.read("big"))  # the parent's pool now has threads
    pid = os.fork()
    if pid == 0:  # the child: a pool inherited without its threads would hang here
        import signal

        signal.alarm(30)
        try:
            os._exit(0 if len(store.read("big")) == expected else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
