"""`Store.append_many` over every accepted container (normalised in `hfdata/log/batch.py`)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logutil import log_lines

import hfdata
from hfdata.errors import InvalidMetadata, InvalidTimestamp, SchemaMismatch
from hfdata.timeparse import TimeRules, format_ns, to_ns

T0 = pd.Timestamp("2026-11-26T00:00:00Z")
INDEX = pd.date_range(T0, periods=4, freq="250ms")
EXPECTED_NS = INDEX.as_unit("ns").asi8.tolist()
RFC3339_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|\+00:00)$"


def stored(root: Path, var: str = "v") -> list[tuple[int, Any]]:
    rules = TimeRules()
    return [(to_ns(x["timestamp"], rules), x["value"]) for x in log_lines(root, var)]


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0]}, index=INDEX),
        pd.DataFrame({"timestamp": INDEX, "value": [1.0, 2.0, 3.0, 4.0]}),
        pd.DataFrame({"temperature": [1, 2, 3, 4]}, index=INDEX),
        pd.Series([1.0, 2.0, 3.0, 4.0], index=INDEX),
        pl.DataFrame({"timestamp": INDEX, "value": [1.0, 2.0, 3.0, 4.0]}),
        pa.table({"timestamp": pa.array(INDEX), "value": [1.0, 2.0, 3.0, 4.0]}),
        pd.DataFrame({"timestamp": [str(t) for t in INDEX], "value": [1.0, 2.0, 3.0, 4.0]}),
        pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0]}, index=INDEX.tz_convert("Asia/Tokyo")),
    ],
    ids=["df-index", "df-column", "df-single-column", "series", "polars", "arrow", "strings", "tz"],
)
def test_containers(tmp_path: Path, data: Any) -> None:
    with hfdata.open_store(tmp_path) as store:
        assert store.append_many("v", data) == 4
    lines = log_lines(tmp_path, "v")
    assert all(re.match(RFC3339_UTC, x["timestamp"]) for x in lines)
    assert [t for t, _ in stored(tmp_path)] == EXPECTED_NS
    assert [x["value"] for x in lines] == [1.0, 2.0, 3.0, 4.0]
    assert all("metadata" not in x for x in lines)


def test_metadata_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"value": [1.0, 2.0, 3.0, 4.0], "metadata": [{"a": 1}, None, {"b": "x"}, math.nan]},
        index=INDEX,
    )
    with hfdata.open_store(tmp_path) as store:
        store.append_many("v", frame)
        store.append_many(
            "p",
            pl.DataFrame(
                {"timestamp": INDEX[:2], "value": [1.0, 2.0], "metadata": [{"k": 1}, None]}
            ),
        )
    assert [x.get("metadata") for x in log_lines(tmp_path, "v")] == [
        {"a": 1},
        None,
        {"b": "x"},
        None,
    ]
    assert [x.get("metadata") for x in log_lines(tmp_path, "p")] == [{"k": 1}, None]


def test_kinds_and_nonfinite(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append_many("f", pd.Series([math.nan, math.inf, -math.inf, 1.5], index=INDEX))
        store.append_many("b", pd.Series([True, False, True, False], index=INDEX))
        store.append_many("s", pd.Series(["a", '"q"', None, "ü\n"], index=INDEX))
        store.append_many("i", pd.Series([1, 2, 3, 2**62], index=INDEX), kind="int")
        store.append_many("j", pd.Series([{"a": 1}, [1, 2], None, {"b": None}], index=INDEX))
    assert [x["value"] for x in log_lines(tmp_path, "f")] == ["NaN", "Infinity", "-Infinity", 1.5]
    assert [x["value"] for x in log_lines(tmp_path, "b")] == [True, False, True, False]
    assert [x["value"] for x in log_lines(tmp_path, "s")] == ["a", '"q"', None, "ü\n"]
    assert [x["value"] for x in log_lines(tmp_path, "i")] == [1, 2, 3, 2**62]
    assert [x["value"] for x in log_lines(tmp_path, "j")] == [{"a": 1}, [1, 2], None, {"b": None}]


def test_batch_after_single_points_keeps_the_kind(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 1.0)
        store.append_many("v", pd.Series([2, 3, 4, 5], index=INDEX))  # ints into a float variable
        with pytest.raises(SchemaMismatch):
            store.append_many("v", pd.Series(["a", "b", "c", "d"], index=INDEX))
        with pytest.raises(SchemaMismatch):
            store.append_many("v", pd.Series([True] * 4, index=INDEX))
    assert [x["value"] for x in log_lines(tmp_path, "v")] == [1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2026-01-01", None])), InvalidTimestamp),
        (
            pd.DataFrame({"timestamp": ["2026-01-01", "soon"], "value": [1.0, 2.0]}),
            InvalidTimestamp,
        ),
        (pd.DataFrame({"timestamp": [1, 2], "value": [1.0, 2.0]}), InvalidTimestamp),
        (pd.DataFrame({"value": [1.0, "x"]}, index=INDEX[:2]), SchemaMismatch),
        (
            pd.DataFrame({"value": [1.0, 2.0], "metadata": [{"a": 1}, "bad"]}, index=INDEX[:2]),
            InvalidMetadata,
        ),
        (
            pd.DataFrame(
                {"value": [1.0, 2.0], "metadata": [{"a": math.inf}, None]}, index=INDEX[:2]
            ),
            InvalidMetadata,
        ),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]}, index=INDEX[:2]), TypeError),
        (pd.DataFrame({"value": [1.0, 2.0]}), TypeError),
        (pd.Series([1.0, 2.0]), TypeError),
        ([1.0, 2.0], TypeError),
    ],
    ids=[
        "nat",
        "bad-string",
        "bare-numbers",
        "mixed",
        "meta-text",
        "meta-inf",
        "two-columns",
        "no-index",
        "series-no-index",
        "list",
    ],
)
def test_bad_batches_write_nothing(tmp_path: Path, data: Any, error: type[Exception]) -> None:
    with hfdata.open_store(tmp_path) as store:
        store.append("v", T0, 0.0)
        store.flush()
        with pytest.raises(error):
            store.append_many("v", data)
    assert stored(tmp_path) == [(T0.value, 0.0)]


def test_large_batch_rotates_by_size_and_keeps_order(tmp_path: Path) -> None:
    n = 450_000
    index = pd.date_range(T0, periods=n, freq="ms")
    values = np.arange(n, dtype=np.float64)
    with hfdata.open_store(tmp_path, max_segment_bytes=4 << 20) as store:
        store.append_many("v", pd.Series(values, index=index))
    files = sorted((tmp_path / "log" / "v").glob("*.jsonl"))
    assert len(files) >= 3
    got = stored(tmp_path)
    assert [v for _, v in got] == values.tolist()
    assert [t for t, _ in got] == index.as_unit("ns").asi8.tolist()


def test_empty_batch(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path) as store:
        assert store.append_many("v", pd.Series([], index=pd.DatetimeIndex([], tz="UTC"))) == 0
    assert stored(tmp_path) == []


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=-(2**62), max_value=2**62), st.floats()),
        min_size=1,
        max_size=40,
    )
)
def test_batch_and_single_appends_store_the_same_points(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, float]]
) -> None:
    root = tmp_path_factory.mktemp("s")
    ns = [t for t, _ in rows]
    values = [v for _, v in rows]
    with hfdata.open_store(root) as store:
        store.append_many("batch", pd.Series(values, index=pd.to_datetime(ns, utc=True)))
        for t, v in rows:
            store.append("single", format_ns(t), v)
    assert stored(root, "batch") == stored(root, "single")
    assert [t for t, _ in stored(root, "batch")] == ns


def test_datetime_list_timestamps(tmp_path: Path) -> None:
    ts = [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)]
    with hfdata.open_store(tmp_path) as store:
        store.append_many("v", pd.DataFrame({"timestamp": ts, "value": [1.0, 2.0]}))
    assert [x["timestamp"][:10] for x in log_lines(tmp_path, "v")] == ["2026-01-01", "2026-01-02"]
