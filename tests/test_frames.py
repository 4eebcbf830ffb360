"""hfdata.read.frames: Arrow results to pandas / polars / Arrow with the same rows and values."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from hfdata.read.frames import expand_metadata, to_output, to_pandas

NS = [1_764_192_600_000_000_000, 1_764_192_600_000_000_001, 1_764_192_601_000_000_000]


def table(**columns: pa.Array) -> pa.Table:
    ts = pa.array(NS, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    return pa.table({"timestamp": ts, **columns})


def test_pandas_index_is_utc_timestamp_with_nanoseconds() -> None:
    df = to_pandas(table(value=pa.array([1.0, None, 3.0])))
    assert df.index.name == "timestamp"
    index = cast(pd.DatetimeIndex, df.index)
    assert str(index.tz) == "UTC"
    assert index.asi8.tolist() == NS
    assert df["value"].isna().tolist() == [False, True, False]


def test_string_columns_do_not_align_on_an_index() -> None:
    df = to_pandas(table(variable=pa.array(["a", "b", None]), value=pa.array([1, 2, 3])))
    assert df["variable"].tolist()[:2] == ["a", "b"]
    assert df["value"].dtype == np.int64


def test_json_text_parsed_for_pandas_only() -> None:
    t = table(value=pa.array(['{"a":1}', "[1,2]", None]))
    assert to_pandas(t, ["value"])["value"].tolist() == [{"a": 1}, [1, 2], None]
    assert to_output(t, "polars", ["value"])["value"].to_list() == ['{"a":1}', "[1,2]", None]
    assert to_output(t, "arrow", ["value"]) is t


@pytest.mark.parametrize("output", ["pandas", "polars", "arrow"])
def test_outputs_have_same_rows(output: str) -> None:
    t = table(value=pa.array([1.0, 2.0, float("nan")]))
    got = to_output(t, output)  # type: ignore[arg-type]
    if isinstance(got, pl.DataFrame):
        got = got.to_arrow()
    if isinstance(got, pa.Table):
        got = got.to_pandas().set_index("timestamp")
    pd.testing.assert_frame_equal(got, to_pandas(t), check_freq=False)


def test_expand_metadata_columns_collisions_and_mixed_types() -> None:
    meta = pa.array(['{"room":"a","value":1,"n":1}', None, '{"n":"x","room":"b"}'])
    out = expand_metadata(table(value=pa.array([1.0, 2.0, 3.0]), metadata=meta), ["value"])
    assert out.column_names == ["timestamp", "value", "room", "metadata.value", "n"]
    assert out.column("room").to_pylist() == ["a", None, "b"]
    assert out.column("metadata.value").to_pylist() == [1, None, None]
    assert out.column("n").to_pylist() == ["1", None, '"x"']  # mixed types stay JSON text


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [1, 2, 3]], ids=["float", "int"])
def test_one_numeric_column_frame_equals_the_general_constructor(values: list[float]) -> None:
    tbl = table(value=pa.array(values))
    got = to_pandas(tbl)
    index = pd.DatetimeIndex(np.array(NS).view("M8[ns]"), name="timestamp").tz_localize("UTC")
    pd.testing.assert_frame_equal(got, pd.DataFrame({"value": values}, index=index))
    got.columns.name = "renamed"  # the label index is cached: a frame's rename stays its own
    got.columns = ["other"]
    again = to_pandas(tbl)
    assert again.columns.name is None and again.columns.tolist() == ["value"]
