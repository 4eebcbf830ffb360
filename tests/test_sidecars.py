"""Sidecars (issue 19): their names, and the derived files compaction, optimize, upgrade
and drop keep beside the Parquet tree."""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hfdata
from hfdata.compact import compaction, derive
from hfdata.compact.derive import Derived
from hfdata.errors import InvalidArgument, SettingsConflict
from hfdata.kinds import Kind
from hfdata.layout import part_rel
from hfdata.parquet import files as files_module
from hfdata.parquet import stats as stats_module
from hfdata.parquet.local import LocalRoot
from hfdata.parquet.rollups import build_many
from hfdata.parquet.root import PartFile
from hfdata.parquet.sidecars import (
    clear_sidecar_cache,
    data_rel,
    load_rollups,
    load_stats,
    rollup_rel,
    rollups_prefix,
    stats_prefix,
    stats_rel,
)
from hfdata.parquet.stats import file_stats
from hfdata.settings import FORMAT_VERSION
from hfdata.store import upgrade_store
from hfdata.tools.cli import main
from hfdata.tools.verify import verify

HOUR = 3_600_000_000_000

REL = "kind=float/variable=a%2Fb/date=2026-11-26/part-20261126T100000123456-ab12.parquet"


def test_sidecar_names_swap_the_prefix_and_suffix() -> None:
    assert stats_rel(REL) == (
        "_stats/kind=float/variable=a%2Fb/date=2026-11-26/part-20261126T100000123456-ab12.json"
    )
    assert rollup_rel(REL, "1h") == f"_rollups/res=1h/{REL}"
    assert stats_rel(REL).startswith(stats_prefix("float", "a%2Fb") + "/")
    assert rollup_rel(REL, "1min").startswith(rollups_prefix("1min", "float", "a%2Fb") + "/")


names = st.text("abc%2F._-", min_size=1, max_size=12)


@given(
    kind=st.sampled_from(["float", "int", "bool", "string", "json"]),
    encoded=names,
    key=st.sampled_from(["2026-11-26", "2026-11-26T10", "2026-11"]),
    batch=names,
    rule=st.sampled_from(["1min", "1h", "15s"]),
)
def test_a_sidecar_names_its_data_file(
    kind: str, encoded: str, key: str, batch: str, rule: str
) -> None:
    rel = part_rel(kind, encoded, key, f"part-{batch}.parquet")
    assert data_rel(stats_rel(rel)) == rel
    assert data_rel(rollup_rel(rel, rule)) == rel


def test_other_names_are_no_sidecars() -> None:
    assert data_rel(REL) is None
    assert data_rel("_stats/kind=float/variable=x/date=2026-11-26/part-b.parquet") is None
    assert data_rel("_rollups/kind=float/variable=x/date=2026-11-26/part-b.parquet") is None
    assert data_rel("_hfdata/commits/x/b.json") is None


# -- compaction, optimize, drop keep them ------------------------------------------------------

T0 = pd.Timestamp("2026-11-26T22:00:00", tz="UTC")


def frame(start: pd.Timestamp, n: int, step: str = "7s", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4, n).astype(float)  # repeats: runs, and equal values
    values[rng.random(n) < 0.05] = np.nan
    index = pd.date_range(start, periods=n, freq=step, tz="UTC")
    return pd.DataFrame({"value": values}, index=index)


def state(store: hfdata.Store, encoded: str) -> tuple[list[str], list[str], list[str]]:
    """(live data files, the data files the stats name, those the rollups name)."""
    parts = store.parts
    live = sorted(f.rel for f in parts.listing(encoded).files)
    stats = sorted(str(data_rel(r)) for r in parts.sidecars("_stats") if f"={encoded}/" in r)
    rollups = sorted(str(data_rel(r)) for r in parts.sidecars("_rollups") if f"={encoded}/" in r)
    return live, stats, rollups


def rollups_of(
    store: hfdata.Store, ns: np.ndarray, values: pa.Array, kind: Kind
) -> dict[str, pa.Table]:
    """A file's rollups as its sidecars hold them, by rule: `build_many` over the store's
    resolutions (the coarser composed from the finer)."""
    rules = store.settings.resolutions()
    built = build_many(ns, values, kind, [resolution for _, resolution in rules])
    return {rule: table for (rule, _), table in zip(rules, built, strict=True)}


def points_of(file: PartFile) -> tuple[np.ndarray, pa.Array]:
    table = pq.read_table(file.path, filesystem=file.root.fs)
    ns = table.column("timestamp").combine_chunks().view(pa.int64()).to_numpy()
    return np.asarray(ns, np.int64), table.column("value").combine_chunks()


@pytest.fixture(params=["local", "elsewhere"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """open_store options: the tree under the store, or an object-store root on a path."""
    return {} if request.param == "local" else {"parquet_root": str(tmp_path / "bucket")}


def test_compaction_writes_every_live_files_sidecars(tmp_path: Path, where: dict[str, Any]) -> None:
    with hfdata.open_store(tmp_path / "s", **where) as store:
        store.append_many("x", frame(T0, 5000))
        store.append("note", T0, "hello")
        store.compact(include_active=True)
        store.append_many("x", frame(T0 + pd.Timedelta(hours=3), 100, seed=1))  # late data
        store.compact(include_active=True)
        live, stats, rollups = state(store, "x")
        assert len(live) == 3 and stats == live and rollups == sorted(live * 2)
        loaded = load_stats(store.parts, store.parts.listing("x").files)
        hourly = load_rollups(store.parts, store.parts.listing("x").files, "1h")
        for file in store.parts.listing("x").files:
            ns, values = points_of(file)
            assert loaded[file.rel] == file_stats(ns, values, "float")
            table = hourly[file.rel]
            assert table is not None and table.equals(rollups_of(store, ns, values, "float")["1h"])
        # a string variable has stats, no rollups
        assert state(store, "note")[1] == state(store, "note")[0] and not state(store, "note")[2]


def test_compaction_derives_its_files_from_the_rows_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction's new files get their sidecars from the table the batch wrote, never
    read back, and for every kind that table is exactly what the file holds."""

    def no_reading(*_: object, **__: object) -> pa.Table:
        raise AssertionError("compaction read back a file it had just written")

    monkeypatch.setattr(derive, "read_whole", no_reading)
    rng = np.random.default_rng(3)
    index = pd.date_range(T0, periods=400, freq="3s", tz="UTC").repeat(2)  # duplicates
    columns: dict[str, Any] = {
        "f": np.where(rng.random(800) < 0.1, np.nan, rng.integers(0, 3, 800) / 3),
        "i": rng.integers(-(2**52), 2**52, 800),
        "b": rng.random(800) < 0.5,
        "s": rng.choice(["a", "é", ""], 800),
    }
    with hfdata.open_store(tmp_path / "s") as store:
        for name, values in columns.items():
            store.append_many(name, pd.DataFrame({"value": values}, index=index))
        for k in range(50):
            store.append("j", T0 + pd.Timedelta(seconds=k // 2), {"k": k % 3})
        store.compact(include_active=True)
        for name in (*columns, "j"):
            listing = store.parts.listing(name)
            assert listing.kind is not None and listing.files
            stats = load_stats(store.parts, listing.files)
            for file in listing.files:
                ns, values = points_of(file)
                assert stats[file.rel] == file_stats(ns, values, listing.kind), name
                for rule, _ in store.settings.resolutions():
                    [table] = load_rollups(store.parts, [file], rule).values()
                    if listing.kind in ("float", "int", "bool"):
                        assert table is not None
                        want = rollups_of(store, ns, values, listing.kind)[rule]
                        assert table.equals(want)
                    else:
                        assert table is None


def test_a_batch_with_tombstones_derives_its_data_files_from_the_rows_it_wrote(
    tmp_path: Path, where: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose segments hold a deletion publishes a tombstone file besides its data
    files; the data files' sidecars still come from the rows written (`arrived` among
    them), never read back, and describe every stored version, the deleted ones too
    (readers bypass them where a tombstone applies)."""

    def no_reading(*_: object, **__: object) -> pa.Table:
        raise AssertionError("compaction read back a file it had just written")

    monkeypatch.setattr(derive, "read_whole", no_reading)
    with hfdata.open_store(tmp_path / "s", **where) as store:
        store.append_many("x", frame(T0, 4000, step="30s"))  # three days: three files
        store.delete("x", T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(hours=3))
        store.compact(include_active=True)
        [tombstones] = store.parts.tombstones("x")
        assert pq.read_table(tombstones.path, filesystem=tombstones.root.fs).num_rows == 1
        listing = store.parts.listing("x")
        assert len(listing.files) == 3
        stats = load_stats(store.parts, listing.files)
        hourly = load_rollups(store.parts, listing.files, "1h")
        stored = 0
        for file in listing.files:
            ns, values = points_of(file)
            found = stats[file.rel]
            assert found is not None and found == file_stats(ns, values, "float")
            stored += found.rows
            table = hourly[file.rel]
            assert table is not None and table.equals(rollups_of(store, ns, values, "float")["1h"])
        assert stored == 4000
        assert len(store.read("x")) == 4000 - 240  # two hours of 30 s points deleted


def test_sidecar_writes_make_missing_folders_and_leave_no_temporaries(tmp_path: Path) -> None:
    root = LocalRoot(tmp_path)
    rels = [f"_stats/kind=float/variable=v{k}/date=2026-11-26/part-b{k}.json" for k in range(5)]
    root.put_sidecars([(rel, rel.encode()) for rel in rels])
    root.delete_sidecars(rels[:1])  # removes the folders it emptied
    assert not (root.base / rels[0]).parent.exists()
    root.put_sidecars([(rels[0], b"again"), (rels[1], b"new")])  # folders made on demand
    assert root.get_sidecar(rels[0]) == b"again" and root.get_sidecar(rels[1]) == b"new"
    assert [root.get_sidecar(rel) for rel in rels[2:]] == [rel.encode() for rel in rels[2:]]
    assert list((root.base / "_spool").iterdir()) == []


def test_a_failed_sidecar_write_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = LocalRoot(tmp_path)
    rels = [f"_stats/kind=float/variable=v/date=2026-11-26/part-b{k}.json" for k in range(3)]
    real = os.write
    writes = {"n": 0}

    def second_fails(fd: int, data: Any) -> int:
        writes["n"] += 1
        if writes["n"] == 2:
            raise OSError(errno.EIO, "injected")
        return real(fd, data)

    monkeypatch.setattr("hfdata.parquet.local.os.write", second_fails)
    with pytest.raises(OSError, match="injected"):
        root.put_sidecars([(rel, b"{}") for rel in rels])
    monkeypatch.undo()
    assert [root.get_sidecar(rel) for rel in rels] == [b"{}", None, None]  # each atomic
    assert list((root.base / "_spool").iterdir()) == []


@pytest.mark.parametrize("where", ["local", "elsewhere"])
def test_sidecar_writes_are_not_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Sidecars are derived data: a power cut may lose or empty them (readers then compute
    from the points), so neither they, their names nor their folders are fsynced
    (docs/contracts.md, "Derived files"; docs/decisions.md, "sidecars not fsynced")."""
    options: dict[str, Any] = {} if where == "local" else {"parquet_root": str(tmp_path / "bucket")}
    with hfdata.open_store(tmp_path / "s", **options) as store:
        store.append_many("x", frame(T0, 500))
        store.compact(include_active=True)  # the data's own fsyncs
        parts = store.parts
        [file] = parts.listing("x").files
        fsyncs: list[int] = []
        real = os.fsync

        def counted(fd: int) -> None:
            fsyncs.append(fd)
            real(fd)

        monkeypatch.setattr(os, "fsync", counted)
        parts.put_sidecars([(rel, b"{}") for rel in [stats_rel(file), rollup_rel(file, "1h")]])
        parts.put_sidecar(rollup_rel(file, "1min"), b"{}")
        assert fsyncs == []
        assert parts.get_sidecar(rollup_rel(file, "1min")) == b"{}"


def test_the_interval_histogram_and_median_are_numpys() -> None:
    """`_histogram` counts the dominant interval in a pass and sorts the rest: the same
    histogram as `np.unique`, and the median read from it is `np.median`'s."""
    rng = np.random.default_rng(5)
    for trial in range(400):
        n = int(rng.integers(1, 80))
        if trial % 3 == 0:
            intervals = rng.integers(1, 5, n)
        elif trial % 3 == 1:
            intervals = np.where(rng.random(n) < 0.9, 1000, rng.integers(1, 3000, n))
        else:
            intervals = rng.integers(1, 10**15, n) * 1000
        intervals = intervals.astype(np.int64)
        distinct, counts = stats_module._histogram(intervals)
        want_distinct, want_counts = np.unique(intervals, return_counts=True)
        assert distinct.tolist() == want_distinct.tolist()
        assert counts.tolist() == want_counts.tolist()
        got = stats_module._intervals(intervals)["median_interval"]
        assert got == round(float(np.median(intervals)))


def test_optimize_replaces_sidecars_with_the_merged_files(
    tmp_path: Path, where: dict[str, Any]
) -> None:
    with hfdata.open_store(tmp_path / "s", **where) as store:
        for k in range(3):
            store.append_many("x", frame(T0 + pd.Timedelta(minutes=k), 2000, seed=k))
            store.compact(include_active=True)
        before = state(store, "x")[0]
        store.optimize()
        live, stats, rollups = state(store, "x")
        assert len(live) == 2 and not set(live) & set(before)
        assert stats == live and rollups == sorted(live * 2)  # the replaced files' are gone
        files = store.parts.listing("x").files
        for file in files:
            ns, values = points_of(file)
            assert load_stats(store.parts, [file])[file.rel] == file_stats(ns, values, "float")


def test_store_settings_shape_the_sidecars(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "s", rollups=("15s",), gap_threshold="1min") as store:
        store.append_many("x", frame(T0, 300))
        store.append_many("x", frame(T0 + pd.Timedelta(hours=1), 10))  # a gap
        store.compact(include_active=True)
        [file] = store.parts.listing("x").files
        assert store.parts.sidecars("_rollups") == [rollup_rel(file, "15s")]
        stats = load_stats(store.parts, [file])[file.rel]
        assert stats is not None and stats.gap_floor == 60 * 10**9
        ns, values = points_of(file)
        assert stats == file_stats(ns, values, "float", 60 * 10**9)
        assert [g[1] - g[0] for g in stats.gaps] == [
            (pd.Timedelta(hours=1) - pd.Timedelta(seconds=7 * 299)).value
        ]
    with hfdata.open_store(tmp_path / "none", rollups=()) as store:
        store.append_many("x", frame(T0, 30))
        store.compact(include_active=True)
        assert store.parts.sidecars("_rollups") == []
        assert len(store.parts.sidecars("_stats")) == 1


def test_a_crash_before_the_sidecars_is_repaired_by_the_next_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(tmp_path / "s") as store:
        store.append_many("x", frame(T0, 500))
        with monkeypatch.context() as m:  # published, then "killed" before any sidecar
            m.setattr(compaction, "derive_after_publish", lambda *a, **k: Derived())
            store.compact(include_active=True)
        [file] = store.parts.listing("x").files
        assert state(store, "x")[1:] == ([], [])
        assert load_stats(store.parts, [file]) == {file.rel: None}  # readers compute
        orphan = stats_rel(file.rel.replace("part-", "part-gone"))
        store.parts.put_sidecar(orphan, b"{}")  # a file a rolled-back batch never published
        store.append_many("x", frame(T0 + pd.Timedelta(days=1), 10))
        store.compact(include_active=True)
        live, stats, rollups = state(store, "x")
        assert len(live) == 2 and stats == live and rollups == sorted(live * 2)
        assert store.parts.get_sidecar(orphan) is None


def test_a_failing_sidecar_write_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(tmp_path / "s") as store:
        store.append_many("x", frame(T0, 50))

        def refuse(*_: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(store.parts, "put_sidecar", refuse)
        monkeypatch.setattr(store.parts, "put_sidecars", refuse)  # derive writes in batches
        with pytest.warns(RuntimeWarning, match="No space left.*next compaction tries again"):
            report = store.compact(include_active=True)
        assert report.rows == 50 and len(store.read("x", include_log=False)) == 50


def test_drop_removes_the_sidecars(tmp_path: Path, where: dict[str, Any]) -> None:
    with hfdata.open_store(tmp_path / "s", **where) as store:
        store.append_many("x", frame(T0, 500))
        store.append_many("y", frame(T0, 500))
        store.compact(include_active=True)
        store.drop("x")
        assert state(store, "x") == ([], [], [])
        y = state(store, "y")
        assert y[0] and y[1] == y[0]


# -- settings --------------------------------------------------------------------------------


def test_rollups_and_gap_threshold_are_recorded(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path / "a").close()
    body = orjson.loads((tmp_path / "a" / "hfdata.json").read_bytes())
    assert (body["rollups"], body["gap_threshold"]) == (["1min", "1h"], None)
    hfdata.open_store(
        tmp_path / "b", rollups=["30s", "1h"], gap_threshold=timedelta(minutes=5)
    ).close()
    body = orjson.loads((tmp_path / "b" / "hfdata.json").read_bytes())
    assert (body["rollups"], body["gap_threshold"]) == (["30s", "1h"], 300.0)
    with hfdata.open_store(tmp_path / "b") as store:
        assert store.settings.rollups == ("30s", "1h")
        assert store.settings.gap_threshold == timedelta(minutes=5)
        assert store.settings.gap_threshold_ns == 300 * 10**9
        assert store.settings.resolutions() == [("30s", 30 * 10**9), ("1h", HOUR)]
    hfdata.open_store(tmp_path / "b", rollups=("30s", "1h"), gap_threshold="5min").close()
    with pytest.raises(SettingsConflict, match="rollups"):
        hfdata.open_store(tmp_path / "b", rollups=("1h",))
    with pytest.raises(SettingsConflict, match="gap_threshold"):
        hfdata.open_store(tmp_path / "b", gap_threshold=None)


def test_a_store_from_before_issue_19_reads_the_defaults(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path).close()
    path = tmp_path / "hfdata.json"
    body = orjson.loads(path.read_bytes())
    del body["rollups"], body["gap_threshold"]
    path.write_bytes(orjson.dumps(body))
    with hfdata.open_store(tmp_path) as store:
        assert store.settings.rollups == ("1min", "1h") and store.settings.gap_threshold is None


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"rollups": ("1D",)}, "rollups"),
        ({"rollups": ("1MS",)}, "rollups"),
        ({"rollups": ("-1min",)}, "rollups"),
        ({"rollups": ("1min", "60s")}, "rollups"),
        ({"rollups": ("often",)}, "rollups"),
        ({"rollups": (60,)}, "rollups"),
        ({"gap_threshold": "-5min"}, "gap_threshold"),
        ({"gap_threshold": timedelta(0)}, "gap_threshold"),
        ({"gap_threshold": "soon"}, "gap_threshold"),
        ({"gap_threshold": 300}, "gap_threshold"),
    ],
    ids=repr,
)
def test_bad_rollups_and_gap_thresholds_are_refused(
    tmp_path: Path, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        hfdata.open_store(tmp_path, **kwargs)
    assert raised.value.argument == argument
    assert not (tmp_path / "hfdata.json").exists()


def test_init_takes_rollups_and_a_gap_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "s"
    assert main(["init", str(root), "--rollups", "10s,1h", "--gap-threshold", "2min"]) == 0
    assert "rollups=10s,1h, gap_threshold=2m" in capsys.readouterr().out
    body = orjson.loads((root / "hfdata.json").read_bytes())
    assert (body["rollups"], body["gap_threshold"]) == (["10s", "1h"], 120.0)
    assert main(["init", str(tmp_path / "t"), "--rollups", "none", "--gap-threshold", "auto"]) == 0
    assert "rollups=none, gap_threshold=auto" in capsys.readouterr().out
    assert main(["init", str(tmp_path / "u"), "--rollups", "1D"]) == 2
    assert "rollups" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "v"), "--gap-threshold", "soon"]) == 2
    assert "not a positive duration" in capsys.readouterr().err


def test_a_large_file_gets_exact_rollups_window_by_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over WHOLE_ROWS a file is derived row group by row group (memory bounded as
    optimize's): its rollups are exactly the whole file's."""
    monkeypatch.setattr(derive, "WHOLE_ROWS", 1000)
    monkeypatch.setattr(derive, "WINDOW_ROWS", 1)  # one row group (16 Ki rows) at a time
    with hfdata.open_store(tmp_path / "s", rollups=("1min", "7s", "1h")) as store:
        store.append_many("x", frame(T0 - pd.Timedelta(hours=3), 60_000, step="250ms"))
        store.compact(include_active=True)
        [file] = store.parts.listing("x").files
        assert file.root.read_footer(file).num_row_groups > 3
        ns, values = points_of(file)
        want = rollups_of(store, ns, values, "float")
        for rule, _ in store.settings.resolutions():
            [table] = load_rollups(store.parts, [file], rule).values()
            assert table is not None and table.equals(want[rule])
        store.compact()  # nothing more to derive
        assert len(store.parts.sidecars("_rollups")) == 3
        assert len(store.parts.sidecars("_stats")) == 1
        # the same, read back row group by row group (upgrade, optimize: no table in memory)
        store.parts.delete_sidecars(store.parts.sidecars("_rollups"))
        derive.derive_missing(store.root, store.parts, store.settings, "x")
        want = rollups_of(store, ns, values, "float")
        for rule, _ in store.settings.resolutions():
            [table] = load_rollups(store.parts, [file], rule).values()
            assert table is not None and table.equals(want[rule])


def awkward_frame(n: int = 3000) -> pd.DataFrame:
    """Points with what window edges can cut: gaps, repeated timestamps (some holding
    another value), a long stuck run, a long NaN run, short runs everywhere."""
    rng = np.random.default_rng(19)
    k = np.arange(n)
    for a, b in ((300, 320), (500, 560), (700, 715), (1500, 1800), (2300, 2330), (2500, 2520)):
        k = k[(k < a) | (k >= b)]  # gaps
    values = rng.integers(0, 3, len(k)).astype(float)
    values[900:1300] = 7.0  # stuck across many windows
    values[2000:2150] = np.nan
    values[rng.random(len(k)) < 0.02] = np.nan
    twice = np.sort(rng.choice(len(k), 30, replace=False))
    k, values = np.insert(k, twice, k[twice]), np.insert(values, twice, values[twice])
    values[twice[:15] + np.arange(15)] += 1.0  # conflicting duplicates
    index = T0 + pd.to_timedelta(k * 250, unit="ms")
    return pd.DataFrame({"value": values}, index=pd.DatetimeIndex(index))


@pytest.mark.parametrize("rollups", [(), ("1s",)], ids=["no-rollups", "1s"])
def test_a_large_file_gets_stats_merged_window_by_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rollups: tuple[str, ...]
) -> None:
    """Over WHOLE_ROWS a file's stats are merged from windows of its rows (cut at a
    bin edge, or at a timestamp): equal to `file_stats` of all its rows, runs and gaps
    across window edges joined, the longest picked over the whole file (few listed, so
    the lists are cut), the interval sketch exact; the float sum within rounding. From
    the table compaction wrote, and read back row group by row group."""
    monkeypatch.setattr(derive, "WHOLE_ROWS", 100)
    monkeypatch.setattr(derive, "WINDOW_ROWS", 50)
    monkeypatch.setattr(stats_module, "MAX_LISTED", 4)
    monkeypatch.setattr(stats_module, "EXACT_INTERVALS", 3)
    monkeypatch.setattr(files_module, "ROW_GROUP_ROWS", 64)
    with hfdata.open_store(tmp_path / "s", rollups=rollups) as store:
        store.append_many("x", awkward_frame())
        store.compact(include_active=True)
        [file] = store.parts.listing("x").files
        ns, values = points_of(file)
        want = file_stats(ns, values, "float")
        assert want.gaps_truncated and want.runs_truncated and want.quantiles is not None
        for attempt in ("in memory", "read back"):
            clear_sidecar_cache()
            got = load_stats(store.parts, [file])[file.rel]
            assert got is not None, attempt
            assert dataclasses.replace(got, sum=want.sum) == want, attempt
            assert got.sum == pytest.approx(want.sum, rel=1e-12), attempt
            store.parts.delete_sidecars(store.parts.sidecars("_stats"))
            derive.derive_missing(store.root, store.parts, store.settings, "x")


def test_a_file_too_varied_to_tally_gets_no_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A windowed file with more distinct intervals than the tally keeps gets its
    rollups and no stats (readers compute them), rather than a histogram as large as
    its rows."""
    monkeypatch.setattr(derive, "WHOLE_ROWS", 100)
    monkeypatch.setattr(derive, "WINDOW_ROWS", 50)
    monkeypatch.setattr(stats_module, "MAX_TALLIED", 10)
    with hfdata.open_store(tmp_path / "s", rollups=("1s",)) as store:
        jitter = np.cumsum(np.random.default_rng(3).integers(10**8, 10**9, 400))
        index = pd.DatetimeIndex(T0 + pd.to_timedelta(jitter, unit="ns"))
        store.append_many("x", pd.DataFrame({"value": np.arange(400.0)}, index=index))
        store.compact(include_active=True)
        [file] = store.parts.listing("x").files
        assert load_stats(store.parts, [file]) == {file.rel: None}
        assert len(store.parts.sidecars("_rollups")) == 1


# -- upgrade builds what a store lacks -------------------------------------------------------


def older_store(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store whose files have no sidecars (written before issue 19), and the orphaned
    sidecars of a variable dropped with a drop cut short."""
    with monkeypatch.context() as m:
        m.setattr(compaction, "derive_after_publish", lambda *a, **k: Derived())
        with hfdata.open_store(root) as store:
            store.append_many("x", frame(T0, 5000))
            store.append_many("y", frame(T0, 20))
            store.append("note", T0, "text")
            store.compact(include_active=True)
            assert store.parts.sidecars("_stats") == []
            store.parts.put_sidecar(
                "_stats/kind=float/variable=gone/date=2026-11-26/part-b.json", b"{}"
            )
            store.parts.put_sidecar(
                "_rollups/res=1h/kind=float/variable=gone/date=2026-11-26/part-b.parquet", b""
            )


def complete(store: hfdata.Store) -> None:
    for encoded in ("x", "y", "note"):
        live, stats, rollups = state(store, encoded)
        assert live and stats == live
        assert rollups == (sorted(live * 2) if encoded != "note" else [])
    assert state(store, "gone") == ([], [], [])


def test_hfdata_upgrade_builds_the_missing_sidecars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "s"
    older_store(root, monkeypatch)
    calls = {"n": 0}
    real = LocalRoot.put_sidecars

    def flaky(self: LocalRoot, items: Sequence[tuple[str, bytes]]) -> None:
        for rel, data in items:
            calls["n"] += 1
            if calls["n"] == 4:  # one write fails: the rest go on, a re-run finishes it
                raise OSError(errno.EIO, "injected")
            real(self, [(rel, data)])

    with monkeypatch.context() as m:
        m.setattr(LocalRoot, "put_sidecars", flaky)
        with pytest.warns(RuntimeWarning, match="injected"):
            first = upgrade_store(root)
    assert first.sidecars > 0 and first.orphans == 2
    assert main(["upgrade", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"format version {FORMAT_VERSION} already" in out and "removed" in out
    assert " 0 stats and rollup files built" not in out  # the failed one is built now
    with hfdata.open_store(root) as store:
        complete(store)
    again = upgrade_store(root)  # idempotent
    assert (again.sidecars, again.orphans) == (0, 0)


def test_open_store_upgrade_builds_the_missing_sidecars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "s"
    older_store(root, monkeypatch)
    with hfdata.open_store(root) as store:  # without upgrade=True nothing is built
        assert state(store, "x")[1:] == ([], [])
    with hfdata.open_store(root, upgrade=True) as store:
        complete(store)


# -- verify ----------------------------------------------------------------------------------


def test_verify_checks_the_sidecars_against_their_files(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with hfdata.open_store(root) as store:
        store.append_many("x", frame(T0, 5000))
        store.compact(include_active=True)
        parts = store.parts
        first, second = parts.listing("x").files

    def messages(level: str) -> list[str]:
        return [f.message for f in verify(root) if f.level == level]

    assert messages("error") == [] and messages("warning") == []
    assert not [m for m in messages("ok") if "not built yet" in m]
    parts.put_sidecar(stats_rel(first), parts.get_sidecar(stats_rel(second)) or b"")
    parts.put_sidecar(rollup_rel(second, "1h"), parts.get_sidecar(rollup_rel(first, "1h")) or b"")
    parts.put_sidecar(rollup_rel(second, "1min"), b"garbage")
    orphan = stats_rel(first.rel.replace("part-", "part-gone"))
    parts.put_sidecar(orphan, b"{}")
    parts.delete_sidecars([stats_rel(second)])
    errors = messages("error")
    assert len(errors) == 2  # the garbage one counts as missing: see test_sidecars_unreadable
    assert any(e.startswith(stats_rel(first)) and "rows from" in e for e in errors)
    assert any(e.startswith(rollup_rel(second, "1h")) and "rolls up" in e for e in errors)
    [warning] = messages("warning")
    assert warning.startswith("1 stats or rollup files name no live") and orphan in warning
    [lacking] = [m for m in messages("ok") if "not built yet" in m]
    assert lacking.startswith("2 stats or rollup files not built yet")
    assert f"1 of them unreadable (e.g. {rollup_rel(second, '1min')} (not a rollup" in lacking
    # what the messages say to do puts it right
    parts.delete_sidecars([stats_rel(first), rollup_rel(second, "1h"), rollup_rel(second, "1min")])
    upgrade_store(root)
    assert messages("error") == [] and messages("warning") == []


def test_a_shared_roots_killed_sidecar_writes_are_swept_by_their_store_only(
    tmp_path: Path,
) -> None:
    """A kill between a filesystem root's sidecar temporary and its rename leaves the
    temporary; the next compaction of the store that wrote it removes it, and leaves
    temporaries of another store sharing the root (maybe being written right now)."""
    shared = tmp_path / "shared"
    with hfdata.open_store(tmp_path / "a", parquet_root=shared) as store:
        times = pd.date_range("2026-01-01", periods=3, freq="1s", tz="UTC")
        store.append_many("v", pd.DataFrame({"timestamp": times[:2], "value": [1.0, 2.0]}))
        store.compact(include_active=True, progress=False)
        owner = store.parts.owner  # type: ignore[attr-defined]
        rel = next(iter(store.parts.sidecars("_stats")))
        folder = (shared / rel).parent
        ours = folder / f".{Path(rel).name}.{owner}~0a1b2c3d.tmp"
        theirs = folder / f".{Path(rel).name}.ffffffffffffffff~0a1b2c3d.tmp"
        for left in (ours, theirs):
            left.write_bytes(b"{cut short")
        store.append_many("v", pd.DataFrame({"timestamp": times[2:], "value": [3.0]}))
        store.compact(include_active=True, progress=False)
        assert not ours.exists() and theirs.exists()
        assert store.read("v")["value"].tolist() == [1.0, 2.0, 3.0]
