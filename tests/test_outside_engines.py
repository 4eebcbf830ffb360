"""The `parquet/` tree read directly by other engines: pyarrow, polars, DuckDB and Dask.

Each engine reads the hive tree itself (no hfdata code), on local disk and on the S3
server, and must see the real (decoded) variable names and every compacted row.
The commit records under `_hfdata/` are not Parquet and every engine skips them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from s3server import make_bucket, moto_server, storage_options

import hfdata

NAMES = {"temp/°C room a": 1500, "b 100%": 700}
_buckets = itertools.count()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _fill(store: hfdata.Store) -> None:
    for i, (name, n) in enumerate(NAMES.items()):
        idx = pd.date_range("2026-11-01T20:00", periods=n, freq="1min", tz="UTC")
        frame = pd.DataFrame({"timestamp": idx, "value": np.arange(n, dtype=float) + i})
        store.append_many(name, frame.iloc[: n // 2])
        store.compact(include_active=True)
        store.append_many(name, frame.iloc[n // 2 :])  # a second batch: late file per day
    store.compact(include_active=True)
    store.append_many("b 100%", frame.iloc[:3])  # log only: outside readers cannot see it


@pytest.fixture(params=["local", "s3"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where the tree is and how each engine reaches it."""
    if request.param == "local":
        with hfdata.open_store(tmp_path / "s") as store:
            _fill(store)
        return {"uri": str(tmp_path / "s" / "parquet"), "fs": None, "options": None}
    url = request.getfixturevalue("endpoint")
    bucket = f"outside-{next(_buckets)}"
    make_bucket(url, bucket)
    opts = storage_options(url)
    uri = f"s3://{bucket}/data"
    with hfdata.open_store(tmp_path / "s", parquet_root=uri, storage_options=opts) as store:
        _fill(store)
        fs = store.parts.fs
    return {"uri": uri, "fs": fs, "options": opts, "endpoint": url}


def _expect(counts: dict[str, int]) -> None:
    assert counts == NAMES


def test_pyarrow_dataset(tree: dict[str, Any]) -> None:
    import pyarrow.dataset as ds

    path = tree["uri"].removeprefix("s3://")
    table = ds.dataset(
        path if tree["fs"] else tree["uri"], filesystem=tree["fs"], partitioning="hive"
    ).to_table()
    counts = table.group_by("variable").aggregate([("value", "count")]).to_pylist()
    _expect({r["variable"]: r["value_count"] for r in counts})


def test_polars(tree: dict[str, Any]) -> None:
    import polars as pl

    options = None
    if tree["options"]:
        options = {
            "aws_endpoint_url": tree["endpoint"],
            "aws_access_key_id": tree["options"]["key"],
            "aws_secret_access_key": tree["options"]["secret"],
            "aws_region": "us-east-1",
            "aws_allow_http": "true",
        }
    frame = (
        pl.scan_parquet(
            f"{tree['uri']}/**/*.parquet", hive_partitioning=True, storage_options=options
        )
        .group_by("variable")
        .len()
        .collect()
    )
    _expect(dict(zip(frame["variable"].to_list(), frame["len"].to_list(), strict=True)))


def test_duckdb(tree: dict[str, Any]) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    if tree["options"]:  # DuckDB reaches S3 through fsspec here (no extension download)
        import fsspec

        con.register_filesystem(fsspec.filesystem("s3", **tree["options"]))
    rows = con.sql(
        f"SELECT variable, count(*) FROM read_parquet('{tree['uri']}/**/*.parquet', "
        "hive_partitioning = true) GROUP BY variable"
    ).fetchall()
    _expect(dict(rows))


# dask's parquet reader calls reset_index(inplace=True), deprecated by pandas 3.1
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_dask_read_parquet(tree: dict[str, Any]) -> None:
    import dask
    import dask.dataframe as dd

    frame = dd.read_parquet(tree["uri"], storage_options=tree["options"])
    with dask.config.set(scheduler="synchronous"):
        counts = frame.compute().groupby("variable", observed=True).size()
    _expect({str(k): int(v) for k, v in counts.items()})
