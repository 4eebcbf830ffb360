"""The append side (`hfdata.log.writer`, through `Store`): lines, checks, rotation, durability."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logutil import all_log_lines, log_lines, segment_files

import hfdata
from hfdata.errors import (
    DurabilityError,
    InvalidMetadata,
    InvalidTimestamp,
    InvalidValue,
    InvalidVariableName,
    SchemaMismatch,
    StoreClosed,
)
from hfdata.log.lineformat import LINE_OPTS, encode_points
from hfdata.log.segment import BUFFER_POINTS, INLINE_METADATA

T0 = datetime(2026, 11, 26, 11, 35, 11, 123456, tzinfo=UTC)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under the store and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_line_format_matches_the_contract(tmp_path: Path) -> None:
    """Each append's line starts with its arrival: ns read during the call."""
    with hfdata.open_store(tmp_path) as store:
        before = time.time_ns()
        store.append("sensor_temp_celsius", T0, 25.5, {"location": "room_a"})
        between = time.time_ns()
        store.append("sensor_temp_celsius", T0 + timedelta(seconds=1), 26.0)
        after = time.time_ns()
        [segment] = segment_files(tmp_path, "sensor_temp_celsius")
        assert segment.name.endswith(".jsonl.active")
    [segment] = segment_files(tmp_path, "sensor_temp_celsius")
    assert segment.name.endswith(".jsonl") and segment.name.startswith(tuple("0123456789"))
    first, second = segment.read_bytes().splitlines(keepends=True)
    a1, a2 = (int(x[len(b'{"arrived":') : 30]) for x in (first, second))
    assert before <= a1 <= between <= a2 <= after
    assert first == (
        b'{"arrived":%d,"timestamp":"2026-11-26T11:35:11.123456Z","value":25.5,'
        b'"metadata":{"location":"room_a"}}\n' % a1
    )
    assert second == b'{"arrived":%d,"timestamp":"2026-11-26T11:35:12.123456Z","value":26.0}\n' % a2


@pytest.mark.parametrize(
    ("timestamp", "text"),
    [
        (T0, "2026-11-26T11:35:11.123456Z"),
        (T0.replace(microsecond=0), "2026-11-26T11:35:11Z"),
        (T0.replace(tzinfo=None), "2026-11-26T11:35:11.123456Z"),
        (T0.astimezone(timezone(timedelta(hours=2))), "2026-11-26T11:35:11.123456Z"),
        (pd.Timestamp("2026-11-26T11:35:11.123456789Z"), "2026-11-26T11:35:11.123456789Z"),
        (np.datetime64("2026-11-26T11:35:11.000000001"), "2026-11-26T11:35:11.000000001Z"),
        ("2026-11-26T13:35:11.5+02:00", "2026-11-26T11:35:11.500Z"),
        ("2026-11-26T11:35:11.123456789Z", "2026-11-26T11:35:11.123456789Z"),
    ],
    ids=repr,
)
def test_timestamps_are_written_in_utc_without_precision_loss(
    tmp_path: Path, timestamp: object, text: str
) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", timestamp, 1.0)
    [line] = log_lines(tmp_path, "v")
    assert line["timestamp"] == text


def test_naive_timezone_setting(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin") as store:
        store.append("v", datetime(2026, 7, 1, 12, 0), 1.0)
        store.append("v", "2026-07-01T12:00:00", 2.0)
    assert [x["timestamp"] for x in log_lines(tmp_path, "v")] == ["2026-07-01T10:00:00Z"] * 2


def test_nan_and_infinities_round_trip_as_text(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        for i, value in enumerate([math.nan, math.inf, -math.inf, None, 1, -0.0, 5e-324]):
            store.append("v", T0 + timedelta(seconds=i), value)
    values = [x["value"] for x in log_lines(tmp_path, "v")]
    assert values == ["NaN", "Infinity", "-Infinity", None, 1.0, -0.0, 5e-324]


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("bool", [True, False, None]),
        ("string", ["a", 'quote " and \\ backslash', "ünïcödé", None]),
        ("json", [{"a": [1, 2]}, [1, "x"], None]),
        ("int", [1, -(2**63), 2**63 - 1, None]),
    ],
)
def test_kinds_are_fixed_by_first_write(tmp_path: Path, kind: str, values: list[Any]) -> None:
    with hfdata.open_store(tmp_path) as store:
        for i, value in enumerate(values):
            store.append(
                "v", T0 + timedelta(seconds=i), value, kind="int" if kind == "int" else None
            )
        with pytest.raises(SchemaMismatch, match=f"holds {kind} values"):
            store.append("v", T0, 1.5 if kind != "float" else "x")
    assert [x["value"] for x in log_lines(tmp_path, "v")] == values
    schema = orjson.loads((tmp_path / "log" / "v" / "_schema.json").read_bytes())
    assert schema["kind"] == kind


def test_kind_persists_across_stores_and_processes(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, "text")
    with hfdata.open_store(tmp_path) as store, pytest.raises(SchemaMismatch):
        store.append("v", T0, 1.0)


def test_none_first_does_not_fix_a_kind(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, None)
        assert not (tmp_path / "log" / "v" / "_schema.json").exists()
        store.append("v", T0, "now a string")
        with pytest.raises(SchemaMismatch):
            store.append("v", T0, 2.0)


def test_conflicting_kind_argument(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        with pytest.raises(SchemaMismatch, match="kind='int'"):
            store.append("v", T0, 1, kind="int")
        with pytest.raises(ValueError, match="kind must be one of"):
            store.append("w", T0, 1, kind="complex")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("", T0, 1.0), InvalidVariableName),
        ((".", T0, 1.0), InvalidVariableName),
        (("..", T0, 1.0), InvalidVariableName),
        (("a\x00b", T0, 1.0), InvalidVariableName),
        (("a\nb", T0, 1.0), InvalidVariableName),
        (("x" * 201, T0, 1.0), InvalidVariableName),
        (("v", "not a time", 1.0), InvalidTimestamp),
        (("v", "2300-01-01T00:00:00Z", 1.0), InvalidTimestamp),
        (("v", datetime(1500, 1, 1), 1.0), InvalidTimestamp),
        (("v", datetime(9999, 1, 1, tzinfo=UTC), 1.0), InvalidTimestamp),
        (("v", 1_700_000_000, 1.0), InvalidTimestamp),
        (("v", T0, "1.5"), SchemaMismatch),
        (("v", T0, b"bytes"), SchemaMismatch),
        (("w", T0, b"bytes"), InvalidValue),
        (("w", T0, object()), InvalidValue),
        (("w", T0, {"nan": math.nan}), InvalidValue),
        (("v", T0, 1.0, ["not", "a", "dict"]), InvalidMetadata),
        (("v", T0, 1.0, "text"), InvalidMetadata),
        (("v", T0, 1.0, {1: "int key"}), InvalidMetadata),
        (("v", T0, 1.0, {"x": object()}), InvalidMetadata),
        (("v", T0, 1.0, {"x": math.nan}), InvalidMetadata),
        (("v", T0, 1.0, {"deep": {"x": [math.inf]}}), InvalidMetadata),
    ],
    ids=repr,
)
def test_refused_points_leave_the_log_exactly_as_it_was(
    tmp_path: Path, args: tuple[Any, ...], error: type[Exception]
) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        store.flush()
        before = snapshot(tmp_path)
        with pytest.raises(error):
            store.append(*args)
        assert snapshot(tmp_path) == before


def test_hostile_names_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    names = ["room a/temp", "../../etc/passwd", "..\\..\\x", "%2e%2e", "a/./b", ".hidden", "名前"]
    with hfdata.open_store(root) as store:
        for name in names:
            store.append(name, T0, 1.0)
    for path in tmp_path.rglob("*"):
        assert path.resolve().is_relative_to(root.resolve())
    listed = {p.name for p in (root / "log").iterdir()}
    assert len(listed) == len(names)
    for name in names:
        assert log_lines(root, name) == [{"timestamp": "2026-11-26T11:35:11.123456Z", "value": 1.0}]


def test_rotation_by_size(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, max_segment_bytes=200) as store:
        for i in range(20):
            store.append("v", T0 + timedelta(seconds=i), float(i))
    files = segment_files(tmp_path, "v")
    assert len(files) >= 5
    assert all(f.name.endswith(".jsonl") for f in files)
    assert all(f.stat().st_size < 200 + 90 for f in files)  # at most one line over
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [float(i) for i in range(20)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_rotation_by_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    fake_time = types.SimpleNamespace(monotonic=clock.monotonic)
    monkeypatch.setattr("hfdata.log.segments.time", fake_time)
    monkeypatch.setattr("hfdata.log.flusher.time", fake_time)
    monkeypatch.setattr("hfdata.log.segment.time", fake_time)
    # flush_interval keeps the real flusher thread quiet; the test runs its rounds itself.
    options: dict[str, Any] = {"max_segment_age": timedelta(minutes=10), "flush_interval": 3600}
    with hfdata.open_store(tmp_path, **options) as store:
        store.append("v", T0, 1.0)
        clock.now += 599
        store.append("v", T0, 2.0)
        assert len(segment_files(tmp_path, "v")) == 1
        clock.now += 1
        store.append("v", T0, 3.0)
        store._writer._flusher.run_once()  # the flusher thread's round: the segment is too old
        [closed] = segment_files(tmp_path, "v")
        assert closed.name.endswith(".jsonl")
        store.append("v", T0, 4.0)
        names = [f.name for f in segment_files(tmp_path, "v")]
        assert names[0].endswith("-000001.jsonl")
        assert names[1].endswith("-000002.jsonl.active")


def test_close_rotates_and_new_store_uses_new_segment(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 2.0)
    files = segment_files(tmp_path, "v")
    assert len(files) == 2
    assert files[0].name.split("-")[0] != files[1].name.split("-")[0]


def test_empty_segments_are_not_kept(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        store.rotate()
        store.rotate()
    assert len(segment_files(tmp_path, "v")) == 1


def test_flush_mode_bytes_reach_the_file_at_once(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        [active] = segment_files(tmp_path, "v")
        assert active.read_bytes().count(b"\n") == 1


def test_buffered_mode_holds_lines_until_flush(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600) as store:
        store.append("v", T0, 1.0)
        [active] = segment_files(tmp_path, "v")
        assert active.read_bytes() == b""
        store.flush()
        assert active.read_bytes().count(b"\n") == 1
        store.append("v", T0, 2.0)
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0, 2.0]


def test_buffered_mode_writes_out_at_the_size_threshold(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600) as store:
        payload = "x" * 1000
        for i in range(1100):  # > 1 MiB of lines
            store.append("v", T0 + timedelta(microseconds=i), payload)
        [active] = segment_files(tmp_path, "v")
        assert active.stat().st_size >= 1 << 20


def test_buffered_flusher_thread_writes_without_being_asked(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, durability="buffered", flush_interval=0.01) as store:
        store.append("v", T0, 1.0)
        [active] = segment_files(tmp_path, "v")
        written = threading.Event()

        def poll() -> None:
            for _ in range(2000):
                if active.read_bytes():
                    written.set()
                    return
                threading.Event().wait(0.005)

        poller = threading.Thread(target=poll)
        poller.start()
        poller.join()
        assert written.is_set()


def count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr("hfdata.log.segment.os.fsync", spy)
    return calls


def test_fsync_mode_fsyncs_every_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hfdata.open_store(tmp_path, durability="fsync") as store:
        store.append("v", T0, -1.0)  # creates the variable and its segment
        calls = count_fsyncs(monkeypatch)
        for i in range(5):
            store.append("v", T0, float(i))
        assert len(calls) == 5
        store.append_many("v", pd.Series([1.0, 2.0], index=pd.date_range(T0, periods=2)))
        assert len(calls) == 6


def test_flush_mode_fsyncs_nothing_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, -1.0)
        calls = count_fsyncs(monkeypatch)
        for i in range(5):
            store.append("v", T0, float(i))
        store.flush()
    assert calls == []


def test_group_commit_fsyncs_on_flush(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hfdata.open_store(tmp_path, fsync_interval=3600) as store:
        store.append("v", T0, -1.0)
        store.flush()  # the first fsync also makes the segment's name durable
        calls = count_fsyncs(monkeypatch)
        for i in range(5):
            store.append("v", T0, float(i))
        assert calls == []
        store.flush()
        assert len(calls) == 1


def test_failed_fsync_closes_the_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with hfdata.open_store(tmp_path, durability="fsync") as store:
        store.append("v", T0, 1.0)
        monkeypatch.setattr("hfdata.log.segment.os.fsync", broken)
        with pytest.raises(DurabilityError, match="fsync"):
            store.append("v", T0, 2.0)
        monkeypatch.undo()
        [closed] = segment_files(tmp_path, "v")
        assert closed.name.endswith(".jsonl")  # closed, not retried
        store.append("v", T0, 3.0)
        assert len(segment_files(tmp_path, "v")) == 2


def test_failed_write_is_a_durability_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        monkeypatch.setattr("hfdata.log.segment.os.write", full)
        with pytest.raises(DurabilityError, match="No space") as info:
            store.append("v", T0, 2.0)
        assert info.value.errno == 28
        monkeypatch.undo()
        store.append("v", T0, 3.0)
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0, 3.0]


def test_closed_store_refuses_appends(tmp_path: Path) -> None:
    store = hfdata.open_store(tmp_path)
    store.close()
    store.close()  # idempotent
    assert store.closed
    with pytest.raises(StoreClosed):
        store.append("v", T0, 1.0)
    with pytest.raises(StoreClosed):
        store.flush()


def test_many_variables_stay_within_the_open_file_limit(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, max_open_segments=8) as store:
        for round_ in range(3):
            for i in range(50):
                store.append(f"v{i}", T0 + timedelta(seconds=round_), float(round_))
        assert len(list(tmp_path.rglob("*.jsonl.active"))) <= 8
    for i in range(50):
        assert [x["value"] for x in log_lines(tmp_path, f"v{i}")] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("durability", ["flush", "buffered"])
def test_eight_threads_on_one_store_lose_and_mix_nothing(tmp_path: Path, durability: str) -> None:
    # Buffered appends take no lock: the flusher drains and rotates all the while, and
    # with two open segments at most, appends to `own*` evict `shared` mid-stream.
    per_thread = 2000
    with hfdata.open_store(
        tmp_path,
        durability=durability,  # type: ignore[arg-type]
        max_segment_bytes=50_000,
        flush_interval=0.001,
        max_open_segments=2,
    ) as store:

        def work(t: int) -> None:
            for i in range(per_thread):
                store.append("shared", T0, float(t * per_thread + i), {"t": t})
                if i % 500 == 0:
                    store.append_many(
                        f"own{t}", pd.Series([float(i)], index=pd.DatetimeIndex([T0]))
                    )

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    lines = log_lines(tmp_path, "shared")
    assert sorted(x["value"] for x in lines) == [float(i) for i in range(8 * per_thread)]
    for t in range(8):  # each thread's points in its own order
        mine = [x["value"] for x in lines if x["metadata"]["t"] == t]
        assert mine == sorted(mine)
        assert len(log_lines(tmp_path, f"own{t}")) == 4


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    import hfdata
    root, proc, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0 = datetime(2026, 11, 26, tzinfo=timezone.utc)
    store = hfdata.open_store(root, max_segment_bytes=int(sys.argv[4]))
    i = 0
    while count < 0 or i < count:
        store.append("v", t0 + timedelta(microseconds=i), float(proc * 10**9 + i))
        print(i, flush=True)
        i += 1
    store.close()
    """
)


def test_four_processes_on_one_variable_each_get_their_own_segments(tmp_path: Path) -> None:
    count = 1500
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(p), str(count), "20000"],
            stdout=subprocess.DEVNULL,
        )
        for p in range(4)
    ]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    by_writer: dict[str, set[int]] = {}
    for path in segment_files(tmp_path, "v"):
        writer = path.name.split("-")[0]
        data = path.read_bytes()
        assert data.endswith(b"\n")
        for line in data.splitlines():
            by_writer.setdefault(writer, set()).add(int(orjson.loads(line)["value"]) // 10**9)
    assert len(by_writer) == 4
    assert all(len(procs_seen) == 1 for procs_seen in by_writer.values())
    values = sorted(x["value"] for x in log_lines(tmp_path, "v"))
    assert values == sorted(float(p * 10**9 + i) for p in range(4) for i in range(count))


def test_writer_killed_mid_stream_keeps_every_acknowledged_point(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), "0", "-1", "4096"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 3000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for line in proc.stdout:  # points acknowledged before the kill landed
        acknowledged = int(line)
    proc.stdout.close()
    files = segment_files(tmp_path, "v")  # an orphaned .active among them, unless killed
    seen: list[float] = []
    for path in files:
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        seen.extend(orjson.loads(x)["value"] for x in complete.splitlines())
    assert seen[: acknowledged + 1] == [float(i) for i in range(acknowledged + 1)]
    before = {f.name for f in files}
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, -1.0)
        after = {f.name for f in segment_files(tmp_path, "v")}
    assert len(after - before) == 1  # a new segment, the orphan untouched


def test_a_refused_first_point_creates_no_variable(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        refused: list[tuple[Any, ...]] = [
            ("x", "not a time", "text"),
            ("x", T0, "text", ["no"]),
            ("x", T0, b"?"),
        ]
        for bad in refused:
            with pytest.raises(hfdata.HfdataError):
                store.append(*bad)
        assert not (tmp_path / "log" / "x" / "_schema.json").exists()
        store.append("x", T0, 1.0)  # the kind is still free
        with pytest.raises(InvalidTimestamp):
            store.append_many("y", pd.DataFrame({"timestamp": ["soon"], "value": ["a"]}))
        store.append("y", T0, 2.0)
    assert [x["value"] for x in log_lines(tmp_path, "x")] == [1.0]


def test_lone_surrogates_and_deep_metadata_are_typed_errors(tmp_path: Path) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(260):
        node["d"] = {}
        node = node["d"]
    with hfdata.open_store(tmp_path) as store:
        with pytest.raises(InvalidValue, match="Unicode"):
            store.append("s", T0, "\ud800")
        with pytest.raises(InvalidMetadata):
            store.append("s", T0, "ok", {"k": "\udfff"})
        for depth in (250, 253, 254, 260):
            node = deep
            for _ in range(260 - depth):
                node = node["d"]
            with contextlib.suppress(InvalidMetadata):
                store.append("s", T0, "ok", node)


def raiser(exc: BaseException) -> Any:
    def fail(*args: Any) -> Any:
        raise exc

    return fail


def test_background_flush_failure_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600)
    store.append("v", T0, 1.0)
    monkeypatch.setattr(
        "hfdata.log.segment.os.write", lambda fd, data: (_ for _ in ()).throw(OSError(5, "EIO"))
    )
    store._writer._flusher.run_once()  # what the flusher thread does every flush_interval
    monkeypatch.undo()
    with pytest.raises(DurabilityError, match="EIO"):
        store.flush()
    store.flush()  # reported once
    store.close()


def test_full_disk_in_append_many_keeps_its_errno(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.write
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 0.0)

        def full(fd: int, data: Any) -> int:
            if len(data) > 1000:
                raise OSError(28, "No space left on device")
            return real(fd, data)

        monkeypatch.setattr("hfdata.log.segment.os.write", full)
        with pytest.raises(DurabilityError) as info:
            store.append_many(
                "v",
                pd.Series(np.arange(10_000.0), index=pd.date_range(T0, periods=10_000, freq="s")),
            )
        assert info.value.errno == 28


def test_schema_write_failure_is_typed_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(tmp_path) as store:
        monkeypatch.setattr(
            "hfdata.log.schema.os.fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "full"))
        )
        with pytest.raises(DurabilityError):
            store.append("v", T0, 1.0)
        monkeypatch.undo()
        assert list((tmp_path / "log" / "v").iterdir()) == []
        store.append("v", T0, 1.0)
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0]


# -- `LogWriter.append`'s one-pass path against the general path (`_append_checked`) ------------
_special = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1.5, True, None, "x"])
_points = st.tuples(
    st.one_of(
        st.datetimes(
            min_value=datetime(1600, 1, 1),
            max_value=datetime(2300, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
        ),
        st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2200, 1, 1)),
        st.just("2026-11-26T11:35:11.123456789Z"),
        st.just(T0),
    ),
    st.one_of(_special, st.floats(), st.integers(-(2**53), 2**53), st.text(max_size=3)),
    st.one_of(
        st.none(),
        st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(_special, st.floats())),
        st.just([1, 2]),
        # what the buffered path records as it is, or hands on: commas and brackets,
        # text that looks like a point's start, metadata over `INLINE_METADATA` bytes
        st.dictionaries(
            st.sampled_from(["a", "arrived", 'x"},{"arrived":']),
            st.one_of(
                st.text(max_size=300),
                st.lists(st.dictionaries(st.just("arrived"), st.integers()), max_size=2),
                st.just({"arrived": 1, "b": [1, {"c": 2}]}),
            ),
            max_size=3,
        ),
    ),
)


def _outcome(append: Any, point: Any) -> str:
    try:
        append("v", *point)
    except Exception as exc:  # the type is what must match
        return type(exc).__name__
    return "ok"


@pytest.mark.parametrize("durability", ["flush", "buffered"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(points=st.lists(_points, max_size=12))
def test_fast_append_writes_and_refuses_exactly_what_the_general_path_does(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    durability: str,
    points: list[Any],
) -> None:
    # One arrival for every call, so that both paths must write the same bytes (the
    # buffered path encodes its points in bulk when it writes them out).
    monkeypatch.setattr("hfdata.log.writer._time_ns", lambda: 1_764_921_600_123_456_789)
    roots = [tmp_path_factory.mktemp("fast"), tmp_path_factory.mktemp("general")]
    outcomes: list[list[str]] = []
    for root in roots:
        with hfdata.open_store(root, durability=durability) as store:  # type: ignore[arg-type]
            store.append("v", T0, 0.5)  # a float variable with an open segment: fast path
            writer = store._writer
            if root == roots[0]:
                mode = "buffered" if durability == "buffered" else "unbuffered"
                assert store.append == writer.append == getattr(writer, f"_append_{mode}")
                append = store.append
            else:
                append = writer._append_checked  # the general path
            outcomes.append([_outcome(append, p) for p in points])
    assert outcomes[0] == outcomes[1]
    assert log_lines(roots[0], "v") == log_lines(roots[1], "v")
    fast, general = (b"".join(p.read_bytes() for p in segment_files(r, "v")) for r in roots)
    assert fast == general


def test_buffered_append_racing_close_is_refused(tmp_path: Path) -> None:
    store = hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600)
    store.append("v", T0, 1.0)  # now on the lock-free path
    store._writer._closed = True  # what close() does first, here after the append's lookup
    store._writer._refuse_buffered()
    with pytest.raises(StoreClosed, match="closed while this point"):
        store.append("v", T0, 2.0)
    store._writer._closed = False
    store.close()


def test_buffered_points_without_a_segment_are_written_by_the_flusher(tmp_path: Path) -> None:
    # An append can land in a variable's buffer just after the flusher rotated its
    # segment; the next round of the flusher opens a segment for it.
    store = hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600)
    store.append("v", T0, 1.0)
    writer = store._writer
    var = writer._vars["v"]
    with writer._lock:
        writer._table.close_segment(var)  # what rotation by age does
    var.points.append({"arrived": 1, "timestamp": T0, "value": 2.0})  # the racing append
    writer._flusher.run_once()
    assert var.segment is not None and not var.points
    store.close()
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0, 2.0]


def test_buffered_points_keep_their_order_whichever_path_each_took(tmp_path: Path) -> None:
    # Recorded points (`VariableLog.points`) and lines encoded at once (`pending`: a
    # string timestamp, metadata holding null or over `INLINE_METADATA` bytes, a
    # tombstone) come out in the order of the calls.
    big = {"note": "x" * (INLINE_METADATA + 1)}
    calls: list[tuple[Any, float, Any]] = [
        (T0, 1.0, None),
        (T0, 2.0, {"a": [1, 2], "b": {"c": "d,e"}}),
        ("2026-11-26T11:35:12Z", 3.0, None),
        (T0, 4.0, None),
        (T0, 5.0, {"a": None}),
        (T0, 6.0, big),
        (T0, 7.0, {"a": [{"arrived": 1}, {"arrived": 2}]}),
        (T0, 8.0, None),
    ]
    with hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600) as store:
        store.append("v", T0, 0.0)  # the variable's first point fixes its kind
        for timestamp, value, metadata in calls:
            store.append("v", timestamp, value, metadata)
        store.delete("v", "2000-01-01", "2000-01-02")
        store.append("v", T0, 9.0)
    objects = all_log_lines(tmp_path, "v")
    assert [x.get("value") for x in objects] == [0.0, *(c[1] for c in calls), None, 9.0]
    assert [x.get("metadata") for x in objects[1:9]] == [c[2] for c in calls]
    assert "delete" in objects[9]


def test_buffered_points_are_written_out_once_a_variable_holds_buffer_points(
    tmp_path: Path,
) -> None:
    # The memory bound of the lock-free path: no more than `BUFFER_POINTS` recorded points.
    with hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600) as store:
        store.append("v", T0, 0.0)
        var = store._writer._vars["v"]
        for i in range(BUFFER_POINTS + 10):
            store.append("v", T0, float(i), {"i": i} if i % 10 == 0 else None)
            assert len(var.points) < BUFFER_POINTS
        assert len(log_lines(tmp_path, "v")) == 1 + BUFFER_POINTS
        assert len(var.points) == 10
    lines = log_lines(tmp_path, "v")
    assert [x["value"] for x in lines] == [0.0, *map(float, range(BUFFER_POINTS + 10))]
    assert [x.get("metadata") for x in lines[1::10]] == [
        {"i": i} for i in range(0, BUFFER_POINTS + 10, 10)
    ]


_utc_points = st.lists(
    st.tuples(
        st.integers(1, 2**63 - 1),
        st.datetimes(
            min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31), timezones=st.just(UTC)
        ),
        st.floats(allow_nan=False, allow_infinity=False),
        st.one_of(
            st.none(),
            st.dictionaries(
                st.text(max_size=5),
                st.recursive(
                    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
                    ),
                    max_leaves=6,
                ),
                max_size=3,
            ),
        ),
    ),
    min_size=1,
    max_size=80,  # past `_BULK_POINTS`, where Arrow replaces the separators
)


@settings(max_examples=200, deadline=None)
@given(points=_utc_points, repeat=st.sampled_from([1, 2, 40]))
def test_encode_points_writes_what_one_dumps_per_point_writes(
    points: list[Any], repeat: int
) -> None:
    points = points * repeat  # up to 3,200 points: both ways of replacing the separators
    expected = b""
    dicts: list[dict[str, Any]] = []
    for arrived, timestamp, value, metadata in points:
        point: dict[str, Any] = {"arrived": arrived, "timestamp": timestamp, "value": value}
        if metadata is not None:
            text = orjson.dumps(metadata)
            if b'{"arrived":' in text:  # the buffered append never records such metadata
                continue
            expected += orjson.dumps({**point, "metadata": metadata}, option=LINE_OPTS)
            point["metadata"] = orjson.Fragment(text)
        else:
            expected += orjson.dumps(point, option=LINE_OPTS)
        dicts.append(point)
    if dicts:
        assert encode_points(dicts) == expected


def test_buffered_single_points_go_before_a_later_batch(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path, durability="buffered", flush_interval=3600) as store:
        store.append("v", T0, 1.0)
        store.append("v", T0, 2.0)
        store.append_many("v", pd.Series([3.0], index=pd.DatetimeIndex([T0])))
        store.append("v", T0, 4.0)
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0, 2.0, 3.0, 4.0]


def test_buffered_closed_store_refuses_appends_to_known_variables(tmp_path: Path) -> None:
    store = hfdata.open_store(tmp_path, durability="buffered")
    store.append("v", T0, 1.0)
    store.close()
    with pytest.raises(StoreClosed):
        store.append("v", T0, 2.0)
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0]


# -- issue 14: strict input on both append paths ---------------------------------------------------
BERLIN_GAP = "2016-03-27T02:30:00"
BERLIN_FOLD = "2016-10-30T02:30:00"


@pytest.mark.parametrize("text,what", [(BERLIN_GAP, "does not exist"), (BERLIN_FOLD, "ambiguous")])
def test_dst_gap_and_fold_refused_on_append_and_append_many(
    tmp_path: Path, text: str, what: str
) -> None:
    with hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin") as store:
        for value in (
            datetime.fromisoformat(text),
            text,
            np.datetime64(text),
            pd.Timestamp(text),
        ):
            with pytest.raises(InvalidTimestamp, match=f"{what} in Europe/Berlin"):
                store.append("v", value, 1.0)
        frame = pd.DataFrame({"timestamp": pd.to_datetime([text]), "value": [1.0]})
        with pytest.raises(InvalidTimestamp, match=f"row 0 .*{what} in Europe/Berlin") as info:
            store.append_many("v", frame)
        assert "tz_localize" not in str(info.value)  # no advice about pandas' arguments
        with pytest.raises(InvalidTimestamp, match=f"{what} in Europe/Berlin"):
            store.append_many("v", pd.DataFrame({"timestamp": [text], "value": [1.0]}))
        assert store.variables() == []


_RULES = [
    {"nonexistent": "shift_forward", "ambiguous": True},
    {"nonexistent": "shift_backward", "ambiguous": False},
    {"nonexistent": timedelta(minutes=90), "ambiguous": True},
    {"nonexistent": timedelta(hours=-1), "ambiguous": False},
]


@pytest.mark.parametrize("rules", _RULES, ids=repr)
def test_dst_rules_give_the_same_ns_on_both_paths(tmp_path: Path, rules: dict[str, Any]) -> None:
    local = pd.to_datetime(
        [
            "2016-03-27T01:59:59.999999",
            "2016-03-27T02:00:00",
            "2016-03-27T02:30:00.123456",
            "2016-03-27T03:00:00",
            "2016-10-30T01:59:00",
            "2016-10-30T02:00:00",
            "2016-10-30T02:59:59.5",
            "2016-10-30T03:00:00",
        ],
        format="ISO8601",
    ).as_unit("ns")
    expected = local.tz_localize(
        "Europe/Berlin",
        nonexistent=rules["nonexistent"],
        ambiguous=np.full(len(local), rules["ambiguous"]),
    )
    with hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin", **rules) as store:
        for i, ts in enumerate(local):
            store.append("single", ts.to_pydatetime(), float(i))
            store.append("text", ts.isoformat(), float(i))
        store.append_many("column", pd.DataFrame({"value": np.arange(8.0)}, index=local))
        store.append_many(
            "strings", pd.DataFrame({"timestamp": [t.isoformat() for t in local], "value": 1.0})
        )
        for variable in ("single", "text", "column", "strings"):
            got = store.read(variable).index.as_unit("ns").asi8
            assert sorted(got.tolist()) == sorted(expected.as_unit("ns").asi8.tolist()), variable


def test_infer_on_append_many_and_refused_for_one_point(tmp_path: Path) -> None:
    fold = pd.to_datetime(
        [
            "2016-10-30T01:30",
            "2016-10-30T02:00",
            "2016-10-30T02:30",
            "2016-10-30T02:00",
            "2016-10-30T02:30",
            "2016-10-30T03:00",
        ],
        format="ISO8601",
    ).as_unit("ns")
    with hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin", ambiguous="infer") as store:
        store.append_many("v", pd.DataFrame({"value": np.arange(6.0)}, index=fold))
        got = store.read("v").index.as_unit("ns").asi8.tolist()
        assert (
            got == fold.tz_localize("Europe/Berlin", ambiguous="infer").as_unit("ns").asi8.tolist()
        )
        with pytest.raises(InvalidTimestamp, match=r"ambiguous='infer'.*batch"):
            store.append("w", "2016-10-30T02:30", 1.0)


def test_epoch_unit_per_append_many_call(tmp_path: Path) -> None:
    frame = pd.DataFrame({"timestamp": [1_700_000_000_000, 1_700_000_000_500], "value": [1.0, 2.0]})
    with hfdata.open_store(tmp_path) as store:
        with pytest.raises(InvalidTimestamp, match="epoch_unit="):
            store.append_many("v", frame)
        assert store.append_many("v", frame, epoch_unit="ms") == 2
        assert store.read("v").index.as_unit("ns").asi8.tolist() == [
            1_700_000_000_000 * 10**6,
            1_700_000_000_500 * 10**6,
        ]
        with pytest.raises(InvalidTimestamp, match="epoch_unit="):
            store.append("v", 1_700_000_001, 3.0)  # the call's unit did not stick
        with pytest.raises(ValueError, match="epoch_unit must be"):
            store.append_many("v", frame, epoch_unit="minutes")  # type: ignore[arg-type]
    with hfdata.open_store(tmp_path / "s", epoch_unit="s") as store:
        store.append_many("v", frame, epoch_unit="ms")  # overrides the store's unit for this call
        assert store.read("v").index[0] == pd.Timestamp(1_700_000_000_000, unit="ms", tz="UTC")


def test_timestamp_format_on_append_many(tmp_path: Path) -> None:
    frame = pd.DataFrame({"timestamp": ["08/09/2009 10:00", "09/09/2009 10:30"], "value": [1, 2]})
    with hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin") as store:
        with pytest.raises(InvalidTimestamp, match=r"'08/09/2009 10:00'.*timestamp_format="):
            store.append_many("v", frame)
        store.append_many("v", frame, timestamp_format="%d/%m/%Y %H:%M")
        assert store.read("v").index.tolist() == [
            pd.Timestamp("2009-09-08T08:00Z"),  # 8 September, 10:00 in Berlin (+02:00)
            pd.Timestamp("2009-09-09T08:30Z"),
        ]
        bad = pd.DataFrame({"timestamp": ["10/09/2009 10:00", "2009-09-10 10:00"], "value": [3, 4]})
        with pytest.raises(InvalidTimestamp, match="'2009-09-10 10:00' at row 1 does not match"):
            store.append_many("v", bad, timestamp_format="%d/%m/%Y %H:%M")
        assert len(store.read("v")) == 2


def test_numpy_scalars_in_metadata_on_both_paths(tmp_path: Path) -> None:
    meta = {
        "gain": np.float64(1.5),
        "n": np.int32(7),
        "ok": np.bool_(True),
        "nested": {"u": np.uint16(3), "list": [np.float32(0.25), np.int64(-2)]},
    }
    plain = {"gain": 1.5, "n": 7, "ok": True, "nested": {"u": 3, "list": [0.25, -2]}}
    with hfdata.open_store(tmp_path) as store:
        store.append("v", "2020-01-01T00:00Z", 1.0)  # fixes the kind: the next one is the fast path
        store.append("v", "2020-01-01T00:00:01Z", 1.0, meta)
        store.append("w", "2020-01-01T00:00Z", 1.0, meta)  # the first point's path
        store.append_many(
            "m",
            pd.DataFrame({"value": [1.0]}, index=pd.to_datetime(["2020-01-01"], utc=True)).assign(
                metadata=[meta]  # type: ignore[list-item]  # pandas-stubs: no dicts in assign
            ),
        )
        assert store.read("v", metadata=True)["metadata"].iloc[1] == plain
        assert store.read("w", metadata=True)["metadata"].iloc[0] == plain
        assert store.read("m", metadata=True)["metadata"].iloc[0] == plain
        for bad in ({"x": np.float64("nan")}, {"x": [np.float32("inf")]}):
            with pytest.raises(InvalidMetadata, match="NaN or infinity"):
                store.append("v", "2020-01-01T00:00:02Z", 1.0, bad)
    for line in log_lines(tmp_path, "v")[1:]:
        assert line["metadata"] == plain


def test_obspy_trace_stats_as_metadata(tmp_path: Path) -> None:
    obspy = pytest.importorskip("obspy")
    trace = obspy.read()[0]
    stats = {
        k: (v.isoformat() if isinstance(v, obspy.UTCDateTime) else v)
        for k, v in trace.stats.items()
        if isinstance(v, str | int | float | obspy.UTCDateTime)
    }
    stats["max"] = trace.data.max()  # numpy scalars, as ObsPy computes them
    stats["std"] = trace.data.std()
    stats["npts32"] = np.int32(trace.stats.npts)
    stats["clipped"] = np.bool_(bool((np.abs(trace.data) > 1e9).any()))
    start = trace.stats.starttime.datetime.replace(tzinfo=UTC)
    with hfdata.open_store(tmp_path) as store:
        store.append(trace.id, start, float(trace.data[0]), stats)
        frame = pd.DataFrame(
            {"value": trace.data[:3], "metadata": [stats] * 3},
            index=pd.DatetimeIndex(
                [start + timedelta(seconds=i * trace.stats.delta) for i in range(1, 4)]
            ),
        )
        store.append_many(trace.id, frame)
        back = store.read(trace.id, metadata=True)
    assert len(back) == 4
    for got in back["metadata"]:
        assert got["sampling_rate"] == 100.0 and got["npts"] == 3000 and got["npts32"] == 3000
        assert got["station"] == "RJOB" and got["starttime"].startswith("2009-08-24T00:20:03")
        assert got["max"] == float(trace.data.max()) and got["clipped"] is False


def test_metadata_is_capped_per_point(tmp_path: Path) -> None:
    big = {"blob": "x" * 70_000}
    with hfdata.open_store(tmp_path) as store:
        store.append("v", "2020-01-01T00:00Z", 1.0, {"small": 1})
        for variable in ("v", "new"):  # the fast path and the first point's path
            with pytest.raises(InvalidMetadata, match=r"70,011 bytes.*limit of 65,536") as info:
                store.append(variable, "2020-01-01T00:00:01Z", 1.0, big)
            assert "max_metadata_bytes" in str(info.value)
        frame = pd.DataFrame(
            {"value": [1.0, 2.0], "metadata": [{"a": 1}, big]},
            index=pd.to_datetime(["2020-01-02", "2020-01-03"], utc=True),
        )
        with pytest.raises(InvalidMetadata, match=r"row 1.*70,011 bytes"):
            store.append_many("v", frame)
        with pytest.raises(InvalidMetadata, match="52,428,811 bytes"):
            store.append("v", "2020-01-04T00:00Z", 1.0, {"blob": "x" * 50 * 2**20})
        assert len(store.read("v")) == 1
        assert store.variables() == ["v"]  # the refused first point created nothing
    with hfdata.open_store(tmp_path, max_metadata_bytes=None) as store:
        store.append("v", "2020-01-01T00:00:01Z", 1.0, big)
        store.append_many("v", frame)
    with hfdata.open_store(tmp_path, max_metadata_bytes=100) as store:
        with pytest.raises(InvalidMetadata, match="limit of 100"):
            store.append("v", "2020-01-05T00:00Z", 1.0, {"s": "y" * 100})
        store.append("v", "2020-01-05T00:00Z", 1.0, {"s": "y" * 90})  # 98 bytes: fits
