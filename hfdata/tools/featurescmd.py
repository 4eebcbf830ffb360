"""`hfdata features`: windowed features of variables, printed or written as Parquet.

A module of its own so that `cli.py` only registers the command: the options are
declared by `add_arguments` and the work is one `Store.features` call in `run`. Its
errors speak the command line: an `InvalidArgument` from the library is raised again
with its message in flags (`window=` becomes `--window`), and `cli.main` turns it into
one line on stderr and exit code 2 through `_classify`, as every other command's.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from hfdata.errors import InvalidArgument, ResultTooLarge
from hfdata.features.kernels import KERNELS
from hfdata.features.spec import parse_features
from hfdata.read.bins import ORIGINS, SIDES
from hfdata.read.windows import NAMED
from hfdata.store import Store
from hfdata.tools.terms import cli_message

__all__ = ["DESCRIPTION", "FEATURE_NAMES", "FLAGS", "add_arguments", "run"]

DESCRIPTION: Final = (
    "features (mean, std, rms, zero crossings, ...) of each window of one or more variables"
)
FEATURE_NAMES: Final = (*NAMED, "twa", *KERNELS)
# The Python argument each flag sets, for error messages (`agg` is the read stage's name
# for what `features` calls funcs).
FLAGS: Final[Mapping[str, str]] = {
    "variables": "VARIABLE",
    "start": "--start",
    "end": "--end",
    "window": "--window",
    "stride": "--stride",
    "funcs": "--funcs",
    "agg": "--funcs",
    "how": "--how",
    "workers": "--workers",
    "min_points": "--min-points",
    "to": "-o",
    "closed": "--closed",
    "label": "--label",
    "origin": "--origin",
    "offset": "--offset",
    "max_hold": "--max-hold",
    "as_of": "--as-of",
}
_DEFAULT_FUNCS: Final = "mean,std,min,max"
_TEXT_SUFFIXES: Final = frozenset({".csv", ".json", ".jsonl", ".ndjson", ".txt"})


def add_arguments(p: argparse.ArgumentParser, *, positive_int: Callable[[str], int]) -> None:
    """Declare the command's own options on its subparser (`cli` adds --progress and -S)."""
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("variables", metavar="VARIABLE", nargs="+")
    p.add_argument(
        "--window",
        metavar="RULE",
        required=True,
        help="window length, a fixed pandas rule such as 10s, 500ms, 1min",
    )
    p.add_argument(
        "--stride",
        metavar="RULE",
        help="a window starts every RULE (default: the window; shorter gives overlapping "
        "windows; at most the store's partition)",
    )
    p.add_argument(
        "--funcs",
        metavar="FUNCS",
        type=_funcs,
        help=f"features, with commas: {', '.join(FEATURE_NAMES)}, or a quantile as q90 "
        f"(default {_DEFAULT_FUNCS})",
    )
    p.add_argument("--start", metavar="TIME", help="first time included (ISO-8601)")
    p.add_argument("--end", metavar="TIME", help="first time excluded (ISO-8601)")
    p.add_argument(
        "--how",
        choices=("long", "wide"),
        default="long",
        help="long: a 'variable' column and one per feature; wide: one row per window, "
        "columns VARIABLE__FEATURE (default long)",
    )
    p.add_argument(
        "--min-points",
        metavar="N",
        type=int,
        default=1,
        help="a window with fewer points gets missing features (default 1)",
    )
    p.add_argument(
        "--workers",
        metavar="N",
        type=positive_int,
        help="processes computing in parallel (default: one per core; 1 = no others)",
    )
    p.add_argument(
        "--closed", choices=SIDES, help="closed side of a window (default left: [s, s + window))"
    )
    p.add_argument(
        "--label", choices=SIDES, help="edge that labels a window (default left: its start)"
    )
    p.add_argument(
        "--origin",
        metavar="ORIGIN",
        default="start_day",
        help=f"what the window starts align to: {', '.join(ORIGINS)} or a time "
        "(default start_day), as 'hfdata read --resample' places its bins",
    )
    p.add_argument("--offset", metavar="DURATION", help="shift the window starts, e.g. 2s")
    p.add_argument(
        "--max-hold",
        metavar="DURATION",
        help="for twa: a value holds at most this long, e.g. 5s (default: until the next)",
    )
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="as the store was known at this time: points appended and deletions made by then",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        type=Path,
        help="write Parquet as it goes: PATH ending .parquet is one file, any other PATH a "
        "directory of hive Parquet; prints a summary instead of the table",
    )
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON Lines, not CSV")
    shape.add_argument("--csv", action="store_true", help="print CSV (the default)")


def _funcs(text: str) -> list[str]:
    """`--funcs mean,std,q90`: the names, each checked as `Store.features` checks it."""
    names = [name.strip().lower() for name in text.split(",")]
    names = [name for name in names if name]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no feature; e.g. mean,std,rms")
    unknown = []
    for name in names:
        try:
            parse_features(name)
        except InvalidArgument as exc:
            if "is not a feature" not in str(exc):  # advice for this name (ohlc)
                message = cli_message(exc, FLAGS).removeprefix("--funcs: ")
                raise argparse.ArgumentTypeError(message) from None
            unknown.append(name)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown feature {', '.join(map(repr, unknown))}; use {', '.join(FEATURE_NAMES)} "
            "or q90 (a quantile in percent), with commas"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{', '.join(repeated)} given twice; name each once")
    return names


def run(store: Store, args: argparse.Namespace, *, say: Callable[[str], None] = print) -> int:
    """Compute the features `args` asks for: print them (CSV or JSON Lines) or write them
    to `-o`, printing a summary. Returns the exit code (0)."""
    from hfdata.tools.views import write_frame

    output: Path | None = args.output
    if output is not None and (args.json or args.csv):
        raise InvalidArgument(
            "-o writes Parquet; --json and --csv print to stdout (redirect it to keep them)",
            argument="to",
        )
    if output is not None and output.suffix.lower() in _TEXT_SUFFIXES:
        raise InvalidArgument(
            f"-o {output} would be a Parquet directory named like a text file; give a path "
            "ending .parquet (one file) or a directory, or print with --csv/--json and "
            "redirect stdout",
            argument="to",
        )
    options: dict[str, Any] = {
        "window": args.window,
        "stride": args.stride,
        "how": args.how,
        "workers": args.workers,
        "min_points": args.min_points,
        "closed": args.closed,
        "label": args.label,
        "origin": args.origin,
        "offset": args.offset,
        "max_hold": args.max_hold,
        "progress": args.progress,
        "as_of": args.as_of,
    }
    if args.funcs is not None:
        options["funcs"] = args.funcs
    variables = list(args.variables)
    began = time.perf_counter()
    try:
        if output is None:
            frame = store.features(variables, args.start, args.end, output="polars", **options)
        else:
            written = store.features(variables, args.start, args.end, to=output, **options)
    except InvalidArgument as exc:
        raise InvalidArgument(cli_message(exc, FLAGS), argument=exc.argument) from exc
    except ResultTooLarge as exc:
        raise ResultTooLarge(
            f"the features would be {exc.rows:,} rows, more than {exc.limit:,} in memory; "
            "write them with -o features/ (no limit), narrow --start/--end, or use a longer "
            "--stride",
            rows=exc.rows,
            limit=exc.limit,
        ) from exc
    if output is None:
        write_frame(frame, "json" if args.json else "csv", None)
        return 0
    seconds = time.perf_counter() - began
    say(
        f"features: wrote {_plural(written.rows, 'row')} "
        f"({_plural(len(written.variables), 'variable')} "
        f"x {_plural(len(written.features), 'feature')}) to {written.path} "
        f"({_plural(written.files, 'file')}) in {seconds:.2f} s"
    )
    return 0


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
