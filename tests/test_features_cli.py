"""`hfdata features`: every option reaches `Store.features`, and what the command prints or
writes equals the Python API's frame; bad input is one line naming the flag, exit 2.

The command runs in this process through `main()` (the console script's code), except one
subprocess run of the real entry point. The store is small and shared by the module:
two variables at 5 Hz across an hour-partition boundary, half compacted, half in the log.
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cliutil import hfdata_cli

import hfdata
from hfdata.errors import InvalidArgument
from hfdata.tools.cli import main
from hfdata.tools.featurescmd import FLAGS
from hfdata.tools.terms import cli_message

VARIABLES = ("a", "plant/b")  # sorted as their hive folders are: a, plant%2Fb
START = pd.Timestamp("2026-11-26T09:50:00Z")


class Run:
    """What an in-process `main()` call returned and printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 'a' and 'plant/b': 20 minutes at 5 Hz from 09:50 (an hour boundary at
    10:00), a gap, a NaN, a duplicate; the first half compacted, the rest in the log."""
    path = tmp_path_factory.mktemp("features") / "store"
    rng = np.random.default_rng(18)
    index = pd.date_range(START, periods=6_000, freq="200ms")
    with hfdata.open_store(path, partition="hour") as store:
        for number, name in enumerate(VARIABLES):
            seconds = (index - index[0]).total_seconds().to_numpy()
            values = np.sin(seconds * (0.7 + number)) + rng.normal(0, 0.1, len(index))
            values[100] = np.nan
            series = pd.Series(values, index=index)
            series = series.drop(series.index[2_000:2_300])  # a gap of a minute
            first = pd.concat([series.iloc[:3_000], series.iloc[[50]]])  # a duplicate time
            store.append_many(name, first)
        store.compact(include_active=True, progress=False)
        for name in VARIABLES:
            values = np.cos(np.arange(2_700) / 7.0) + 0.01 * np.arange(2_700)
            store.append_many(name, pd.Series(values, index=index[3_300:]))
    return path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    """`run(*args)`: `hfdata ARGS` in this process."""

    def call(*args: object) -> Run:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return call


def api(root: Path, variables: Any = VARIABLES, **options: Any) -> Any:
    """`Store.features` in this process, as the command calls it."""
    with hfdata.open_store(root) as store:
        return store.features(list(variables), **options)


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The API's frame as the command prints it: `window` a column, `variable` text."""
    out = frame.reset_index()
    if "variable" in out.columns:
        out["variable"] = out["variable"].astype(str)
    return out


def from_csv(text: str) -> pd.DataFrame:
    out = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=["", "NaN"])
    out["window"] = pd.to_datetime(out["window"], utc=True)
    if "variable" in out.columns:
        out["variable"] = out["variable"].astype(str)
    return out


def from_json(text: str) -> pd.DataFrame:
    rows = [json.loads(line) for line in text.splitlines()]
    for row in rows:  # JSON keeps non-finite numbers as strings
        for key, value in row.items():
            if value in ("NaN", "Infinity", "-Infinity"):
                row[key] = float(value.replace("Infinity", "inf"))
    out = pd.DataFrame(rows)
    out["window"] = pd.to_datetime(out["window"], utc=True)
    return out


def assert_same(printed: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(printed.columns) == list(expected.columns)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(
        printed.reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-12,
        atol=0,
    )


def one_line_error(result: Run) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hfdata")
    return lines[0]


# -- what it prints ----------------------------------------------------------------------------
def test_help_names_every_option(run: Any) -> None:
    result = run("features", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: hfdata features")
    for flag in (
        "--window",
        "--stride",
        "--funcs",
        "--start",
        "--end",
        "--how",
        "--min-points",
        "--workers",
        "--closed",
        "--label",
        "--origin",
        "--offset",
        "--max-hold",
        "--output",
        "--json",
        "--csv",
        "--progress",
        "--storage-option",
    ):
        assert flag in result.stdout


def test_prints_the_api_frame_as_csv_by_default(root: Path, run: Any) -> None:
    result = run("features", root, *VARIABLES, "--window", "10s", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("window,variable,mean,std,min,max\n")
    assert result.stdout.splitlines()[1].startswith("2026-11-26T09:50:00Z,a,")
    expected = flat(api(root, window="10s", workers=1))
    assert_same(from_csv(result.stdout), expected)
    assert set(from_csv(result.stdout)["variable"]) == set(VARIABLES)
    assert run(
        "features", root, *VARIABLES, "--window", "10s", "--workers", "1", "--csv"
    ).stdout == (result.stdout)


CASES: list[tuple[list[str], dict[str, Any]]] = [
    (["--stride", "5s"], {"stride": "5s"}),
    (
        ["--funcs", "mean,std,rms,ptp,zero_crossings,dominant_frequency"],
        {"funcs": ["mean", "std", "rms", "ptp", "zero_crossings", "dominant_frequency"]},
    ),
    (
        ["--funcs", "Q90, skew,kurt,slope,abs_energy,count,median"],
        {"funcs": ["q90", "skew", "kurt", "slope", "abs_energy", "count", "median"]},
    ),
    (
        ["--start", "2026-11-26T09:55Z", "--end", "2026-11-26T10:05:30Z"],
        {"start": "2026-11-26T09:55Z", "end": "2026-11-26T10:05:30Z"},
    ),
    (["--how", "wide"], {"how": "wide"}),
    (
        ["--min-points", "49", "--funcs", "count,mean"],
        {"min_points": 49, "funcs": ["count", "mean"]},
    ),
    (["--closed", "right", "--label", "right"], {"closed": "right", "label": "right"}),
    (["--origin", "epoch", "--offset", "3s"], {"origin": "epoch", "offset": "3s"}),
    (["--origin", "2026-11-26T09:50:01Z"], {"origin": "2026-11-26T09:50:01Z"}),
    (
        ["--funcs", "twa,mean", "--max-hold", "100ms"],
        {"funcs": ["twa", "mean"], "max_hold": "100ms"},
    ),
    (
        ["--stride", "2s", "--how", "wide", "--funcs", "min"],
        {"stride": "2s", "how": "wide", "funcs": ["min"]},
    ),
]


@pytest.mark.parametrize(("flags", "options"), CASES, ids=[" ".join(f) for f, _ in CASES])
def test_each_option_prints_what_the_api_returns(
    root: Path, run: Any, flags: list[str], options: dict[str, Any]
) -> None:
    result = run("features", root, *VARIABLES, "--window", "10s", "--workers", "1", *flags)
    assert result.returncode == 0, result.stderr
    options = {"window": "10s", "workers": 1, **options}
    start, end = options.pop("start", None), options.pop("end", None)
    expected = flat(api(root, VARIABLES, start=start, end=end, **options))
    assert_same(from_csv(result.stdout), expected)


def test_json_lines_equal_the_api_frame_and_keep_nan(root: Path, run: Any) -> None:
    flags = ["--window", "10s", "--workers", "1", "--funcs", "mean,std", "--min-points", "60"]
    result = run("features", root, *VARIABLES, *flags, "--json")
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert list(first) == ["window", "variable", "mean", "std"]
    assert first["window"] == "2026-11-26T09:50:00Z"
    expected = flat(api(root, window="10s", workers=1, funcs=["mean", "std"], min_points=60))
    assert expected["mean"].isna().any()  # the gap's windows: below --min-points
    assert '"mean":"NaN"' in result.stdout
    assert_same(from_json(result.stdout), expected)


def test_two_workers_print_what_one_does(root: Path, run: Any) -> None:
    flags = ["--window", "10s", "--stride", "5s", "--funcs", "mean,zero_crossings"]
    one = run("features", root, *VARIABLES, *flags, "--workers", "1")
    two = run("features", root, *VARIABLES, *flags, "--workers", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    assert one.stdout == two.stdout and one.stdout.count("\n") > 200


def test_every_flag_reaches_its_keyword(
    root: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One call with every option, spied: each flag sets its `Store.features` keyword."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    original = hfdata.Store.features

    def spy(self: hfdata.Store, *args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(hfdata.Store, "features", spy)
    result = run(
        "features", root, "a", "--window", "10s", "--stride", "5s", "--funcs", "twa,rms",
        "--start", "2026-11-26T09:51Z", "--end", "2026-11-26T09:59Z", "--how", "wide",
        "--min-points", "3", "--workers", "1", "--closed", "right", "--label", "right",
        "--origin", "epoch", "--offset", "1s", "--max-hold", "1s", "--no-progress",
        "--as-of", "2100-01-01T00:00Z",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ((args, kwargs),) = calls
    assert args == (["a"], "2026-11-26T09:51Z", "2026-11-26T09:59Z")
    assert kwargs == {
        "window": "10s",
        "stride": "5s",
        "funcs": ["twa", "rms"],
        "how": "wide",
        "min_points": 3,
        "workers": 1,
        "closed": "right",
        "label": "right",
        "origin": "epoch",
        "offset": "1s",
        "max_hold": "1s",
        "progress": False,
        "as_of": "2100-01-01T00:00Z",
        "output": "polars",
    }
    calls.clear()
    assert run("features", root, "a", "--window", "10s", "--progress").returncode == 0
    assert calls[0][1]["progress"] is True
    assert calls[0][1]["workers"] is None  # the library's default: every core
    assert "funcs" not in calls[0][1]  # the library's default features
    assert calls[0][1]["how"] == "long" and calls[0][1]["min_points"] == 1
    calls.clear()
    assert run("features", root, "a", "--window", "10s", "--workers", "1").returncode == 0
    assert calls[0][1]["progress"] is None  # a bar only on a terminal


# -- what it writes ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["long", "wide"])
@pytest.mark.parametrize("target", ["features", "features.parquet"])
def test_output_reads_back_as_the_api_frame(
    root: Path, run: Any, tmp_path: Path, how: str, target: str
) -> None:
    out = tmp_path / target
    flags = ["--window", "10s", "--stride", "5s", "--funcs", "mean,std,ptp", "--how", how]
    result = run("features", root, *VARIABLES, *flags, "--workers", "1", "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out.is_dir(), out.is_file()) == ((True, False) if out.suffix == "" else (False, True))
    expected = api(
        root, window="10s", stride="5s", funcs=["mean", "std", "ptp"], how=how, workers=1
    )
    back = flat(pd.read_parquet(out))  # `window` and (long) `variable` are columns
    keys = ["variable", "window"] if how == "long" else ["window"]  # VARIABLES are sorted
    back = back.sort_values(keys, kind="stable")  # test_one_long_file_keeps_the_frame_order
    assert_same(back[list(flat(expected).columns)], flat(expected))
    files = [out] if out.is_file() else sorted(out.rglob("*.parquet"))
    if how == "long" and out.is_dir():
        assert {p.parent.name for p in files} == {"variable=a", "variable=plant%2Fb"}
    assert result.stdout.count("\n") == 1  # one summary line, not the table
    summary = result.stdout.strip()
    rows, noun = len(expected), "files" if len(files) != 1 else "file"
    assert summary.startswith(f"features: wrote {rows:,} rows (2 variables x 3 features) to ")
    assert f"({len(files):,} {noun})" in summary


def test_one_long_file_keeps_the_frame_order(root: Path, run: Any, tmp_path: Path) -> None:
    out = tmp_path / "features.parquet"
    result = run("features", root, *VARIABLES, "--window", "1min", "--workers", "1", "-o", out)
    assert result.returncode == 0, result.stderr
    back = pd.read_parquet(out).set_index("window")
    assert_same(flat(back), flat(api(root, window="1min", workers=1)))


# -- errors --------------------------------------------------------------------------------------
def test_a_bad_funcs_name_names_the_flag(root: Path, run: Any) -> None:
    line = one_line_error(run("features", root, "a", "--window", "10s", "--funcs", "mean,wobble"))
    assert "--funcs" in line and "wobble" in line
    assert "funcs=" not in line and not re.search(r"\bagg\b", line)
    line = one_line_error(run("features", root, "a", "--window", "10s", "--funcs", "std,std"))
    assert "--funcs" in line and "std given twice" in line
    line = one_line_error(run("features", root, "a", "--window", "10s", "--funcs", ", ,"))
    assert "--funcs" in line and "names no feature" in line
    line = one_line_error(run("features", root, "a", "--window", "10s", "--funcs", "mean,ohlc"))
    assert "--funcs" in line and "'ohlc' is four features" in line  # the library's advice


@pytest.mark.parametrize("window", ["0", "0s", "-10s"])
def test_a_window_of_zero_names_the_flag(root: Path, run: Any, window: str) -> None:
    line = one_line_error(run("features", root, "a", f"--window={window}"))
    assert "--window" in line and "window=" not in line


def test_a_stride_longer_than_a_partition_names_the_flag(root: Path, run: Any) -> None:
    line = one_line_error(run("features", root, "a", "--window", "10s", "--stride", "2h"))
    assert "--stride '2h' is longer than the store's partition (hour)" in line
    assert "stride=" not in line and "'hfdata read --resample'" in line
    line = one_line_error(run("features", root, "a", "--window", "2h"))  # the stride too
    assert "--window '2h' (the stride) is longer than the store's partition" in line


def test_an_unknown_variable_points_to_ls(root: Path, run: Any) -> None:
    line = one_line_error(run("features", root, "a", "nope", "--window", "10s"))
    assert "'nope'" in line and f"'hfdata ls {root}'" in line


def test_too_many_windows_for_memory_points_to_o(root: Path, run: Any) -> None:
    result = run("features", root, "a", "--window", "1us", "--workers", "1")
    assert result.returncode == 1 and result.stdout == ""  # refused before computing
    line = result.stderr.strip()
    assert line.count("\n") == 0 and "Traceback" not in line
    assert "1,199,800,001 rows, more than 20,000,000 in memory" in line  # 09:50 to 10:09:59.8
    assert "-o features/" in line and "--stride" in line and "to=" not in line


def test_usage_errors(root: Path, run: Any, tmp_path: Path) -> None:
    assert "--window" in one_line_error(run("features", root, "a"))  # required
    line = one_line_error(run("features", tmp_path / "nowhere", "a", "--window", "10s"))
    assert "does not exist" in line
    line = one_line_error(run("features", root, "a", "--window", "10s", "--workers", "0"))
    assert "--workers" in line
    line = one_line_error(run("features", root, "a", "--window", "10s", "--how", "tall"))
    assert "--how" in line
    out = tmp_path / "f.parquet"
    line = one_line_error(run("features", root, "a", "--window", "10s", "-o", out, "--json"))
    assert "-o" in line and "--json" in line and not out.exists()
    line = one_line_error(run("features", root, "a", "--window", "10s", "-o", tmp_path / "f.csv"))
    assert ".parquet" in line and not (tmp_path / "f.csv").exists()
    line = one_line_error(run("features", root, "a", "--window", "10s", "--json", "--csv"))
    assert "not allowed with" in line


def test_the_console_script_code_runs_it(root: Path) -> None:
    result = hfdata_cli("features", root, "a", "--window", "1min", "--funcs", "count")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "window,variable,count"
    assert lines[1] == "2026-11-26T09:50:00Z,a,300.0"  # 300 points, a NaN, a duplicate
    bad = hfdata_cli("features", root, "a", "--window", "1min", "--funcs", "wobble")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "--funcs" in bad.stderr


# -- the message in flags ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "argument", "expected"),
    [
        ("window='0s' must be positive", "window", "--window '0s' must be positive"),
        ("window must be a fixed length", "window", "--window must be a fixed length"),
        ("`min_points` must be at least 1", "min_points", "--min-points must be at least 1"),
        ("agg 'x' is not an aggregation", "agg", "--funcs 'x' is not an aggregation"),
        ("funcs=['x'] names no feature", "funcs", "--funcs ['x'] names no feature"),
        ("a directory that is not empty", "to", "-o: a directory that is not empty"),
        ("to='f/' holds files; use a new path", "to", "-o 'f/' holds files; use a new path"),
        ("stride='2h' exceeds a partition", "stride", "--stride '2h' exceeds a partition"),
        ("max_hold=-1 is negative\nmore", "max_hold", "--max-hold -1 is negative"),
        ("max_hold needs agg 'twa'", "max_hold", "--max-hold needs --funcs 'twa'"),
        ("use read(resample=...)", "stride", "--stride: use 'hfdata read --resample'"),
        ("'x': use read() or around()", "variables", "VARIABLE: 'x': use 'hfdata read'"),
    ],
)  # fmt: skip
def test_cli_message_speaks_flags(message: str, argument: str, expected: str) -> None:
    assert cli_message(InvalidArgument(message, argument=argument), FLAGS) == expected


def test_nan_reads_back_from_csv() -> None:  # the reader the tests above rely on
    frame = from_csv("window,variable,mean\n2026-11-26T09:50:00Z,a,NaN\n2026-11-26T09:50:10Z,a,\n")
    assert frame["mean"].map(math.isnan).all() and str(frame["window"].dt.tz) == "UTC"
