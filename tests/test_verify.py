"""`hfdata verify`: every kind of finding, on stores laid out by hand per docs/contracts.md."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cliutil import hfdata_cli
from reportref import is_quality

import hfdata
from hfdata.locks import COMPACT_LOCK, flock
from hfdata.parquet.objectstore import ParquetRoot
from hfdata.tools import verify as verify_mod
from hfdata.tools.verify import Finding, verify

SECOND = 1_000_000_000
T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00:00Z
DAY = "2026-11-26"


def levels(findings: list[Finding], level: str) -> list[str]:
    return [f.message for f in findings if f.level == level]


def line(ns: int, value: float) -> bytes:
    from hfdata.timeparse import format_ns

    return b'{"timestamp":"%s","value":%r}\n' % (format_ns(ns).encode(), value)


def parquet(
    root: Path, variable: str, key: str, name: str, ns: list[int], values: pa.Array
) -> Path:
    directory = root / "parquet" / "kind=float" / f"variable={variable}" / f"date={key}"
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "timestamp": pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
            "value": values,
            "metadata": pa.nulls(len(ns), pa.string()),
            "arrived": pa.array([1] * len(ns), pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        }
    )
    path = directory / name
    pq.write_table(table, path)
    return path


@pytest.fixture
def compacted(tmp_path: Path) -> Path:
    """A store whose variable `a` has one compacted segment and its Parquet file."""
    with hfdata.open_store(tmp_path) as store:
        store.append("a", "2026-11-26T09:00:00Z", 0.0)  # fixes kind float, one closed segment
    segment_dir = tmp_path / "log" / "a" / "compacted"
    segment_dir.mkdir()
    (segment_dir / "w0-000001.jsonl").write_bytes(
        b"".join(line(T0 + i * SECOND, i) for i in range(3))
    )
    parquet(
        tmp_path,
        "a",
        DAY,
        "part-1.parquet",
        [T0, T0 + SECOND, T0 + 2 * SECOND],
        pa.array([0.0, 1.0, 2.0]),
    )
    return tmp_path


def test_a_consistent_store_has_no_findings(compacted: Path) -> None:
    findings = verify(compacted)
    assert levels(findings, "error") == [] and levels(findings, "warning") == []
    summary, derived = levels(findings, "ok")
    assert derived.startswith("3 stats or rollup files not built yet")  # a file made by hand
    assert "1 closed, 0 active segments (1 points not yet in Parquet)" in summary
    assert "1 files, 3 rows in 1 partitions; 3 points of 1 compacted segments" in summary


def test_points_missing_from_parquet(compacted: Path) -> None:
    extra = compacted / "log" / "a" / "compacted" / "w0-000002.jsonl"
    extra.write_bytes(line(T0 + 5 * SECOND, 5.0) + line(T0 + 86_400 * SECOND, 6.0))
    errors = levels(verify(compacted), "error")
    assert errors == ["a: 2 points of compacted log segments are missing from Parquet"]


def test_deduplicated_parquet_is_not_a_loss(compacted: Path) -> None:
    again = compacted / "log" / "a" / "compacted" / "w0-000002.jsonl"
    again.write_bytes(line(T0, 9.0))  # a second write at the same timestamp, deduped away
    assert levels(verify(compacted), "error") == []


def test_broken_parquet_files(compacted: Path) -> None:
    parquet(compacted, "a", DAY, "part-2.parquet", [T0 + 9 * SECOND, T0], pa.array([1.0, 2.0]))
    parquet(compacted, "a", "2026-11-27", "part-3.parquet", [T0], pa.array([1.0]))
    parquet(compacted, "a", DAY, "part-4.parquet", [T0], pa.array(["x"]))
    garbage = compacted / "parquet" / "kind=float" / "variable=a" / f"date={DAY}" / "part-5.parquet"
    garbage.write_bytes(b"not parquet")
    (garbage.parent / ".part-6.parquet.tmp").write_bytes(b"")
    findings = verify(compacted)
    errors = "\n".join(levels(findings, "error"))
    assert "part-2.parquet: rows are not sorted" in errors
    assert "part-3.parquet: holds points of partition(s) ['2026-11-26'], not 2026-11-27" in errors
    assert "part-4.parquet: value is string, the kind is float" in errors
    assert "part-5.parquet: unreadable Parquet file" in errors
    assert any("leftover temporary Parquet" in w for w in levels(findings, "warning"))


def test_log_findings(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("a", "2026-11-26T10:00:00Z", 1.0)
    directory = tmp_path / "log" / "a"
    orphan = directory / "w1-000001.jsonl.active"
    orphan.write_bytes(line(T0, 1.0) + b'{"timestamp":"2026-')
    (directory / ".w2-000001.jsonl.active.tmp").write_bytes(b"")
    quarantine = tmp_path / "_quarantine" / "a"
    quarantine.mkdir(parents=True)
    record = b'{"file":"log/a/w0-000001.jsonl","offset":0,"reason":"bad JSON: x","line":"{"}\n'
    (quarantine / "w0-000001.bad.jsonl").write_bytes(record * 2)
    (quarantine / "w1-000001.torn.jsonl").write_bytes(record)
    warnings = "\n".join(levels(verify(tmp_path), "warning"))
    assert "orphan segment log/a/w1-000001.jsonl.active" in warnings
    assert "torn tail of 19 bytes" in warnings
    assert "stray temporary file log/a/.w2-000001.jsonl.active.tmp" in warnings
    assert (
        "a: 3 quarantined lines in 2 file(s) under _quarantine/a (most often: bad JSON: x x2)"
        in (warnings)
    )


def test_live_writers_and_running_compactions_are_not_problems(tmp_path: Path) -> None:
    store = hfdata.open_store(tmp_path)
    store.append("a", "2026-11-26T10:00:00Z", 1.0)  # an active segment, flocked by us
    (tmp_path / "_journal").mkdir()
    (tmp_path / "_journal" / "b1.json").write_text('{"state": "publishing"}')
    try:
        with flock(tmp_path / COMPACT_LOCK):
            findings = verify(tmp_path)
    finally:
        store.close()
    assert levels(findings, "warning") == [] and levels(findings, "error") == []
    assert "compaction in progress (b1.json)" in levels(findings, "ok")
    assert "0 closed, 1 active segments (1 points not yet in Parquet)" in levels(findings, "ok")[1]
    leftover = levels(verify(tmp_path), "warning")
    assert leftover == [
        "leftover journal _journal/b1.json of an interrupted compaction; the next compaction "
        "or open rolls it forward"
    ]


def test_not_a_store(tmp_path: Path) -> None:
    assert verify(tmp_path) == [
        Finding("error", f"{tmp_path} is not an hfdata store (no hfdata.json)")
    ]
    (tmp_path / "hfdata.json").write_text("{broken")
    assert "not valid JSON" in verify(tmp_path)[0].message


def test_encoded_and_dot_names_are_reported(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("plant/line 1", "2026-11-26T10:00:00Z", 1.0)
        store.append(".hidden", "2026-11-26T10:00:00Z", 1.0)
    assert [m.split(":")[0] for m in levels(verify(tmp_path), "ok")] == [".hidden", "plant/line 1"]


def test_parquet_in_an_object_store(tmp_path: Path) -> None:
    """With a `parquet_root` in a bucket, the committed objects are the Parquet: compacted
    points found there are not reported missing; an object gone from the bucket is."""
    from s3server import make_bucket, moto_server, storage_options

    with moto_server() as endpoint:
        make_bucket(endpoint, "verify-bucket")
        options = storage_options(endpoint)
        root = tmp_path / "s"
        with hfdata.open_store(
            root, parquet_root="s3://verify-bucket/p", storage_options=options
        ) as store:
            for i in range(20):
                store.append("a", f"2026-11-26T10:00:{i:02d}Z", float(i))
            store.compact(include_active=True)
            remote = store.parts
            assert isinstance(remote, ParquetRoot)
            [file] = remote.live("a")[1]
        findings = verify(root, options)
        assert levels(findings, "error") == []
        [summary] = levels(findings, "ok")
        assert "Parquet: 1 files, 20 rows in 1 partitions" in summary
        assert "20 points of 1 compacted segments cross-checked" in summary
        remote.fs.delete_file(file.path)
        assert levels(verify(root, options), "error") == [
            "a: 20 points of compacted log segments are missing from Parquet"
        ]
        with pytest.raises(ValueError, match="parquet_root"):
            verify(_local_store(tmp_path), options)


def _local_store(tmp_path: Path) -> Path:
    with hfdata.open_store(tmp_path / "local") as store:
        store.append("a", "2026-11-26T10:00:00Z", 1.0)
    return tmp_path / "local"


# -- valid but implausible data: warnings, exit 0 (issue 14) -------------------------------------
def heartpy(name: str) -> pd.DataFrame:
    return pd.read_csv(str(importlib.resources.files("heartpy") / "data" / name))


def test_verify_warns_on_points_over_centuries(tmp_path: Path) -> None:
    """heartpy's data2.csv appended with the old loose parsing stored 62 points dated
    1683..2239, and verify said OK."""
    hr = heartpy("data2.csv")["hr"].to_numpy(dtype=float)[:62]
    years = np.linspace(1683, 2239, 62).astype(int)
    index = pd.DatetimeIndex([pd.Timestamp(year=int(y), month=3, day=1, tz="UTC") for y in years])
    with hfdata.open_store(tmp_path) as store:
        store.append_many("hr", pd.DataFrame({"value": hr[:40]}, index=index[:40]))
        store.compact(include_active=True)
        store.append_many("hr", pd.DataFrame({"value": hr[40:]}, index=index[40:]))  # log tail
    findings = verify(tmp_path)
    assert levels(findings, "error") == []
    warned = [w for w in levels(findings, "warning") if not is_quality(w)]
    assert len(warned) == 3, warned
    span, before, future = warned
    assert "hr: points span 556 years (1683-03-01T00:00:00Z to 2239-03-01T00:00:00Z)" in span
    before_1970 = int(np.count_nonzero(years < 1970))
    after_now = int(np.count_nonzero(years > 2026))
    assert f"hr: {before_1970} points are dated before 1970 (earliest 1683-03-01" in before
    assert f"hr: {after_now} points are dated more than a day in the future" in future
    assert "latest 2239-03-01T00:00:00Z" in future
    result = hfdata_cli("verify", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line for line in result.stdout.splitlines() if line.startswith("WARNING")]
    assert len([w for w in shown if not is_quality(w)]) == 3  # and a stuck run: 2 yearly rows
    assert result.stdout.strip().endswith(f"verify: 0 problems, {len(shown)} warnings")


def test_verify_does_not_warn_near_the_edges(tmp_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    index = pd.DatetimeIndex(
        [pd.Timestamp("1970-01-01T00:00:00Z"), now - pd.Timedelta(days=365 * 49), now]
    ).sort_values()
    with hfdata.open_store(tmp_path) as store:
        store.append_many("x", pd.DataFrame({"value": [2.0, 3.0]}, index=index[1:]))
        store.append_many("y", pd.DataFrame({"value": [1.0]}, index=index[:1]))
        store.append_many("z", pd.DataFrame({"value": [1.0]}, index=[now + pd.Timedelta(hours=23)]))
    assert levels(verify(tmp_path), "warning") == []


def test_verify_warns_on_timestamps_holding_different_values(tmp_path: Path) -> None:
    """heartpy's data3.csv has thousands of timestamps recorded twice with different
    readings (millisecond clock, faster sampling)."""
    data = heartpy("data3.csv")
    index = pd.DatetimeIndex(pd.to_datetime(data["datetime"], format="ISO8601"), tz="UTC")
    frame = pd.DataFrame({"value": data["hr"].to_numpy(dtype=float)}, index=index)
    clashing = int((frame.groupby(level=0)["value"].nunique() > 1).sum())  # pandas reference
    assert clashing > 20_000
    with hfdata.open_store(tmp_path) as store:
        half = len(frame) // 2
        store.append_many("hr", frame.iloc[:half])
        store.compact(include_active=True)
        store.append_many("hr", frame.iloc[half:])  # the rest stays in the log tail
        first = frame.index[0]
        assert not frame.index[1:].isin([first]).any()
        store.append("hr", first, frame["value"].iloc[0])  # same value again: no clash
    warned = [w for w in levels(verify(tmp_path), "warning") if not is_quality(w)]
    assert len(warned) == 1, warned
    assert f"hr: {clashing:,} timestamps hold different values (e.g. " in warned[0]
    assert "dedupe" in warned[0]
    with hfdata.open_store(tmp_path) as store:  # one more: a log point against Parquet
        store.append("hr", first, frame["value"].iloc[0] + 1)
    assert f"hr: {clashing + 1:,} timestamps hold different values" in "".join(
        levels(verify(tmp_path), "warning")
    )
    with hfdata.open_store(tmp_path) as store:
        store.optimize(dedupe="last")
        store.compact(include_active=True)
        store.optimize(dedupe="last")
    assert [w for w in levels(verify(tmp_path), "warning") if not is_quality(w)] == []


def test_verify_checks_plausibility_one_partition_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = pd.date_range("2026-11-20T12:00Z", periods=5, freq="1D")
    index = days.repeat(3) + pd.to_timedelta(np.tile([0, 1, 1], 5), unit="s")
    with hfdata.open_store(tmp_path) as store:
        store.append_many("x", pd.DataFrame({"value": np.arange(9.0)}, index=index[:9]))
        store.compact(include_active=True)
        store.append_many("x", pd.DataFrame({"value": np.arange(9.0, 15.0)}, index=index[9:]))
    fed: list[set[str]] = []
    real = verify_mod._Plausibility.add

    def spy(self: Any, ns: Any, values: Any) -> None:
        fed.append({str(pd.Timestamp(int(t), tz="UTC").date()) for t in ns})
        real(self, ns, values)

    monkeypatch.setattr(verify_mod._Plausibility, "add", spy)
    warned = levels(verify(tmp_path), "warning")
    assert fed == [{str(d.date())} for d in days]  # one partition per call, each once
    assert warned == [
        "x: 5 timestamps hold different values (e.g. 2026-11-20T12:00:01Z: 1.0 and 2.0); "
        "read(dedupe='last'|'first') or 'hfdata optimize --dedupe' keeps one point per timestamp"
    ]
