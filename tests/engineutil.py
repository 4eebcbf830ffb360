"""The store that outside engines read, what they must see, and the recipes of docs/engines.md.

`build_store` fills a store with every kind (float, int, bool, string, json), metadata on
some points, awkward names (`plant/line 1`, `0042`, `temp/°C room a`, `b 100%`), several
days, a late second file in a day and a log-only tail that no engine may see; it returns
`Expected`, each variable's compacted points as `Store.read` gives them. `recipes()` reads
the fenced code blocks of docs/engines.md that follow a `<!-- recipe: ENGINE CASE -->`
marker, so the tests run the documentation itself. `rows_of` turns an engine's result
(normalised to Arrow by the test) into comparable per-variable rows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

import hfdata
from hfdata.kinds import Kind

__all__ = [
    "DOC",
    "KINDS_OF",
    "Expected",
    "Row",
    "build_store",
    "check_rows",
    "recipes",
    "rows_of",
]

DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "engines.md"

# name -> kind. Two variables share float and string, so "one kind" means several variables;
# `0042` is alone in its kind, so that hive type inference sees only digits there.
KINDS_OF: Final[dict[str, Kind]] = {
    "plant/line 1": "float",
    "temp/°C room a": "float",
    "0042": "int",
    "b 100%": "string",
    "flag": "bool",
    "status": "string",
    "config": "json",
}
DAYS: Final = ("2026-11-01", "2026-11-02", "2026-11-03")
PER_DAY: Final = 40

Row = tuple[int, Any, str | None]  # (timestamp ns, value, metadata JSON text)


@dataclass(frozen=True)
class Expected:
    """Each variable's compacted rows `(timestamp ns, value, metadata)` in timestamp order."""

    rows: dict[str, list[Row]]

    def of_kind(self, kind: Kind) -> dict[str, list[Row]]:
        return {n: r for n, r in self.rows.items() if KINDS_OF[n] == kind}


def _values(name: str, n: int, base: int) -> list[Any]:
    kind = KINDS_OF[name]
    out: list[Any] = []
    for i in range(n):
        j = base + i
        if i % 13 == 5:
            out.append(None)
        elif kind == "float":
            out.append(math.nan if i % 17 == 3 else j * 0.1 + (2 if name.startswith("t") else 0))
        elif kind == "int":  # around 2**53, where a float64 would round
            out.append(2**53 + j if i % 2 else -(2**62) - j)
        elif kind == "bool":
            out.append(i % 3 == 0)
        elif kind == "string":
            out.append(["ok", "", "très bien ✓", "0", "NaN"][i % 5] + (str(j) if i % 7 else ""))
        else:
            out.append({"step": j, "tags": ["a", i % 4], "x": None if i % 2 else 1.5})
    return out


def _frame(name: str, day: int, start: int, n: int) -> pd.DataFrame:
    base = pd.Timestamp(DAYS[day], tz="UTC") + pd.Timedelta(hours=20)
    # odd nanoseconds: a timestamp must survive to the nanosecond, not just the microsecond
    stamps = [base + pd.Timedelta(nanoseconds=(start + i) * 1_234_567_891 + 7) for i in range(n)]
    metadata = [
        {"unit": "°C", "i": start + i} if (start + i) % 4 == 0 else None for i in range(n)
    ]
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps),
            "value": pd.Series(_values(name, n, day * 1000 + start), dtype=object),
            "metadata": metadata,
        }
    )


def _fill(store: hfdata.Store) -> None:
    half = PER_DAY // 2
    for name, kind in KINDS_OF.items():
        for day in range(len(DAYS)):
            store.append_many(name, _frame(name, day, 0, half), kind=kind)
    store.compact(include_active=True)
    for name, kind in KINDS_OF.items():  # a late second file in each day
        for day in range(len(DAYS)):
            store.append_many(name, _frame(name, day, half, PER_DAY - half), kind=kind)
    store.compact(include_active=True)


def _expected(store: hfdata.Store) -> Expected:
    rows: dict[str, list[Row]] = {}
    for name in KINDS_OF:
        table = store.read(name, output="arrow", metadata=True)
        stamps = table["timestamp"].cast(pa.int64()).to_pylist()
        rows[name] = list(
            zip(stamps, table["value"].to_pylist(), table["metadata"].to_pylist(), strict=True)
        )
    return Expected(rows)


def build_store(
    root: Path, parquet_root: str | None = None, storage_options: dict[str, Any] | None = None
) -> Expected:
    """Fill a new store at `root` (its tree at `parquet_root` if given), fully compacted,
    then append a log-only tail; return what the compacted tree holds."""
    with hfdata.open_store(
        root, parquet_root=parquet_root, storage_options=storage_options
    ) as store:
        _fill(store)
        expected = _expected(store)
        tail = pd.Timestamp(DAYS[-1], tz="UTC") + pd.Timedelta(hours=23, minutes=59)
        for name, kind in KINDS_OF.items():  # log only: no engine may see these
            store.append_many(name, _frame(name, len(DAYS) - 1, 999, 2).assign(timestamp=tail))
            del kind
        assert len(store.read("0042")) == len(expected.rows["0042"]) + 2
    _to_kind_layout(root, parquet_root, storage_options)
    return expected


# --- TEMPORARY: remove once hfdata.layout has kind_folder (the kind level lands on main). ---
def _to_kind_layout(
    root: Path, parquet_root: str | None, storage_options: dict[str, Any] | None
) -> None:
    """Move each `parquet/variable=X` folder to `parquet/kind=<its kind>/variable=X`."""
    from urllib.parse import quote

    import fsspec

    fs = fsspec.filesystem("s3", **(storage_options or {}))
    for name, kind in KINDS_OF.items():
        enc = quote(name, safe="")
        if parquet_root is None:
            tree = root / "parquet"
            (tree / f"kind={kind}").mkdir(exist_ok=True)
            (tree / f"variable={enc}").rename(tree / f"kind={kind}" / f"variable={enc}")
        else:
            base = parquet_root.removeprefix("s3://")
            for old in fs.find(f"{base}/variable={enc}"):  # get + put: no CopyObject
                fs.pipe(old.replace(f"{base}/", f"{base}/kind={kind}/", 1), fs.cat(old))
                fs.rm(old)


# --- end TEMPORARY ---


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
