"""The `PartsRoot` contract, run against every implementation: `LocalRoot` (`<root>/parquet`),
`ParquetRoot` on a local path elsewhere, and `ParquetRoot` on an S3 server (moto, loopback;
skipped without moto).

A batch goes through the root's steps in the compaction protocol's order (stage, write,
commit record, seal, reveal, delete what it replaces); the root must show it wholly or not
at all, read back exactly the rows written, and undo it with `discard`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hfdata.layout import new_batch_id
from hfdata.parquet.files import sort_stable, split_partitions
from hfdata.parquet.local import LocalRoot
from hfdata.parquet.objectstore import ParquetRoot
from hfdata.parquet.reader import read_parquet, row_groups
from hfdata.parquet.rollups import build
from hfdata.parquet.root import PartFile, PartsRoot
from hfdata.parquet.sidecars import (
    clear_sidecar_cache,
    encode_rollup,
    load_rollups,
    load_stats,
    rollup_rel,
    stats_rel,
)
from hfdata.parquet.stats import file_stats

HOUR = 3_600_000_000_000
T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00Z
SCHEMA = pa.schema(
    [
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("metadata", pa.string()),
    ]
)
_names = itertools.count()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    pytest.importorskip("moto")
    from s3server import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture(params=["local", "elsewhere", "s3"])
def parts(request: pytest.FixtureRequest, tmp_path: Path) -> PartsRoot:
    """A fresh, empty root of each kind."""
    if request.param == "local":
        return LocalRoot(tmp_path)
    if request.param == "elsewhere":
        return ParquetRoot(str(tmp_path / "elsewhere"), owner="me")
    from s3server import make_bucket, storage_options

    url: str = request.getfixturevalue("endpoint")
    bucket = f"roots-{next(_names)}"
    make_bucket(url, bucket)
    return ParquetRoot(f"s3://{bucket}/prefix", storage_options(url), owner="me")


def _table(stamps: list[int]) -> pa.Table:
    n = len(stamps)
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
            "value": np.arange(n, dtype=float),
            "metadata": [None if i % 2 else f'{{"i":{i}}}' for i in range(n)],
        },
        schema=SCHEMA,
    )


def _write_batch(
    parts: PartsRoot, encoded: str, table: pa.Table, spool: Path, replaces: Sequence[str] = ()
) -> tuple[list[tuple[str, str]], dict[str, Any] | None, list[PartFile]]:
    """Steps 4-5 of a batch: outputs staged and written, the commit record built."""
    batch = new_batch_id()
    outputs, written = [], []
    for key, rows in split_partitions(sort_stable(table), "hour"):
        staged = parts.stage(encoded, "float", key, batch)
        outputs.append(staged)
        written.append(parts.write(staged, rows, spool=spool))
    return outputs, parts.commit_record(batch, encoded, "float", written, list(replaces)), written


def _publish(
    parts: PartsRoot, encoded: str, table: pa.Table, spool: Path, replaces: Sequence[str] = ()
) -> list[PartFile]:
    outputs, commit, written = _write_batch(parts, encoded, table, spool, replaces)
    parts.seal(outputs)
    parts.reveal(outputs, commit)
    parts.delete(list(replaces))
    return written


def _read_all(files: list[PartFile]) -> pa.Table:
    pieces = [read_parquet(f, -(2**63), 2**63 - 1, SCHEMA.names) for f in files]
    return pa.concat_tables([p for p in pieces if p is not None])


stamps = st.lists(st.integers(T0 - 3 * HOUR, T0 + 3 * HOUR), min_size=1, max_size=60)


def test_an_empty_root_holds_nothing(parts: PartsRoot) -> None:
    assert parts.variables() == []
    assert parts.listing("x").files == []
    assert not parts.holds("x")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stamps=stamps)
def test_a_published_batch_reads_back_exactly(
    parts: PartsRoot, tmp_path: Path, stamps: list[int]
) -> None:
    encoded = f"v{next(_names)}"
    table = sort_stable(_table(stamps))
    written = _publish(parts, encoded, table, tmp_path / ".spool")
    listing = parts.listing(encoded)
    assert encoded in parts.variables() and parts.holds(encoded)
    assert [f.rel for f in listing.files] == [f.rel for f in written]
    assert [f.key for f in listing.files] == sorted(f.key for f in listing.files)
    assert all(f.own for f in listing.files)
    assert _read_all(listing.files).equals(table)
    assert sum(f.rows or 0 for f in written) == len(stamps)
    for f in listing.files:
        schema, groups = row_groups(f)
        assert schema.names == SCHEMA.names
        assert int(groups[:, 2].sum()) == f.root.read_footer(f).num_rows


def test_a_window_reads_only_its_rows(parts: PartsRoot, tmp_path: Path) -> None:
    table = _table([T0 + i * 1_000_000_000 for i in range(1000)])
    _publish(parts, "x", table, tmp_path / ".spool")
    [listed] = parts.listing("x").files
    got = read_parquet(listed, T0 + 100_000_000_000, T0 + 199_000_000_000, ["timestamp", "value"])
    assert got is not None
    assert got.column("value").to_pylist() == [float(i) for i in range(100, 200)]
    assert read_parquet(listed, T0 - 10, T0 - 1, ["timestamp"]) in (None, got.slice(0, 0))


def test_written_outputs_stay_invisible_until_revealed(parts: PartsRoot, tmp_path: Path) -> None:
    table = _table([T0, T0 + HOUR])
    outputs, commit, _ = _write_batch(parts, "x", table, tmp_path / ".spool")
    assert parts.listing("x").files == []
    parts.seal(outputs)
    parts.reveal(outputs, commit)
    parts.reveal(outputs, commit)  # idempotent: a roll forward runs it again
    assert len(parts.listing("x").files) == 2


def test_discard_undoes_a_batch(parts: PartsRoot, tmp_path: Path) -> None:
    outputs, _, _ = _write_batch(parts, "x", _table([T0, T0 + HOUR]), tmp_path / ".spool")
    parts.discard(outputs)
    parts.discard(outputs)  # idempotent
    assert parts.listing("x").files == []
    assert parts.listing("x").strays == []


def test_a_merge_replaces_the_files_it_read(parts: PartsRoot, tmp_path: Path) -> None:
    first = _publish(parts, "x", _table([T0, T0 + 1]), tmp_path / ".spool")
    second = _publish(parts, "x", _table([T0 + 2]), tmp_path / ".spool")
    old = parts.listing("x").files
    assert [f.rel for f in old] == [f.rel for f in first + second]
    merged = _table([T0, T0 + 1, T0 + 2])
    pieces = iter([merged.slice(0, 2), merged.slice(2)])  # a stream, as optimize writes
    batch = new_batch_id()
    staged = parts.stage("x", "float", old[0].key, batch)
    written = [parts.write(staged, pieces, spool=tmp_path / ".spool")]
    replaces = [parts.journal_name(f) for f in old]
    commit = parts.commit_record(batch, "x", "float", written, replaces)
    parts.seal([staged])
    parts.reveal([staged], commit)
    parts.delete(replaces)
    parts.delete(replaces)  # idempotent
    [only] = parts.listing("x").files
    assert only.rel == written[0].rel and _read_all([only]).equals(merged)
    assert not (tmp_path / ".spool").exists()


def test_a_vanished_file_is_file_not_found(parts: PartsRoot, tmp_path: Path) -> None:
    _publish(parts, "x", _table([T0]), tmp_path / ".spool")
    [file] = parts.listing("x").files
    parts.delete([parts.journal_name(file)])
    with pytest.raises(FileNotFoundError):
        read_parquet(file, T0, T0, ["timestamp"])
    with pytest.raises(FileNotFoundError):
        parts.parquet_file(file)


def test_drop_hides_the_variable(parts: PartsRoot, tmp_path: Path) -> None:
    _publish(parts, "x", _table([T0]), tmp_path / ".spool")
    _publish(parts, "y", _table([T0]), tmp_path / ".spool")
    trash = parts.drop("x")
    assert parts.variables() == ["y"] and not parts.holds("x")
    assert parts.listing("x").files == []
    assert all(p.exists() for p in trash)
    assert len(parts.listing("y").files) == 1


def test_files_are_named_for_journals_and_messages(parts: PartsRoot, tmp_path: Path) -> None:
    [written] = _publish(parts, "x", _table([T0]), tmp_path / ".spool")
    _, final = parts.stage("x", "float", written.key, "b1")
    assert final.endswith("kind=float/variable=x/date=2026-11-26T10/part-b1.parquet")
    assert parts.listing("x").kind == "float"
    assert parts.journal_name(written).endswith(written.rel)
    assert parts.describe(written).endswith(written.rel)
    assert written.name == written.rel.rsplit("/", 1)[-1]


def test_a_listing_takes_only_the_partitions_asked(parts: PartsRoot, tmp_path: Path) -> None:
    _publish(parts, "x", _table([T0 + h * HOUR for h in range(4)]), tmp_path / ".spool")
    every = [f.key for f in parts.listing("x").files]
    assert len(every) == 4
    assert [f.key for f in parts.listing("x", keys=[every[2], every[0]]).files] == [
        every[0],
        every[2],
    ]
    assert [f.key for f in parts.listing("x", first=every[1], last=every[2]).files] == every[1:3]
    assert parts.listing("x", keys=["1999-01-01T00"]).files == []


# -- derived files (hfdata.parquet.sidecars) ------------------------------------------------


def test_sidecars_round_trip(parts: PartsRoot) -> None:
    a = "_stats/kind=float/variable=x/date=2026-11-26T10/part-b1.json"
    b = "_stats/kind=float/variable=x/date=2026-11-26T11/part-b2.json"
    other = "_rollups/res=1h/kind=float/variable=x/date=2026-11-26T10/part-b1.parquet"
    assert parts.get_sidecar(a) is None
    assert parts.sidecars("_stats/kind=float/variable=x") == []
    parts.put_sidecar(b, b"two")
    parts.put_sidecar(a, b"one")
    parts.put_sidecar(other, b"three")
    assert parts.get_sidecar(a) == b"one" and parts.get_sidecar(b) == b"two"
    parts.put_sidecar(a, b"one again")  # overwrites (an upgrade re-run)
    assert parts.get_sidecar(a) == b"one again"
    assert parts.sidecars("_stats/kind=float/variable=x") == [a, b]
    assert parts.sidecars("_stats/kind=float/variable=x/") == [a, b]
    assert parts.sidecars("_stats") == [a, b]
    assert parts.sidecars("_rollups/res=1h") == [other]
    assert parts.sidecars("_stats/kind=float/variable=y") == []
    parts.delete_sidecars([a, "_stats/kind=float/variable=x/date=1999-01-01T00/part-z.json"])
    parts.delete_sidecars([a])  # idempotent
    assert parts.get_sidecar(a) is None
    assert parts.sidecars("_stats") == [b]
    parts.delete_sidecars([b, other])
    assert parts.sidecars("_stats") == [] and parts.sidecars("_rollups") == []


def test_sidecars_are_not_data(parts: PartsRoot, tmp_path: Path) -> None:
    parts.put_sidecar("_stats/kind=float/variable=x/date=2026-11-26T10/part-b1.json", b"{}")
    assert parts.variables() == [] and not parts.holds("x")
    [written] = _publish(parts, "x", _table([T0]), tmp_path / ".spool")
    listing = parts.listing("x")
    assert [f.rel for f in listing.files] == [written.rel] and listing.strays == []


def test_published_files_load_their_sidecars(parts: PartsRoot, tmp_path: Path) -> None:
    stamps = [T0 + i * 60_000_000_000 for i in range(150)]  # 2.5 hours: three files
    written = _publish(parts, "x", _table(stamps), tmp_path / ".spool")
    files = parts.listing("x").files
    assert len(files) == 3
    assert load_stats(parts, files) == {f.rel: None for f in files}  # none yet
    expected = {}
    for f in files:
        rows = _read_all([f])
        ns = rows.column("timestamp").cast(pa.int64()).to_numpy()
        stats = file_stats(ns, rows.column("value").combine_chunks(), "float")
        rollup = build(ns, rows.column("value").combine_chunks(), "float", HOUR)
        parts.put_sidecar(stats_rel(f), stats.to_json())
        parts.put_sidecar(rollup_rel(f, "1h"), encode_rollup(rollup))
        expected[f.rel] = (stats, rollup)
    for listed in (files, written):  # a listing's handles, or the writer's own
        got = load_stats(parts, listed)
        assert got == {rel: s for rel, (s, _) in expected.items()}
        tables = load_rollups(parts, listed, "1h")
        for rel, (_, rollup) in expected.items():
            table = tables[rel]
            assert table is not None and table.equals(rollup)
    assert load_rollups(parts, files, "1min") == {f.rel: None for f in files}
    # cached by the data file's identity: files never change, so neither do their sidecars
    parts.delete_sidecars([stats_rel(f) for f in files])
    assert load_stats(parts, files) == {rel: s for rel, (s, _) in expected.items()}
    clear_sidecar_cache()
    assert load_stats(parts, files) == {f.rel: None for f in files}


def test_a_damaged_sidecar_loads_as_none(parts: PartsRoot, tmp_path: Path) -> None:
    clear_sidecar_cache()
    [f] = _publish(parts, "x", _table([T0, T0 + 1]), tmp_path / ".spool")
    parts.put_sidecar(stats_rel(f), b"not json")
    parts.put_sidecar(rollup_rel(f, "1h"), b"not parquet")
    assert load_stats(parts, [f]) == {f.rel: None}
    assert load_rollups(parts, [f], "1h") == {f.rel: None}
    ns = np.array([T0, T0 + 1], np.int64)
    wrong = file_stats(ns + 1, pa.array([0.0, 1.0]), "float")  # another file's stats
    parts.put_sidecar(stats_rel(f), wrong.to_json())
    assert f.lo is not None  # the writer's handle knows the span, so it catches it
    assert load_stats(parts, [f]) == {f.rel: None}
