"""What outside engines must see, the recipes of docs/engines.md, and exact comparisons.

The store itself is built by `benchmarks._enginestore.build_store` (shared with the
engine probe); `tree_store` here builds it for a test. `recipes()` reads the fenced code
blocks of docs/engines.md that follow a `<!-- recipe: ENGINE CASE -->` marker, so the
tests run the documentation itself. `rows_of` turns an engine's result (normalised to
Arrow by the test) into comparable per-variable rows; `check_rows` and `check_dates`
compare them with `store.read`.
"""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks._enginestore import KINDS_OF, Expected, Row, build_store

__all__ = [
    "DOC",
    "KINDS_OF",
    "Expected",
    "check_dates",
    "check_rows",
    "recipes",
    "rows_of",
    "tree_store",
]

DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "engines.md"


def tree_store(
    root: Path, parquet_root: str | None = None, storage_options: dict[str, Any] | None = None
) -> Expected:
    """The engine store (`benchmarks/_enginestore.py`), compacted, with what each variable
    holds."""
    return build_store(root, parquet_root, storage_options)


def recipes() -> dict[str, str]:
    """`{"duckdb kind": code, ...}`: every fenced block after a `<!-- recipe: ... -->` marker."""
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"<!-- recipe: ([^>]+?) -->\s*```\w*\n(.*?)```", text, flags=re.DOTALL)
    out: dict[str, str] = {}
    for key, code in found:
        assert key not in out, f"two recipes named {key!r} in {DOC}"
        out[key] = code
    return out


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def rows_of(table: pa.Table) -> dict[str, list[Row]]:
    """Per-variable rows of an engine's result: columns variable, timestamp (int64 ns or a
    timestamp[ns]), value, metadata; sorted by timestamp, then as read."""
    stamps = table["timestamp"]
    if pa.types.is_timestamp(stamps.type):
        assert stamps.type.unit == "ns", stamps.type
        stamps = stamps.cast(pa.int64())
    assert pa.types.is_integer(stamps.type), stamps.type
    assert _is_text(table["variable"].type), table["variable"].type
    out: dict[str, list[Row]] = {}
    for name, ts, value, meta in zip(
        table["variable"].to_pylist(),
        stamps.to_pylist(),
        table["value"].to_pylist(),
        table["metadata"].to_pylist(),
        strict=True,
    ):
        out.setdefault(name, []).append((ts, _plain(value), meta))
    return {name: sorted(rows, key=lambda r: r[0]) for name, rows in out.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def check_rows(got: dict[str, list[Row]], want: dict[str, list[Row]]) -> None:
    """Exact equality: the same variables, row counts, int64 timestamps, values (NaN equal
    to NaN, an int never a float) and metadata text."""
    assert sorted(got) == sorted(want)
    for name, rows in want.items():
        assert len(got[name]) == len(rows), name
        for g, w in zip(got[name], rows, strict=True):
            assert g[0] == w[0] and g[2] == w[2] and _same(g[1], w[1]), (name, g, w)


def check_dates(table: pa.Table) -> None:
    """`date` is a date32 column, and each row's date is its timestamp's UTC day."""
    assert pa.types.is_date32(table["date"].type), table["date"].type
    stamps = table["timestamp"]
    if pa.types.is_timestamp(stamps.type):
        stamps = stamps.cast(pa.int64())
    for day, ns in zip(table["date"].to_pylist(), stamps.to_pylist(), strict=True):
        assert isinstance(day, date)
        assert day == pd.Timestamp(ns, tz="UTC").date()
