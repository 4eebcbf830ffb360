"""`hfdata append` input: named columns, unread keys, streaming stdin, stopping on a signal.

Real data: heartpy's `data2.csv` (header `timer,hr`, milliseconds since start). The
streaming tests drive the real CLI through a pipe this test holds open and poll the
store for content (a generous deadline, never a timing assertion).
"""

from __future__ import annotations

import csv
import importlib.resources
import io
import itertools
import json
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pytest
from cliutil import hfdata_cli, stored
from hypothesis import given, settings
from hypothesis import strategies as st

from hfdata.tools.linesource import LineSource

SECOND = 1_000_000_000
T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00:00Z
DEADLINE = 120.0  # seconds a polled condition may take on a loaded machine


def stamp(i: int) -> str:
    return pd.Timestamp(T0 + i * SECOND, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonl(i: int, **extra: Any) -> str:
    return json.dumps({"timestamp": stamp(i), "value": float(i), **extra}) + "\n"


def one_line_error(result: Any) -> str:
    assert "Traceback" not in result.stderr
    lines: list[str] = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- named columns -------------------------------------------------------------------------
@pytest.mark.parametrize("epoch_flag", ["init", "append"])
def test_heartpy_timer_hr_csv_with_named_columns(tmp_path: Path, epoch_flag: str) -> None:
    """heartpy's `timer,hr` file (milliseconds since start) lands exactly, whether the
    store was created with `--epoch-unit ms` or the append call says so."""
    source = importlib.resources.files("heartpy") / "data" / "data2.csv"
    expected = pd.read_csv(str(source), dtype={"timer": str})
    assert list(expected.columns) == ["timer", "hr"]
    root = tmp_path / "s"
    init = ("--epoch-unit", "ms") if epoch_flag == "init" else ()
    per_call = ("--epoch-unit", "ms") if epoch_flag == "append" else ()
    assert hfdata_cli("init", root, *init).returncode == 0
    columns = ("--timestamp-column", "timer", "--value-column", "hr")
    result = hfdata_cli("append", root, "ppg", source, *columns, *per_call)
    assert result.returncode == 0, result.stderr
    assert f"appended {len(expected):,} points" in result.stdout
    points = stored(root, "ppg")
    # the nearest nanosecond of the exact decimal milliseconds (no float on the way)
    reference = [round(Decimal(text) * 1_000_000) for text in expected["timer"]]
    assert [p[0] for p in points] == reference
    assert [p[1] for p in points] == expected["hr"].astype(float).tolist()


def test_heartpy_timer_without_an_epoch_unit_is_refused_in_cli_terms(tmp_path: Path) -> None:
    source = importlib.resources.files("heartpy") / "data" / "data2.csv"
    root = tmp_path / "s"
    columns = ("--timestamp-column", "timer", "--value-column", "hr")
    result = hfdata_cli("append", root, "ppg", source, *columns)
    assert result.returncode == 1
    assert "appended 0 points" in result.stdout
    assert "--epoch-unit" in result.stderr and "epoch_unit=" not in result.stderr


def test_a_timestamp_format_is_never_bypassed_by_the_batch_path(tmp_path: Path) -> None:
    """With `--timestamp-format`, ISO text that the batch path would take is refused, and
    text in the format is read in it (day first)."""
    root = tmp_path / "s"
    iso = "".join(jsonl(i) for i in range(50))
    fmt = ("--timestamp-format", "%d/%m/%Y %H:%M")
    refused = hfdata_cli("append", root, "v", "-", "--format", "jsonl", *fmt, stdin=iso)
    assert refused.returncode == 1 and "appended 0 points" in refused.stdout
    day_first = '{"timestamp": "08/09/2009 00:20", "value": 1.5}\n'
    taken = hfdata_cli("append", root, "v", "-", "--format", "jsonl", *fmt, stdin=day_first)
    assert taken.returncode == 0, taken.stderr
    assert stored(root, "v") == [(pd.Timestamp("2009-09-08T00:20Z").value, 1.5, None)]


def test_a_header_naming_no_known_column_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "hr.csv"
    source.write_text(f"datetime,hr\n{stamp(0)},61\n")
    result = hfdata_cli("append", tmp_path / "s", "hr", source)
    assert result.returncode == 2
    message = one_line_error(result)
    assert "'datetime,hr'" in message
    assert "--timestamp-column NAME --value-column NAME" in message
    assert not (tmp_path / "s" / "log").exists() or stored(tmp_path / "s", "hr") == []
    named = hfdata_cli(
        "append",
        tmp_path / "s",
        "hr",
        source,
        "--timestamp-column",
        "datetime",
        "--value-column",
        "hr",
    )
    assert named.returncode == 0, named.stderr
    assert stored(tmp_path / "s", "hr") == [(T0, 61.0, None)]


def test_named_columns_need_a_header_and_csv_columns_are_all_read(tmp_path: Path) -> None:
    headerless = tmp_path / "plain.csv"
    headerless.write_text(f"{stamp(0)},1\n")
    result = hfdata_cli("append", tmp_path / "s", "v", headerless, "--timestamp-column", "t")
    assert result.returncode == 2
    assert "first CSV row" in one_line_error(result)
    extra = tmp_path / "extra.csv"
    extra.write_text(f"timestamp,value,channel\n{stamp(0)},1,left\n{stamp(1)},2,\n")
    refused = hfdata_cli("append", tmp_path / "s", "v", extra)
    assert refused.returncode == 2
    assert "'channel'" in one_line_error(refused)
    assert "--extra-keys metadata" in refused.stderr
    kept = hfdata_cli("append", tmp_path / "s", "v", extra, "--extra-keys", "metadata")
    assert kept.returncode == 0, kept.stderr
    assert stored(tmp_path / "s", "v") == [
        (T0, 1.0, '{"channel":"left"}'),
        (T0 + SECOND, 2.0, None),
    ]


def test_named_json_keys(tmp_path: Path) -> None:
    lines = "".join(
        json.dumps({"t": stamp(i), "hr": 60 + i, "m": {"lead": "II"}}) + "\n" for i in range(3)
    )
    flags = ("--timestamp-column", "t", "--value-column", "hr", "--metadata-column", "m")
    result = hfdata_cli(
        "append", tmp_path / "s", "hr", "-", *flags, "--format", "jsonl", stdin=lines
    )
    assert result.returncode == 0, result.stderr
    assert stored(tmp_path / "s", "hr") == [
        (T0 + i * SECOND, 60.0 + i, '{"lead":"II"}') for i in range(3)
    ]
    missing = hfdata_cli("append", tmp_path / "s", "hr", "-", stdin=lines)
    assert missing.returncode == 1
    assert "<stdin>:1: no 'timestamp' field (keys: 't', 'hr', 'm')" in missing.stderr


def test_unexpected_json_keys_are_refused_or_kept_as_metadata(tmp_path: Path) -> None:
    lines = jsonl(0) + jsonl(1, sensor="a", gain=2) + jsonl(2, metadata={"sensor": "b"}, sensor="c")
    refused = hfdata_cli("append", tmp_path / "s", "v", "-", stdin=lines)
    assert refused.returncode == 1
    assert "<stdin>:2: unexpected keys 'sensor', 'gain'" in refused.stderr
    assert "--extra-keys metadata" in refused.stderr
    assert "<stdin>:3: unexpected key 'sensor'" in refused.stderr
    assert stored(tmp_path / "s", "v") == [(T0, 0.0, None)]
    kept = hfdata_cli("append", tmp_path / "t", "v", "-", "--extra-keys", "metadata", stdin=lines)
    assert kept.returncode == 1
    assert "<stdin>:3: key 'sensor' is both a field of the line and a metadata key" in kept.stderr
    assert stored(tmp_path / "t", "v") == [
        (T0, 0.0, None),
        (T0 + SECOND, 1.0, '{"gain":2,"sensor":"a"}'),
    ]


# -- records and batches -------------------------------------------------------------------
class Chunks(io.RawIOBase):
    """A stream that hands out the given chunks one `read1` at a time."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


cells = st.text(alphabet='ab,"\n ', max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(cells, min_size=1, max_size=3), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    batch=st.integers(1, 5),
)
def test_csv_records_match_the_csv_module_however_the_input_arrives(
    rows: list[list[str]], cuts: list[int], batch: int
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode()
    bounds = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    stream = Chunks([data[a:b] for a, b in itertools.pairwise(bounds) if a < b])
    source = LineSource(stream, batch_lines=batch, flush_interval=60.0)  # type: ignore[arg-type]
    source.quoted_newlines = True
    batches = list(source.batches())
    assert all(0 < len(b) <= batch for b in batches)
    records = [r for b in batches for r in b]
    parsed = [next(csv.reader([text.decode()]), []) for _, text in records]
    assert parsed == list(csv.reader(io.StringIO(buffer.getvalue())))
    assert [n for n, _ in records] == [
        1 + sum(t.count(b"\n") + 1 for _, t in records[:i]) for i in range(len(records))
    ]


def test_a_pipe_batch_is_handed_out_before_the_input_ends() -> None:
    import os

    read_end, write_end = os.pipe()
    with open(read_end, "rb") as stream:
        source = LineSource(stream, batch_lines=1000, flush_interval=0.05)
        os.write(write_end, b"a\nb\nc")  # "c" is not a complete line yet
        batches = source.batches()
        assert next(batches) == [(1, b"a"), (2, b"b")]
        os.write(write_end, b"\n")
        assert next(batches) == [(3, b"c")]
        os.close(write_end)
        assert list(batches) == []


# -- streaming stdin through the CLI -------------------------------------------------------
def start_append(root: Path, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hfdata.tools.cli", "append", str(root), "v", "-", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def send(process: subprocess.Popen[bytes], text: str) -> None:
    stdin: IO[bytes] | None = process.stdin
    assert stdin is not None
    stdin.write(text.encode())
    stdin.flush()


def wait_for_points(root: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    """Poll the store until `count` points are there (the producer stays open)."""
    give_up = time.monotonic() + DEADLINE
    while len(stored(root, "v") if (root / "log").exists() else []) < count:
        if process.poll() is not None or time.monotonic() > give_up:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"{count} points did not appear while stdin was open: {out!r} {err!r}")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")]
)
def test_stdin_streams_and_a_signal_stores_what_arrived(
    tmp_path: Path, signum: int, code: int, name: str
) -> None:
    root = tmp_path / "s"
    with start_append(root, "--format", "jsonl", "--flush-interval", "0.2") as process:
        send(process, jsonl(0) + jsonl(1))
        wait_for_points(root, 2, process)  # stored while the producer is still open
        send(process, jsonl(2) + jsonl(3) + '{"timestamp": "2026-11-2')  # cut short
        process.send_signal(signum)
        out, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == code, err
    assert stored(root, "v") == [(T0 + i * SECOND, float(i), None) for i in range(4)]
    assert f"stopped by {name}: 4 points stored in 'v'" in err.decode()
    assert "an unfinished last line was not stored" in err.decode()
    assert "appended 4 points" in out.decode()


def test_csv_from_stdin_streams_too(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with start_append(root, "--format", "csv", "--flush-interval", "0.2") as process:
        send(process, "timestamp,value\n" + f"{stamp(0)},1.5\n")
        wait_for_points(root, 1, process)
        send(process, f"{stamp(1)},2.5\n")
        wait_for_points(root, 2, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 143, err
    assert stored(root, "v") == [(T0, 1.5, None), (T0 + SECOND, 2.5, None)]
    assert b"unfinished" not in err


# -- errors that speak CLI ------------------------------------------------------------------
def test_a_missing_variable_points_at_hfdata_ls(tmp_path: Path) -> None:
    root = tmp_path / "s"
    assert hfdata_cli("append", root, "temp", "-", stdin=jsonl(0)).returncode == 0
    for command in (
        ("read", root, "NOSUCH"),
        ("info", root, "NOSUCH"),
        ("compact", root, "--variable", "NOSUCH"),
    ):
        result = hfdata_cli(*command)
        assert result.returncode == 2, result
        message = one_line_error(result)
        assert "NOSUCH" in message
        assert f"'hfdata ls {root}' lists the variables in the store" in message
        assert "store.variables()" not in message


# -- the whole-batch path agrees with the per-line checks ---------------------------------
stamp_texts = st.builds(
    lambda ns, digits, zone, sep: (
        pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{ns % SECOND:09d}"[: digits + 1] if digits else "")
        + zone
    ).replace("T", sep),
    st.integers(0, 4_000_000_000 * SECOND),
    st.integers(0, 9),
    st.sampled_from(["Z", "+00:00", "", "+01:00"]),
    st.sampled_from(["T", "T", " "]),
)
numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(stamp_texts, numbers), min_size=1, max_size=20))
def test_batch_path_matches_the_per_line_checks(rows: list[tuple[str, float]]) -> None:
    from hfdata.timeparse import TimeRules
    from hfdata.tools.ingest import PointParser
    from hfdata.tools.ingestbatch import csv_batch, json_batch

    def per_line(convert: Any) -> list[tuple[int, Any]]:
        return [convert(i)[:2] for i in range(len(rows))]

    rules = TimeRules("UTC")
    lines = [orjson_line(t, v) for t, v in rows]
    reference = PointParser("v", None, rules)
    expected = per_line(lambda i: reference.json_object(json.loads(lines[i])))
    table = json_batch(lines, PointParser("v", None, rules))
    uniform = all(" " not in t and "+01" not in t and type(v) is float for t, v in rows)
    assert (table is not None) == uniform
    if table is not None:
        assert pairs(table) == expected
    records = [f"{t},{v!r}".encode() for t, v in rows]
    table = csv_batch(records, (0, 1, None, ()), PointParser("v", None, rules))
    if table is not None:
        csv_reference = PointParser("v", None, rules)
        cells = [r.decode().split(",") for r in records]
        expected = per_line(lambda i: csv_reference.csv_row(cells[i], (0, 1, None, ())))
        assert pairs(table) == expected


formats = st.sampled_from(["%d/%m/%Y %H:%M:%S", "%Y%m%d %H%M%S.%f", "%d.%m.%Y %H:%M:%S%z"])


@settings(max_examples=200, deadline=None)
@given(
    stamps=st.lists(st.integers(0, 4_000_000_000 * SECOND), min_size=1, max_size=20),
    fmt=formats,
    zone=st.sampled_from(["UTC", "Europe/Berlin"]),
    spoil=st.booleans(),
)
def test_batch_path_in_a_timestamp_format_matches_the_per_line_checks(
    stamps: list[int], fmt: str, zone: str, spoil: bool
) -> None:
    """Given `--timestamp-format`, a batch is parsed as one column, to the same points
    as line by line; a batch holding one text the format refuses goes line by line."""
    from hfdata.errors import InvalidTimestamp
    from hfdata.timeparse import TimeRules
    from hfdata.tools.ingest import PointParser
    from hfdata.tools.ingestbatch import json_batch

    rules = TimeRules(zone, timestamp_format=fmt, nonexistent="shift_forward", ambiguous=True)
    when = pd.to_datetime(stamps, unit="ns", utc=True)
    texts = list((when if "%z" in fmt else when.tz_convert(zone)).strftime(fmt))
    if spoil:
        texts[-1] = "2026-11-26T10:00:00Z"  # ISO text is not in the format
    lines = [orjson_line(t, float(i)) for i, t in enumerate(texts)]
    table = json_batch(lines, PointParser("v", None, rules))
    reference = PointParser("v", None, rules)
    if spoil:
        assert table is None
        with pytest.raises(InvalidTimestamp):
            reference.json_object(json.loads(lines[-1]))
        return
    assert table is not None
    expected = [reference.json_object(json.loads(line))[:2] for line in lines]
    assert pairs(table) == expected


def pairs(table: Any) -> list[tuple[int, Any]]:
    ns = table["timestamp"].cast("int64").to_pylist()
    return list(zip(ns, table["value"].to_pylist(), strict=True))


def orjson_line(text: str, value: float) -> bytes:
    return json.dumps({"timestamp": text, "value": value}).encode()


def test_invalid_input_is_a_value_error_under_hfdata_error() -> None:
    import hfdata

    assert issubclass(hfdata.InvalidInput, hfdata.HfdataError)
    assert issubclass(hfdata.InvalidInput, ValueError)
