"""`hfdata summary` and `hfdata gaps` (issue 19): the library's answers, printed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pandas as pd
import pytest

import hfdata
from hfdata.tools.cli import main

T0 = pd.Timestamp("2026-03-01T00:00:00", tz="UTC")


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    with hfdata.open_store(tmp_path / "s") as store:
        for i in [*list(range(10)), 100, 101, 102]:  # one gap of 91 s
            store.append("temp", T0 + pd.Timedelta(seconds=i), float(i))
        store.append("temp", T0 + pd.Timedelta(seconds=3), 99.0)  # a conflicting duplicate
        store.compact(include_active=True)
        store.append("label", T0, "on")
    return tmp_path / "s"


def test_summary_json_and_csv_hold_every_column(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hfdata.open_store(store_dir) as store:
        want = store.summary()
    assert main(["summary", str(store_dir), "--json"]) == 0
    records = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["variable"] for r in records] == ["label", "temp"]
    temp = records[1]
    assert list(temp) == ["variable", *want.columns]
    assert temp["rows"] == 14 and temp["duplicate_timestamps"] == 1
    assert temp["conflicting_duplicates"] == 1 and temp["gap_count"] == 1
    assert temp["longest_gap"] == 91.0 and temp["median_interval"] == 1.0
    assert temp["first"] == "2026-03-01T00:00:00Z" and temp["last_value"] == 102.0
    assert records[0]["min"] is None and records[0]["last_value"] == "on"

    assert main(["summary", str(store_dir), "temp", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["variable"] == "temp" and rows[0]["rows"] == "14"
    assert float(rows[0]["coverage"]) == pytest.approx(1 - 91 / 102)


def test_summary_json_spells_infinities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON has no infinity: the log's spelling, not a null that reads as no value."""
    with hfdata.open_store(tmp_path / "s") as store:
        for i, v in enumerate([float("-inf"), 1.0, float("inf")]):
            store.append("x", T0 + pd.Timedelta(seconds=i), v)
        store.compact(include_active=True)
    assert main(["summary", str(tmp_path / "s"), "--json"]) == 0
    (record,) = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["min"], record["max"], record["last_value"]) == (
        "-Infinity",
        "Infinity",
        "Infinity",
    )
    assert record["mean"] is None  # inf + -inf: NaN, as pandas says
    assert main(["summary", str(tmp_path / "s"), "--csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert (float(row["min"]), float(row["max"])) == (float("-inf"), float("inf"))


def test_summary_table_and_unknown_variable(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", str(store_dir)]) == 0
    out = capsys.readouterr().out
    assert "median interval" in out.splitlines()[0]
    assert any(line.startswith("temp ") and " 14 " in line for line in out.splitlines())
    assert main(["summary", str(store_dir), "tmp"]) == 2
    assert "'temp'" in capsys.readouterr().err  # a close match is named


def test_gaps(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gaps", str(store_dir), "temp", "--json"]) == 0
    records = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records == [
        {"start": "2026-03-01T00:00:09Z", "end": "2026-03-01T00:01:40Z", "duration": 91.0}
    ]
    assert main(["gaps", str(store_dir), "temp", "--min-gap", "2min"]) == 0
    assert capsys.readouterr().out.strip() == "temp: no gaps"
    assert main(["gaps", str(store_dir), "temp", "--end", "2026-03-01T00:00:05Z"]) == 0
    assert capsys.readouterr().out.strip() == "temp: no gaps"
    assert main(["gaps", str(store_dir), "temp", "--start", "2026-03-01T00:00:05Z"]) == 0
    assert "0 days 00:01:31" in capsys.readouterr().out
    assert main(["gaps", str(store_dir), "temp", "--min-gap", "soon"]) == 2
    assert "--min-gap" in capsys.readouterr().err
