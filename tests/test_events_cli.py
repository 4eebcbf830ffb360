"""`hfdata asof DIR VARIABLE... --at FILE`: the command line's as-of join."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import hfdata
from hfdata.tools.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    with hfdata.open_store(tmp_path / "s") as store:
        store.append("a", "2024-01-01T00:00:00Z", 1.0)
        store.append("a", "2024-01-01T00:00:10Z", 2.0)
        store.append("b", "2024-01-01T00:00:05Z", "on")
        store.compact(include_active=True)
        store.append("a", "2024-01-01T00:00:20Z", 3.0)
    return tmp_path / "s"


def test_asof_writes_one_row_per_time_in_file_order(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = tmp_path / "times.csv"
    times.write_text("time\n2024-01-01T00:00:12Z\n\n2024-01-01T00:00:01Z\n2024-01-01T00:00:25Z\n")
    code, out, err = _run(capsys, "asof", filled, "a", "b", "--at", times)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "timestamp,a,b",
        "2024-01-01T00:00:12Z,2.0,on",
        "2024-01-01T00:00:01Z,1.0,",
        "2024-01-01T00:00:25Z,3.0,on",
    ]
    times.write_text("2024-01-01T00:00:12Z,ignored\n2024-01-01T00:00:21Z\n")  # no header
    code, out, _ = _run(
        capsys, "asof", filled, "a", "--at", times, "--tolerance", "5s", "--format", "json"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["value"] for r in rows] == [2.0, 3.0]
    code, out, _ = _run(capsys, "asof", filled, "a", "--at", times, "--tolerance", "1s")
    assert out.splitlines()[1:] == ["2024-01-01T00:00:12Z,", "2024-01-01T00:00:21Z,3.0"]
    code, out, _ = _run(capsys, "asof", filled, "a", "--at", times, "--direction", "forward")
    assert out.splitlines()[1:] == ["2024-01-01T00:00:12Z,3.0", "2024-01-01T00:00:21Z,"]
    parquet = tmp_path / "out.parquet"
    code, _, _ = _run(
        capsys, "asof", filled, "a", "--at", times, "--format", "parquet", "-o", parquet
    )
    assert code == 0 and pd.read_parquet(parquet)["value"].tolist() == [2.0, 3.0]


def test_asof_from_stdin_and_its_errors_in_command_line_terms(
    filled: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"2024-01-01T00:00:11Z\n")))
    code, out, _ = _run(capsys, "asof", filled, "a", "--at", "-")
    assert code == 0 and out.splitlines()[1] == "2024-01-01T00:00:11Z,2.0"
    times = tmp_path / "times.csv"
    times.write_text("time\n2024-01-01T00:00:11Z\nyesterday\n")
    code, _, err = _run(capsys, "asof", filled, "a", "--at", times)
    assert code == 2 and f"--at {times}, line 3" in err
    times.write_text("time\n")
    code, _, err = _run(capsys, "asof", filled, "a", "--at", times)
    assert code == 2 and "holds no times" in err
    times.write_text("2024-01-01T00:00:11Z\n")
    code, _, err = _run(capsys, "asof", filled, "a", "--at", times, "--tolerance=-5s")
    assert code == 2 and "--tolerance must be a non-negative duration" in err
    code, _, err = _run(capsys, "asof", filled, "nope", "--at", times)
    assert code == 2 and "no variable 'nope'" in err
    code, _, err = _run(capsys, "asof", filled, "a", "--at", times, "--format", "parquet")
    assert code == 2 and "needs -o FILE" in err
