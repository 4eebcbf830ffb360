"""Issue 20's reads against a plain pandas reference (`versionsref`): random appends
(arrival from a counter-driven fake clock: the writer's one `_time_ns`), corrections (a
timestamp appended again), deletions, compaction (part of the store compacted, part in
the log) and optimize, then `read` (raw, dedupe last/first, resample), `asof`,
`around`, `features`, `summary` and `history` at random `as_of` points, each equal to
the reference. Also the pure functions of `hfdata.read.versions` against brute force,
and the targeted cases: a deletion seen at once, appends after it visible."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from versionsref import Reference

import hfdata
from hfdata.log import writer as _writer
from hfdata.read.versions import (
    NEEDS_ARRIVAL,
    SKIP,
    View,
    by_time,
    dedupe_rows,
    deleted_mask,
    drop_ranges,
    history_table,
    visible,
)

T0 = pd.Timestamp("2026-11-26T10:00:00Z")
NS0 = T0.value
SEC = 1_000_000_000
CLOCK0 = 1_800_000_000_000_000_000  # 2027: 19 digits, as real arrivals have
VAR = "v"


def _at(seconds: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def _utc(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC")


class FakeClock:
    """`time.time_ns` for the writer: each call a step later than the last."""

    def __init__(self) -> None:
        self.now = CLOCK0

    def __call__(self) -> int:
        self.now += 1000
        return self.now


@contextlib.contextmanager
def fake_clock() -> Iterator[FakeClock]:
    clock = FakeClock()
    with mock.patch.object(_writer, "_time_ns", clock):
        yield clock


# -- the store against the reference ---------------------------------------------------------

_seconds = st.integers(0, 240)
_value = st.integers(-50, 50).map(float)
_append = st.tuples(st.just("append"), _seconds, _value)
_batch = st.tuples(
    st.just("batch"),
    st.lists(st.tuples(_seconds, _value), min_size=1, max_size=12, unique_by=lambda p: p[0]),
)
_delete = st.tuples(st.just("delete"), _seconds, st.integers(1, 90))
_ops = st.lists(
    st.one_of(
        _append,
        _batch,
        _batch,
        _delete,
        st.tuples(st.just("compact")),
        st.tuples(st.just("optimize")),
    ),
    min_size=1,
    max_size=10,
)


def _run(store: hfdata.Store, clock: FakeClock, ops: list[Any], ref: Reference) -> list[int]:
    """Apply `ops` to the store and the reference; the clock after each (as_of points)."""
    marks = [clock.now]
    for op in ops:
        if op[0] == "append":
            store.append(VAR, _at(op[1]), op[2])
            ref.rows.append((NS0 + op[1] * SEC, op[2], clock.now))
        elif op[0] == "batch":
            seconds = [s for s, _ in op[1]]
            values = [v for _, v in op[1]]
            frame = pd.DataFrame(
                {"value": values},
                index=pd.DatetimeIndex([_at(s) for s in seconds], name="timestamp"),
            )
            store.append_many(VAR, frame)
            ref.rows.extend((NS0 + s * SEC, v, clock.now) for s, v in op[1])
        elif op[0] == "delete":
            if ref.rows:  # the variable must exist
                store.delete(VAR, _at(op[1]), _at(op[1] + op[2]))
                ref.tombstones.append((NS0 + op[1] * SEC, NS0 + (op[1] + op[2]) * SEC, clock.now))
        elif op[0] == "compact" and ref.rows:
            store.compact()
        elif op[0] == "optimize" and ref.rows:
            store.optimize()
        marks.append(clock.now)
    return marks


def _check(store: hfdata.Store, ref: Reference, as_of: int | None) -> None:
    when = None if as_of is None else _utc(as_of)
    seen = ref.visible(as_of)
    # raw: the visible versions (the order of equal timestamps is the files' read order)
    raw = store.read(VAR, as_of=when)
    got = sorted(zip(pd.DatetimeIndex(raw.index).asi8.tolist(), raw["value"].tolist(), strict=True))
    assert got == sorted(zip(seen["ts"].tolist(), seen["value"].tolist(), strict=True))
    for keep in ("last", "first"):
        one = store.read(VAR, as_of=when, dedupe=keep)
        want = ref.visible(as_of, keep)
        assert pd.DatetimeIndex(one.index).asi8.tolist() == want["ts"].tolist()
        assert one["value"].tolist() == want["value"].tolist()
    # resample (rollups only where no version is hidden): count and sum per minute
    start, end = _at(0), _at(360)
    binned = store.read(VAR, start, end, resample="1min", agg=["count", "sum"], as_of=when)
    frame = pd.Series(
        seen["value"].to_numpy(), index=pd.DatetimeIndex(seen["ts"].to_numpy(), tz="UTC")
    )
    bins = pd.date_range(start, end, freq="1min", inclusive="left")
    minute = pd.DatetimeIndex(frame.index).floor("1min")
    counts = frame.groupby(minute).count().reindex(bins, fill_value=0)
    sums = frame.groupby(minute).sum().reindex(bins, fill_value=0.0)
    assert binned["count"].tolist() == counts.tolist()
    assert np.allclose(binned["sum"].fillna(0.0).to_numpy(), sums.to_numpy())
    # asof: the matched point is the last visible one at or before each time
    times = [_at(s) for s in (0, 30, 95, 150, 239, 300)]
    matched = store.asof(VAR, times, as_of=when)["value"].tolist()
    for t, value in zip(times, matched, strict=True):
        before = seen[seen["ts"] <= t.value]
        if before.empty:
            assert np.isnan(value)
        else:
            last_ts = before["ts"].iloc[-1]
            assert value in set(before[before["ts"] == last_ts]["value"])
    # around: count and sum of [t - 20 s, t + 20 s)
    around = store.around(VAR, times, before="20s", after="20s", agg=["count", "sum"], as_of=when)
    for t, count, total in zip(times, around["count"], around["sum"], strict=True):
        inside = seen[(seen["ts"] >= t.value - 20 * SEC) & (seen["ts"] < t.value + 20 * SEC)]
        assert count == len(inside)
        assert total == pytest.approx(inside["value"].sum()) or (len(inside) == 0)
    # features: count and max per minute window
    features = store.features(
        VAR, start, end, window="1min", funcs=["count", "max"], workers=1, as_of=when
    )
    for label, row in features.iterrows():
        inside = frame[(frame.index >= label) & (frame.index < label + pd.Timedelta("1min"))]
        if len(inside):
            assert row["count"] == len(inside)
            assert row["max"] == inside.max()
        else:
            assert np.isnan(row["count"]) or row["count"] == 0
    # summary: rows and extremes of the visible versions
    summary = store.summary(VAR, as_of=when).loc[VAR]
    assert summary["rows"] == len(seen)
    if len(seen):
        assert summary["min"] == seen["value"].min()
        assert summary["max"] == seen["value"].max()
        assert summary["first"].value == seen["ts"].min()
        assert summary["last"].value == seen["ts"].max()
    # history: every known version, superseded and deleted as the reference says
    history = store.history(VAR, as_of=when)
    want = ref.history(as_of)
    assert pd.DatetimeIndex(history.index).asi8.tolist() == want["ts"].tolist()
    assert history["value"].tolist() == want["value"].tolist()
    assert history["arrived"].astype("int64").tolist() == want["arrived"].tolist()
    for column in ("superseded_at", "deleted_at"):
        got_ns = [None if pd.isna(x) else x.value for x in history[column]]
        want_ns = [None if pd.isna(x) else int(x) for x in want[column]]
        assert got_ns == want_ns, column


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=_ops, data=st.data())
def test_reads_equal_the_reference(
    tmp_path_factory: pytest.TempPathFactory, ops: list[Any], data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("versions") / "s"
    ref = Reference()
    with fake_clock() as clock, hfdata.open_store(root) as store:
        marks = _run(store, clock, ops, ref)
        if not ref.rows:
            return
        picked = data.draw(st.sampled_from(marks[1:]))
        for as_of in (None, picked, picked - 1):
            _check(store, ref, as_of)


# -- targeted cases --------------------------------------------------------------------------


def test_delete_is_seen_at_once_and_later_appends_are_visible(tmp_path: Path) -> None:
    with fake_clock() as clock, hfdata.open_store(tmp_path / "s") as store:
        store.append_many(
            VAR,
            pd.DataFrame(
                {"value": [1.0, 2.0, 3.0]},
                index=pd.DatetimeIndex([_at(0), _at(1), _at(2)], name="timestamp"),
            ),
        )
        store.compact()  # the points in Parquet, the tombstone in the log
        before_delete = clock.now
        store.delete(VAR, _at(1), _at(3))
        assert store.read(VAR)["value"].tolist() == [1.0]
        store.append(VAR, _at(2), 30.0)  # after the deletion: visible
        assert store.read(VAR)["value"].tolist() == [1.0, 30.0]
        assert store.read(VAR, as_of=_utc(before_delete))["value"].tolist() == [1.0, 2.0, 3.0]
        store.compact()  # the tombstone in Parquet now
        assert store.read(VAR)["value"].tolist() == [1.0, 30.0]
        assert store.summary(VAR).loc[VAR, "rows"] == 2


def test_resample_skips_rollups_where_a_tombstone_lies(tmp_path: Path) -> None:
    """A compacted variable's rollups answer a resample; after a deletion in the window
    the answer comes from the visible points."""
    with hfdata.open_store(tmp_path / "s") as store:
        index = pd.date_range(_at(0), periods=600, freq="1s", name="timestamp")
        store.append_many(VAR, pd.DataFrame({"value": np.arange(600.0)}, index=index))
        store.compact(include_active=True)
        full = store.read(VAR, _at(0), _at(600), resample="1min", agg="count")
        assert full["value"].tolist() == [60] * 10
        store.delete(VAR, _at(60), _at(90))
        cut = store.read(VAR, _at(0), _at(600), resample="1min", agg="count")
        assert cut["value"].tolist() == [60, 30] + [60] * 8


def test_delete_refuses_bad_ranges(store: hfdata.Store) -> None:
    store.append(VAR, _at(0), 1.0)
    with pytest.raises(hfdata.errors.InvalidArgument):
        store.delete(VAR, _at(5), _at(5))
    with pytest.raises(hfdata.errors.VariableNotFound):
        store.delete("nope", _at(0), _at(5))


def test_scan_and_to_dask_hide_what_read_hides(tmp_path: Path) -> None:
    pytest.importorskip("dask.dataframe")
    with fake_clock() as clock, hfdata.open_store(tmp_path / "s") as store:
        index = pd.date_range(_at(0), periods=20, freq="1s", name="timestamp")
        store.append_many(VAR, pd.DataFrame({"value": np.arange(20.0)}, index=index))
        store.compact(include_active=True)
        known = clock.now
        store.delete(VAR, _at(5), _at(10))
        store.append(VAR, _at(7), 70.0)
        want = store.read(VAR)["value"].tolist()
        assert len(want) == 16
        assert store.scan(VAR).collect()["value"].to_list() == want
        assert store.to_dask(VAR).compute()["value"].tolist() == want
        old = store.read(VAR, as_of=_utc(known))["value"].tolist()
        assert old == list(np.arange(20.0))
        assert store.scan(VAR, as_of=_utc(known)).collect()["value"].to_list() == old
        assert store.to_dask(VAR, as_of=_utc(known)).compute()["value"].tolist() == old


# -- the pure functions against brute force --------------------------------------------------

_TS = pa.timestamp("ns", tz="UTC")


def _table(ts: list[int], arrived: list[int]) -> pa.Table:
    order = np.argsort(np.array(ts, np.int64), kind="stable")
    ts_sorted = [ts[i] for i in order]
    arrived_sorted = [arrived[i] for i in order]
    return pa.table(
        {
            "timestamp": pa.array(ts_sorted, pa.int64()).cast(_TS),
            "value": pa.array([float(i) for i in range(len(ts))]),
            "arrived": pa.array(arrived_sorted, pa.int64()).cast(_TS),
        }
    )


def _stones(stones: list[tuple[int, int, int]]) -> pa.Table:
    return pa.table(
        {
            name: pa.array([s[k] for s in stones], pa.int64()).cast(_TS)
            for k, name in enumerate(("start", "end", "recorded"))
        }
    )


_small = st.integers(0, 30)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(_small, _small), max_size=40),
    stones=st.lists(
        st.tuples(_small, st.integers(1, 15), _small).map(lambda t: (t[0], t[0] + t[1], t[2])),
        max_size=8,
    ),
    as_of=st.none() | _small,
    dedupe=st.sampled_from([None, "last", "first"]),
)
def test_visible_equals_brute_force(
    rows: list[tuple[int, int]],
    stones: list[tuple[int, int, int]],
    as_of: int | None,
    dedupe: str | None,
) -> None:
    table = _table([r[0] for r in rows], [r[1] for r in rows])
    ts = table.column("timestamp").cast(pa.int64()).to_pylist()
    arrived = table.column("arrived").cast(pa.int64()).to_pylist()
    mask = deleted_mask(np.array(ts, np.int64), np.array(arrived, np.int64), _stones(stones))
    assert mask.tolist() == [
        any(s <= t < e and a < r for s, e, r in stones) for t, a in zip(ts, arrived, strict=True)
    ]
    ref = Reference(
        rows=[
            (t, v, a)
            for t, v, a in zip(ts, table.column("value").to_pylist(), arrived, strict=True)
        ],
        tombstones=stones,
    )
    known = [s for s in stones if as_of is None or s[2] <= as_of]
    got = visible(table, View(as_of, _stones(known)), dedupe)  # type: ignore[arg-type]
    want = ref.visible(as_of, dedupe)
    assert got.column("timestamp").cast(pa.int64()).to_pylist() == want["ts"].tolist() or (
        dedupe is None
        and sorted(
            zip(
                got.column("timestamp").cast(pa.int64()).to_pylist(),
                got.column("value").to_pylist(),
                strict=True,
            )
        )
        == sorted(zip(want["ts"].tolist(), want["value"].tolist(), strict=True))
    )
    if dedupe is not None:
        assert got.column("value").to_pylist() == want["value"].tolist()
    if rows and dedupe is None:  # deciding by the file's arrival range gives the same rows
        view = View(as_of, _stones(known))
        rule = by_time(view, min(arrived), max(arrived))
        if rule == SKIP:
            assert got.num_rows == 0
        elif rule != NEEDS_ARRIVAL:
            assert not isinstance(rule, str)
            cut = drop_ranges(table.drop_columns(["arrived"]), rule)
            assert cut.to_pylist() == got.to_pylist()
    history = history_table(table, _stones(known), as_of)
    expected = ref.history(as_of)
    assert history.column("value").to_pylist() == expected["value"].tolist()
    for column in ("superseded_at", "deleted_at"):
        got_ns = history.column(column).cast(pa.int64()).to_pylist()
        assert got_ns == [None if pd.isna(x) else int(x) for x in expected[column]]


def test_dedupe_without_arrived_keeps_read_order() -> None:
    table = pa.table(
        {
            "timestamp": pa.array([1, 1, 2], pa.int64()).cast(_TS),
            "value": pa.array([1.0, 2.0, 3.0]),
        }
    )
    assert dedupe_rows(table, "last").column("value").to_pylist() == [2.0, 3.0]
    assert dedupe_rows(table, "first").column("value").to_pylist() == [1.0, 3.0]


def test_a_thousand_tombstones_are_one_pass() -> None:
    """1,000 tombstones over 100,000 rows: the mask equals a per-tombstone loop."""
    rng = np.random.default_rng(7)
    ts = np.sort(rng.integers(0, 1_000_000, 100_000)).astype(np.int64)
    arrived = rng.integers(0, 1000, len(ts)).astype(np.int64)
    starts = rng.integers(0, 1_000_000, 1000)
    stones = [(int(s), int(s + rng.integers(1, 2000)), int(rng.integers(0, 1000))) for s in starts]
    mask = deleted_mask(ts, arrived, _stones(stones))
    want = np.zeros(len(ts), bool)
    for s, e, r in stones:
        want |= (ts >= s) & (ts < e) & (arrived < r)
    assert np.array_equal(mask, want)
