"""The Spark recipes of docs/engines.md, run as written (`make interop`: a JVM start).

One Spark session per module, built by the doc's own `spark session` recipe. Each
result must equal `store.read` exactly (tests/test_engines.py says what that means);
on top, `time` (`timestamp_micros(timestamp div 1000)`) must be every row's nanoseconds
truncated to the microsecond.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from engineutil import KINDS_OF, Expected, check_dates, check_rows, recipes, rows_of, tree_store

from hfdata.kinds import KINDS, Kind

pytestmark = [
    pytest.mark.interop,
    # pyspark warns on import that it does not fully support pandas >= 3 (unused here)
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    namespace: dict[str, Any] = {}
    exec(compile(recipes()["spark session"], "docs/engines.md (spark session)", "exec"), namespace)
    session = namespace["spark"]
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Expected]:
    root = tmp_path_factory.mktemp("engines-spark") / "s"
    return str(root / "parquet"), tree_store(root)


def run(spark: Any, recipe: str, **names: Any) -> pa.Table:
    namespace: dict[str, Any] = {"spark": spark, **names}
    exec(compile(recipes()[recipe], f"docs/engines.md ({recipe})", "exec"), namespace)
    frame = namespace["frame"]
    # `time` is exact when it is the nanoseconds truncated to the microsecond
    wrong = frame.filter("unix_micros(time) != timestamp div 1000 OR time IS NULL").count()
    assert wrong == 0
    rows = frame.select("variable", "date", "timestamp", "value", "metadata").collect()
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 5
    return pa.table(
        {
            "variable": pa.array(columns[0], pa.string()),
            "date": pa.array(columns[1], pa.date32()),
            "timestamp": pa.array(columns[2], pa.int64()),
            "value": pa.array(columns[3]),
            "metadata": pa.array(columns[4], pa.string()),
        }
    )


@pytest.mark.parametrize("kind", KINDS)
def test_spark_one_kind(spark: Any, kind: Kind, local: tuple[str, Expected]) -> None:
    tree, expected = local
    table = run(spark, "spark kind", tree=tree, kind=kind)
    check_rows(rows_of(table), expected.of_kind(kind))
    check_dates(table)


@pytest.mark.parametrize("name", list(KINDS_OF))
def test_spark_one_variable(spark: Any, name: str, local: tuple[str, Expected]) -> None:
    tree, expected = local
    table = run(spark, "spark variable", tree=tree, kind=KINDS_OF[name], name=name)
    check_rows(rows_of(table), {name: expected.rows[name]})
    check_dates(table)


def test_spark_refuses_nanos_by_default(spark: Any, local: tuple[str, Expected]) -> None:
    """Why the session recipe sets nanosAsLong: without it Spark refuses the files."""
    tree, _ = local
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "false")
    try:
        with pytest.raises(Exception, match="TIMESTAMP\\(NANOS"):
            spark.read.parquet(f"{tree}/kind=float").collect()
    finally:
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
