"""`Store.to_dask`: the same rows as `read`, partitions with known divisions, Dask's own
time slicing and resampling matching `read`, on a local store and on the S3 server
with a two-worker `distributed.LocalCluster`."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s3server import make_bucket, moto_server, storage_options

import hfdata
from hfdata.parquet import reader as parquet_reader
from hfdata.parquet.root import PartFile
from hfdata.read import dask as hfdata_dask

# dask calls reset_index(inplace=True) in places, deprecated by pandas 3.1
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


@pytest.fixture(autouse=True)
def synchronous() -> Iterator[None]:
    with dask.config.set(scheduler="synchronous"):
        yield


def _frame(start: str, n: int, freq: str = "1s", offset: float = 0.0) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    return pd.DataFrame({"timestamp": idx, "value": np.arange(n, dtype=float) + offset})


def _fill(store: hfdata.Store) -> None:
    """Three days in order, a late batch overlapping day one, and a log tail."""
    store.append_many("x", _frame("2026-11-01T12:00", 3 * 86_400 // 20, "20s"))
    store.compact(include_active=True)
    store.append_many("x", _frame("2026-11-01T18:00", 100, "13s", 0.5))
    store.compact(include_active=True)
    store.append_many("x", _frame("2026-11-04T13:00", 50, "1s", 0.25))  # log tail, after all
    store.append_many("x", _frame("2026-11-02T01:00", 5, "1s", 0.75))  # log tail, inside day 2
    store.flush()


@pytest.fixture
def store(store: hfdata.Store) -> hfdata.Store:
    """The shared `store` fixture (conftest.py), filled by `_fill`."""
    _fill(store)
    return store


def test_same_rows_as_read_with_known_divisions(store: hfdata.Store) -> None:
    frame = store.to_dask("x", partition_rows=1)
    assert frame.known_divisions
    # one partition per day: day 1 (two overlapping files), day 2 (a file and log tail
    # rows), days 3 and 4 (a file to 11:59:40 and the log tail after it); divisions are the
    # first point, the day starts between, and the last point
    assert frame.npartitions == 4
    assert frame.divisions == (
        pd.Timestamp("2026-11-01T12:00", tz="UTC"),
        pd.Timestamp("2026-11-02", tz="UTC"),
        pd.Timestamp("2026-11-03", tz="UTC"),
        pd.Timestamp("2026-11-04", tz="UTC"),
        pd.Timestamp("2026-11-04T13:00:49", tz="UTC"),
    )
    pd.testing.assert_frame_equal(frame.compute(), store.read("x"))
    for i in range(frame.npartitions):  # each partition inside its divisions
        part = frame.get_partition(i).compute()
        assert part.index.min() >= frame.divisions[i]
        assert part.index.max() <= frame.divisions[i + 1]
        if i + 1 < frame.npartitions:
            assert part.index.max() < frame.divisions[i + 1]


def test_partitions_coalesce_whole_days_balanced_by_rows(store: hfdata.Store) -> None:
    # 13,115 rows over four days (2,260 / 4,325 / 4,320 / 2,210): at most 7,000 rows a
    # partition gives two, split between days at the middle of the rows
    frame = store.to_dask("x", partition_rows=7_000)
    assert frame.divisions == (
        pd.Timestamp("2026-11-01T12:00", tz="UTC"),
        pd.Timestamp("2026-11-03", tz="UTC"),
        pd.Timestamp("2026-11-04T13:00:49", tz="UTC"),
    )
    assert [len(frame.get_partition(i)) for i in range(2)] == [6_585, 6_530]
    assert store.to_dask("x").npartitions == 1  # the default: about 4 M rows at most
    default = inspect.signature(hfdata.Store.to_dask).parameters["partition_rows"].default
    assert default == hfdata_dask.PARTITION_ROWS
    pd.testing.assert_frame_equal(frame.compute(), store.read("x"))


def test_only_the_end_partitions_footers_are_read(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # four days of files: the client reads the footers of days 1 and 4 (for the exact
    # first and last points); days 2 and 3 are balanced on sizes, read by the workers
    seen: list[PartFile] = []
    span = parquet_reader.file_span

    def counting(path: Any) -> tuple[int, int, int]:
        seen.append(path)
        return span(path)

    monkeypatch.setattr(hfdata_dask, "file_span", counting)
    frame = store.to_dask("x", partition_rows=7_000)
    assert {Path(p.path).parent.name for p in seen} == {"date=2026-11-01", "date=2026-11-04"}
    assert len(seen) == 3  # day 1 has two files (a late batch), day 4 one
    assert frame.divisions == (  # the same split as from exact counts (test above)
        pd.Timestamp("2026-11-01T12:00", tz="UTC"),
        pd.Timestamp("2026-11-03", tz="UTC"),
        pd.Timestamp("2026-11-04T13:00:49", tz="UTC"),
    )
    pd.testing.assert_frame_equal(frame.compute(), store.read("x"))


def test_window_edges_inside_files_give_exact_end_divisions(tmp_path: Path) -> None:
    # each day holds points from 00:00 to 05:50 every 10 min; windows start at noon on
    # day 1 (its file lies wholly before: skipped) or at 03:05 (inside it: first point
    # 03:10) and end at 03:00 on day 4 (inside its file: last point 02:50). Dask's resample
    # then has `read`'s first and last bins, not empty ones out to the window's edges.
    with hfdata.open_store(tmp_path / "s") as s:
        for day in range(1, 5):
            s.append_many("x", _frame(f"2026-11-0{day}", 36, "10min", 100.0 * day))
        s.compact(include_active=True)
        end = "2026-11-04T03:00"
        for start, first in [("2026-11-01T12:00", "2026-11-02"), ("2026-11-01T03:05", None)]:
            frame = s.to_dask("x", start, end, partition_rows=1)
            head = (
                [pd.Timestamp(first, tz="UTC")]
                if first
                else [
                    pd.Timestamp("2026-11-01T03:10", tz="UTC"),
                    pd.Timestamp("2026-11-02", tz="UTC"),
                ]
            )
            assert frame.divisions == (
                *head,
                pd.Timestamp("2026-11-03", tz="UTC"),
                pd.Timestamp("2026-11-04", tz="UTC"),
                pd.Timestamp("2026-11-04T02:50", tz="UTC"),
            )
            pd.testing.assert_frame_equal(frame.compute(), s.read("x", start, end))
            bins = frame.resample("1min").mean().compute()  # first to last data bin
            window = s.read("x", start, end, resample="1min")  # the whole window's bins
            pd.testing.assert_frame_equal(bins, _data_bins(window, bins), check_freq=False)
        empty = s.to_dask("x", "2026-11-01T12:00", "2026-11-01T13:00")
        assert empty.npartitions == 1 and empty.compute().empty


def test_a_file_replaced_while_grouping_lists_again(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an optimize between the listing and the footer reads: the listing is taken again
    span = parquet_reader.file_span
    calls: list[PartFile] = []

    def vanishing_once(path: Any) -> tuple[int, int, int]:
        calls.append(path)
        if len(calls) == 1:
            raise FileNotFoundError(path)
        return span(path)

    monkeypatch.setattr(hfdata_dask, "file_span", vanishing_once)
    frame = store.to_dask("x")
    assert len(calls) > 1
    pd.testing.assert_frame_equal(frame.compute(), store.read("x"))


def test_compute_after_an_optimize_replaced_its_files_fails_clearly(
    store: hfdata.Store,
) -> None:
    # the graph names the files of its snapshot; day 1's two files are merged away
    frame = store.to_dask("x", partition_rows=1)
    store.optimize()
    with pytest.raises(FileNotFoundError):
        frame.compute()
    pd.testing.assert_frame_equal(store.to_dask("x").compute(), store.read("x"))


@pytest.mark.parametrize(("bad", "error"), [(0, ValueError), (-5, ValueError), (2.5, TypeError)])
def test_bad_partition_rows_is_refused(store: hfdata.Store, bad: object, error: type) -> None:
    with pytest.raises(error, match="partition_rows"):
        store.to_dask("a", partition_rows=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("partition_rows", [1, 5_000, 4_000_000])
def test_time_slices_and_resample_match_read(store: hfdata.Store, partition_rows: int) -> None:
    frame = store.to_dask("x", partition_rows=partition_rows)
    got = frame.loc["2026-11-01T23:00":"2026-11-02T01:00:02"].compute()
    want = store.read("x", "2026-11-01T23:00", "2026-11-02T01:00:02.000000001")
    pd.testing.assert_frame_equal(got, want)
    for rule in ("1min", "1h"):
        pd.testing.assert_frame_equal(
            frame.resample(rule).mean().compute(),
            store.read("x", resample=rule),
            check_freq=False,
        )
    pd.testing.assert_frame_equal(
        frame.resample("1h").count().compute(),
        store.read("x", resample="1h", agg="count"),
        check_freq=False,
    )


def test_window_and_several_variables(store: hfdata.Store) -> None:
    store.append_many(
        "n",
        pd.DataFrame(
            {
                "timestamp": pd.date_range("2026-11-02", periods=10, freq="1h", tz="UTC"),
                "value": np.arange(10),
            }
        ),
        kind="int",
    )
    store.compact(variables=["n"], include_active=True)
    start, end = "2026-11-01T20:00", "2026-11-02T03:00"
    frame = store.to_dask(["x", "n"], start, end)
    got, want = frame.compute(), store.read(["x", "n"], start, end)
    got["variable"] = got["variable"].astype(want["variable"].dtype)  # Dask's string dtype
    pd.testing.assert_frame_equal(got, want)
    assert frame.divisions[0] >= pd.Timestamp(start, tz="UTC")
    assert frame.divisions[-1] < pd.Timestamp(end, tz="UTC")
    empty = store.to_dask("x", "2030-01-01", "2030-01-02").compute()
    assert empty.empty and list(empty.columns) == ["value"]
    with pytest.raises(hfdata.VariableNotFound):
        store.to_dask("nope")
    with pytest.raises(ValueError, match="distinct"):
        store.to_dask(["x", "x"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 3 * 86_400 * 4), st.floats(-1e6, 1e6), st.booleans()),
        min_size=0,
        max_size=30,
    ),
    tail_after=st.integers(0, 30),
    layout=st.sampled_from(
        [("day", "1min"), ("day", "2h"), ("day", "1D"), ("hour", "15min"), ("hour", "1h")]
    ),
    partition_rows=st.sampled_from([1, 4, 10, 4_000_000]),
    window=st.none() | st.tuples(st.integers(0, 3 * 86_400 * 4), st.integers(1, 3 * 86_400 * 4)),
)
def test_property_equals_read(
    tmp_path_factory: pytest.TempPathFactory,
    data: list[Any],
    tail_after: int,
    layout: tuple[Any, str],
    partition_rows: int,
    window: tuple[int, int] | None,
) -> None:
    """Points in arrival order, compacted after some of them (flag), the rest in the log:
    to_dask() over the whole store or a window (quarter seconds from the start, and a
    length) equals read(), partitions start on the store's partition boundaries, and
    resample by any rule dividing the partition length matches too."""
    partition, rule = layout
    root = tmp_path_factory.mktemp("p")
    with hfdata.open_store(root, partition=partition) as s:
        for i, (quarter_s, value, cut) in enumerate(data):
            ts = pd.Timestamp("2026-11-01", tz="UTC") + pd.Timedelta(quarter_s * 250, "ms")
            s.append("v", ts, value)
            if cut and i < tail_after:
                s.compact(include_active=True)
        if not data:
            s.append("v", "2026-11-01T00:00:00Z", 1.0)
        span: tuple[Any, Any] = (None, None)
        if window is not None:
            origin = pd.Timestamp("2026-11-01", tz="UTC")
            a = origin + pd.Timedelta(window[0] * 250, "ms")
            span = (a, a + pd.Timedelta(window[1] * 250, "ms"))
        frame = s.to_dask("v", *span, partition_rows=partition_rows)
        want = s.read("v", *span)
        pd.testing.assert_frame_equal(frame.compute(), want)
        step = pd.Timedelta(1, "h" if partition == "hour" else "D")
        assert all(d == d.floor(step) for d in frame.divisions[1:-1])
        if want.empty:
            return  # resample of an empty Dask frame has no bins to compare
        bins = frame.resample(rule).mean().compute()
        pd.testing.assert_frame_equal(
            bins, _data_bins(s.read("v", *span, resample=rule), bins), check_freq=False
        )


def _data_bins(window: pd.DataFrame, bins: pd.DataFrame) -> pd.DataFrame:
    """`read`'s resample over a `start`-`end` window, cut to the bins pandas makes from
    the first to the last point (a Dask resample's)."""
    return window.loc[bins.index[0] : bins.index[-1]]


# -- on the S3 server with two workers ---------------------------------------------------


@pytest.mark.parametrize(
    "processes",
    [False, pytest.param(True, marks=pytest.mark.slow)],  # worker processes: ~8 s more
    ids=["threads", "processes"],
)
def test_local_cluster_resample_over_s3_matches_read(tmp_path: Path, processes: bool) -> None:
    """Workers read the bucket themselves (the filesystem travels pickled in the graph)."""
    from distributed import Client, LocalCluster

    with moto_server() as endpoint:
        make_bucket(endpoint, "dask-test")
        with hfdata.open_store(
            tmp_path / "s",
            parquet_root="s3://dask-test/store",
            storage_options=storage_options(endpoint),
        ) as store:
            _fill(store)
            frame = store.to_dask("x", partition_rows=1)
            assert frame.npartitions == 4
            with (
                LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=":0",  # any free port: never a clash with a cluster on 8787
                ) as cluster,
                Client(cluster),
                dask.config.set(scheduler=None),
            ):
                got = frame.resample("1min").mean().compute()
                rows = frame.compute()
            pd.testing.assert_frame_equal(got, store.read("x", resample="1min"), check_freq=False)
            pd.testing.assert_frame_equal(rows, store.read("x"))


def test_resample_with_two_partitions_in_one_bin(tmp_path: Path) -> None:
    """Once a Dask bug (issue 8): a compacted file and the log tail 0.25 s apart became two
    partitions starting in one 2h bin; Dask's resample then has one output partition while
    it reports two, and `compute()` trips an assertion in `RepartitionToFewer`. Partitions
    now start on the store's partition boundaries, so they share no bin."""
    start = pd.Timestamp("2026-11-01", tz="UTC")
    with hfdata.open_store(tmp_path) as s:
        s.append("v", start, 0.0)
        s.compact(include_active=True)
        s.append("v", start + pd.Timedelta(250, "ms"), 0.0)
        s.append("v", start + pd.Timedelta(6, "h"), 0.0)
        frame = s.to_dask("v")
        assert frame.npartitions == 1
        pd.testing.assert_frame_equal(
            frame.resample("2h").mean().compute(), s.read("v", resample="2h"), check_freq=False
        )
