"""The vectorised parser gives exactly what the per-line reference gives."""

from __future__ import annotations

import io
import math

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logutil import line

from hfdata.log import fastparse
from hfdata.log.encode import encode_frame
from hfdata.log.lineformat import marker_line, tombstone_line
from hfdata.log.parse import parse_log_bytes, table_schema, tombstone_schema
from hfdata.timeparse import format_ns

KINDS = ("float", "int", "bool", "string", "json")
LEGACY = 1_700_000_000_123_456_789  # the arrival given for lines that carry none


def _rows(table: pa.Table) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    arrived = table.column("arrived").cast(pa.int64()).to_pylist()
    for row, when in zip(table.to_pylist(), arrived, strict=True):
        value = row["value"]
        if isinstance(value, float) and math.isnan(value):
            value = "nan-sentinel"
        out.append((row["timestamp"], value, row["metadata"], when))
    return out


def assert_same(data: bytes, kind: str | None) -> None:
    fast = parse_log_bytes(data, kind, arrived=LEGACY, source="s")  # type: ignore[arg-type]
    ref = parse_log_bytes(data, kind, arrived=LEGACY, source="s", vectorised=False)  # type: ignore[arg-type]
    schema = table_schema(kind, arrived=True)  # type: ignore[arg-type]
    assert fast.table.schema == ref.table.schema == schema
    assert _rows(fast.table) == _rows(ref.table)
    assert fast.tombstones.schema == ref.tombstones.schema == tombstone_schema()
    assert fast.tombstones.equals(ref.tombstones)
    assert (fast.markers, fast.marker) == (ref.markers, ref.marker)
    assert fast.bad == ref.bad
    assert (fast.torn, fast.complete_bytes) == (ref.torn, ref.complete_bytes)


digits = st.text("0123456789", min_size=1, max_size=9)
timestamps = st.one_of(
    st.datetimes(
        min_value=__import__("datetime").datetime(1600, 1, 1),
        max_value=__import__("datetime").datetime(2300, 1, 1),
    ).flatmap(
        lambda d: (
            digits.map(lambda f: d.strftime("%Y-%m-%dT%H:%M:%S") + "." + f + "Z")
            | digits.map(lambda f: d.strftime("%Y-%m-%dT%H:%M:%S") + "." + f + "+00:00")
            | st.just(d.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
            | st.just(d.strftime("%Y-%m-%dT%H:%M:%S+0000"))
            | st.just(d.strftime("%Y-%m-%dT%H:%M:%SZ"))
            | st.just(d.isoformat())
            | st.just(d.strftime("%Y-%m-%dT%H:%M:%S+02:00"))
        )
    ),
    st.sampled_from(
        [
            "2026-02-30T11:35:11Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T11:35:60Z",
            "2026-11-26T11:35:11.Z",
            "2026-11-26T11:35:11.1234567890Z",
            "2026-11-26 11:35:11Z",
            "2026-11-26t11:35:11z",
            "2026-11-26",
            "not a time",
            "",
        ]
    ),
)
number_text = st.text("0123456789.eE+-xin ", min_size=1, max_size=12)
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: orjson.dumps(f).decode()),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(['"NaN"', '"Infinity"', '"-Infinity"', "null", "true", "false", '"3.5"']),
    number_text,
    st.text(max_size=8).map(lambda s: orjson.dumps(s).decode()),
    st.sampled_from(['"a\\"b"', '"tab\\t"', '"é,}"', "[1,2]", '{"b":1,"a":[true]}', "{}"]),
)
metadata = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=4), st.integers(-(2**40), 2**40) | st.text(max_size=4)).map(
        lambda d: orjson.dumps(d).decode()
    ),
    st.sampled_from(["null", "[1]", '"x"', '{"b":1,"a":2}', "{}", '{"a":1}}']),
)


# `arrived` as writers write it (19 digits) and as they do not: too small, too large,
# a leading zero, not an int at all
arrivals = st.one_of(
    st.integers(10**18, 2**63 - 1).map(str),
    st.integers(10**18, 2**63 - 1).map(str),
    st.integers(-(2**64), 2**65).map(str),
    st.sampled_from(
        [
            *("0", "-1", "0" + "1" * 18, "9223372036854775808", "9999999999999999999", "1e18"),
            *("1.5", "true", "null", '"1764921600123456789"', "01764921600123456789"),
        ]
    ),
)


@st.composite
def log_lines(draw: st.DrawFn) -> bytes:
    """A point line (without or with `arrived`, first or elsewhere), a marker or a tombstone,
    spelt as writers spell them, almost so, or not at all."""
    shape = draw(st.sampled_from(["v2", "v2", "v3", "v3", "v3-late", "marker", "tombstone"]))
    arrived = draw(arrivals)
    if shape == "marker":
        text = f'{{"arrived":{arrived}}}'
    elif shape == "tombstone":
        start, end = draw(timestamps), draw(timestamps)
        span = draw(
            st.sampled_from(
                [f'{{"start":"{start}","end":"{end}"}}', f'{{"start":"{start}"}}', "[]"]
            )
        )
        text = f'{{"arrived":{arrived},"delete":{span}}}'
    else:
        ts, value, meta = draw(timestamps), draw(values), draw(metadata)
        text = f'"timestamp":"{ts}","value":{value}'
        if meta is not None:
            text += f',"metadata":{meta}'
        if shape == "v3":
            text = f'"arrived":{arrived},' + text
        elif shape == "v3-late":
            text += f',"arrived":{arrived}'
        text = "{" + text + "}"
    text = draw(st.sampled_from([text, text, text, text + " ", " " + text, text[:-1], text[1:]]))
    return text.encode() + b"\n"


@st.composite
def valid_tombstones(draw: st.DrawFn) -> bytes:
    start = draw(st.integers(1_600_000_000 * 10**9, 1_900_000_000 * 10**9))
    end = start + draw(st.integers(1, 10**15))
    arrived = draw(st.integers(10**18, 2**63 - 1))
    span = (pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    return tombstone_line(arrived, *(format_ns(t.value) for t in span))


@settings(max_examples=300, deadline=None)
@given(st.lists(log_lines(), max_size=12), st.sampled_from(KINDS), st.binary(max_size=6))
def test_fast_path_equals_reference(lines: list[bytes], kind: str, tail: bytes) -> None:
    assert_same(b"".join(lines) + tail.replace(b"\n", b""), kind)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(log_lines(), valid_tombstones()), max_size=20),
    st.lists(st.integers(0, 20), max_size=3),
    st.sampled_from(KINDS),
)
def test_markers_between_lines_equal_reference(
    lines: list[bytes], where: list[int], kind: str
) -> None:
    """Markers written as writers write them, anywhere among any lines: the same arrivals."""
    for at in where:
        lines.insert(min(at, len(lines)), marker_line(10**18 + at))
    assert_same(b"".join(lines), kind)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=8), st.sampled_from(KINDS))
def test_garbage_equals_reference(chunks: list[bytes], kind: str) -> None:
    assert_same(b"\n".join(chunks) + b"\n", kind)


def _encoded(ns: np.ndarray, values: pa.Array, meta: pa.Array | None, kind: str) -> bytes:
    out = io.BytesIO()
    encode_frame(ns, values, meta, kind).write_to(out)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("with_metadata", [True, False])  # `…Z` lines and `…+00:00` lines
def test_writer_lines_take_the_fast_path_and_round_trip(
    with_metadata: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 5000
    ns = np.int64(1_795_000_000_000_000_000) + np.arange(n, dtype=np.int64) * 1_000_003
    ns[::7] -= ns[::7] % 1_000_000_000  # whole seconds: no fraction written
    vals = pa.array(np.random.default_rng(1).normal(size=n))
    meta = pa.array(['{"loc":"a","b":1}', None] * (n // 2)) if with_metadata else None
    data = _encoded(ns, vals, meta, "float")
    assert (b"Z" if with_metadata else b"+00:00") in data[:60]

    def no_reference(*args: object) -> object:
        raise AssertionError("a writer line took the reference path")

    monkeypatch.setattr(fastparse, "parse_reference", no_reference)
    parsed = parse_log_bytes(data + b"x" * 70, "float", arrived=LEGACY)  # a long torn tail
    assert parsed.bad == []
    assert parsed.table.column("timestamp").cast(pa.int64()).to_numpy().tolist() == ns.tolist()
    assert parsed.table.column("value").to_pylist() == vals.to_pylist()
    if with_metadata:
        assert parsed.table.column("metadata").to_pylist()[:2] == ['{"b":1,"loc":"a"}', None]
    monkeypatch.undo()
    assert_same(data, "float")


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("int", pa.array([1, -2, None, 2**62] * 25)),
        ("bool", pa.array([True, False, None, True] * 25)),
        ("string", pa.array(["a", 'b"c', None, "é,}"] * 25)),
        ("json", pa.array(['{"b":1,"a":[1]}', "[1,2]", None, "{}"] * 25)),
        ("float", pa.array([1.5, float("nan"), None, float("-inf")] * 25)),
    ],
)
def test_every_kind_as_written_equals_reference(kind: str, values: pa.Array) -> None:
    ns = np.int64(1_795_000_000_000_000_000) + np.arange(100, dtype=np.int64) * 10_000_000
    for meta in (None, pa.array(['{"z":1,"a":2}', None] * 50)):
        data = _encoded(ns, values, meta, kind)
        assert_same(data, kind)
        assert parse_log_bytes(data, kind, arrived=LEGACY).table.num_rows == 100  # type: ignore[arg-type]


def test_bad_lines_have_offsets_and_reasons() -> None:
    good = line("2026-11-26T11:35:11Z", 1.5)
    wrong = line("2026-11-26T11:35:11Z", "3.5")
    data = good + wrong + b"{oops\n" + good + b"torn"
    parsed = parse_log_bytes(data, "float", arrived=LEGACY, source="seg")
    assert parsed.table.num_rows == 2
    assert [(b.offset, b.source, b.line) for b in parsed.bad] == [
        (len(good), "seg", wrong[:-1]),
        (len(good) + len(wrong), "seg", b"{oops"),
    ]
    assert "float variable" in parsed.bad[0].reason
    assert "bad JSON" in parsed.bad[1].reason
    assert parsed.torn == b"torn"
    assert parsed.complete_bytes == len(data) - 4


def test_nonfinite_spellings_and_metadata_canonical() -> None:
    data = (
        line("2026-11-26T11:35:11Z", "NaN", {"z": 1, "a": 2})
        + line("2026-11-26T11:35:12Z", "-Infinity", {})
        + line("2026-11-26T11:35:13.5Z", None, {"a": 2, "z": 1})
    )
    parsed = parse_log_bytes(data, "float", arrived=LEGACY)
    values = parsed.table.column("value").to_pylist()
    assert math.isnan(values[0]) and values[1] == -math.inf and values[2] is None
    assert parsed.table.column("metadata").to_pylist() == ['{"a":2,"z":1}', None, '{"a":2,"z":1}']
    assert_same(data, "float")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(log_lines(), min_size=1, max_size=40),
    st.sampled_from(KINDS),
    st.integers(1, 7),
    st.sampled_from([1, 2]),
)
def test_blocks_and_threads_equal_reference(
    lines: list[bytes], kind: str, block: int, threads: int
) -> None:
    """Lines cut into blocks (parsed in threads) give the same rows, in line order."""
    old = fastparse.BLOCK_LINES, fastparse.THREADS
    fastparse.BLOCK_LINES, fastparse.THREADS = block, threads
    try:
        assert_same(b"".join(lines), kind)
    finally:
        fastparse.BLOCK_LINES, fastparse.THREADS = old


def test_large_writer_log_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many blocks over two threads: every row, in order, with bad lines at their offsets."""
    monkeypatch.setattr(fastparse, "BLOCK_LINES", 1000)
    monkeypatch.setattr(fastparse, "THREADS", 2)
    n = 10_000
    ns = np.int64(1_795_000_000_000_000_000) + np.arange(n, dtype=np.int64) * 50_000_000
    vals = pa.array(np.random.default_rng(2).normal(size=n))
    data = _encoded(ns, vals, None, "float")
    lines = data.splitlines(keepends=True)
    lines[4321] = b'{"timestamp":"2026-11-26T11:35:11Z","value":"3.5"}\n'
    data = b"".join(lines)
    parsed = parse_log_bytes(data, "float", arrived=LEGACY)
    assert parsed.table.num_rows == n - 1
    assert [bad.offset for bad in parsed.bad] == [sum(map(len, lines[:4321]))]
    expected = np.delete(ns, 4321)
    assert (
        parsed.table.column("timestamp").cast(pa.int64()).to_numpy().tolist() == expected.tolist()
    )
    assert_same(data, "float")


def test_all_three_writer_shapes_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Single-append lines (31-byte prefix), markers and the batch lines after them are
    vouched for by the vectorised parser; every row gets the arrival of the rule."""
    n = 3000
    ns = np.int64(1_795_000_000_000_000_000) + np.arange(n, dtype=np.int64) * 1_000_003
    vals = pa.array(np.random.default_rng(3).normal(size=n))
    meta = pa.array(['{"loc":"a"}', None, None] * (n // 3))
    batch = _encoded(ns, vals, meta, "float").splitlines(keepends=True)
    arrivals = 1_764_921_600_123_456_789 + np.arange(n, dtype=np.int64) * 7
    singles = [b'{"arrived":%d,%s' % (int(a), x[1:]) for a, x in zip(arrivals, batch, strict=True)]
    mark = 1_764_921_700_000_000_000
    # legacy lines, then singles, then a marker and batch lines, singles among them
    lines = batch[:100] + singles[100:1000] + [marker_line(mark)] + batch[1000:2000]
    lines += singles[2000:2500] + batch[2500:]
    data = b"".join(lines)

    def no_reference(*args: object) -> object:
        raise AssertionError("a writer line took the reference path")

    monkeypatch.setattr(fastparse, "parse_reference", no_reference)
    parsed = parse_log_bytes(data, "float", arrived=LEGACY)
    assert parsed.bad == [] and parsed.marker == mark
    assert parsed.table.column("timestamp").cast(pa.int64()).to_numpy().tolist() == ns.tolist()
    expected = [LEGACY] * 100 + arrivals[100:1000].tolist() + [mark] * 1000
    expected += arrivals[2000:2500].tolist() + [mark] * 500
    assert parsed.table.column("arrived").cast(pa.int64()).to_pylist() == expected
    monkeypatch.undo()
    assert_same(data, "float")


def test_reader_rule_markers_tombstones_and_bad_arrivals() -> None:
    point = line("2026-11-26T11:35:11Z", 1.5)
    own = b'{"arrived":1800000000000000005,"timestamp":"2026-11-26T11:35:12Z","value":2.5}\n'
    late = b'{"timestamp":"2026-11-26T11:35:13Z","value":3.5,"arrived":42}\n'
    tomb = tombstone_line(1_800_000_000_000_000_009, "2026-11-26T00:00:00Z", "2026-11-27T00:00Z")
    bad = [
        b'{"arrived":0,"timestamp":"2026-11-26T11:35:14Z","value":1}\n',
        b'{"arrived":true}\n',
        b'{"arrived":9223372036854775808}\n',
        b'{"arrived":1800000000000000000,"delete":{"start":"2026-11-27T00:00:00Z",'
        b'"end":"2026-11-26T00:00:00Z"}}\n',
        b'{"arrived":1800000000000000000,"delete":{"start":"2026-11-27T00:00:00Z"}}\n',
        b'{"arrived":1800000000000000000,"extra":1}\n',
    ]
    data = point + marker_line(10**18) + point + own + late + tomb + b"".join(bad) + point
    for vectorised in (True, False):
        parsed = parse_log_bytes(data, "float", arrived=LEGACY, vectorised=vectorised)
        arrived = parsed.table.column("arrived").cast(pa.int64()).to_pylist()
        assert arrived == [LEGACY, 10**18, 1_800_000_000_000_000_005, 42, 10**18]
        assert parsed.tombstones.column("recorded").cast(pa.int64()).to_pylist() == [
            1_800_000_000_000_000_009
        ]
        assert [b.line + b"\n" for b in parsed.bad] == bad
        assert parsed.marker == 10**18
    assert_same(data, "float")


def test_a_marker_reaches_lines_in_later_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastparse, "BLOCK_LINES", 2)
    monkeypatch.setattr(fastparse, "THREADS", 2)
    point = line("2026-11-26T11:35:11Z", 1.5)
    data = point + marker_line(10**18) + point * 5 + marker_line(2 * 10**18) + point
    parsed = parse_log_bytes(data, "float", arrived=LEGACY)
    arrived = parsed.table.column("arrived").cast(pa.int64()).to_pylist()
    assert arrived == [LEGACY] + [10**18] * 5 + [2 * 10**18]
    assert_same(data, "float")
