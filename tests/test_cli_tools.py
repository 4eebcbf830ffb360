"""The disk and maintenance commands: `ls -l --json/--csv`, `info` sizes, `prune`, `drop`,
and what `init --log-retention` says (issue 14)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import hfdata
from hfdata.tools.cli import main


class Run:
    """What an in-process `main()` call returned and printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


class _Terminal(io.StringIO):
    """stdin that says it is a terminal, with the user's typed answer."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`run(*args, stdin=..., tty=False)`: `main()` as the console script calls it."""

    def call(*args: object, stdin: str = "", tty: bool = False) -> Run:
        stream = _Terminal(stdin) if tty else io.TextIOWrapper(io.BytesIO(stdin.encode()))
        monkeypatch.setattr(sys, "stdin", stream)
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return call


@pytest.fixture
def compacted(tmp_path: Path) -> Path:
    """Two variables compacted (their segments kept in compacted/), `a` with a log tail."""
    root = tmp_path / "store"
    index = pd.date_range("2026-11-26T10:00:00Z", periods=300, freq="1s")
    frame = pd.DataFrame({"value": [float(i) for i in range(300)]}, index=index)
    with hfdata.open_store(root) as store:
        store.append_many("a", frame)
        store.append_many("b", frame * 2)
        store.compact(include_active=True)
        store.append("a", "2026-11-27T10:00:00Z", 1.5)
    return root


def test_ls_json_has_the_table_fields_as_numbers_and_times(compacted: Path, run: Any) -> None:
    result = run("ls", compacted, "-l", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert [r["variable"] for r in listing] == ["a", "b"]
    with hfdata.open_store(compacted) as store:
        info = store.info("a")
    a = listing[0]
    assert list(a) == [
        "variable",
        "kind",
        "rows",
        "parquet_rows",
        "log_rows",
        "first",
        "last",
        "bytes_on_disk",
        "parquet_bytes",
        "log_bytes",
        "compacted_log_bytes",
        "parquet_folder",
    ]
    assert (a["kind"], a["rows"], a["parquet_rows"], a["log_rows"]) == ("float", 301, 300, 1)
    assert a["parquet_folder"] == "kind=float/variable=a"  # issue 16: where engines find it
    assert (a["first"], a["last"]) == ("2026-11-26T10:00:00Z", "2026-11-27T10:00:00Z")
    assert pd.Timestamp(a["first"]) == info.first
    assert a["log_bytes"] == info.log_bytes and a["compacted_log_bytes"] > 0
    assert a["bytes_on_disk"] == a["parquet_bytes"] + a["log_bytes"]
    assert all(type(a[k]) is int for k in a if k.endswith(("rows", "bytes", "_on_disk")))
    assert run("ls", compacted, "--json").stdout == result.stdout  # --json implies -l


def test_ls_csv_matches_the_json(compacted: Path, run: Any) -> None:
    as_json = json.loads(run("ls", compacted, "-l", "--json").stdout)
    result = run("ls", compacted, "-l", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows == [{k: str(v) for k, v in record.items()} for record in as_json]
    both = run("ls", compacted, "--json", "--csv")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_ls_and_info_show_the_log_apart_from_parquet(compacted: Path, run: Any) -> None:
    table = run("ls", compacted, "-l")
    header = table.stdout.splitlines()[0].split("  ")
    assert [h.strip() for h in header if h.strip()][-5:] == [
        "size",
        "parquet",
        "log",
        "compacted log",
        "parquet folder",
    ]
    assert "'hfdata prune" in table.stderr and "compacted" in table.stderr
    info = run("info", compacted, "a")
    lines = dict(line.split("  ", 1) for line in info.stdout.splitlines())
    assert {"log bytes", "compacted log bytes", "parquet bytes", "bytes on disk"} <= {
        k.strip() for k in lines
    }
    as_json = json.loads(run("info", compacted, "a", "--json").stdout)
    assert as_json["compacted_log_bytes"] > 0
    assert as_json["bytes_on_disk"] == as_json["parquet_bytes"] + as_json["log_bytes"]


def test_prune_removes_compacted_segments(compacted: Path, run: Any) -> None:
    kept = run("prune", compacted, "--older-than", "1d")
    assert kept.returncode == 0 and "removed 0 compacted log segments" in kept.stdout
    before = {r["variable"]: r for r in json.loads(run("ls", compacted, "--json").stdout)}
    only_b = run("prune", compacted, "--variable", "b")
    b_bytes = before["b"]["compacted_log_bytes"]
    assert only_b.returncode == 0, only_b.stderr
    assert "removed 1 compacted log segment, " in only_b.stdout
    assert f"({b_bytes:,} bytes)" in only_b.stdout
    rest = run("prune", compacted)
    assert f"({before['a']['compacted_log_bytes']:,} bytes)" in rest.stdout
    after = {r["variable"]: r for r in json.loads(run("ls", compacted, "--json").stdout)}
    assert after["a"]["compacted_log_bytes"] == after["b"]["compacted_log_bytes"] == 0
    assert after["a"]["rows"] == 301 and after["a"]["log_rows"] == 1  # the tail stays
    assert run("verify", compacted).returncode == 0


def test_prune_refuses_bad_arguments(compacted: Path, run: Any) -> None:
    for age in ("forever", "soon", "-1d"):
        result = run("prune", compacted, "--older-than", age)
        assert result.returncode == 2, age
        assert "--older-than" in result.stderr
    unknown = run("prune", compacted, "--variable", "nope")
    assert unknown.returncode == 2 and "'nope'" in unknown.stderr


def test_log_retention_forever_and_its_alias_none(tmp_path: Path, run: Any) -> None:
    for word in ("forever", "none"):
        result = run("init", tmp_path / word, "--log-retention", word)
        assert result.returncode == 0 and "log retention forever" in result.stdout
        settings = json.loads((tmp_path / word / "hfdata.json").read_text())
        assert settings["log_retention_seconds"] is None
    text = " ".join(run("init", "--help").stdout.split())
    assert "'forever' (never deleted; 'none' is accepted for it)" in text
    assert "'hfdata prune DIR' removes them sooner" in text


def test_drop_without_a_terminal_needs_yes(compacted: Path, run: Any) -> None:
    refused = run("drop", compacted, "a")
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr and refused.stderr.count("\n") == 1
    with hfdata.open_store(compacted) as store:
        assert store.variables() == ["a", "b"]
    dropped = run("drop", compacted, "a", "--yes")
    assert dropped.returncode == 0 and "dropped 'a' (301 points" in dropped.stdout
    with hfdata.open_store(compacted) as store:
        assert store.variables() == ["b"]
    assert not (compacted / "log" / "a").exists()
    assert not (compacted / "parquet" / "kind=float" / "variable=a").exists()


def test_drop_asks_on_a_terminal(compacted: Path, run: Any) -> None:
    kept = run("drop", compacted, "a", stdin="n\n", tty=True)
    assert kept.returncode == 0 and "drop 'a' (301 points" in kept.stdout
    assert "kept 'a'" in kept.stdout
    assert (compacted / "log" / "a").exists()
    gone = run("drop", compacted, "a", stdin="yes\n", tty=True)
    assert gone.returncode == 0 and "dropped 'a'" in gone.stdout
    assert not (compacted / "log" / "a").exists()


def test_delete_asks_on_a_terminal_and_needs_yes_without_one(compacted: Path, run: Any) -> None:
    window = ["--start", "2026-01-01", "--end", "2100-01-01"]  # every point of 'a'
    refused = run("delete", compacted, "a", *window)
    assert refused.returncode == 2 and "not deleting 301 points of 'a'" in refused.stderr
    assert "pass --yes to delete them" in refused.stderr
    kept = run("delete", compacted, "a", *window, stdin="n\n", tty=True)
    assert kept.returncode == 0 and "delete 301 points of 'a'" in kept.stdout
    assert "kept 301 points" in kept.stdout
    with hfdata.open_store(compacted) as store:
        assert len(store.read("a")) == 301
    gone = run("delete", compacted, "a", *window, stdin="y\n", tty=True)
    assert gone.returncode == 0 and "deleted 301 points of 'a'" in gone.stdout
    with hfdata.open_store(compacted) as store:
        assert len(store.read("a")) == 0 and len(store.history("a")) == 301


def test_drop_an_unknown_variable(compacted: Path, run: Any) -> None:
    result = run("drop", compacted, "aa", "--yes")
    assert result.returncode == 2
    same = run("info", compacted, "aa")
    assert result.stderr == same.stderr and "'aa'" in result.stderr


# -- delete, history, --as-of (issue 20) -----------------------------------------------------


def test_delete_without_a_terminal_needs_yes(compacted: Path, run: Any) -> None:
    window = ("--start", "2026-11-26T10:00:10Z", "--end", "2026-11-26T10:00:20Z")
    refused = run("delete", compacted, "a", *window)
    assert refused.returncode == 2
    assert "10 points" in refused.stderr and "pass --yes" in refused.stderr
    with hfdata.open_store(compacted) as store:
        assert len(store.read("a")) == 301
    done = run("delete", compacted, "a", *window, "--yes")
    assert done.returncode == 0 and "deleted 10 points of 'a'" in done.stdout
    with hfdata.open_store(compacted) as store:
        assert len(store.read("a")) == 291
        assert len(store.history("a")) == 301


def test_delete_asks_on_a_terminal(compacted: Path, run: Any) -> None:
    window = ("--start", "2026-11-26T10:00:00Z", "--end", "2026-11-26T10:00:05Z")
    kept = run("delete", compacted, "b", *window, stdin="n\n", tty=True)
    assert kept.returncode == 0 and "delete 5 points of 'b'" in kept.stdout
    assert "kept 5 points" in kept.stdout
    gone = run("delete", compacted, "b", *window, stdin="y\n", tty=True)
    assert gone.returncode == 0 and "deleted 5 points" in gone.stdout
    with hfdata.open_store(compacted) as store:
        assert len(store.read("b")) == 295


def test_history_and_as_of_on_the_command_line(compacted: Path, run: Any) -> None:
    with hfdata.open_store(compacted) as store:
        known = pd.Timestamp.now(tz="UTC")
        store.append("b", "2026-11-26T10:00:00Z", 99.0)  # a correction
        store.delete("b", "2026-11-26T10:00:01Z", "2026-11-26T10:00:03Z")
    listed = run("history", compacted, "b", "--end", "2026-11-26T10:00:03Z", "--csv")
    assert listed.returncode == 0, listed.stderr
    frame = pd.read_csv(io.StringIO(listed.stdout))
    assert frame["value"].tolist() == [0.0, 99.0, 2.0, 4.0]
    assert frame["superseded_at"].notna().tolist() == [True, False, False, False]
    assert frame["deleted_at"].notna().tolist() == [False, False, True, True]
    now = run("summary", compacted, "b", "--json")
    before = run("summary", compacted, "b", "--json", "--as-of", known.isoformat())
    assert json.loads(now.stdout.splitlines()[0])["rows"] == 299
    assert json.loads(before.stdout.splitlines()[0])["rows"] == 300
