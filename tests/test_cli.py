"""Every `hfdata` subcommand through its real entry point, bad input and exit codes included.

Subprocess runs (`python -m hfdata.tools.cli`, the console script's code) check what a user
sees; `--help` of each subcommand runs in-process through `main()` to keep this fast.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from cliutil import hfdata_cli, stored

import hfdata
from hfdata.tools.cli import build_parser, main

SECOND = 1_000_000_000
T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00:00Z
COMMANDS = (
    "init",
    "append",
    "import-legacy",
    "compact",
    "optimize",
    "ls",
    "info",
    "prune",
    "delete",
    "history",
    "drop",
    "read",
    "asof",
    "features",
    "upgrade",
    "summary",
    "gaps",
    "report",
    "verify",
    "demo",
)


def one_line_error(result: Any) -> str:
    """The single stderr line of a failed command (never a traceback)."""
    assert "Traceback" not in result.stderr
    lines: list[str] = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hfdata")
    return lines[0]


class Run:
    """What an in-process `main()` call returned and printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`run(*args, stdin=...)`: the same `main()` the console script calls, in this process."""

    def call(*args: object, stdin: str = "") -> Run:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return call


# -- help, usage errors ------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: hfdata {command}")


def test_parser_knows_every_command() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert sorted(actions[0].choices) == sorted(COMMANDS)  # type: ignore[arg-type]


def test_top_level_help_and_version_through_the_console_script() -> None:
    script = Path(sys.executable).parent / "hfdata"
    if not script.exists():
        pytest.skip("no console script next to this interpreter (not a venv install)")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.strip() == f"hfdata {hfdata.__version__}"


def test_python_dash_m_hfdata_runs_the_cli(tmp_path: Path) -> None:
    """`python -m hfdata` is the console script's command (its exit code passed on)."""
    version = subprocess.run(
        [sys.executable, "-m", "hfdata", "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0
    assert version.stdout.strip() == f"hfdata {hfdata.__version__}"
    missing = subprocess.run(
        [sys.executable, "-m", "hfdata", "info", str(tmp_path / "s"), "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0 and missing.stderr.startswith("hfdata: error: ")


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, run: Any) -> None:
    assert "invalid choice" in one_line_error(result := hfdata_cli("frobnicate"))
    assert result.returncode == 2
    result = run("append", tmp_path)
    assert result.returncode == 2
    assert "required: VARIABLE" in one_line_error(result)
    result = run("read", tmp_path / "nowhere", "x", "--agg", "mode")
    assert result.returncode == 2
    assert "unknown aggregation" in one_line_error(result)
    result = run("init", tmp_path / "s", "--log-retention", "soon")
    assert result.returncode == 2
    assert "not a duration" in one_line_error(result)


# -- init --------------------------------------------------------------------------------------
def test_init_creates_and_then_checks_settings(tmp_path: Path, run: Any) -> None:
    root = tmp_path / "store"
    result = hfdata_cli("init", root, "--partition", "hour", "--log-retention", "2d")
    assert result.returncode == 0, result.stderr
    assert "created hfdata store" in result.stdout and "log retention 2d" in result.stdout
    settings = json.loads((root / "hfdata.json").read_text())
    assert (settings["partition"], settings["log_retention_seconds"]) == ("hour", 172800.0)
    again = run("init", root)
    assert again.returncode == 0 and "already an hfdata store" in again.stdout
    conflict = run("init", root, "--partition", "day")
    assert conflict.returncode == 2
    assert "partition='hour'" in one_line_error(conflict)
    forever = run("init", tmp_path / "forever", "--log-retention", "none")
    assert forever.returncode == 0 and "log retention forever" in forever.stdout


def test_init_refuses_a_file(tmp_path: Path, run: Any) -> None:
    (tmp_path / "f").write_text("x")
    result = run("init", tmp_path / "f")
    assert result.returncode == 2
    assert "not a directory" in one_line_error(result)


# -- append ------------------------------------------------------------------------------------
def test_append_jsonl_from_stdin_keeps_good_lines(tmp_path: Path) -> None:
    lines = [
        '{"timestamp": "2026-11-26T10:00:00Z", "value": 1.5}',
        '{"timestamp": "not a time", "value": 2}',
        '{"timestamp": "2026-11-26T12:00:01+02:00", "value": "NaN", "metadata": {"q": 1}}',
        "not json at all",
        "",
        '{"timestamp": "2026-11-26T10:00:02", "value": true}',
        '{"timestamp": "2026-11-26T10:00:03.123456789Z", "value": 3}',
    ]
    result = hfdata_cli("append", tmp_path, "temp", stdin="\n".join(lines) + "\n")
    assert result.returncode == 1  # done, but some lines were rejected
    assert "appended 3 points to 'temp', 3 bad lines skipped" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert [e.split(":")[1] for e in errors] == ["2", "4", "6"]
    assert errors[0].startswith("<stdin>:2: cannot parse timestamp")
    assert "holds float values" in errors[2]
    points = stored(tmp_path, "temp")
    assert [p[0] for p in points] == [T0, T0 + SECOND, T0 + 3 * SECOND + 123_456_789]
    assert math.isnan(points[1][1])  # type: ignore[arg-type]
    assert points[1][2] == '{"q":1}'


def test_append_csv_file_with_header_and_rejects_file(tmp_path: Path, run: Any) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "timestamp,value,metadata\n"
        "2026-11-26T10:00:00Z,20,\n"
        "2026-11-26T10:00:01Z,twenty-one,\n"
        '2026-11-26T10:00:02Z,22,"{""unit"": ""C""}"\n'
    )
    rejects = tmp_path / "rejects.csv"
    result = run("append", tmp_path / "s", "t", source, "--kind", "int", "--rejects", rejects)
    assert result.returncode == 1
    assert "in.csv:3: 'twenty-one' is not an integer" in result.stderr
    assert rejects.read_text() == "2026-11-26T10:00:01Z,twenty-one,\n"
    assert stored(tmp_path / "s", "t") == [(T0, 20, None), (T0 + 2 * SECOND, 22, '{"unit":"C"}')]


def test_append_gzip(tmp_path: Path, run: Any) -> None:
    source = tmp_path / "points.jsonl.gz"
    with gzip.open(source, "wt") as f:
        f.write('{"timestamp": "2026-11-26T10:00:00Z", "value": 7}\n')
    result = run("append", tmp_path / "s", "g", source)
    assert result.returncode == 0, result.stderr
    assert stored(tmp_path / "s", "g") == [(T0, 7.0, None)]


def test_append_clean_input_exits_0_and_sniffs_csv(tmp_path: Path, run: Any) -> None:
    source = tmp_path / "data.txt"  # no telling extension: the first byte decides
    source.write_text("2026-11-26T10:00:00Z,on\n2026-11-26T10:00:01Z,off\n")
    result = run("append", tmp_path / "s", "state", source, "--durability", "fsync")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert [p[1] for p in stored(tmp_path / "s", "state")] == ["on", "off"]


def test_append_bad_input_exits_2(tmp_path: Path, run: Any) -> None:
    missing = hfdata_cli("append", tmp_path, "x", tmp_path / "missing.jsonl")
    assert missing.returncode == 2
    assert "does not exist" in one_line_error(missing)
    bad_name = run("append", tmp_path / "new", "..", stdin="")
    assert bad_name.returncode == 2
    assert "reserved" in one_line_error(bad_name)
    assert not (tmp_path / "new").exists()
    with hfdata.open_store(tmp_path) as store:
        store.append("b", "2026-11-26T10:00:00Z", True)
    wrong_kind = run("append", tmp_path, "b", "--kind", "float", stdin="")
    assert wrong_kind.returncode == 2
    assert "already holds bool values" in one_line_error(wrong_kind)
    a_dir = run("append", tmp_path, "x", tmp_path)
    assert a_dir.returncode == 2
    assert "is a directory" in one_line_error(a_dir)


# -- import-legacy -----------------------------------------------------------------------------
def test_import_legacy(tmp_path: Path, run: Any) -> None:
    source = tmp_path / "old"
    source.mkdir()
    with open(source / "sensor_temp_celsius.jsonl", "a") as f:  # the original's own format
        for ts, value, meta in (
            (datetime(2026, 11, 26, 11, 0), 25.5, {"location": "room_a"}),
            ("2026-11-26T10:00:01Z", float("nan"), None),
            (datetime(2026, 11, 26, 11, 0, 2), "oops", None),
        ):
            stamp = ts.isoformat() if isinstance(ts, datetime) else ts
            f.write(json.dumps({"timestamp": stamp, "value": value, "metadata": meta}) + "\n")
    result = hfdata_cli(
        "import-legacy", tmp_path / "s", source, "--naive-timezone", "Europe/Berlin"
    )
    assert result.returncode == 1  # one line could not be imported
    assert "sensor_temp_celsius.jsonl:3:" in result.stderr
    assert "imported 2 points from 1 file;" in result.stdout
    points = stored(tmp_path / "s", "sensor_temp_celsius")
    assert [p[0] for p in points] == [T0, T0 + SECOND]
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run("import-legacy", tmp_path / "s", empty)
    assert nothing.returncode == 2
    assert "no <variable>.jsonl files" in one_line_error(nothing)
    gone = run("import-legacy", tmp_path / "s", tmp_path / "gone")
    assert gone.returncode == 2 and "does not exist" in one_line_error(gone)


# -- commands on an existing store -------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("compact",),
        ("optimize",),
        ("ls",),
        ("info", "x"),
        ("read", "x"),
    ],
)
def test_store_commands_refuse_a_missing_store(
    tmp_path: Path, args: tuple[str, ...], run: Any
) -> None:
    result = run(args[0], tmp_path / "nowhere", *args[1:])
    assert result.returncode == 2
    assert "does not exist" in one_line_error(result)
    assert not (tmp_path / "nowhere").exists()  # never created by accident


@pytest.mark.parametrize(
    "args", [("ls",), ("info", "x"), ("compact",), ("read", "x"), ("append", "x")], ids=" ".join
)
def test_corrupt_settings_file_exits_1_naming_it(
    tmp_path: Path, args: tuple[str, ...], run: Any
) -> None:
    """A damaged hfdata.json is a problem with the store (exit 1), not a usage error (2)."""
    root = tmp_path / "store"
    root.mkdir()
    (root / "hfdata.json").write_text("garbage")
    result = run(args[0], root, *args[1:], stdin='{"timestamp":"2026-11-26T10:00:00Z","value":1}')
    assert result.returncode == 1
    message = one_line_error(result)
    assert f"{root / 'hfdata.json'} is not valid JSON" in message
    assert "restore hfdata.json from a backup" in message
    assert (root / "hfdata.json").read_text() == "garbage"


def test_verify_reports_a_corrupt_settings_file(tmp_path: Path, run: Any) -> None:
    (tmp_path / "hfdata.json").write_text("[]")
    result = run("verify", tmp_path)
    assert result.returncode == 1
    assert "is not an hfdata settings file" in result.stdout


def test_verify_reports_a_missing_store(tmp_path: Path, run: Any) -> None:
    result = run("verify", tmp_path)
    assert result.returncode == 1
    assert "is not an hfdata store" in result.stdout


def test_verify_log_only_store_is_clean(tmp_path: Path, run: Any) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("a", "2026-11-26T10:00:00Z", 1.0)
    result = run("verify", tmp_path)
    assert result.returncode == 0, result.stdout
    assert "a: float; log: 1 closed, 0 active segments (1 points not yet in Parquet)" in (
        result.stdout
    )
    assert result.stdout.strip().endswith("verify: 0 problems, 0 warnings")


def test_verify_finds_problems(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("a", "2026-11-26T10:00:00Z", 1.0)
    segment = next((tmp_path / "log" / "a").glob("*.jsonl"))
    with segment.open("ab") as f:
        f.write(b'{"timestamp": "2026-11-26T10:00:01Z", "value": "x"}\n{"torn')
    (tmp_path / "_journal").mkdir()
    (tmp_path / "_journal" / "batch1.json").write_text("{}")
    result = hfdata_cli("verify", tmp_path, "--quiet")
    assert result.returncode == 0  # warnings only: compaction recovers all of these
    assert f"{segment.relative_to(tmp_path)}:2: bad line" in result.stdout
    assert "torn last line" in result.stdout
    assert "leftover journal _journal/batch1.json" in result.stdout
    assert "rolls it back" in result.stdout  # not yet publishing
    assert " a: float;" not in result.stdout  # --quiet hides the OK lines


# -- compact, optimize, ls, info, read, verify after compaction --------------------------------
@pytest.fixture
def filled(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    index = pd.date_range("2026-11-26T10:00:00Z", periods=120, freq="1s")
    frame = pd.DataFrame({"value": [float(i) for i in range(120)]}, index=index)
    with hfdata.open_store(root) as store:
        store.append_many("a", frame)
        store.append_many("b", frame * 2)
        store.append("a", "2026-11-26T10:00:00.5Z", 0.5, {"note": "late"})
    return root


def test_compact_and_optimize(filled: Path) -> None:
    result = hfdata_cli("compact", filled, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "compacted:" in result.stdout and "rows 241" in result.stdout
    assert list((filled / "parquet").glob("kind=float/variable=a/date=*/*.parquet"))
    busy = hfdata_cli("optimize", filled, "--variable", "a", "--no-progress")
    assert busy.returncode == 0, busy.stderr
    assert "optimized:" in busy.stdout
    files = list((filled / "parquet").glob("kind=float/variable=a/date=*/*.parquet"))
    assert sum(pq.read_metadata(f).num_rows for f in files) == 121
    clean = hfdata_cli("verify", filled)
    assert clean.returncode == 0, clean.stdout
    assert "121 points of" in clean.stdout or "121 rows" in clean.stdout


def test_compact_quarantines_and_verify_reports_it(filled: Path, run: Any) -> None:
    segment = next((filled / "log" / "b").glob("*.jsonl"))
    with segment.open("ab") as f:
        f.write(b'{"timestamp": "2026-11-26T10:00:01Z", "value": "oops"}\n')
    compacted = run("compact", filled, "--variable", "b", "--no-progress")
    assert compacted.returncode == 0, compacted.stderr
    assert "1 bad line was moved to" in compacted.stderr
    checked = run("verify", filled, "--quiet")
    assert checked.returncode == 0, checked.stdout
    assert "b: 1 quarantined lines in 1 file(s) under _quarantine/b" in checked.stdout
    assert "'oops' in a float variable" in checked.stdout
    assert "verify: 0 problems, 1 warnings" in checked.stdout
    lost = next((filled / "parquet").glob("kind=float/variable=b/date=*/*.parquet"))
    lost.unlink()  # data the compacted segments say must be there
    broken = run("verify", filled, "--quiet")
    assert broken.returncode == 1
    assert "b: 120 points of compacted log segments are missing from Parquet" in broken.stdout


def test_compact_on_a_full_disk_says_so_in_one_line(
    filled: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from hfdata.parquet import local as local_mod

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "parquet/part.tmp")

    monkeypatch.setattr(local_mod, "write_parquet", disk_full)
    failed = run("compact", filled, "--variable", "a", "--no-progress")
    assert failed.returncode == 1
    [message] = failed.stderr.splitlines()
    assert message.startswith("hfdata: error: [Errno 28] compacting 'a' failed: ")
    assert "No space left on device (parquet/part.tmp). No point was lost" in message
    monkeypatch.undo()
    assert run("compact", filled, "--variable", "a", "--no-progress").returncode == 0
    assert sum(1 for _ in (filled / "parquet").glob("kind=float/variable=a/date=*/*.parquet"))


def test_compact_no_wait_while_another_runs(filled: Path, run: Any) -> None:
    from hfdata.locks import COMPACT_LOCK, flock

    with flock(filled / COMPACT_LOCK):
        busy = run("compact", filled, "--no-wait", "--no-progress")
    assert busy.returncode == 1
    assert "another compaction of" in one_line_error(busy)
    assert "omit --no-wait" in busy.stderr
    assert not (filled / "parquet").exists() or not list((filled / "parquet").rglob("*.parquet"))


def test_ls_and_info(filled: Path, run: Any) -> None:
    names = hfdata_cli("ls", filled)
    assert names.returncode == 0 and names.stdout.split() == ["a", "b"]
    table = run("ls", "-l", filled)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["variable", "kind", "rows"]
    info = run("info", filled, "a")
    assert info.returncode == 0, info.stderr
    assert "float" in info.stdout and "121" in info.stdout
    as_json = json.loads(run("info", filled, "a", "--json").stdout)
    assert as_json["kind"] == "float"
    missing = run("info", filled, "nope")
    assert missing.returncode == 2
    assert "nope" in one_line_error(missing)


def test_read_formats(filled: Path, tmp_path: Path, run: Any) -> None:
    csv = hfdata_cli(
        "read", filled, "a", "--start", "2026-11-26T10:00:00Z", "--end", "2026-11-26T10:00:02Z"
    )
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == [
        "timestamp,value",
        "2026-11-26T10:00:00Z,0.0",
        "2026-11-26T10:00:00.500Z,0.5",
        "2026-11-26T10:00:01Z,1.0",
    ]
    lines = run(
        "read", filled, "a", "--end", "2026-11-26T10:00:01Z", "--format", "json", "--metadata"
    ).stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"timestamp": "2026-11-26T10:00:00Z", "value": 0.0},
        {"timestamp": "2026-11-26T10:00:00.500Z", "value": 0.5, "metadata": {"note": "late"}},
    ]
    out = tmp_path / "bars.parquet"
    bars = run(
        "read", filled, "a", "--resample", "1min", "--agg", "ohlc", "--format", "parquet", "-o", out
    )
    assert bars.returncode == 0, bars.stderr
    table = pq.read_table(out).to_pandas()
    assert len(table) == 2
    assert {"open", "high", "low", "close"} <= {str(c).rsplit("_", 1)[-1] for c in table.columns}
    wide = run(
        "read",
        filled,
        "a",
        "b",
        "--resample",
        "1min",
        "--how",
        "wide",
        "--end",
        "2026-11-26T10:01Z",
    )
    assert wide.returncode == 0, wide.stderr
    header = wide.stdout.splitlines()[0].split(",")
    assert header[0] == "timestamp" and {"a", "b"} <= set(header)
    no_parquet_stdout = run("read", filled, "a", "--format", "parquet")
    assert no_parquet_stdout.returncode == 2
    bad_time = run("read", filled, "a", "--start", "next tuesday")
    assert bad_time.returncode == 2
    assert "next tuesday" in one_line_error(bad_time)


def test_read_into_a_closed_pipe_is_quiet(filled: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "hfdata.tools.cli", "read", str(filled), "a", "b"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.readline()
        reader.stdout.close()  # like `| head -1`
        errors = reader.stderr.read()
        assert reader.wait(timeout=120) == 0
    assert b"Traceback" not in errors


# -- a store whose Parquet is in an object store -------------------------------------------------
def test_object_store_commands(tmp_path: Path, run: Any) -> None:
    """`init --parquet-root` and `-S KEY=VALUE` on every command that opens the store,
    against a real S3 server on loopback: append, compact, ls, info, read and verify."""
    from s3server import make_bucket, moto_server, storage_options

    root = tmp_path / "s"
    with moto_server() as endpoint:
        make_bucket(endpoint, "cli-bucket")
        options = [f"-S{k}={v}" for k, v in storage_options(endpoint).items()]
        created = run("init", root, "--parquet-root", "s3://cli-bucket/p", *options)
        assert created.returncode == 0, created.stderr
        assert "Parquet in s3://cli-bucket/p" in created.stdout
        lines = "".join(
            f'{{"timestamp": "2026-11-26T10:00:{i:02d}Z", "value": {i}.5}}\n' for i in range(30)
        )
        appended = run("append", root, "t", *options, stdin=lines)
        assert appended.returncode == 0, appended.stderr
        compacted = run("compact", root, *options)
        assert compacted.returncode == 0, compacted.stderr
        assert not (root / "parquet").exists()  # the Parquet went to the bucket
        assert run("ls", root, *options).stdout.split() == ["t"]
        info = json.loads(run("info", root, "t", "--json", *options).stdout)
        assert (info["rows"], info["parquet_rows"], info["log_rows"]) == (30, 30, 0)
        read = run("read", root, "t", "--format", "json", *options)
        assert read.returncode == 0, read.stderr
        points = [json.loads(line) for line in read.stdout.splitlines()]  # JSON Lines
        assert [p["value"] for p in points] == [i + 0.5 for i in range(30)]
        verified = run("verify", root, *options)
        assert verified.returncode == 0, verified.stdout  # compacted points found in the bucket
        assert "Parquet: 1 files, 30 rows in 1 partitions" in verified.stdout
        assert "30 points of 1 compacted segments cross-checked" in verified.stdout
    local = tmp_path / "local"
    assert run("init", local).returncode == 0
    refused = run("verify", local, "-Sanon=true")
    assert refused.returncode == 2 and "parquet_root" in one_line_error(refused)
    malformed = run("ls", local, "-S", "no-equals-sign")
    assert malformed.returncode == 2 and "KEY=VALUE" in malformed.stderr


# -- issue 14: strict input on `hfdata append` and `hfdata init` -----------------------------------
def _heartpy(name: str) -> Path:
    import importlib.resources

    return Path(str(importlib.resources.files("heartpy") / "data" / name))


def _headerless(data2: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    headerless = tmp_path / "data2.csv"
    rows = data2.read_text().splitlines()[1:]
    headerless.write_text("\n".join(rows) + "\n")
    return headerless, rows


def test_heartpy_millisecond_timer_is_refused_without_epoch_unit(tmp_path: Path, run: Any) -> None:
    data2 = _heartpy("data2.csv")  # header `timer,hr`, milliseconds since the recording began
    whole = run("append", tmp_path / "s", "hr", data2)  # the header names no timestamp column
    assert whole.returncode == 2
    assert "'timer,hr'" in whole.stderr and "--timestamp-column" in whole.stderr
    headerless, _ = _headerless(data2, tmp_path)
    result = run("append", tmp_path / "s", "hr", headerless)
    assert result.returncode == 1
    assert "appended 0 points" in result.stdout
    lines = [x for x in result.stderr.splitlines() if x.startswith(f"{headerless}:")][:-1]
    assert len(lines) == 20  # the first ones are shown; "... and 14,980 more bad lines"
    assert f"{headerless}:1: cannot parse timestamp '0.0': a bare number" in lines[0]
    assert all("pass --epoch-unit s|ms|us|ns" in x for x in lines)
    assert not any("epoch_unit=" in x or "open_store" in x for x in lines)
    assert "15,000 bad lines skipped" in result.stdout  # all 15,000 points
    assert not list((tmp_path / "s").rglob("*.parquet"))


def test_heartpy_millisecond_timer_with_epoch_unit_ms(tmp_path: Path, run: Any) -> None:
    data2 = _heartpy("data2.csv")
    headerless, rows = _headerless(data2, tmp_path)  # test_cli_append reads the header
    result = run("append", tmp_path / "s", "hr", headerless, "--epoch-unit", "ms")
    assert result.returncode == 0, result.stderr
    assert f"appended {len(rows):,} points" in result.stdout
    got = [p[0] for p in stored(tmp_path / "s", "hr")]
    timer = pd.read_csv(data2, dtype={"timer": str})["timer"]
    assert got == [round(Decimal(t) * 1_000_000) for t in timer]  # ms since 1970, exact
    assert pd.Timestamp(max(got), tz="UTC") < pd.Timestamp("1970-01-01T00:03Z")  # 128 s
    with hfdata.open_store(tmp_path / "s") as store:
        assert store.settings.epoch_unit is None  # only this call


def test_append_timestamp_format(tmp_path: Path, run: Any) -> None:
    lines = "timestamp,value\n08/09/2009 10:00,1\n09/09/2009 10:00:00,2\n10/09/2009 10:00,3\n"
    result = run("append", tmp_path, "v", "-", "--format", "csv", stdin=lines)
    assert result.returncode == 1
    assert "--timestamp-format" in result.stderr
    result = run(
        "append",
        tmp_path,
        "v",
        "-",
        "--format",
        "csv",
        "--timestamp-format",
        "%d/%m/%Y %H:%M",
        stdin=lines,
    )
    assert result.returncode == 1  # line 3 has seconds: refused, the others stored
    assert (
        "<stdin>:3: timestamp '09/09/2009 10:00:00' does not match --timestamp-format "
        "'%d/%m/%Y %H:%M'" in result.stderr
    )
    assert [p[0] for p in stored(tmp_path, "v")] == [
        pd.Timestamp("2009-09-08T10:00Z").value,
        pd.Timestamp("2009-09-10T10:00Z").value,
    ]


def test_init_records_dst_rules(tmp_path: Path, run: Any) -> None:
    root = tmp_path / "berlin"
    result = run(
        "init",
        root,
        "--naive-timezone",
        "Europe/Berlin",
        "--nonexistent=-1h",
        "--ambiguous",
        "dst",
    )
    assert result.returncode == 0, result.stderr
    assert "nonexistent=-3600.0, ambiguous=True" in result.stdout
    body = json.loads((root / "hfdata.json").read_text())
    assert (body["nonexistent"], body["ambiguous"]) == (-3600.0, True)
    csv_text = "2016-03-27 02:30,1\n2016-10-30 02:30,2\n"
    assert run("append", root, "v", "-", "--format", "csv", stdin=csv_text).returncode == 0
    assert [p[0] for p in stored(root, "v")] == [
        pd.Timestamp("2016-03-27T01:30+01:00").value,  # 02:30 does not exist: 1 h earlier
        pd.Timestamp("2016-10-30T02:30+02:00").value,  # the daylight-time one
    ]
    plain = tmp_path / "plain"
    assert run("init", plain, "--naive-timezone", "Europe/Berlin").returncode == 0
    refused = run("append", plain, "v", "-", "--format", "csv", stdin=csv_text)
    assert refused.returncode == 1
    assert "does not exist in Europe/Berlin" in refused.stderr
    assert "is ambiguous in Europe/Berlin" in refused.stderr
    assert "hfdata init --nonexistent" in refused.stderr
    bad = run("init", tmp_path / "x", "--nonexistent", "NaT")
    assert bad.returncode == 2 and "not raise, shift_forward" in one_line_error(bad)
    forward = run("init", tmp_path / "f", "--nonexistent", "shift-forward", "--ambiguous", "infer")
    assert (
        forward.returncode == 0 and "nonexistent=shift_forward, ambiguous=infer" in forward.stdout
    )
