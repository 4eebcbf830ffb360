"""Text input for `hfdata append`: per-line checks, CSV/JSONL readers, batching."""

from __future__ import annotations

import io
import math
from datetime import datetime
from pathlib import Path

import pytest
from cliutil import stored
from hypothesis import given, settings
from hypothesis import strategies as st

import hfdata
from hfdata.errors import InvalidMetadata, InvalidTimestamp, SchemaMismatch
from hfdata.timeparse import TimeRules, to_ns
from hfdata.tools.ingest import (
    FLUSH,
    CsvRecords,
    FieldNames,
    PointParser,
    ingest,
    jsonl_rows,
    resolve_kind,
    sniff_format,
)
from hfdata.tools.linesource import LineSource

UTC_RULES = TimeRules("UTC")
T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00:00Z


def test_jsonl_line_checks_timestamp_value_and_metadata() -> None:
    parser = PointParser("v", None, UTC_RULES)
    ns, value, meta = parser.json_object(
        {"timestamp": "2026-11-26T12:00:00+02:00", "value": 1, "metadata": {"a": 1}}
    )
    assert (ns, value, meta) == (T0, 1.0, {"a": 1})
    assert parser.kind == "float"  # fixed by the first value
    assert math.isnan(parser.json_object({"timestamp": "2026-11-26T10:00:00Z", "value": "NaN"})[1])
    with pytest.raises(SchemaMismatch):
        parser.json_object({"timestamp": "2026-11-26T10:00:00Z", "value": "text"})
    with pytest.raises(InvalidTimestamp):
        parser.json_object({"timestamp": "yesterday-ish", "value": 1})
    with pytest.raises(InvalidTimestamp):  # bare numbers need an epoch unit
        parser.json_object({"timestamp": 1_795_687_200, "value": 1})
    with pytest.raises(InvalidMetadata):
        parser.json_object({"timestamp": "2026-11-26T10:00:00Z", "value": 1, "metadata": [1]})
    with pytest.raises(ValueError, match="no 'value'"):
        parser.json_object({"timestamp": "2026-11-26T10:00:00Z"})
    with pytest.raises(ValueError, match="not a JSON object"):
        parser.json_object([1, 2])


@settings(max_examples=300, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2260, 12, 31)),
    digits=st.integers(0, 9),
    nanos=st.integers(0, 999_999_999),
    zone=st.sampled_from(["Z", "+00:00", "", "+02:00", "z"]),
    naive=st.sampled_from(["UTC", "Europe/Berlin"]),
)
def test_fast_timestamps_match_to_ns(
    when: datetime, digits: int, nanos: int, zone: str, naive: str
) -> None:
    frac = f"{nanos:09d}"[:digits]
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if digits else "") + zone
    rules = TimeRules(naive)
    parser = PointParser("v", None, rules)
    try:
        expected = to_ns(text, rules)
    except InvalidTimestamp:
        with pytest.raises(InvalidTimestamp):
            parser.timestamp(text)
        return
    assert parser.timestamp(text) == expected
    assert parser.timestamp(text) == expected  # and again from the minute cache


def test_fast_timestamps_refuse_what_to_ns_refuses() -> None:
    parser = PointParser("v", None, UTC_RULES)
    for text in ("2026-02-30T10:00:00Z", "2026-11-26T10:00:60Z", "2026-11-26T24:00:00Z"):
        with pytest.raises(InvalidTimestamp, match="2026"):
            parser.timestamp(text)


def test_epoch_numbers_only_with_an_epoch_unit() -> None:
    parser = PointParser("v", "int", TimeRules("UTC", "s"))
    assert parser.json_object({"timestamp": 1_795_687_200, "value": 3})[:2] == (T0, 3)
    assert parser.csv_row(["1795687200", "4"], (0, 1, None, ()))[:2] == (T0, 4)
    with pytest.raises(SchemaMismatch):
        parser.json_object({"timestamp": 1_795_687_200, "value": 3.5})


def test_csv_cells_follow_the_kind() -> None:
    columns = (0, 1, 2, ())
    floats = PointParser("v", None, UTC_RULES)
    assert floats.csv_row(["2026-11-26T10:00:00Z", " 2.5 "], columns)[1] == 2.5
    assert floats.kind == "float"
    assert floats.csv_row(["2026-11-26T10:00:00Z", ""], columns)[1] is None
    assert math.isinf(floats.csv_row(["2026-11-26T10:00:00Z", "-Infinity"], columns)[1])
    with pytest.raises(ValueError, match="not a number"):
        floats.csv_row(["2026-11-26T10:00:00Z", "abc"], columns)
    strings = PointParser("s", "string", UTC_RULES)
    assert strings.csv_row(["2026-11-26T10:00:00Z", "123"], columns)[1] == "123"
    bools = PointParser("b", None, UTC_RULES)
    assert bools.csv_row(["2026-11-26T10:00:00Z", "True"], columns)[1] is True
    assert bools.kind == "bool"
    with pytest.raises(ValueError, match="true/false"):
        bools.csv_row(["2026-11-26T10:00:00Z", "maybe"], columns)
    objects = PointParser("j", "json", UTC_RULES)
    point = objects.csv_row(["2026-11-26T10:00:00Z", '{"x": [1]}', '{"m": 2}'], columns)
    assert point == (T0, {"x": [1]}, {"m": 2})
    with pytest.raises(ValueError, match="expected at least 2 fields"):
        floats.csv_row(["2026-11-26T10:00:00Z"], columns)


def csv_items(
    data: bytes, fields: FieldNames | None = None
) -> tuple[CsvRecords, list[tuple[int, list[str]]]]:
    """The CSV reader of `hfdata append` over `data`: its columns and (line, cells) rows."""
    source = LineSource(io.BytesIO(data), batch_lines=1000, flush_interval=1.0)
    source.quoted_newlines = True
    records = CsvRecords(PointParser("v", None, UTC_RULES, fields or FieldNames()))
    rows = [(n, r) for n, r, _ in (i for i in records.items(source.batches()) if i is not FLUSH)]
    return records, rows


def test_csv_header_is_optional_and_columns_may_move() -> None:
    data = b'value,metadata,timestamp\n1.5,,2026-11-26T10:00:00Z\n\n2.5,"{""a"": 1}",x\n'
    records, rows = csv_items(data)
    assert records.columns == (2, 0, 1, ())
    assert rows == [(2, ["1.5", "", "2026-11-26T10:00:00Z"]), (4, ["2.5", '{"a": 1}', "x"])]
    records, rows = csv_items(b"\xef\xbb\xbf2026-11-26T10:00:00Z,1\n")
    assert records.columns == (0, 1, 2, ())
    assert [r for _, r in rows] == [["2026-11-26T10:00:00Z", "1"]]
    with pytest.raises(ValueError, match="no 'value' column"):
        csv_items(b"timestamp,reading\n")


def test_jsonl_rows_number_lines_and_accept_python_nan() -> None:
    data = b'{"timestamp": "t", "value": NaN}\n\n{broken\n{"a": 1}'
    rows = list(jsonl_rows(io.BytesIO(data)))
    assert [n for n, _, _ in rows] == [1, 3, 4]
    assert math.isnan(rows[0][1]["value"])
    assert isinstance(rows[1][1], ValueError)
    assert rows[2][1] == {"a": 1}  # a last line without newline is still input


def test_sniff_format() -> None:
    assert sniff_format(b'  \n{"timestamp": 1}') == "jsonl"
    assert sniff_format(b"\xef\xbb\xbf{") == "jsonl"
    assert sniff_format(b"timestamp,value") == "csv"
    assert sniff_format(b"") == "jsonl"


def test_ingest_keeps_good_lines_across_batches(tmp_path: Path) -> None:
    lines = [f'{{"timestamp": "2026-11-26T10:00:0{i}Z", "value": {i}}}' for i in range(7)]
    lines[3] = '{"timestamp": "2026-11-26T10:00:03Z", "value": "three"}'
    data = ("\n".join(lines) + "\n").encode()
    rejects = io.StringIO()
    with hfdata.open_store(tmp_path) as store:
        parser = PointParser("v", None, UTC_RULES)
        report = ingest(
            store,
            "v",
            jsonl_rows(io.BytesIO(data)),
            parser.json_object,
            parser,
            source="x",
            batch_rows=2,
            rejects=rejects,
        )
    assert (report.lines, report.appended, report.rejected_count) == (7, 6, 1)
    assert rejects.getvalue() == lines[3] + "\n"
    assert report.rejected[0].line == 4
    assert "three" in report.rejected[0].text
    points = stored(tmp_path, "v")
    assert [v for _, v, _ in points] == [0.0, 1.0, 2.0, 4.0, 5.0, 6.0]
    assert [ns for ns, _, _ in points] == [T0 + i * 1_000_000_000 for i in (0, 1, 2, 4, 5, 6)]


def test_ingest_json_values_keep_their_shape(tmp_path: Path) -> None:
    data = b'{"timestamp":"2026-11-26T10:00:00Z","value":{"a":1},"metadata":{"m":1}}\n' + (
        b'{"timestamp":"2026-11-26T10:00:01Z","value":{"b":[2]}}\n'
    )
    with hfdata.open_store(tmp_path) as store:
        parser = PointParser("j", None, UTC_RULES)
        report = ingest(
            store, "j", jsonl_rows(io.BytesIO(data)), parser.json_object, parser, source="x"
        )
    assert report.appended == 2
    assert [(v, m) for _, v, m in stored(tmp_path, "j")] == [
        ('{"a":1}', '{"m":1}'),
        ('{"b":[2]}', None),
    ]


def test_ingest_reports_a_refused_batch(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", "2026-11-26T10:00:00Z", "a string")  # fixes kind "string"
        parser = PointParser("v", "float", UTC_RULES)  # as if it had read an older schema
        data = b'{"timestamp":"2026-11-26T10:00:01Z","value":1.5}\n'
        report = ingest(
            store, "v", jsonl_rows(io.BytesIO(data)), parser.json_object, parser, source="x"
        )
    assert report.appended == 0
    assert report.failure is not None and "lines 1-1" in report.failure


def test_resolve_kind(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        assert resolve_kind(store, "new", None) is None
        assert resolve_kind(store, "new", "int") == "int"
        store.append("b", "2026-11-26T10:00:00Z", True)
        assert resolve_kind(store, "b", None) == "bool"
        with pytest.raises(SchemaMismatch):
            resolve_kind(store, "b", "float")
        with pytest.raises(ValueError, match="kind must be one of"):
            resolve_kind(store, "c", "complex")  # type: ignore[arg-type]
