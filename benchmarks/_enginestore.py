"""The store that the engine recipes and the engine probe read (docs/engines.md).

`build_store` fills a store with every kind (float, int, bool, string, json), metadata on
some points, awkward names (`plant/line 1`, `0042`, `temp/°C room a`, `b 100%`), several
days, a late second file in each day and a log-only tail that no engine may see, and
returns `Expected`: each variable's compacted points as `Store.read` gives them. Used by
tests/test_engines.py and `python -m benchmarks.engines`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa

import hfdata
from hfdata.kinds import Kind

__all__ = ["DAYS", "KINDS_OF", "Expected", "Row", "build_store"]

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
    metadata = [{"unit": "°C", "i": start + i} if (start + i) % 4 == 0 else None for i in range(n)]
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
    return expected
