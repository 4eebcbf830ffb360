"""`hfdata summary`, `hfdata gaps` and `hfdata report`: `Store.summary`, `Store.gaps` and
`Store.report` on the command line.

A module of its own so that `cli.py` only registers the commands: the options are
declared by `add_summary_arguments`/`add_gaps_arguments` and the work is one `Store`
call in `run_summary`/`run_gaps`. A text table is for people; `--json` (one record per
row) and `--csv` for programs, times as RFC 3339 text and durations in seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Final

import orjson
import pandas as pd

from hfdata.errors import InvalidArgument
from hfdata.store import Store
from hfdata.tools.terms import COMMON, cli_message
from hfdata.tools.views import text_table

__all__ = [
    "GAPS",
    "REPORT",
    "SUMMARY",
    "add_gaps_arguments",
    "add_report_arguments",
    "add_summary_arguments",
    "frame_records",
    "run_gaps",
    "run_report",
    "run_summary",
]

SUMMARY: Final = "one row per variable: rows, time range, sampling, gaps, coverage, duplicates"
REPORT: Final = "write one self-contained HTML report: summary, coverage, plots, gaps, quality"
GAPS: Final = "the gaps of one variable (intervals without points longer than --min-gap)"
# The keyword arguments the commands set by flags, for error messages.
_GAPS_FLAGS: Final = {**COMMON, "min_gap": "--min-gap"}
_REPORT_FLAGS: Final = {
    "freq": "--freq",
    "max_gaps": "--max-gaps",
    "max_findings": "--max-findings",
}
_TEXT_COLUMNS: Final = (
    "kind",
    "rows",
    "first",
    "last",
    "median_interval",
    "gap_count",
    "longest_gap",
    "coverage",
    "nan_count",
    "duplicate_timestamps",
    "conflicting_duplicates",
)


def add_summary_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variables", metavar="VARIABLE", nargs="*", help="default: every variable")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument(
        "--json", action="store_true", help="every column, one JSON record per variable"
    )
    shape.add_argument("--csv", action="store_true", help="every column as CSV")
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="as the store was known at this time: points appended and deletions made by then",
    )


def add_gaps_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variable", metavar="VARIABLE")
    p.add_argument("--start", metavar="TIME", help="only gaps reaching past this time")
    p.add_argument("--end", metavar="TIME", help="only gaps beginning before this time")
    p.add_argument(
        "--min-gap",
        metavar="DURATION",
        help="the shortest gap, e.g. 5min (default: 10x the median interval)",
    )
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="one JSON record per gap")
    shape.add_argument("--csv", action="store_true", help="as CSV")


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variables", metavar="VARIABLE", nargs="*", help="default: every variable")
    p.add_argument(
        "-o", "--output", metavar="FILE", type=Path, required=True, help="the HTML file to write"
    )
    p.add_argument(
        "--freq",
        metavar="DURATION",
        help="the bins of the heatmap and the plots, e.g. 1h or 1D "
        "(default: 1h, or 1D when that makes over 2,000 bins)",
    )
    p.add_argument(
        "--max-gaps", metavar="N", type=int, default=20, help="gaps listed per variable (20)"
    )
    p.add_argument(
        "--max-findings",
        metavar="N",
        type=int,
        default=50,
        help="quality findings listed per variable (50)",
    )
    p.add_argument("--no-plots", action="store_true", help="tables only (no matplotlib needed)")
    p.add_argument("--title", help="the page's title (default: 'hfdata report: DIR')")


def _plain(value: Any) -> Any:
    """A cell as JSON/CSV shows it: times as RFC 3339, durations in seconds, NaN/NaT
    as null, infinities as the log spells them ("Infinity", "-Infinity": JSON has no
    number for them, and null would read as no value)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def frame_records(frame: pd.DataFrame, index: str | None) -> list[dict[str, Any]]:
    """The rows of a frame as plain records (the index first, named `index`)."""
    out = []
    for label, row in frame.iterrows():
        record = {} if index is None else {index: label}
        record.update({c: _plain(row[c]) for c in frame.columns})
        out.append(record)
    return out


def _write(records: list[dict[str, Any]], columns: list[str], args: argparse.Namespace) -> None:
    if args.json:
        for record in records:
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
    else:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


def _text(value: Any) -> object:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
    if isinstance(value, pd.Timedelta):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def run_summary(store: Store, args: argparse.Namespace) -> int:
    frame = store.summary(list(args.variables) or None, as_of=args.as_of)
    if args.json or args.csv:
        _write(frame_records(frame, "variable"), ["variable", *frame.columns], args)
        return 0
    if frame.empty:
        print("the store holds no variables yet")
        return 0
    rows = [[label, *(_text(row[c]) for c in _TEXT_COLUMNS)] for label, row in frame.iterrows()]
    headers = ["variable", *(c.replace("_", " ") for c in _TEXT_COLUMNS)]
    print(text_table(headers, rows))
    return 0


def run_gaps(store: Store, args: argparse.Namespace) -> int:
    try:
        frame = store.gaps(args.variable, args.start, args.end, min_gap=args.min_gap)
    except InvalidArgument as exc:  # named in flags, not keyword arguments
        raise InvalidArgument(cli_message(exc, _GAPS_FLAGS), argument=exc.argument) from exc
    if args.json or args.csv:
        _write(frame_records(frame, None), list(frame.columns), args)
        return 0
    if frame.empty:
        print(f"{args.variable}: no gaps")
        return 0
    rows = [[_text(row[c]) for c in frame.columns] for _, row in frame.iterrows()]
    print(text_table(list(frame.columns), rows))
    return 0


def run_report(store: Store, args: argparse.Namespace) -> int:
    try:
        path = store.report(
            args.output,
            list(args.variables) or None,
            freq=args.freq,
            max_gaps=args.max_gaps,
            max_findings=args.max_findings,
            plots=not args.no_plots,
            title=args.title,
        )
    except InvalidArgument as exc:  # named in flags, not keyword arguments
        raise InvalidArgument(cli_message(exc, _REPORT_FLAGS), argument=exc.argument) from exc
    size = path.stat().st_size
    print(f"wrote {path} ({size:,} bytes)")
    return 0
