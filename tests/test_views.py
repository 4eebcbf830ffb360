"""Formatting for the command line: tables, variable info, frames as CSV/JSON/Parquet."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from hfdata.tools.views import (
    human_bytes,
    info_json,
    info_pairs,
    info_row,
    info_rows_header,
    text_table,
    write_frame,
)


@dataclass(frozen=True)
class FakeInfo:
    name: str
    kind: str
    rows: int
    first: datetime | None
    bytes_on_disk: int
    partitions: list[str]


INFO = FakeInfo(
    "a", "float", 1234567, datetime(2026, 11, 26, 10, tzinfo=UTC), 3 << 20, ["2026-11-26"]
)


@dataclass(frozen=True)
class InfoWithTotal:
    name: str
    parquet_rows: int
    log_rows: int

    @property
    def rows(self) -> int:
        return self.parquet_rows + self.log_rows


def test_rows_property_is_shown() -> None:
    info = InfoWithTotal("a", 5, 2)
    assert [k for k, _ in info_pairs(info)] == ["name", "rows", "parquet rows", "log rows"]
    row = dict(zip(info_rows_header(), info_row(info), strict=True))
    assert (row["rows"], row["parquet rows"], row["log rows"]) == (7, 5, 2)


def test_text_table_aligns_numbers_right() -> None:
    out = text_table(["name", "rows"], [["a", 5], ["long name", 1234]])
    assert out.splitlines() == [
        "name        rows",
        "---------  -----",
        "a              5",
        "long name  1,234",
    ]


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (5, 2048, 3 << 20, 5 << 40)] == [
        "5 B",
        "2.0 KiB",
        "3.0 MiB",
        "5.0 TiB",
    ]


def test_info_views() -> None:
    pairs = dict(info_pairs(INFO))
    assert pairs["rows"] == "1,234,567"
    assert pairs["first"] == "2026-11-26T10:00:00Z"
    assert pairs["bytes on disk"] == "3.0 MiB (3,145,728 bytes)"
    assert json.loads(info_json(INFO))["first"] == "2026-11-26T10:00:00Z"
    stamped = FakeInfo("a", "float", 1, pd.Timestamp("2026-11-26T10:00:00.000000001Z"), 0, [])
    assert json.loads(info_json(stamped))["first"] == "2026-11-26T10:00:00.000000001Z"
    row = dict(zip(info_rows_header(), info_row(INFO), strict=True))
    assert row["variable"] == "a" and row["rows"] == 1234567 and row["size"] == "3.0 MiB"
    assert row["log"] is None  # a field the info does not have


@pytest.fixture
def frame() -> pd.DataFrame:
    index = pd.DatetimeIndex(
        ["2026-11-26T10:00:00Z", "2026-11-26T10:00:00.000000001Z", "2026-11-26T10:00:01.5Z"],
        name="timestamp",
    )
    return pd.DataFrame(
        {"value": [1.0, math.nan, -math.inf], "metadata": ['{"a":1}', None, None]}, index=index
    )


def test_csv_keeps_nanoseconds(frame: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    write_frame(frame, "csv", out)
    assert out.read_text().splitlines() == [
        "timestamp,value,metadata",
        '2026-11-26T10:00:00Z,1.0,"{""a"":1}"',
        "2026-11-26T10:00:00.000000001Z,NaN,",
        "2026-11-26T10:00:01.500Z,-inf,",
    ]


def test_json_lines_match_the_log_format(frame: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    write_frame(pl.from_pandas(frame.reset_index(), nan_to_null=False), "json", out)
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"timestamp": "2026-11-26T10:00:00Z", "value": 1.0, "metadata": {"a": 1}},
        {"timestamp": "2026-11-26T10:00:00.000000001Z", "value": "NaN"},
        {"timestamp": "2026-11-26T10:00:01.500Z", "value": "-Infinity"},
    ]


def test_parquet_and_multiindex_columns(tmp_path: Path) -> None:
    index = pd.date_range("2026-11-26", periods=2, freq="1min", tz="UTC", name="timestamp")
    columns = pd.MultiIndex.from_tuples([("a", "open"), ("a", "close")])
    bars = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=index, columns=columns)
    out = tmp_path / "x.parquet"
    write_frame(bars, "parquet", out)
    table = pq.read_table(out)
    assert table.column_names == ["timestamp", "a_open", "a_close"]
    assert str(table.schema.field("timestamp").type) == "timestamp[ns, tz=UTC]"
    with pytest.raises(ValueError, match="needs a file"):
        write_frame(bars, "parquet", None)


def test_stdout(frame: pd.DataFrame, capfd: pytest.CaptureFixture[str]) -> None:
    write_frame(frame[["value"]].iloc[:1], "csv", None)
    assert capfd.readouterr().out == "timestamp,value\n2026-11-26T10:00:00Z,1.0\n"
