"""The `hfdata` command line: argument parsing, exit codes and one handler per subcommand.

Exit codes: 0 success; 1 the command ran but found problems (rejected input lines,
`verify` findings) or the system failed (disk, lock held); 2 usage errors and bad
input, reported in one line on stderr, never with a traceback (`--debug` shows it).
The handlers only parse arguments and print: the work is done by the library.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn, cast

import orjson

from hfdata.errors import (
    CompactionInProgress,
    HfdataError,
    InvalidArgument,
    InvalidTimestamp,
    ResultTooLarge,
    StoreClosed,
    VariableNotFound,
)
from hfdata.kinds import KINDS, Kind
from hfdata.layout import PARTITIONS, validate_name
from hfdata.log.segment import DURABILITIES
from hfdata.read.aggregate import AGGS, parse_aggs
from hfdata.read.bins import ORIGINS, SIDES
from hfdata.read.fill import FILLS
from hfdata.report.quality import VERIFY_QUALITY
from hfdata.settings import SETTINGS_FILE
from hfdata.store import Store, open_store, upgrade_store
from hfdata.timeparse import EPOCH_UNITS, NONEXISTENT_CHOICES, TimeRules, to_ns
from hfdata.tools import featurescmd, reportcmd
from hfdata.tools.terms import COMMON, cli_message
from hfdata.tools.views import text_table

if TYPE_CHECKING:
    from hfdata.tools.ingest import FieldNames
    from hfdata.tools.linesource import LineSource

__all__ = ["build_parser", "main"]

OK: Final = 0
PROBLEMS: Final = 1
USAGE: Final = 2
_SHOW_REJECTED: Final = 20
# The keyword arguments `read` and `asof` set by flags, for error messages.
_READ_FLAGS: Final = {
    **COMMON,
    **{name: f"--{name}" for name in ("resample", "agg", "closed", "label", "origin")},
    **{name: f"--{name}" for name in ("offset", "fill", "limit", "how", "dedupe")},
    "max_hold": "--max-hold",
    "max_rows": "--max-rows",
}
_ASOF_FLAGS: Final = {**COMMON, "tolerance": "--tolerance", "direction": "--direction"}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit code 2."""

    def error(self, message: str) -> NoReturn:
        _die(f"{message} (see '{self.prog} --help')", USAGE, prog=self.prog)


def _die(message: str, code: int = USAGE, *, prog: str = "hfdata") -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _note(message: str) -> None:
    print(message, file=sys.stderr)


# -- parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The full `hfdata` argument parser (every subcommand has `--help`)."""
    from hfdata import __version__

    parser = _Parser(
        prog="hfdata",
        description="Store high-frequency time series: JSON Lines log, Parquet, frames.",
        epilog="Exit codes: 0 ok, 1 problems found or system failure, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"hfdata {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback when something fails"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name: str, helptext: str, handler: Callable[[argparse.Namespace], int]) -> Any:
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.set_defaults(handler=handler)
        return p

    p = command("init", "create a store (or check an existing one's settings)", _cmd_init)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--partition", choices=PARTITIONS, help="Parquet partition size (default day)")
    p.add_argument("--naive-timezone", metavar="TZ", help="zone of naive timestamps (default UTC)")
    p.add_argument("--epoch-unit", choices=EPOCH_UNITS, help="accept bare numbers as epoch times")
    p.add_argument(
        "--nonexistent",
        metavar="RULE",
        type=_nonexistent,
        help="a naive time in the daylight-saving gap: raise (default), shift_forward, "
        "shift_backward, or a shift such as 1h (a negative one as --nonexistent=-1h)",
    )
    p.add_argument(
        "--ambiguous",
        choices=tuple(_AMBIGUOUS),
        help="a naive time in the daylight-saving fold: raise (default), infer (from its "
        "batch), dst (daylight time) or standard (standard time)",
    )
    p.add_argument(
        "--log-retention",
        metavar="AGE",
        type=_duration,
        default=argparse.SUPPRESS,
        help="how long compacted log segments (whose points are in Parquet already) are kept "
        "after their last write, as a second copy; a compaction deletes older ones. 7d, 12h, "
        "30m, 90s, 0 (delete when compacted) or 'forever' (never deleted; 'none' is accepted "
        "for it). Default 7d. 'hfdata prune DIR' removes them sooner",
    )
    p.add_argument(
        "--parquet-root",
        metavar="URI",
        help="keep the Parquet elsewhere: s3://bucket/prefix or a path (recorded in the store)",
    )
    p.add_argument(
        "--rollups",
        metavar="RULES",
        type=_rollup_rules,
        help="resolutions of the rollups kept beside each Parquet file, from which resampled "
        "reads answer: comma-separated fixed rules such as 1min,1h (the default) or 15s; "
        "'none' keeps none",
    )
    p.add_argument(
        "--gap-threshold",
        metavar="DURATION",
        type=_gap_threshold,
        default=argparse.SUPPRESS,
        help="the shortest interval between points the statistics list as a gap, as pandas "
        "writes it (5min, 30s, 2h); 'auto' (the default): 10x each file's median interval",
    )
    _storage_option(p)

    p = command("append", "append points from JSON Lines or CSV (a file or stdin)", _cmd_append)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variable", metavar="VARIABLE")
    p.add_argument(
        "file", metavar="FILE", nargs="?", default="-", help="input file (.gz too), '-' = stdin"
    )
    p.add_argument(
        "--format",
        choices=("auto", "jsonl", "csv"),
        default="auto",
        help="input format; auto looks at the file name, then the first byte (default auto)",
    )
    p.add_argument("--kind", choices=KINDS, help="value kind of a new variable (default: inferred)")
    p.add_argument(
        "--epoch-unit",
        choices=EPOCH_UNITS,
        help="read numeric timestamps as time since 1970-01-01 UTC in this unit",
    )
    p.add_argument(
        "--timestamp-format",
        metavar="FMT",
        help="strftime format of the timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' (default: ISO-8601)",
    )
    p.add_argument(
        "--timestamp-column",
        metavar="NAME",
        help="CSV header column or JSON key of the timestamp (default timestamp)",
    )
    p.add_argument(
        "--value-column",
        metavar="NAME",
        help="CSV header column or JSON key of the value (default value)",
    )
    p.add_argument(
        "--metadata-column",
        metavar="NAME",
        help="CSV header column or JSON key of the metadata object (default metadata)",
    )
    p.add_argument(
        "--extra-keys",
        choices=("refuse", "metadata"),
        default="refuse",
        help="other JSON keys or CSV columns: refuse the line/file, or keep them in the "
        "point's metadata (default refuse)",
    )
    p.add_argument(
        "--batch-rows",
        type=_positive_int,
        default=100_000,
        metavar="N",
        help="append after N lines at most (default 100000)",
    )
    p.add_argument(
        "--flush-interval",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="append a batch this long after its first line arrived, even if the input "
        "is idle (default 1)",
    )
    p.add_argument("--durability", choices=DURABILITIES, default="flush")
    p.add_argument("--rejects", metavar="FILE", type=Path, help="write rejected lines here")
    _storage_option(p)

    p = command(
        "import-legacy", "import <variable>.jsonl files of the original module", _cmd_legacy
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("source", metavar="SOURCE", type=Path, help="folder of .jsonl files, or one")
    p.add_argument(
        "--naive-timezone",
        metavar="TZ",
        help="zone the original ran in, for naive timestamps (default: the store's, UTC)",
    )
    p.add_argument("--epoch-unit", choices=EPOCH_UNITS, help="read numeric timestamps as epoch")
    p.add_argument("--kind", choices=KINDS, help="value kind of new variables (default: inferred)")
    p.add_argument("--batch-rows", type=_positive_int, default=100_000, metavar="N")
    _storage_option(p)

    p = command("compact", "turn closed log segments into Parquet", _cmd_compact)
    p.add_argument("dir", metavar="DIR", type=Path)
    _variables_option(p)
    p.add_argument("--no-wait", action="store_true", help="fail if another compaction runs")
    _progress_option(p)
    _storage_option(p)

    p = command("optimize", "merge each partition's Parquet files into one", _cmd_optimize)
    p.add_argument("dir", metavar="DIR", type=Path)
    _variables_option(p)
    p.add_argument("--dedupe", choices=("last", "first"), help="keep one point per timestamp")
    _progress_option(p)
    _storage_option(p)

    p = command("ls", "list the variables", _cmd_ls)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument(
        "-l", "--long", action="store_true", help="a table with kind, rows, range and sizes"
    )
    shape = p.add_mutually_exclusive_group()
    shape.add_argument(
        "--json", action="store_true", help="the long listing as a JSON array (implies -l)"
    )
    shape.add_argument("--csv", action="store_true", help="the long listing as CSV (implies -l)")
    _storage_option(p)

    p = command("info", "describe one variable", _cmd_info)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variable", metavar="VARIABLE")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _storage_option(p)

    p = command(
        "prune", "remove compacted log segments now (their points are in Parquet)", _cmd_prune
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument(
        "--older-than",
        metavar="AGE",
        type=_age,
        default=timedelta(0),
        help="only segments last written at least this long ago: 1d, 12h, 30m, 90s "
        "(default 0: every compacted segment)",
    )
    _variables_option(p)
    _storage_option(p)

    p = command("drop", "remove a variable: its log, Parquet and quarantine", _cmd_drop)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variable", metavar="VARIABLE")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    _storage_option(p)

    p = command(
        "delete",
        "delete a variable's points in [--start, --end) (recorded as a deletion: history keeps "
        "them until optimize removes them after the store's history retention)",
        _cmd_delete,
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variable", metavar="VARIABLE")
    p.add_argument("--start", metavar="TIME", required=True, help="first time deleted (ISO-8601)")
    p.add_argument("--end", metavar="TIME", required=True, help="first time kept (ISO-8601)")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    _storage_option(p)

    p = command(
        "history",
        "every stored version of a variable's points: arrival, correction, deletion",
        _cmd_history,
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variable", metavar="VARIABLE")
    p.add_argument("--start", metavar="TIME", help="first time included (ISO-8601)")
    p.add_argument("--end", metavar="TIME", help="first time excluded (ISO-8601)")
    p.add_argument("--as-of", metavar="TIME", help="the history as known at this time")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    _storage_option(p)

    p = command("read", "read points (optionally resampled) as CSV, JSON or Parquet", _cmd_read)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variables", metavar="VARIABLE", nargs="+")
    p.add_argument("--start", metavar="TIME", help="first time included (ISO-8601)")
    p.add_argument("--end", metavar="TIME", help="first time excluded (ISO-8601)")
    p.add_argument("--resample", metavar="RULE", help="pandas rule such as 1s, 1min, 1h")
    p.add_argument(
        "--agg",
        metavar="AGG",
        type=_aggs,
        default="mean",
        help=f"with --resample: {', '.join(AGGS)}, a quantile as q90 or q99.9, or several "
        "with commas (default mean)",
    )
    p.add_argument(
        "--closed", choices=SIDES, help="closed side of a bin (default: pandas' for the rule)"
    )
    p.add_argument("--label", choices=SIDES, help="edge that labels a bin (default: pandas')")
    p.add_argument(
        "--origin",
        metavar="ORIGIN",
        default="start_day",
        help=f"what fixed-length bins align to: {', '.join(ORIGINS)} or a time (default start_day)",
    )
    p.add_argument("--offset", metavar="DURATION", help="shift fixed-length bins, e.g. 5min")
    p.add_argument(
        "--fill",
        metavar="FILL",
        type=_fill,
        help=f"fill empty bins after aggregation: {', '.join(FILLS)} or a number",
    )
    p.add_argument("--limit", metavar="N", type=int, help="with --fill: at most N consecutive bins")
    p.add_argument(
        "--max-hold",
        metavar="DURATION",
        help="with --agg twa: a value holds at most this long, e.g. 5s (default: until the next)",
    )
    p.add_argument("--how", choices=("long", "wide"), default="long", help="several variables")
    p.add_argument("--format", choices=("csv", "json", "parquet"), default="csv")
    p.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here, not stdout")
    p.add_argument("--metadata", action="store_true", help="include the metadata column")
    p.add_argument("--dedupe", choices=("last", "first"), help="keep one point per timestamp")
    p.add_argument("--no-log", action="store_true", help="Parquet only, skip the log tail")
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="as the store was known at this time: points appended and deletions made by then",
    )
    p.add_argument(
        "--no-rollups",
        action="store_true",
        help="with --resample: aggregate every point, not the stored rollups",
    )
    p.add_argument(
        "--max-rows",
        metavar="N",
        type=_positive_int,
        default=20_000_000,
        help="refuse a --resample of more rows than N (default 20000000)",
    )
    _storage_option(p)

    p = command(
        "asof",
        "the value of each variable in force at each time of a file (an as-of join)",
        _cmd_asof,
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variables", metavar="VARIABLE", nargs="+")
    p.add_argument(
        "--at",
        metavar="FILE",
        required=True,
        help="the times: a CSV file whose first column holds one time per line (ISO-8601; "
        "a header line is optional), '-' for stdin",
    )
    p.add_argument(
        "--tolerance", metavar="DURATION", help="farther points do not match (e.g. 5s, 100ms)"
    )
    p.add_argument(
        "--direction",
        choices=("backward", "forward", "nearest"),
        default="backward",
        help="the last point at or before each time (default), the first at or after, "
        "or the nearer",
    )
    p.add_argument("--format", choices=("csv", "json", "parquet"), default="csv")
    p.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here, not stdout")
    _storage_option(p)

    p = command("features", featurescmd.DESCRIPTION, _cmd_features)
    featurescmd.add_arguments(p, positive_int=_positive_int)
    _progress_option(p)
    _storage_option(p)

    p = command(
        "upgrade",
        "bring a store of an older format version to this hfdata's (stop its other users first)",
        _cmd_upgrade,
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    _progress_option(p)
    _storage_option(p)

    p = command("summary", reportcmd.SUMMARY, _cmd_summary)
    reportcmd.add_summary_arguments(p)
    _storage_option(p)

    p = command("gaps", reportcmd.GAPS, _cmd_gaps)
    reportcmd.add_gaps_arguments(p)
    _storage_option(p)

    p = command("report", reportcmd.REPORT, _cmd_report)
    reportcmd.add_report_arguments(p)
    _storage_option(p)

    p = command("verify", "check the log and Parquet against each other", _cmd_verify)
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument(
        "--quality",
        choices=VERIFY_QUALITY,
        default="stats",
        help="stats (default): warn of stuck values and NaN runs from the per-file stats; "
        "full: also of spikes, scoring every point (slow on large stores)",
    )
    _storage_option(p)

    p = command("demo", "simulate a sensor feed, compact, read, resample and plot", _cmd_demo)
    p.add_argument("dir", metavar="DIR", nargs="?", type=Path, default=Path("hfdata-demo"))
    p.add_argument("--small", action="store_true", help="a tiny run (seconds), for tests")
    p.add_argument("--sensors", type=_positive_int, metavar="N", help="sensors (default 20)")
    p.add_argument("--rate", type=_positive_float, metavar="HZ", help="samples/s (default 50)")
    p.add_argument("--hours", type=_positive_float, metavar="H", help="simulated hours")
    p.add_argument("--threads", type=_positive_int, metavar="N", help="writer threads")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    _progress_option(p)
    return parser


def _variables_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--variable",
        dest="variables",
        action="append",
        metavar="VARIABLE",
        help="only this variable (repeatable; default all)",
    )


def _storage_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-S",
        "--storage-option",
        dest="storage_options",
        action="append",
        type=_storage_pair,
        metavar="KEY=VALUE",
        help="an fsspec storage option for a store whose Parquet is in an object store, "
        "e.g. endpoint_url=http://minio:9000 (repeatable; VALUE is read as JSON when it "
        "parses: true, 5, {...})",
    )


def _storage_pair(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return key.strip(), value


def _remote(args: argparse.Namespace) -> dict[str, Any]:
    """`open_store` keywords for `-S` options (none given: none passed)."""
    pairs = getattr(args, "storage_options", None)
    return {"storage_options": dict(pairs)} if pairs else {}


def _progress_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


_UNITS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def _duration(text: str) -> timedelta | None:
    """`7d`, `12h`, `30m`, `90s`, a number of seconds, or `forever` (None; `none` and
    `never` are aliases)."""
    if text.strip().lower() in ("forever", "none", "never"):
        return None
    return _age(text, "7d, 12h, 30m, 90s or 'forever'")


def _age(text: str, examples: str = "1d, 12h, 30m or 90s") -> timedelta:
    """`1d`, `12h`, `30m`, `90s`, `2w` or a number of seconds, zero or more."""
    cleaned = text.strip().lower()
    factor = _UNITS.get(cleaned[-1:], None)
    number = cleaned[:-1] if factor is not None else cleaned
    try:
        seconds = float(number) * (factor or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; use e.g. {examples}"
        ) from None
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be zero or more")
    return timedelta(seconds=seconds)


_AMBIGUOUS: Final[dict[str, str | bool]] = {
    "raise": "raise",
    "infer": "infer",
    "dst": True,
    "standard": False,
}


def _nonexistent(text: str) -> str | timedelta:
    """`raise`, `shift_forward`, `shift_backward`, or a signed shift such as `1h`, `-30m`."""
    cleaned = text.strip().lower().replace("-", "_") if text[:1].isalpha() else text.strip()
    if cleaned in NONEXISTENT_CHOICES:
        return cleaned
    factor = _UNITS.get(cleaned[-1:], None)
    try:
        seconds = float(cleaned[:-1] if factor is not None else cleaned) * (factor or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not raise, shift_forward, shift_backward or a duration such as 1h"
        ) from None
    if seconds == 0 or seconds != seconds or abs(seconds) == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-zero finite duration")
    return timedelta(seconds=seconds)


def _rollup_rules(text: str) -> tuple[str, ...]:
    """`1min,1h` as a tuple of rules; `none` (or nothing) as no rollups."""
    if text.strip().lower() in ("", "none"):
        return ()
    return tuple(rule.strip() for rule in text.split(","))


def _gap_threshold(text: str) -> timedelta | None:
    """A pandas duration (`5min`, `30s`, `2h`), or `auto` (None)."""
    import pandas as pd

    if text.strip().lower() in ("auto", "none"):
        return None
    problem = argparse.ArgumentTypeError(
        f"{text!r} is not a positive duration; use e.g. 5min, 30s, 2h or 'auto'"
    )
    try:
        delta = pd.Timedelta(text.strip())
    except ValueError:
        raise problem from None
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise problem
    return timedelta(microseconds=round(delta.value / 1000))


def _show_gap(settings: Any) -> str:
    gap = settings.gap_threshold
    return "auto" if gap is None else _show_duration(gap.total_seconds())


def _show_duration(seconds: float | None) -> str:
    if seconds is None:
        return "forever"
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _aggs(text: str) -> str | list[str]:
    names = [a.strip().lower() for a in text.split(",") if a.strip()]
    try:
        parse_aggs(names)
    except InvalidArgument:
        unknown = [a for a in names if not _is_agg(a)]
        raise argparse.ArgumentTypeError(
            f"unknown aggregation {', '.join(unknown) or text!r}; use {', '.join(AGGS)}, "
            "q90 (a quantile in percent), or distinct ones with commas"
        ) from None
    return names[0] if len(names) == 1 else names


def _is_agg(name: str) -> bool:
    try:
        parse_aggs(name)
    except InvalidArgument:
        return False
    return True


def _fill(text: str) -> str | float:
    if text in FILLS:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown fill {text!r}; use {', '.join(FILLS)} or a number"
        ) from None


# -- helpers ---------------------------------------------------------------------------------
def _existing(directory: Path, **options: Any) -> Store:
    """Open a store that must already exist (read and maintenance commands)."""
    if not (directory / SETTINGS_FILE).is_file():
        if not directory.exists():
            _die(f"{directory} does not exist; create a store with 'hfdata init {directory}'")
        _die(f"{directory} is not an hfdata store (no {SETTINGS_FILE}); see 'hfdata init'")
    return open_store(directory, **options)


@contextlib.contextmanager
def _input(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    path = Path(name)
    if path.is_dir():
        _die(f"{name} is a directory; give a JSON Lines or CSV file, or '-' for stdin")
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        _die(f"input file {name} does not exist")
    except PermissionError:
        _die(f"cannot read input file {name} (permission denied)")
    with raw:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield cast(IO[bytes], unzipped)
        else:
            yield raw


def _report_rejects(report: Any) -> None:
    for item in report.rejected[:_SHOW_REJECTED]:
        _note(f"{report.source}:{item.line}: {item.reason}")
    if report.rejected_count > _SHOW_REJECTED:
        more = report.rejected_count - _SHOW_REJECTED
        _note(f"{report.source}: ... and {_plural(more, 'more bad line')}")
    if report.failure:
        _note(f"{report.source}: {report.failure}")


# -- handlers --------------------------------------------------------------------------------
def _cmd_init(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    if args.partition is not None:
        options["partition"] = args.partition
    if args.naive_timezone is not None:
        options["naive_timezone"] = args.naive_timezone
    if args.epoch_unit is not None:
        options["epoch_unit"] = args.epoch_unit
    if args.nonexistent is not None:
        options["nonexistent"] = args.nonexistent
    if args.ambiguous is not None:
        options["ambiguous"] = _AMBIGUOUS[args.ambiguous]
    if "log_retention" in args:  # absent unless given (None means keep forever)
        options["log_retention"] = args.log_retention
    if args.parquet_root is not None:
        options["parquet_root"] = args.parquet_root
    if args.rollups is not None:
        options["rollups"] = args.rollups
    if "gap_threshold" in args:  # absent unless given (None means auto)
        options["gap_threshold"] = args.gap_threshold
    options.update(_remote(args))
    existed = (args.dir / SETTINGS_FILE).is_file()
    if args.dir.exists() and not args.dir.is_dir():
        _die(f"{args.dir} exists and is not a directory")
    with open_store(args.dir, **options) as store:
        s = store.settings
        retention = _show_duration(s.log_retention_seconds)
        what = "already an hfdata store" if existed else "created hfdata store"
        where = f", Parquet in {s.parquet_root}" if s.parquet_root is not None else ""
        print(
            f"{what} at {args.dir}: partition={s.partition}, naive_timezone={s.naive_timezone}, "
            f"epoch_unit={s.epoch_unit}, nonexistent={s.nonexistent}, "
            f"ambiguous={s.ambiguous}, log retention {retention}{where}, "
            f"rollups={','.join(s.rollups) or 'none'}, gap_threshold={_show_gap(s)}"
        )
    return OK


def _cmd_append(args: argparse.Namespace) -> int:
    from hfdata.tools.ingest import CsvRecords, PointParser, ingest, jsonl_records, resolve_kind
    from hfdata.tools.linesource import LineSource, StopSignals

    validate_name(args.variable)  # before a store is created for nothing
    fields = _fields(args)
    with StopSignals() as stop, _input(args.file) as stream:
        lines = LineSource(
            stream, batch_lines=args.batch_rows, flush_interval=args.flush_interval, stop=stop
        )
        fmt = _append_format(args, lines)
        lines.quoted_newlines = fmt == "csv"
        store = open_store(args.dir, durability=args.durability, **_remote(args))
        with store, _rejects(args.rejects) as rejects_file:
            kind: Kind | None = resolve_kind(store, args.variable, args.kind)
            rules = store.settings.time_rules(
                epoch_unit=args.epoch_unit,
                timestamp_format=args.timestamp_format,
                spelling="cli",
                takes_format=True,
            )
            parser = PointParser(args.variable, kind, rules, fields)
            convert: Callable[[Any], Any]
            if fmt == "jsonl":
                items, convert = jsonl_records(lines.batches(), parser), parser.json_object
            else:
                records = CsvRecords(parser)
                items, convert = records.items(lines.batches()), records.convert
            report = ingest(
                store,
                args.variable,
                items,
                convert,
                parser,
                source="<stdin>" if args.file == "-" else args.file,
                batch_rows=args.batch_rows,
                fixed_kind=args.kind,
                rejects=rejects_file,
            )
            _report_rejects(report)
    rejected = (
        f", {_plural(report.rejected_count, 'bad line')} skipped" if report.rejected_count else ""
    )
    print(f"appended {report.appended:,} points to {args.variable!r}{rejected}")
    if stop.signum is not None:
        cut = ", an unfinished last line was not stored" if lines.dropped_bytes else ""
        name = signal.Signals(stop.signum).name
        _note(
            f"hfdata: stopped by {name}: {_plural(report.appended, 'point')} stored "
            f"in {args.variable!r}{cut}"
        )
        return 128 + stop.signum
    return PROBLEMS if report.rejected_count or report.failure else OK


def _fields(args: argparse.Namespace) -> FieldNames:
    """The `FieldNames` of `--timestamp-column`, `--value-column`, ... (defaults if absent)."""
    from hfdata.tools.ingest import FieldNames

    given = {
        "timestamp": args.timestamp_column,
        "value": args.value_column,
        "metadata": args.metadata_column,
    }
    named = {k: v for k, v in given.items() if v is not None}
    names = [*named.values()]
    if len(set(names)) < len(names):
        _die("--timestamp-column, --value-column and --metadata-column must differ")
    return FieldNames(**named, extra_keys=args.extra_keys, named=bool(named))


def _append_format(args: argparse.Namespace, lines: LineSource) -> str:
    """`--format`, else the file name's suffix, else the first non-blank byte."""
    from hfdata.tools.ingest import sniff_format

    if args.format != "auto":
        return str(args.format)
    suffix = Path(args.file.removesuffix(".gz")).suffix.lower() if args.file != "-" else ""
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return sniff_format(lines.head()[:512])


@contextlib.contextmanager
def _rejects(path: Path | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as exc:
        _die(f"cannot write rejects file {path}: {exc.strerror}")
    with handle:
        yield handle


def _cmd_legacy(args: argparse.Namespace) -> int:
    from hfdata.tools.legacy import find_legacy_files, import_file

    if not args.source.exists():
        _die(f"source {args.source} does not exist")
    files, skipped = find_legacy_files(args.source)
    for note in skipped:
        _note(note)
    if not files:
        _die(f"no <variable>.jsonl files found in {args.source}")
    problems = bool(skipped)
    rows: list[list[object]] = []
    total = 0
    with open_store(args.dir, **_remote(args)) as store:
        s = store.settings
        rules = TimeRules(
            args.naive_timezone or s.naive_timezone,
            args.epoch_unit or s.epoch_unit,
            nonexistent=s.time_rules().nonexistent,
            ambiguous=s.ambiguous,
            spelling="cli",
        )
        for legacy in files:
            report = import_file(store, legacy, rules, kind=args.kind, batch_rows=args.batch_rows)
            _report_rejects(report)
            problems = problems or bool(report.rejected_count or report.failure)
            rows.append([legacy.variable, report.lines, report.appended, report.rejected_count])
            total += report.appended
    print(text_table(["variable", "lines", "imported", "bad lines"], rows))
    print(
        f"imported {_plural(total, 'point')} from {_plural(len(files), 'file')}; "
        f"run 'hfdata compact {args.dir}'"
    )
    return PROBLEMS if problems else OK


def _print_report(action: str, report: Any) -> None:
    fields = dataclasses.asdict(report)
    seconds = fields.get("seconds", 0.0) or 0.0
    rows = fields.get("rows", 0) or 0
    rate = f" ({rows / seconds:,.0f} rows/s)" if seconds > 0 and rows else ""
    parts = ", ".join(f"{k} {v:,}" for k, v in fields.items() if k != "seconds" and _isnum(v))
    print(f"{action}: {parts} in {seconds:.2f} s{rate}")


def _isnum(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cmd_compact(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        try:
            report = store.compact(
                variables=args.variables, progress=args.progress, wait=not args.no_wait
            )
        except CompactionInProgress:
            _die(f"another compaction of {args.dir} is running; omit --no-wait to wait", PROBLEMS)
    _print_report("compacted", report)
    if report.waiting:
        _note(
            f"{_plural(report.waiting, 'variable')} with only missing values so far "
            f"{'stays' if report.waiting == 1 else 'stay'} in the log until a first value "
            "fixes its kind (reads include them)"
        )
    if getattr(report, "quarantined", 0):
        _note(
            f"{_plural(report.quarantined, 'bad line')} "
            f"{'was' if report.quarantined == 1 else 'were'} moved to {args.dir / '_quarantine'}; "
            f"see 'hfdata verify {args.dir}'"
        )
    return OK


def _cmd_optimize(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        report = store.optimize(args.variables, dedupe=args.dedupe, progress=args.progress)
    _print_report("optimized", report)
    return OK


def _cmd_ls(args: argparse.Namespace) -> int:
    from hfdata.tools.views import (
        human_bytes,
        info_row,
        info_rows_header,
        listing_csv,
        listing_json,
    )

    with _existing(args.dir, **_remote(args)) as store:
        names = store.variables()
        if not (args.long or args.json or args.csv):
            for name in names:
                print(name)
            return OK
        infos = [store.info(name) for name in names]
    if args.json:
        print(listing_json(infos))
    elif args.csv:
        sys.stdout.write(listing_csv(infos))
    else:
        print(text_table(info_rows_header(), [info_row(i) for i in infos]))
        compacted = sum(i.compacted_log_bytes for i in infos)
        if compacted:
            _note(
                f"{human_bytes(compacted)} of log is compacted (already in Parquet, kept for "
                f"the log retention); 'hfdata prune {args.dir}' removes it now"
            )
    return OK


def _cmd_info(args: argparse.Namespace) -> int:
    from hfdata.tools.views import info_json, info_pairs

    with _existing(args.dir, **_remote(args)) as store:
        info = store.info(args.variable)
    if args.json:
        print(info_json(info))
    else:
        pairs = info_pairs(info)
        width = max(len(k) for k, _ in pairs)
        for key, value in pairs:
            print(f"{key.ljust(width)}  {value}")
    return OK


def _cmd_prune(args: argparse.Namespace) -> int:
    from hfdata.tools.views import human_bytes

    with _existing(args.dir, **_remote(args)) as store:
        report = store.prune_log(args.older_than, variables=args.variables)
    print(
        f"pruned: removed {_plural(report.files, 'compacted log segment')}, "
        f"{human_bytes(report.bytes)} ({report.bytes:,} bytes)"
    )
    return OK


def _confirmed(question: str, refusal: str, action: str) -> bool:
    """Whether the user answers yes to `question` on the terminal. Without a terminal
    nobody can answer: stop with `refusal`, advising `--yes` to `action`."""
    if not sys.stdin.isatty():
        _die(
            f"{refusal}: confirmation is asked on a terminal and stdin is not one; "
            f"pass --yes to {action}"
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _cmd_drop(args: argparse.Namespace) -> int:
    from hfdata.tools.views import human_bytes

    with _existing(args.dir, **_remote(args)) as store:
        info = store.info(args.variable)  # VariableNotFound (with close matches) first
        what = (
            f"{args.variable!r} ({_plural(info.rows, 'point')}, "
            f"{human_bytes(info.bytes_on_disk)} on disk)"
        )
        question = f"drop {what} from {args.dir}? This cannot be undone"
        if not args.yes and not _confirmed(question, f"not dropping {what}", "drop it"):
            print(f"kept {args.variable!r}")
            return OK
        store.drop(args.variable)
    print(f"dropped {what}")
    return OK


def _cmd_delete(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        # VariableNotFound (with close matches) and bad times first
        points = store.read(args.variable, args.start, args.end, output="arrow").num_rows
        what = f"{_plural(points, 'point')} of {args.variable!r} in [{args.start}, {args.end})"
        question = f"delete {what} from {args.dir}?"
        if not args.yes and not _confirmed(question, f"not deleting {what}", "delete them"):
            print(f"kept {what}")
            return OK
        store.delete(args.variable, args.start, args.end)
    print(f"deleted {what}")
    return OK


def _cmd_history(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        frame = store.history(args.variable, args.start, args.end, as_of=args.as_of)
    if args.csv:
        frame.to_csv(sys.stdout)
    elif frame.empty:
        print(f"no stored versions of {args.variable!r} in that range")
    else:
        print(frame.to_string())
    return OK


def _cmd_read(args: argparse.Namespace) -> int:
    from hfdata.tools.views import write_frame

    if args.format == "parquet" and args.output is None:
        _die("--format parquet needs -o FILE (Parquet is binary)")
    if args.agg != "mean" and args.resample is None:
        _die("--agg needs --resample RULE")
    variables = args.variables[0] if len(args.variables) == 1 else list(args.variables)
    with _existing(args.dir, **_remote(args)) as store:
        try:
            frame = store.read(
                variables,
                args.start,
                args.end,
                resample=args.resample,
                agg=args.agg,
                closed=args.closed,
                label=args.label,
                origin=args.origin,
                offset=args.offset,
                fill=args.fill,
                limit=args.limit,
                max_hold=args.max_hold,
                how=args.how,
                output="polars",
                metadata=args.metadata,
                dedupe=args.dedupe,
                include_log=not args.no_log,
                max_rows=args.max_rows,
                rollups=not args.no_rollups,
                as_of=args.as_of,
            )
        except InvalidArgument as exc:  # named in flags, not keyword arguments
            _die(cli_message(exc, _READ_FLAGS))
        except ResultTooLarge as exc:
            _die(
                f"--resample {args.resample} would make {exc.rows:,} rows, more than "
                f"--max-rows {exc.limit}; narrow it with --start/--end, use a coarser rule"
                + (", --how long" if args.how == "wide" else "")
                + ", or raise --max-rows",
                PROBLEMS,
            )
    write_frame(frame, args.format, args.output)
    return OK


def _at_times(name: str, rules: TimeRules) -> list[str]:
    """The first column of `--at FILE`, one time per line; a first line that is not a
    time is a header. Blank lines are skipped."""
    with _input(name) as raw:
        text = raw.read().decode("utf-8-sig")
    cells = [line.split(",", 1)[0].strip().strip('"') for line in text.splitlines()]
    numbered = [(n, c) for n, c in enumerate(cells, start=1) if c]
    if numbered:
        try:
            to_ns(numbered[0][1], rules)
        except InvalidTimestamp:
            numbered = numbered[1:]  # a header
    for n, cell in numbered:
        try:
            to_ns(cell, rules)
        except InvalidTimestamp as exc:
            _die(f"--at {name}, line {n}: {exc}")
    if not numbered:
        _die(f"--at {name} holds no times (one per line, in its first column)")
    return [c for _, c in numbered]


def _cmd_asof(args: argparse.Namespace) -> int:
    from hfdata.tools.views import write_frame

    if args.format == "parquet" and args.output is None:
        _die("--format parquet needs -o FILE (Parquet is binary)")
    variables = args.variables[0] if len(args.variables) == 1 else list(args.variables)
    with _existing(args.dir, **_remote(args)) as store:
        at = _at_times(args.at, store.settings.time_rules())
        try:
            frame = store.asof(
                variables,
                at,
                tolerance=args.tolerance,
                direction=args.direction,
                output="polars",
            )
        except InvalidArgument as exc:  # named in flags, not keyword arguments
            _die(cli_message(exc, _ASOF_FLAGS))
    write_frame(frame, args.format, args.output)
    return OK


def _cmd_features(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        return featurescmd.run(store, args)


def _cmd_upgrade(args: argparse.Namespace) -> int:
    if not (args.dir / SETTINGS_FILE).is_file():
        _die(f"{args.dir} is not an hfdata store (no {SETTINGS_FILE})")
    report = upgrade_store(args.dir, progress=args.progress, **_remote(args))
    derived = (
        f"{_plural(report.sidecars, 'stats and rollup file')} built, "
        f"{_plural(report.orphans, 'orphan')} removed"
    )
    if report.from_version == report.to_version:
        done = derived if report.sidecars or report.orphans else "nothing to do"
        print(f"{args.dir} has format version {report.to_version} already: {done}")
        return OK
    print(
        f"upgraded {args.dir} from format version {report.from_version} to "
        f"{report.to_version}: {_plural(report.variables, 'variable')}, "
        f"{_plural(report.files, 'Parquet file')} moved into kind=<kind>/ folders, "
        f"{report.rewritten:,} rewritten to their kind's schema; {derived}; in "
        f"{report.seconds:.2f} s"
    )
    return OK


def _cmd_summary(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        return reportcmd.run_summary(store, args)


def _cmd_gaps(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        return reportcmd.run_gaps(store, args)


def _cmd_report(args: argparse.Namespace) -> int:
    with _existing(args.dir, **_remote(args)) as store:
        return reportcmd.run_report(store, args)


def _cmd_verify(args: argparse.Namespace) -> int:
    from hfdata.tools.verify import verify

    findings = verify(args.dir, _remote(args).get("storage_options"), quality=args.quality)
    worst = OK
    for finding in findings:
        if finding.level == "ok" and args.quiet:
            continue
        print(f"{finding.level.upper():7} {finding.message}")
        if finding.level == "error":
            worst = PROBLEMS
    problems = sum(1 for f in findings if f.level == "error")
    warnings = sum(1 for f in findings if f.level == "warning")
    print(f"verify: {problems} problems, {warnings} warnings")
    return worst


def _cmd_demo(args: argparse.Namespace) -> int:
    from hfdata.tools.demo import DemoConfig, run_demo

    config = DemoConfig.small() if args.small else DemoConfig()
    changes = {
        "sensors": args.sensors,
        "rate_hz": args.rate,
        "hours": args.hours,
        "threads": args.threads,
    }
    config = dataclasses.replace(
        config,
        seed=args.seed,
        plot=not args.no_plot,
        progress=args.progress,
        **{k: v for k, v in changes.items() if v is not None},
    )
    try:
        run_demo(args.dir, config)
    except FileExistsError as exc:  # DIR holds something the demo must not delete
        _die(str(exc))
    return OK


# -- entry point -----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(arguments)
        return int(args.handler(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (OK if exc.code is None else USAGE)
    except KeyboardInterrupt:
        _note("hfdata: interrupted")
        return 130
    except BrokenPipeError:
        # `hfdata read ... | head`: the reader left; stop quietly.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return OK
    except Exception as exc:
        if "--debug" in arguments:
            raise
        code, message = _classify(exc, getattr(args, "dir", None))
        print(f"hfdata: error: {message}", file=sys.stderr)
        return code


def _classify(exc: Exception, directory: Path | None = None) -> tuple[int, str]:
    """Exit code and one-line message for an exception that reached the top.

    `directory` is the command's DIR, for advice that names it.
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, VariableNotFound):
        where = directory if directory is not None else "DIR"
        text = text.removesuffix(" (store.variables() lists them)")
        return USAGE, f"{text}; 'hfdata ls {where}' lists the variables in the store"
    if isinstance(exc, CompactionInProgress | StoreClosed):
        return PROBLEMS, text
    if isinstance(exc, InvalidArgument):
        return USAGE, cli_message(exc)  # --start, not start
    if isinstance(exc, HfdataError):
        return (USAGE if isinstance(exc, ValueError | TypeError | KeyError) else PROBLEMS), text
    if isinstance(exc, ValueError):
        return USAGE, text
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return PROBLEMS, f"{exc.strerror or text}{where}"
    return PROBLEMS, f"unexpected {type(exc).__name__}: {text} (run with --debug for details)"


if __name__ == "__main__":
    sys.exit(main())
