"""The recipes of docs/engines.md, run as written by each engine on a real store.

Each recipe reads one kind folder, or one variable's folder, of the Parquet tree with no
hfdata code; its result must equal `store.read` of the compacted store exactly: the same
variables (real names, as text), row counts, int64 nanosecond timestamps, values (NaN
apart from missing, ints beyond 2**53 exact) and metadata text, with `date` a date that
matches each timestamp's UTC day, and none of the log-only tail. The pyarrow, polars and
DuckDB recipes also run against an S3 server, beside the `_hfdata/` commit records.
Spark runs in tests/test_engines_spark.py (`make interop`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from engineutil import KINDS_OF, Expected, check_dates, check_rows, recipes, rows_of, tree_store
from s3server import make_bucket, moto_server, storage_options

from hfdata.kinds import KINDS, Kind

# dask's parquet reader calls reset_index(inplace=True), deprecated by pandas 3.1
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

ENGINES = ("pyarrow", "polars", "duckdb", "pandas", "dask", "datafusion", "chdb")
_buckets = itertools.count()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Expected]:
    root = tmp_path_factory.mktemp("engines") / "s"
    return str(root / "parquet"), tree_store(root)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Expected, dict[str, Any]]]:
    with moto_server() as url:
        bucket = f"engines-{next(_buckets)}"
        make_bucket(url, bucket)
        options = storage_options(url)
        uri = f"s3://{bucket}/data"
        expected = tree_store(tmp_path_factory.mktemp("engines-s3") / "s", uri, options)
        yield uri, expected, options


def to_arrow(frame: Any) -> pa.Table:
    """An engine's result as an Arrow table (each conversion exact for these types)."""
    if isinstance(frame, pa.Table):
        return frame
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        return frame.to_arrow()
    if module == "pandas":
        return pa.Table.from_pandas(frame, preserve_index=False)
    if module == "dask":
        import dask

        with dask.config.set(scheduler="synchronous"):
            return pa.Table.from_pandas(frame.compute(), preserve_index=False)
    if module == "datafusion":
        return frame.to_arrow_table()
    raise TypeError(f"no conversion for {type(frame)}")


def run(recipe: str, **names: Any) -> pa.Table:
    code = recipes()[recipe]
    namespace: dict[str, Any] = dict(names)
    exec(compile(code, f"docs/engines.md ({recipe})", "exec"), namespace)
    return to_arrow(namespace["frame"])


def test_every_engine_has_both_recipes() -> None:
    found = set(recipes())
    for engine in (*ENGINES, "spark"):
        assert {f"{engine} kind", f"{engine} variable"} <= found
    assert {"spark session", "pyarrow kind s3", "polars kind s3", "duckdb kind s3"} <= found


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ENGINES)
def test_one_kind(engine: str, kind: Kind, local: tuple[str, Expected]) -> None:
    tree, expected = local
    table = run(f"{engine} kind", tree=tree, kind=kind)
    check_rows(rows_of(table), expected.of_kind(kind))
    check_dates(table)


@pytest.mark.parametrize("name", list(KINDS_OF))
@pytest.mark.parametrize("engine", ENGINES)
def test_one_variable(engine: str, name: str, local: tuple[str, Expected]) -> None:
    tree, expected = local
    table = run(f"{engine} variable", tree=tree, kind=KINDS_OF[name], name=name)
    check_rows(rows_of(table), {name: expected.rows[name]})
    check_dates(table)


@pytest.mark.parametrize("kind", ["float", "int", "string"])
@pytest.mark.parametrize("engine", ["pyarrow", "polars", "duckdb"])
def test_one_kind_on_s3(engine: str, kind: Kind, s3: tuple[str, Expected, dict[str, Any]]) -> None:
    uri, expected, options = s3
    import fsspec

    fs = fsspec.filesystem("s3", **options)
    assert fs.find(f"{uri.removeprefix('s3://')}/_hfdata/commits")  # the records are there
    table = run(f"{engine} kind s3", tree=uri, kind=kind, storage_options=options)
    check_rows(rows_of(table), expected.of_kind(kind))
    check_dates(table)
