"""``python -m benchmarks.engines [--format 1|2] DIR``: what engines get with no recipe.

Builds the engine store (`benchmarks._enginestore`) in DIR, lays its Parquet tree out as
format 1 (`parquet/variable=<enc>/date=<key>/`) or format 2 (`parquet/kind=<kind>/
variable=<enc>/date=<key>/`) by moving folders, and reads it with each engine the obvious
way (no hive schema, no settings): the whole tree, each kind folder (format 2), each
variable's folder. Each cell says `ok` (every row exact), `error` (the first line of the
first error) or `WRONG` (what differed), and prints a Markdown table. Run by hand (Spark
starts a JVM); the figures go in the issue's note.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pyarrow as pa

from benchmarks._enginestore import KINDS_OF, Expected, Row, build_store

__all__ = ["main"]

ENGINES = ("pyarrow", "polars", "duckdb", "pandas", "dask", "datafusion", "chdb", "spark")
Reader = Callable[[str], pa.Table]


def _layout(tree: Path, version: int) -> None:
    """Move the variable folders into (2) or out of (1) their kind folders."""
    for name, kind in KINDS_OF.items():
        folder = f"variable={quote(name, safe='')}"
        flat, nested = tree / folder, tree / f"kind={kind}" / folder
        if version == 2 and flat.exists():
            nested.parent.mkdir(exist_ok=True)
            flat.rename(nested)
        elif version == 1 and nested.exists():
            nested.rename(flat)
    if version == 1:
        for kind_dir in tree.glob("kind=*"):
            kind_dir.rmdir()


def _pyarrow(path: str) -> pa.Table:
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet", partitioning="hive").to_table()


def _polars(path: str) -> pa.Table:
    import polars as pl

    return pl.scan_parquet(f"{path}/**/*.parquet", hive_partitioning=True).collect().to_arrow()


def _duckdb(path: str) -> pa.Table:
    import duckdb

    sql = f"SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true)"
    return duckdb.sql(sql).to_arrow_table()


def _pandas(path: str) -> pa.Table:
    import pandas as pd

    return pa.Table.from_pandas(pd.read_parquet(path), preserve_index=False)


def _dask(path: str) -> pa.Table:
    import dask
    import dask.dataframe as dd

    with dask.config.set(scheduler="synchronous"):
        return pa.Table.from_pandas(dd.read_parquet(path).compute(), preserve_index=False)


def _datafusion(path: str) -> pa.Table:
    from datafusion import SessionContext

    ctx = SessionContext()
    ctx.register_parquet("points", path)
    return ctx.table("points").to_arrow_table()


def _chdb(path: str) -> pa.Table:
    import chdb

    table: pa.Table = chdb.query(
        f"SELECT * FROM file('{path}/**/*.parquet', Parquet)", "ArrowTable"
    )
    return table


_spark_session: Any = None


def _spark(path: str) -> pa.Table:
    global _spark_session
    if _spark_session is None:
        from pyspark.sql import SparkSession

        _spark_session = SparkSession.builder.master("local[1]").getOrCreate()
        _spark_session.sparkContext.setLogLevel("OFF")
    frame = _spark_session.read.parquet(path)
    rows = frame.collect()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in frame.columns]
    return pa.table({c: pa.array(list(v)) for c, v in zip(frame.columns, columns, strict=True)})


READERS: dict[str, Reader] = {
    "pyarrow": _pyarrow,
    "polars": _polars,
    "duckdb": _duckdb,
    "pandas": _pandas,
    "dask": _dask,
    "datafusion": _datafusion,
    "chdb": _chdb,
    "spark": _spark,
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _value_problem(name: str, got: Any, want: Any) -> str:
    kind = KINDS_OF[name]
    nan_want = isinstance(want, float) and math.isnan(want)
    nan_got = isinstance(got, float) and math.isnan(got)
    if (want is None and nan_got) or (nan_want and got is None):
        return "NaN and missing merged"
    if want is None:
        return f"missing {kind} read as {got!r}"
    if got is None:
        return f"NULL for {kind} values"
    if kind == "int" and isinstance(got, float):
        return "ints as floats (2**53+1 rounded)" if got != want else "ints as floats"
    return f"{kind} values differ ({want!r} read as {got!r})"


def _readable(name: str) -> str:
    """The real name behind a garbled (UTF-8 read as Latin-1) or still encoded one."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        name = name.encode("latin-1").decode("utf-8")
    return unquote(name) if "%" in name and unquote(name) in KINDS_OF else name


def _diagnose(table: pa.Table, want: dict[str, list[Row]], folder_name: str | None) -> str:
    """`ok` or `WRONG: ...` for an engine's table against the rows it should hold."""
    problems: list[str] = []
    notes: list[str] = []
    if "variable" in table.column_names:
        names = [None if v is None else v for v in table["variable"].to_pylist()]
        if any(not isinstance(v, str) for v in names):
            problems.append("0042 -> 42" if 42 in names else "variable not text")
        names = [str(v) for v in names]
        if any("%" in v for v in names) and not any("%" in n for n in want):
            problems.append("name stays encoded")
        if any(_readable(v) != v and "%" not in v for v in names):
            problems.append("non-ASCII name garbled")
        names = ["0042" if v == "42" else _readable(v) for v in names]
    elif folder_name is not None:
        notes.append("no variable column")
        names = [folder_name] * table.num_rows
    else:
        return "WRONG: no variable column"
    if "date" not in table.column_names:
        notes.append("no date column")
    elif not pa.types.is_date32(table["date"].type):
        text = pa.types.is_dictionary(table["date"].type) or "string" in str(table["date"].type)
        notes.append("date is text" if text else f"date is {table['date'].type}")
    stamps = table["timestamp"]
    if pa.types.is_timestamp(stamps.type) and stamps.type.unit != "ns":
        problems.append(f"timestamp in {stamps.type.unit}")
        stamps = stamps.cast(pa.timestamp("ns", stamps.type.tz))
    if pa.types.is_timestamp(stamps.type):
        stamps = stamps.cast(pa.int64())
    got: dict[str, list[Row]] = {}
    for n, ts, v, m in zip(
        names,
        stamps.to_pylist(),
        table["value"].to_pylist(),
        table["metadata"].to_pylist(),
        strict=True,
    ):
        got.setdefault(n, []).append((ts, v.item() if hasattr(v, "item") else v, m))
    for n in want:
        rows, expect = sorted(got.pop(n, []), key=lambda r: r[0]), want[n]
        if len(rows) != len(expect):
            problems.append(f"{n}: {len(rows)} of {len(expect)} rows")
            continue
        if any(g[0] != w[0] for g, w in zip(rows, expect, strict=True)):
            problems.append("timestamps differ")
        if any(g[2] != w[2] for g, w in zip(rows, expect, strict=True)):
            problems.append("metadata differs")
        pairs = [(g[1], w[1]) for g, w in zip(rows, expect, strict=True) if not _same(g[1], w[1])]
        if pairs and KINDS_OF[n] == "int" and any(g != w for g, w in pairs if g is not None):
            problems.append("ints rounded (2**53+1)")
        elif pairs:
            problems.append(_value_problem(n, *pairs[0]))
    if got:
        problems.append(f"unexpected variables {sorted(got)[:3]}")
    unique = list(dict.fromkeys(problems))
    if unique:
        return "WRONG: " + "; ".join(unique)
    return "ok" + (f" ({', '.join(dict.fromkeys(notes))})" if notes else "")


def _cell(reader: Reader, path: str, want: dict[str, list[Row]], name: str | None) -> str:
    try:
        table = reader(path)
    except Exception as exc:  # the probe reports every engine's refusal as it is
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"error: {type(exc).__name__}: {first[:120]}"
    try:
        return _diagnose(table, want, name)
    except Exception as exc:
        return f"WRONG: unreadable result ({type(exc).__name__}: {exc})"[:200]


def _worst(cells: dict[str, str]) -> str:
    """One cell for several folders: `ok` if all are, else each distinct outcome, named."""
    outcomes: dict[str, list[str]] = {}
    for folder, cell in cells.items():
        outcomes.setdefault(cell, []).append(folder)
    if len(outcomes) == 1:
        return next(iter(outcomes))
    bad = [f"{c} [{', '.join(f)}]" for c, f in outcomes.items() if not c.startswith("ok")]
    good = [c for c in outcomes if c.startswith("ok")]
    return "; ".join(bad + ([f"{good[0]} elsewhere"] if good else []))


def probe(tree: Path, version: int, expected: Expected, engines: tuple[str, ...]) -> str:
    """The Markdown table: one row per engine, a column per kind of read."""
    columns = (
        ["whole tree"] + (["one kind folder"] if version == 2 else []) + ["one variable folder"]
    )
    lines = [
        f"| engine | {' | '.join(columns)} |",
        "| --- " * (len(columns) + 1) + "|",
    ]
    for engine in engines:
        reader = READERS[engine]
        cells = [_cell(reader, str(tree), expected.rows, None)]
        if version == 2:
            kinds = dict.fromkeys(KINDS_OF.values())
            cells.append(
                _worst(
                    {
                        k: _cell(reader, str(tree / f"kind={k}"), expected.of_kind(k), None)
                        for k in kinds
                    }
                )
            )
        per_variable = {}
        for name, kind in KINDS_OF.items():
            folder = (
                tree / (f"kind={kind}" if version == 2 else "") / f"variable={quote(name, safe='')}"
            )
            per_variable[name] = _cell(reader, str(folder), {name: expected.rows[name]}, name)
        cells.append(_worst(per_variable))
        lines.append(f"| {engine} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engines", description=__doc__)
    parser.add_argument("dir", type=Path, help="an empty or missing folder for the store")
    parser.add_argument("--format", type=int, choices=(1, 2), default=2)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.dir.exists():
        shutil.rmtree(args.dir)
    expected = build_store(args.dir)
    tree = args.dir / "parquet"
    _layout(tree, args.format)
    engines = tuple(e for e in args.engines.split(",") if e)
    table = probe(tree, args.format, expected, engines)
    import hfdata

    header = (
        f"Engines reading format {args.format} with no recipe "
        f"(hfdata {hfdata.__version__}, built {date.today()}; `python -m benchmarks.engines "
        f"--format {args.format} DIR`). The store: "
        + ", ".join(f"`{n}` ({k})" for n, k in KINDS_OF.items())
        + ".\n\n"
    )
    print(header + table)
    if args.out:
        args.out.write_text(header + table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
