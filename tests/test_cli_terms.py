"""Errors on the command line name flags, not the library's keyword arguments."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

import hfdata
from hfdata.errors import InvalidArgument
from hfdata.tools.cli import main
from hfdata.tools.terms import COMMON, cli_message


@pytest.mark.parametrize(
    ("message", "argument", "expected"),
    [
        ("start (a) must be before end (b); [start, end)", "start",
         "--start (a) must be before --end (b); [start, end)"),
        ("as_of must be a time", "as_of", "--as-of must be a time"),
        ("`end` is missing", "end", "--end is missing"),
        ("something unnamed", "start", "--start: something unnamed"),
        ("an argument no flag sets", "metadata", "an argument no flag sets"),
        ("the window ends here\nsecond line", "", "the window ends here"),
        ("--start (a) before --end (b)", "start", "--start (a) before --end (b)"),  # spelled
    ],
)  # fmt: skip
def test_cli_message_spells_common_flags(message: str, argument: str, expected: str) -> None:
    assert cli_message(InvalidArgument(message, argument=argument), COMMON) == expected


def _store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with hfdata.open_store(root) as store:
        store.append("t", "2026-11-26T09:00:00Z", 1.0)
    return root


@pytest.mark.parametrize(
    "command",
    [["read"], ["history"], ["delete", "--yes"], ["features", "--window", "1s"], ["gaps"]],
)
def test_an_empty_window_names_start_and_end(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _store(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    bounds = ["--start", "2026-11-26T10:00Z", "--end", "2026-11-26T09:00Z"]
    code = main([command[0], str(root), "t", *command[1:], *bounds])
    err = capsys.readouterr().err
    assert code == 2
    assert "--start (2026-11-26T10:00:00Z) must be before --end (2026-11-26T09:00:00Z)" in err
    with hfdata.open_store(root) as store:
        assert len(store.read("t")) == 1  # nothing deleted


@pytest.mark.parametrize(
    "command",
    [["read"], ["history"], ["delete", "--yes"], ["gaps"]],
)
def test_an_unparsable_bound_names_no_format_flag(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Window flags take ISO-8601 only: the error lists the forms, and does not advise
    `timestamp_format=` or a `--timestamp-format` these commands do not have."""
    root = _store(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    bounds = ["--start", "garbage", "--end", "2026-11-27"]
    code = main([command[0], str(root), "t", *command[1:], *bounds])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot parse timestamp 'garbage'" in err
    assert "ISO-8601" in err
    assert "format" not in err.split("ISO-8601", 1)[1]
    with hfdata.open_store(root) as store:
        assert len(store.read("t")) == 1  # nothing deleted
