"""Parquet on another filesystem: an S3 server (moto, loopback) and a separate local path.

The log stays local; compaction uploads unique objects and publishes a batch with one
commit record; readers read only committed files. Checked: results equal a plain local
store's, the bucket layout, the publish step against readers (never a point twice, never
one missing), failures rolled back or forward, two stores sharing one bucket, optimize
and drop.
"""

from __future__ import annotations

import builtins
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from s3server import make_bucket, moto_server, storage_options

import hfdata
from hfdata.errors import CompactionFailed, SettingsConflict
from hfdata.parquet import objectstore
from hfdata.parquet.objectstore import ParquetRoot, filesystem, normalise_uri
from hfdata.parquet.root import PartsRoot
from hfdata.parquet.sidecars import data_rel

_buckets = itertools.count()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def bucket(endpoint: str) -> dict[str, Any]:
    """A fresh bucket: `parquet_root` and `storage_options` to open a store on it."""
    name = f"hf-{next(_buckets)}"
    make_bucket(endpoint, name)
    return {"parquet_root": f"s3://{name}/prefix", "storage_options": storage_options(endpoint)}


def _frame(start: str, n: int, freq: str = "1s", offset: float = 0.0) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    return pd.DataFrame({"timestamp": idx, "value": np.arange(n, dtype=float) + offset})


def _fill(store: hfdata.Store) -> None:
    """Two days, a late batch into the first day, and a log tail."""
    store.append_many("x", _frame("2026-11-01T22:00", 10_000))
    store.compact(include_active=True)
    store.append_many("x", _frame("2026-11-01T23:00", 500, "7s", 0.5))  # late data
    store.compact(include_active=True)
    store.append_many("x", _frame("2026-11-02T05:00", 300, "1s", 0.25))  # log tail
    store.append_many("y", _frame("2026-11-01T00:00", 100, "1h"))
    store.compact(variables=["y"], include_active=True)
    store.flush()


# -- locations and options ----------------------------------------------------------------


def test_normalise_uri_keeps_uris_and_resolves_paths(tmp_path: Path) -> None:
    assert normalise_uri("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert normalise_uri(f"file://{tmp_path}/p") == str(tmp_path / "p")
    assert normalise_uri(tmp_path / "a" / ".." / "p") == str(tmp_path / "p")


def test_s3_options_translate_to_arrow_and_fsspec_takes_the_rest() -> None:
    fs, base = filesystem(
        "s3://bkt/pre", {"endpoint_url": "http://127.0.0.1:9", "key": "k", "secret": "s"}
    )
    assert isinstance(fs, pafs.S3FileSystem)
    assert base == "bkt/pre"
    fs, base = filesystem("s3://bkt/pre", {"key": "k", "secret": "s"}, backend="fsspec")
    assert isinstance(fs, pafs.PyFileSystem)
    fs, _ = filesystem("s3://bkt/pre", {"key": "k", "secret": "s", "config_kwargs": {}})
    assert isinstance(fs, pafs.PyFileSystem)  # an s3fs-only option: s3fs itself
    fs, base = filesystem("memory://somewhere")
    assert isinstance(fs, pafs.PyFileSystem)
    with pytest.raises(ValueError, match="storage_options"):
        filesystem("/tmp/x", {"key": "k"})


def test_parquet_root_is_recorded_and_checked(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    with hfdata.open_store(tmp_path / "s", parquet_root=elsewhere) as store:
        assert isinstance(store.parts, ParquetRoot) and store.parts.uri == str(elsewhere)
    with hfdata.open_store(tmp_path / "s") as store:  # recorded: no need to repeat it
        assert isinstance(store.parts, ParquetRoot) and store.parts.uri == str(elsewhere)
    with pytest.raises(SettingsConflict, match="parquet_root"):
        hfdata.open_store(tmp_path / "s", parquet_root=tmp_path / "other")
    with pytest.raises(SettingsConflict, match="parquet_root"):
        hfdata.open_store(tmp_path / "s", parquet_root=None)
    with pytest.raises(ValueError, match="parquet_root"):
        hfdata.open_store(tmp_path / "plain", storage_options={"key": "k"})


# -- results equal a local store ----------------------------------------------------------


@pytest.mark.parametrize("where", ["s3", "path"])
def test_reads_equal_a_local_store(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    options: dict[str, Any] = (
        request.getfixturevalue("bucket") if where == "s3" else {"parquet_root": tmp_path / "pq"}
    )
    with (
        hfdata.open_store(tmp_path / "ref") as ref,
        hfdata.open_store(tmp_path / "s", **options) as st,
    ):
        _fill(ref)
        _fill(st)
        assert not (tmp_path / "s" / "parquet").exists()  # nothing Parquet under the root
        assert st.variables() == ref.variables() == ["x", "y"]
        windows = [
            (None, None),
            ("2026-11-01T23:10", "2026-11-01T23:20"),  # inside one row group
            ("2026-11-01T23:59", "2026-11-02T05:01"),  # across days and into the log tail
            ("2026-11-05", None),  # nothing
        ]
        for start, end in windows:
            got = st.read("x", start, end)
            pd.testing.assert_frame_equal(got, ref.read("x", start, end))
        pd.testing.assert_frame_equal(
            st.read(["x", "y"], resample="1h", how="wide"),
            ref.read(["x", "y"], resample="1h", how="wide"),
        )
        pd.testing.assert_frame_equal(
            st.scan("x", "2026-11-01T23:00").collect().to_pandas(),
            ref.scan("x", "2026-11-01T23:00").collect().to_pandas(),
        )
        a, b = st.info("x"), ref.info("x")
        assert (a.rows, a.parquet_rows, a.log_rows, a.first, a.last, a.partitions) == (
            b.rows,
            b.parquet_rows,
            b.log_rows,
            b.first,
            b.last,
            b.partitions,
        )
        assert a.parquet_files == b.parquet_files == 3


def test_bucket_layout_and_commit_records(bucket: dict[str, Any], tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("temp/°C", _frame("2026-11-01T23:59:00", 120))
        report = store.compact(include_active=True)
        assert report.files == 2 and report.rows == 120
        remote = store.parts
        assert isinstance(remote, ParquetRoot)
        infos = remote.fs.get_file_info(pafs.FileSelector(remote.base, recursive=True))
        files = sorted(
            i.path.removeprefix(remote.base + "/") for i in infos if i.type == pafs.FileType.File
        )
        data = [f for f in files if f.startswith("kind=") and f.endswith(".parquet")]
        commits = [f for f in files if f.startswith("_hfdata/") and f.endswith(".json")]
        stats = [f for f in files if f.startswith("_stats/")]  # issue 19: sidecars beside
        assert stats == [f"_stats/{d.removesuffix('.parquet')}.json" for d in data]
        assert [d.rsplit("/", 1)[0] for d in data] == [
            "kind=float/variable=temp%2F%C2%B0C/date=2026-11-01",
            "kind=float/variable=temp%2F%C2%B0C/date=2026-11-02",
        ]
        assert len(commits) == 1 and commits[0].startswith("_hfdata/commits/temp%2F%C2%B0C/")
        kind, live, owners = remote.live("temp%2F%C2%B0C")
        assert kind == "float"
        assert [f.rows for f in live] == [60, 60]
        assert set(owners.values()) == {store.settings.store_id}
        assert not list((tmp_path / "s" / "log" / "temp%2F%C2%B0C").glob("*.jsonl"))


def test_uncommitted_objects_are_invisible(bucket: dict[str, Any], tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01", 100))
        store.compact(include_active=True)
        remote = store.parts
        assert isinstance(remote, ParquetRoot)
        stray = remote.part_rel("x", "float", "2026-11-01", "29991231T000000000000_1_abcdef")
        remote.write_part(store.read("x", output="arrow"), stray)  # uploaded, never committed
        assert len(store.read("x")) == 100
        assert store.info("x").parquet_files == 1


def test_large_remote_objects_decode_on_threads(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hfdata.read.files as read_module

    with (
        hfdata.open_store(tmp_path / "ref") as ref,
        hfdata.open_store(tmp_path / "s", **bucket) as st,
    ):
        for store in (ref, st):
            _fill(store)
            store.append_many("big", _frame("2026-11-01", 100_000, "100ms"))  # 7 row groups
            store.compact(include_active=True)
        # the resample reads the points (rollups=False): from its rollups it would decode none
        wide: dict[str, Any] = {"resample": "1h", "how": "wide", "rollups": False}
        want = [ref.read("big"), ref.read(["x", "big"], **wide)]
        runs: list[int] = []
        _, pool = read_module._threads()

        class Counting:
            def map(self, fn: Any, items: Any) -> Any:
                items = list(items)
                runs.append(len(items))
                return (pool or builtins).map(fn, items)

        monkeypatch.setattr(read_module, "_PARALLEL_ROWS", 0)  # every object counts as large
        monkeypatch.setattr(read_module, "_threads", lambda: (2, Counting()))
        hfdata.read.query.clear_cache()
        got = [st.read("big"), st.read(["x", "big"], **wide)]
        assert runs == [2, 2]  # the large object, in two runs of row groups, each time
        for a, b in zip(got, want, strict=True):
            pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("threaded", [False, True])
def test_remote_reads_verify_page_checksums(
    bucket: dict[str, Any], tmp_path: Path, threaded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flipped bit in a data object fails whole-object and row-group reads, as on disk,
    decoded on this thread or (a large object) on several."""
    import hfdata.read.files as read_module

    if threaded:
        monkeypatch.setattr(read_module, "_PARALLEL_ROWS", 0)
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01", 100_000, "100ms"))
        store.compact(include_active=True)
        remote = store.parts
        assert isinstance(remote, ParquetRoot)
        [rel] = [f.rel for f in remote.live("x")[1]]
        with remote.fs.open_input_stream(remote.full(rel)) as src:
            data = bytearray(src.read())
        data[len(data) // 2] ^= 0x10  # inside the value pages; same size as committed
        with remote.fs.open_output_stream(remote.full(rel)) as out:
            out.write(bytes(data))
        hfdata.read.query.clear_cache()
        with pytest.raises(OSError, match=r"(?i)checksum"):
            store.read("x")
        with pytest.raises(OSError, match=r"(?i)checksum"):
            store.read("x", "2026-11-01T01:23", "2026-11-01T01:24")


# -- the publish step against readers and failures ----------------------------------------


def test_readers_see_every_point_once_while_a_batch_publishes(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read at every step of a compaction: after each upload (same thread) and while the
    commit is being written (another reader, blocked on the publish lock)."""
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01T20:00", 20_000))  # 3 partitions... and 2 days
        store.rotate()
        expected = store.read("x")
        other = hfdata.open_store(
            tmp_path / "s", **{k: v for k, v in bucket.items() if k != "parquet_root"}
        )
        seen: list[int] = []
        write_part = ParquetRoot.write_part
        put_commit = ParquetRoot.put_commit
        readers: list[threading.Thread] = []
        results: list[pd.DataFrame] = []

        def upload(self: ParquetRoot, table: Any, rel: str) -> dict[str, Any]:
            entry = write_part(self, table, rel)
            frame = other.read("x")
            seen.append(len(frame))
            pd.testing.assert_frame_equal(frame, expected)
            return entry

        def commit(self: ParquetRoot, record: dict[str, Any]) -> None:
            reader = threading.Thread(target=lambda: results.append(other.read("x")))
            reader.start()
            readers.append(reader)
            put_commit(self, record)

        monkeypatch.setattr(ParquetRoot, "write_part", upload)
        monkeypatch.setattr(ParquetRoot, "put_commit", commit)
        store.compact()
        for reader in readers:
            reader.join()
        assert seen == [20_000, 20_000]
        assert len(results) == 1
        pd.testing.assert_frame_equal(results[0], expected)
        pd.testing.assert_frame_equal(other.read("x"), expected)
        assert other.info("x").log_rows == 0
        other.close()


def test_failed_upload_rolls_back(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01T23:00", 7200))
        store.rotate()
        calls = itertools.count()
        write_part = ParquetRoot.write_part

        def flaky(self: ParquetRoot, table: Any, rel: str) -> dict[str, Any]:
            if next(calls) == 1:
                raise OSError("connection reset")
            return write_part(self, table, rel)

        monkeypatch.setattr(ParquetRoot, "write_part", flaky)
        with pytest.raises(CompactionFailed, match="compacting 'x' failed: connection reset"):
            store.compact()
        remote = store.parts
        assert isinstance(remote, ParquetRoot)
        infos = remote.fs.get_file_info(
            pafs.FileSelector(remote.base, recursive=True, allow_not_found=True)
        )
        assert not [i for i in infos if i.path.endswith(".parquet")]  # first upload deleted
        assert not list((tmp_path / "s" / "_journal").glob("*.json"))
        assert len(store.read("x")) == 7200
        monkeypatch.setattr(ParquetRoot, "write_part", write_part)
        assert store.compact().rows == 7200
        assert store.info("x").parquet_rows == 7200


def test_crash_after_commit_rolls_forward_at_next_open(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit is written, the process dies before the segments move: the journal
    (state publishing) is finished by the next open, so the points count once."""
    from hfdata.compact import journal as journal_mod

    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01", 1000))
        store.rotate()

        def die(*args: Any) -> None:
            raise KeyboardInterrupt  # stands in for a kill between the commit and the moves

        monkeypatch.setattr(journal_mod, "rename_within", die)  # moving a segment "kills" us
        with pytest.raises(KeyboardInterrupt):
            store.compact()
    monkeypatch.undo()
    [left] = (tmp_path / "s" / "_journal").glob("*.json")
    assert b'"publishing"' in left.read_bytes()
    assert isinstance(store.parts, ParquetRoot) and store.parts.live("x")[1]  # the commit is there
    options = {k: v for k, v in bucket.items() if k != "parquet_root"}
    with hfdata.open_store(tmp_path / "s", **options) as store:
        assert not list((tmp_path / "s" / "_journal").glob("*.json"))
        assert len(store.read("x")) == 1000
        info = store.info("x")
        assert (info.parquet_rows, info.log_rows) == (1000, 0)


def test_recovery_needs_the_parquet_root(tmp_path: Path) -> None:
    from hfdata.compact.journal import Journal, roll_back

    journal = Journal(
        "b1", outputs=[("kind=float/variable=x/date=d/part-b1.parquet",) * 2], remote=True
    )
    with pytest.raises(ValueError, match="parquet_root"):
        roll_back(tmp_path, journal)


# -- several stores on one bucket, optimize, drop ------------------------------------------


def test_two_machines_share_one_bucket(bucket: dict[str, Any], tmp_path: Path) -> None:
    a = hfdata.open_store(tmp_path / "a", **bucket)
    b = hfdata.open_store(tmp_path / "b", **bucket)
    assert a.settings.store_id != b.settings.store_id
    a.append_many("x", _frame("2026-11-01T00:00", 3000, "10s"))
    b.append_many("x", _frame("2026-11-01T00:00:05", 3000, "10s", 0.5))
    for _ in range(2):
        a.compact(include_active=True)
        b.compact(include_active=True)
        a.append_many("x", _frame("2026-11-01T12:00", 10, "1s"))
        b.append_many("x", _frame("2026-11-01T12:00", 10, "1s"))
    b.flush()
    # b reads everything a compacted plus its own log tail, and vice versa
    assert len(b.read("x")) == 3000 + 3000 + 2 * 10 + 10
    assert len(a.read("x")) == 3000 + 3000 + 2 * 10 + 10
    before = b.read("x", include_log=False)
    a.optimize()  # merges only a's own files
    remote = a.parts
    assert isinstance(remote, ParquetRoot)
    _, live, owners = remote.live("x")
    assert sorted(owners[f.rel] == a.settings.store_id for f in live) == [False, False, True]
    after = b.read("x", include_log=False)
    assert len(after) == len(before)
    pd.testing.assert_frame_equal(
        after.sort_values(["timestamp", "value"]), before.sort_values(["timestamp", "value"])
    )
    infos = remote.fs.get_file_info(pafs.FileSelector(remote.base, recursive=True))
    rels = [i.path.removeprefix(remote.base + "/") for i in infos if i.type == pafs.FileType.File]
    data = sorted(r for r in rels if r.startswith("kind=") and r.endswith(".parquet"))
    assert data == sorted(f.rel for f in live)  # replaced ones deleted
    # their sidecars too (issue 19): one stats file and two rollups per live file, no orphans
    assert sorted(str(data_rel(r)) for r in rels if r.startswith("_stats/")) == data
    assert sorted(str(data_rel(r)) for r in rels if r.startswith("_rollups/")) == sorted(data * 2)
    a.close()
    b.close()


def _records(remote: PartsRoot, encoded: str) -> list[dict[str, Any]]:
    """The commit records of a variable as stored (not through the reader's cache)."""
    assert isinstance(remote, ParquetRoot)
    directory = f"{remote.base}/_hfdata/commits/{encoded}"
    out = []
    for info in remote.fs.get_file_info(pafs.FileSelector(directory)):
        with remote.fs.open_input_stream(info.path) as src:
            out.append(json.loads(src.read()))
    return out


def test_commit_records_fold(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every third record of a store folds its records into one: reads, info and another
    store's records are unchanged, and optimize's replacements carry over."""
    monkeypatch.setattr(objectstore, "FOLD_AT", 3)
    a = hfdata.open_store(tmp_path / "a", **bucket)
    b = hfdata.open_store(tmp_path / "b", **bucket)
    b.append_many("x", _frame("2026-11-02", 50, offset=0.5))
    b.compact(include_active=True)
    b.append_many("x", _frame("2026-11-03", 50, offset=0.25))
    b.compact(include_active=True)  # b: two records, below the fold
    counts = []
    for day in range(1, 6):  # a: a record per compaction, folded at the third
        a.append_many("x", _frame(f"2026-11-0{day}T12:00", 40, offset=day * 100.0))
        a.compact(include_active=True)
        assert isinstance(a.parts, ParquetRoot)
        counts.append(len(_records(a.parts, "x")))
    assert counts == [3, 4, 3, 4, 3]  # b's 2 + a's 1, 2, then folded to 1, 2, 1
    records = _records(a.parts, "x")
    own = [r for r in records if r["owner"] == a.settings.store_id]
    [folded] = own
    assert len(folded["folds"]) == 3 and len(folded["outputs"]) == 5
    assert len(a.read("x")) == 5 * 40 + 2 * 50
    assert a.info("x").parquet_files == 7
    a.optimize()  # merges a's 5 files (2 partitions share a day with b's) per partition
    a.append_many("x", _frame("2026-11-06", 10))
    a.compact(include_active=True)
    a.append_many("x", _frame("2026-11-07", 10))
    a.compact(include_active=True)  # folds again, over the optimize's replacements
    fresh = hfdata.open_store(tmp_path / "c", **bucket)  # a new reader: nothing cached
    want = a.read("x", include_log=False).sort_values(["timestamp", "value"])
    got = fresh.read("x").sort_values(["timestamp", "value"])
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == 5 * 40 + 2 * 50 + 20
    others = [r for r in _records(a.parts, "x") if r["owner"] == b.settings.store_id]
    assert [len(r["outputs"]) for r in others] == [1, 1]  # b's records untouched
    for store in (a, b, fresh):
        store.close()


def test_a_fold_cut_short_never_revives_a_replaced_file(
    bucket: dict[str, Any], tmp_path: Path
) -> None:
    """A fold deletes the records it folded oldest first: cut short after one deletion,
    the record that replaced a file is still there, so the file stays replaced."""
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        for offset in (0.0, 0.5):
            store.append_many("x", _frame("2026-11-01", 20, offset=offset))
            store.compact(include_active=True)
        store.optimize()  # a third record replaces the first two records' files
        remote = store.parts
        assert isinstance(remote, ParquetRoot)
        want = store.read("x")
        real = remote.fs

        class DeletesOnce:
            deleted = 0

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def delete_file(self, path: str) -> None:
                if self.deleted:
                    raise OSError("connection reset")
                self.deleted += 1
                real.delete_file(path)

        remote.fs = DeletesOnce()
        with pytest.raises(OSError, match="connection reset"):
            remote.fold("x", at=1)
        remote.fs = real
        assert len(_records(remote, "x")) == 3  # the fold's, and two of the three folded
        hfdata.read.query.clear_cache()
        pd.testing.assert_frame_equal(store.read("x"), want)
        assert store.info("x").parquet_files == 1


def test_a_failed_fold_is_a_warning(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches are published before the fold: its failure leaves the records and
    warns; the compaction itself succeeds and the points are readable."""

    def fail(self: ParquetRoot, encoded: str, at: int | None = None) -> bool:
        raise OSError("bucket unreachable")

    monkeypatch.setattr(ParquetRoot, "fold", fail)
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01", 30))
        with pytest.warns(RuntimeWarning, match="could not fold the commit records of 'x'"):
            report = store.compact(include_active=True)
        assert report.rows == 30
        assert len(store.read("x")) == 30


def test_a_fold_under_a_reader(bucket: dict[str, Any], tmp_path: Path) -> None:
    """A reader that listed records a fold then deleted lists again; a fold whose old
    records were not all deleted (a crash) counts each file once."""
    with hfdata.open_store(tmp_path / "w", **bucket) as writer:
        for day in range(1, 4):
            writer.append_many("x", _frame(f"2026-11-0{day}", 30, offset=day * 100.0))
            writer.compact(include_active=True)
        assert isinstance(writer.parts, ParquetRoot)
        want = writer.read("x")
        old = _records(writer.parts, "x")
        reader = ParquetRoot(writer.parts.uri, bucket["storage_options"], owner="reader")
        listing = reader._list
        calls = []

        def list_then_fold(directory: str) -> Any:
            infos = listing(directory)
            calls.append(directory)
            if len(calls) == 1:
                assert isinstance(writer.parts, ParquetRoot) and writer.parts.fold("x", at=1)
            return infos

        reader._list = list_then_fold  # type: ignore[method-assign]
        _, files, _ = reader.live("x")
        assert len(calls) == 2  # listed again after the folded records vanished
        assert sorted(f.rel for f in files) == sorted(o["path"] for r in old for o in r["outputs"])
        for record in old:  # the old records back beside the fold's
            writer.parts.put_commit(record)
        assert len(_records(writer.parts, "x")) == 4
        hfdata.read.query.clear_cache()
        pd.testing.assert_frame_equal(writer.read("x"), want)
        assert writer.info("x").parquet_rows == 90


def test_optimize_dedupe_and_drop(bucket: dict[str, Any], tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01", 100))
        store.compact(include_active=True)
        store.append_many("x", _frame("2026-11-01", 100, offset=1000.0))
        store.compact(include_active=True)
        assert len(store.read("x")) == 200
        store.optimize(dedupe="last")
        frame = store.read("x")
        assert len(frame) == 100 and frame["value"].min() == 1000.0
        assert store.info("x").parquet_files == 1
        store.drop("x")
        assert store.variables() == []
        with pytest.raises(hfdata.VariableNotFound):
            store.read("x")
        with pytest.raises(hfdata.VariableNotFound):
            store.drop("x")


def _bucket_parts(store: hfdata.Store) -> list[str]:
    remote = store.parts
    assert isinstance(remote, ParquetRoot)
    infos = remote.fs.get_file_info(pafs.FileSelector(remote.base, recursive=True))
    return sorted(i.path for i in infos if i.path.endswith(".parquet"))


def test_optimize_merges_in_windows_and_uploads_only_whole_objects(
    bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge of several windows is spooled locally and uploaded whole: a failure in
    its second window leaves the bucket as it was (no partial object), then a clean run
    gives the same rows as before, in one object. (Day one: 7,200 rows and 500 late
    ones, one row group each, so the windows cut at the late file's first point.)"""
    from hfdata.parquet import merge

    monkeypatch.setattr(merge, "WINDOW_ROWS", 2_000)
    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        _fill(store)
        expected = store.read("x")
        before = _bucket_parts(store)
        calls = itertools.count()
        real = merge.read_parquet  # type: ignore[attr-defined]  # the name merge looks up

        def flaky(*args: Any) -> Any:
            if next(calls) == 2:  # each window reads both files: the second window
                raise OSError("connection reset")
            return real(*args)

        from hfdata.compact import batch as batch_mod

        seen_at_roll_back: list[list[str]] = []
        roll_back = batch_mod.roll_back  # type: ignore[attr-defined]  # the name it calls

        def watched(*args: Any) -> None:
            seen_at_roll_back.append(_bucket_parts(store))
            roll_back(*args)

        monkeypatch.setattr(merge, "read_parquet", flaky)
        monkeypatch.setattr(batch_mod, "roll_back", watched)
        with pytest.raises(CompactionFailed, match=r"optimizing 'x' .*connection reset"):
            store.optimize()
        assert seen_at_roll_back == [before]  # nothing was ever uploaded, not even briefly
        assert _bucket_parts(store) == before
        assert list((tmp_path / "s" / "_journal").iterdir()) == []
        monkeypatch.setattr(merge, "read_parquet", real)
        report = store.optimize()
        assert report.files == 1 and report.rows == 7_700
        pd.testing.assert_frame_equal(store.read("x"), expected)
        assert store.info("x").parquet_files == 2  # the merged day and the untouched one


def test_a_reader_elsewhere_sees_only_committed_data(
    bucket: dict[str, Any], tmp_path: Path
) -> None:
    """A store with an empty log on the same bucket (another machine) reads the kind and
    the points from the commit records alone."""
    with hfdata.open_store(tmp_path / "w", **bucket) as writer:
        writer.append("flag", "2026-11-01T00:00:00Z", True)
        writer.append("flag", "2026-11-01T00:00:01Z", False)
        writer.compact(include_active=True)
        writer.append("flag", "2026-11-01T00:00:02Z", True)  # still in the writer's log
    with hfdata.open_store(tmp_path / "r", **bucket) as reader:
        assert reader.variables() == ["flag"]
        frame = reader.read("flag")
        assert frame["value"].tolist() == [True, False]
        assert reader.info("flag").kind == "bool"


def test_remote_root_pickles_without_its_cache(bucket: dict[str, Any], tmp_path: Path) -> None:
    import pickle

    with hfdata.open_store(tmp_path / "s", **bucket) as store:
        store.append_many("x", _frame("2026-11-01", 10))
        store.compact(include_active=True)
        remote = store.parts
        assert isinstance(remote, ParquetRoot)
        copy = pickle.loads(pickle.dumps(remote))
        assert copy.uri == remote.uri and copy.owner == remote.owner
        assert [f.rows for f in copy.live("x")[1]] == [10]
        assert len(pq.read_table(pa.BufferReader(copy.fetch(copy.live("x")[1][0])))) == 10
