"""Format 1 -> 3 (issue 16, chained through issue 20's step) and 2 -> 3 (issue 20).

Format 2 -> 3: a store whose Parquet files have no `arrived` column is upgraded by
rewriting each partition's files into one (named after the first it replaces), every
row's `arrived` the creation time in its old file's batch name; reads are unchanged,
sidecars are rebuilt for the new names and the old ones' deleted, and a second upgrade
changes nothing.

`data/format1.tar.gz` holds stores written by that hfdata (`data/make_format1.py` says how)
and what it read from them. After `hfdata upgrade` or `open_store(..., upgrade=True)`,
every read equals the old one exactly, every file sits in its kind's folder with its
kind's schema, `verify` is clean, and a second upgrade changes nothing. Without
`upgrade=True` the store is refused with an error naming both ways. Kill trials are in
tests/reliability/test_upgrade_killed.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from cliutil import hfdata_cli
from format1 import (
    assert_reads_equal,
    data_files,
    expected_reads,
    extract,
    point_shared_roots,
    reads,
    to_format2,
)
from reportref import is_quality

import hfdata
from hfdata.compact.upgrade import PLAN_FILE, upgrade
from hfdata.layout import batch_time_ns
from hfdata.parquet.files import KIND_SCHEMAS
from hfdata.parquet.objectstore import ParquetRoot
from hfdata.settings import FORMAT_VERSION, load_or_create, recorded_format_version
from hfdata.store import upgrade_store
from hfdata.tools.verify import verify


@pytest.fixture
def format1(tmp_path: Path) -> Path:
    base = extract(tmp_path)
    point_shared_roots(base)
    return base


def _kind_files(parquet: Path) -> list[Path]:
    return sorted(parquet.glob("kind=*/**/*.parquet"))  # not _stats/, _rollups/


def _check_layout(parquet: Path) -> None:
    """Only kind folders at the top; every file with exactly its kind's schema."""
    top = {p.name for p in parquet.iterdir() if not p.name.startswith(("_", "."))}
    assert top <= {f"kind={k}" for k in KIND_SCHEMAS}, top
    for path in _kind_files(parquet):
        kind = path.relative_to(parquet).parts[0].removeprefix("kind=")
        assert pq.read_schema(path).equals(KIND_SCHEMAS[kind]), path


def test_refused_without_upgrade(format1: Path) -> None:
    with pytest.raises(hfdata.UpgradeRequired) as err:
        hfdata.open_store(format1 / "local")
    message = str(err.value)
    assert f"hfdata upgrade {format1 / 'local'}" in message
    assert "upgrade=True" in message
    assert recorded_format_version(format1 / "local") == 1  # refusing changed nothing
    assert (format1 / "local" / "parquet" / "variable=count").is_dir()


def test_local_store_upgrades_and_reads_equal(format1: Path) -> None:
    root = format1 / "local"
    with hfdata.open_store(root, upgrade=True) as store:
        assert_reads_equal(reads(store), expected_reads(format1 / "expected" / "local"))
        assert store.info("plant/line 1").parquet_folder == "kind=float/variable=plant%2Fline%201"
        assert store.info("late kind").kind == "string"
        assert store.info("nones").kind == "float"  # format 1 stored its Nones as float64
    assert recorded_format_version(root) == FORMAT_VERSION
    _check_layout(root / "parquet")
    assert sorted(p.name for p in (root / "parquet" / "kind=string").iterdir()) == [
        "variable=late%20kind",
        "variable=status",
    ]
    assert not (root / "_journal" / "upgrade.plan").exists()
    # the fixture's "count" alternates +-2**53: Store.quality's spikes, warned of
    assert [f for f in verify(root) if f.level != "ok" and not is_quality(f.message)] == []


def test_upgrade_twice_changes_nothing(format1: Path) -> None:
    root = format1 / "local"
    report = upgrade_store(root)
    assert (report.from_version, report.to_version) == (1, FORMAT_VERSION)
    assert report.variables == 8
    assert report.rewritten >= 1  # "late kind": its all-None float64 file, now a string's
    before = {p: p.stat().st_mtime_ns for p in _kind_files(root / "parquet")}
    again = upgrade_store(root)
    assert (again.from_version, again.variables, again.files) == (FORMAT_VERSION, 0, 0)
    assert {p: p.stat().st_mtime_ns for p in _kind_files(root / "parquet")} == before


def test_shared_root_upgrades_each_store_its_own_files(format1: Path) -> None:
    shared = str(format1 / "shared_root")
    with hfdata.open_store(format1 / "shared_a", upgrade=True) as a:
        # b's files are still where format 1 put them; a reads them through b's commits
        assert_reads_equal(reads(a), expected_reads(format1 / "expected" / "shared"))
        legacy = list(Path(shared).glob("variable=*/*/*.parquet"))
        assert legacy, "b's files must not be moved by a's upgrade"
        findings = verify(format1 / "shared_a")
        assert [f for f in findings if f.level == "error"] == []
        assert any("another store's file" in f.message for f in findings)
    with hfdata.open_store(format1 / "shared_b", upgrade=True) as b:
        assert_reads_equal(reads(b), expected_reads(format1 / "expected" / "shared"))
    assert list(Path(shared).glob("variable=*/*/*.parquet")) == []
    _check_layout(Path(shared))
    findings = verify(format1 / "shared_b")
    assert [f for f in findings if f.level == "error"] == []
    # what is left is the data's own: the two stores wrote some equal timestamps
    assert all(
        "hold different values" in f.message or is_quality(f.message)
        for f in findings
        if f.level == "warning"
    )


class _Killed(BaseException):
    """The kill: nothing catches it."""


class _KilledInFolderRemoval(pafs.LocalFileSystem):  # type: ignore[misc]
    """A filesystem whose recursive `delete_dir` is killed after removing the folder's
    children (its date= folders) and before the folder itself, as a SIGKILL landing
    between the two does."""

    def delete_dir(self, path: str) -> None:
        for child in Path(path).iterdir():
            shutil.rmtree(child)
        raise _Killed


def test_shared_root_upgrade_killed_removing_an_emptied_folder_finishes(format1: Path) -> None:
    """Killed inside the removal of a format-1 folder it emptied (the last of the two
    stores to upgrade), the upgrade left the folder empty; the next run (its plan still
    names the variable) took an empty folder for one never emptied and kept it, so the
    shared root kept a `variable=...` folder beside the kind folders (torture trial t145,
    `variable=late%20kind`)."""
    shared = format1 / "shared_root"
    upgrade_store(format1 / "shared_b")
    victim = format1 / "shared_a"
    settings = load_or_create(victim, {})
    assert settings.parquet_root is not None
    parts = ParquetRoot(settings.parquet_root, owner=settings.store_id)
    parts.fs = _KilledInFolderRemoval()
    with pytest.raises(_Killed):
        upgrade(victim, parts, progress=False, settings=settings)
    emptied = [p for p in shared.glob("variable=*") if not any(p.iterdir())]
    assert emptied, "the kill must leave an emptied format-1 folder"
    assert (victim / "_journal" / PLAN_FILE).exists()
    assert recorded_format_version(victim) == 1
    upgrade_store(victim)
    assert list(shared.glob("variable=*")) == []
    _check_layout(shared)
    with hfdata.open_store(victim) as store:
        assert_reads_equal(reads(store), expected_reads(format1 / "expected" / "shared"))


def test_cli_upgrade(format1: Path) -> None:
    root = format1 / "local"
    refused = hfdata_cli("ls", root)
    assert refused.returncode != 0 and "hfdata upgrade" in refused.stderr
    findings = hfdata_cli("verify", root)
    assert findings.returncode == 1 and "format version 1" in findings.stdout + findings.stderr
    done = hfdata_cli("upgrade", root)
    assert done.returncode == 0, done.stderr
    assert f"from format version 1 to {FORMAT_VERSION}: 8 variables" in done.stdout
    listing = hfdata_cli("ls", "-l", "--json", root)
    rows = {r["variable"]: r for r in json.loads(listing.stdout)}
    assert rows["0042"]["parquet_folder"] == "kind=float/variable=0042"
    assert rows["cfg"]["parquet_folder"] == "kind=json/variable=cfg"
    assert hfdata_cli("upgrade", root).stdout.strip().endswith("nothing to do")


def test_s3_root_upgrades_through_commit_records(format1: Path) -> None:
    """On a real S3 server (moto): copies, one commit record, the originals deleted."""
    import pyarrow.fs as pafs
    from s3server import make_bucket, moto_server, storage_options

    from hfdata.parquet.objectstore import filesystem

    with moto_server() as url:
        make_bucket(url, "old")
        options = storage_options(url)
        uri = "s3://old/tree"
        fs, base = filesystem(uri, options)
        pafs.copy_files(
            str(format1 / "shared_root"),
            base,
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=fs,
        )
        for name in ("shared_a", "shared_b"):
            settings = format1 / name / "hfdata.json"
            recorded = json.loads(settings.read_text())
            recorded["parquet_root"] = uri
            settings.write_text(json.dumps(recorded))
        expected = expected_reads(format1 / "expected" / "shared")
        for name in ("shared_a", "shared_b"):
            with hfdata.open_store(format1 / name, upgrade=True, storage_options=options) as s:
                assert_reads_equal(reads(s), expected)
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=True))
        rels = [i.path.removeprefix(base + "/") for i in infos if i.path.endswith(".parquet")]
        data = [p for p in rels if not p.startswith("_rollups/")]  # issue 19: rollups beside
        assert data and all(p.startswith("kind=") for p in data)
        assert [f for f in verify(format1 / "shared_a", options) if f.level == "error"] == []


# -- format 2 -> 3 (issue 20) ----------------------------------------------------------------
T0 = pd.Timestamp("2026-11-26T10:00:00Z")


def _format2_store(root: Path) -> dict[int, str]:
    """A store of three compactions (so partitions hold several files, and one
    timestamp is in three files). Returns, per row (hash of its variable folder,
    timestamp ns and value), the name of the file holding it."""
    with hfdata.open_store(root, partition="day") as store:
        for batch in range(3):
            stamps = [T0 + pd.Timedelta(hours=h, seconds=batch) for h in range(0, 40, 7)]
            store.append_many(
                "temp",
                pd.DataFrame(
                    {"value": [float(batch)] * len(stamps)},
                    index=pd.DatetimeIndex(stamps, name="timestamp"),
                ),
            )
            store.append("count", T0 + pd.Timedelta(minutes=batch), batch, kind="int")
            store.append("count", T0, 100 + batch, kind="int")  # one timestamp, three files
            store.compact(include_active=True)
    where: dict[int, str] = {}
    for path in data_files(root / "parquet"):
        for ns, value in zip(
            pq.read_table(path).column("timestamp").cast(pa.int64()).to_pylist(),
            pq.read_table(path).column("value").to_pylist(),
            strict=True,
        ):
            where[hash((path.parent.parent.name, ns, value))] = path.name
    return where


def test_format2_store_upgrades_with_arrival_from_batch_names(tmp_path: Path) -> None:
    root = tmp_path / "s"
    where = _format2_store(root)
    with hfdata.open_store(root) as store:
        want = reads(store)
    before = to_format2(root)
    assert len(before) == 9  # temp: 2 days x 3 batches; count: 1 day x 3 batches
    old_stats = sorted((root / "parquet" / "_stats").rglob("*.json"))
    assert old_stats
    with pytest.raises(hfdata.UpgradeRequired):
        hfdata.open_store(root)
    report = upgrade_store(root)
    assert (report.from_version, report.to_version) == (2, FORMAT_VERSION)
    assert report.rewritten == len(before)
    assert recorded_format_version(root) == FORMAT_VERSION
    _check_layout(root / "parquet")
    files = list(data_files(root / "parquet"))
    assert len(files) == 3  # one per partition
    rows = 0
    for path in files:
        first = path.name.removeprefix("part-").removesuffix("_v3.parquet")
        # named after the first file it replaces
        assert str(path.with_name(f"part-{first}.parquet").relative_to(root / "parquet")) in before
        table = pq.read_table(path)
        assert table.schema.field("arrived").nullable is False
        for ns, value, arrived in zip(
            table.column("timestamp").cast(pa.int64()).to_pylist(),
            table.column("value").to_pylist(),
            table.column("arrived").cast(pa.int64()).to_pylist(),
            strict=True,
        ):
            assert arrived == batch_time_ns(where[hash((path.parent.parent.name, ns, value))])
            rows += 1
    assert rows == sum(before.values())
    with hfdata.open_store(root) as store:
        assert_reads_equal(reads(store), want)  # order of equal timestamps included
    # the sidecars name the new files; the old files' are gone
    stats = sorted((root / "parquet" / "_stats").rglob("*.json"))
    assert {p.stem for p in stats} == {p.stem for p in files}
    assert not set(old_stats) & set(stats)
    assert [f for f in verify(root) if f.level == "error"] == []
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    again = upgrade_store(root)
    assert (again.from_version, again.rewritten) == (FORMAT_VERSION, 0)
    assert {p: p.stat().st_mtime_ns for p in data_files(root / "parquet")} == mtimes
