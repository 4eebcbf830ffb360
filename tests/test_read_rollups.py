"""`read(resample=..., rollups=True)` answered from rollups, against `rollups=False`.

Every composable aggregation (count, sum, mean, min, max, first, last, ohlc, std, var,
sem) of float, int and bool variables, on random data with gaps, duplicate timestamps,
NaN and nulls, late data (several files per partition), part compacted and part in the
log, rules that are and are not multiples of a rollup resolution, origins and offsets on
and off its grid, `start`/`end` cutting bins. count, min, max, first, last and ohlc must
equal the point read exactly (values and Arrow types); sum, mean, std, var and sem
within 1e-12 relative to the size of the values (the documented bound); a read that does
not compose must equal it exactly. Files are read with no rollup sidecar, with one for
every file, or for some (`_sidecars`: a sidecar as compaction writes it, the rollup of
the file's every point, through the root and read back by `load_rollups`), so both ways
of reading a file and their mix are exercised.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import hfdata
from hfdata.kinds import Kind
from hfdata.parquet.reader import read_parquet
from hfdata.parquet.rollups import build
from hfdata.parquet.root import PartFile
from hfdata.parquet.sidecars import encode_rollup, rollup_rel
from hfdata.read import fromrollups, query
from hfdata.read.aggregate import parse_aggs
from hfdata.read.bins import parse_bin_rule
from hfdata.read.files import read_parquets
from hfdata.read.rows import timestamps
from hfdata.read.snapshot import list_variable
from hfdata.timeparse import NS_MAX, NS_MIN
from hfdata.tools.cli import main

T0 = pd.Timestamp("2024-03-09T21:00:00Z")
EXACT = frozenset({"count", "min", "max", "first", "last", "ohlc"})
COMPOSED = ("count", "sum", "mean", "min", "max", "first", "last", "ohlc", "std", "var", "sem")
RULES = ("1min", "2min", "5min", "7min", "15min", "1h", "2h", "3h", "90s", "45s", "1D")
ORIGINS = (
    "start_day",
    "epoch",
    "start",
    "end",
    "end_day",
    "2024-03-09T20:00:00Z",  # on the 1 h grid
    "2024-03-09T20:03:00Z",  # on the 1 min grid only
    "2024-03-09T20:00:30Z",  # off both
)
OFFSETS = (None, "1min", "30s", "-1h", "5min")


# -- helpers ---------------------------------------------------------------------------------


RESOLUTIONS = ("1min", "1h")  # the store's default rollups


def _sidecars(store: hfdata.Store, variable: str, mode: str) -> None:
    """Leave the store's files with rollup sidecars (as compaction writes them: the rollup
    of the file's every point, through the root) for `"all"` files, `"some"` (every other
    one) or `"none"` (the others' sidecars deleted, as for a store from before them)."""
    files = list_variable(
        store.root,
        store.parts,
        variable,
        store.settings.partition,
        NS_MIN,
        NS_MAX,
        include_log=False,
    ).parquet
    for i, f in enumerate(files):
        rels = [rollup_rel(f, rule) for rule in RESOLUTIONS]
        if mode == "none" or (mode == "some" and i % 2):
            store.parts.delete_sidecars(rels)
            continue
        table = read_parquet(f, NS_MIN, NS_MAX, ["timestamp", "value"])
        assert table is not None
        kind: Kind = f.rel.split("/")[0].removeprefix("kind=")  # type: ignore[assignment]
        for rel, rule in zip(rels, RESOLUTIONS, strict=True):
            with np.errstate(invalid="ignore", over="ignore"):  # infinities
                rollup = build(
                    timestamps(table),
                    table.column("value").combine_chunks(),
                    kind,
                    int(pd.Timedelta(rule).value),
                )
            store.parts.put_sidecar(rel, encode_rollup(rollup))


@contextlib.contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[Any]:
    """`module.name` is `value` inside (yields the original); the original again after."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield saved
    finally:
        setattr(module, name, saved)


@contextlib.contextmanager
def _point_reads() -> Iterator[list[tuple[int, int]]]:
    """The `[lo, last]` spans a rollup read takes from the points of Parquet files."""
    reads: list[tuple[int, int]] = []

    def spy(files: Sequence[PartFile], lo: int, last: int, columns: Sequence[str]) -> Any:
        reads.append((lo, last))
        return read_parquets(files, lo, last, columns)

    with _patched(fromrollups, "read_parquets", spy):
        yield reads


@contextlib.contextmanager
def _spy() -> Iterator[list[int]]:
    """Counts the variables a read answered from rollups."""
    calls: list[int] = []
    saved = fromrollups.resample_rollup

    def spy(*args: Any, **kwargs: Any) -> dict[str, pa.Array]:
        calls.append(1)
        return saved(*args, **kwargs)

    with _patched(query, "resample_rollup", spy):
        yield calls


def _methods(aggs: Sequence[str]) -> dict[str, str]:
    """Result column -> aggregation, as `read` names the columns of `agg=aggs`."""
    if len(aggs) == 1 and aggs[0] != "ohlc":
        return {"value": aggs[0]}
    out: dict[str, str] = {}
    for a in aggs:
        for c in ("open", "high", "low", "close") if a == "ohlc" else (a,):
            out[c] = a
    return out


def _tolerance(method: str, values: Sequence[Any]) -> float:
    """The documented bound: 1e-12 of the values' size (sum: the sum of magnitudes;
    mean, std, sem: the largest magnitude; var: its square)."""
    finite = np.array([float(v) for v in values if v is not None and np.isfinite(float(v))])
    if not len(finite):
        return 0.0
    big = float(np.abs(finite).max())
    scale = {"sum": float(np.abs(finite).sum()), "var": big * big}.get(method, big)
    return 1e-12 * scale


def _same(
    fast: pa.Table, slow: pa.Table, aggs: Sequence[str], values: Sequence[Any], *, exact: bool
) -> None:
    """`fast` equals `slow`: schema (names and Arrow types), timestamps, and each column
    exactly (or within the bound for sum, mean, std, var, sem unless `exact`)."""
    assert fast.schema == slow.schema, (fast.schema, slow.schema)
    assert fast.column("timestamp").equals(slow.column("timestamp"))
    methods = _methods(aggs) if "value" in fast.column_names or len(aggs) > 1 else {}
    for name in fast.column_names[1:]:
        method = methods.get(name.rsplit(".", 1)[-1], "count")
        a, b = fast.column(name), slow.column(name)
        if exact or method in EXACT or not pa.types.is_floating(a.type):
            assert a.equals(b), (name, a.to_pylist(), b.to_pylist())
            continue
        assert a.is_null().equals(b.is_null()), (name, a.to_pylist(), b.to_pylist())
        x = np.asarray(a.to_numpy(zero_copy_only=False), float)
        y = np.asarray(b.to_numpy(zero_copy_only=False), float)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=_tolerance(method, values), err_msg=name)


def _outcome(store: hfdata.Store, variable: Any, **options: Any) -> tuple[str, Any]:
    """The read's table, or its error (type and message): both ways must fail alike,
    also where the point read fails untyped (the sum of a bool variable holding nulls
    raises pyarrow's ArrowTypeError there)."""
    try:
        return "ok", store.read(variable, output="arrow", **options)
    except Exception as exc:
        return "error", (type(exc), str(exc))


def _append(store: hfdata.Store, name: str, kind: Kind, points: list[tuple[int, Any]]) -> None:
    if not points:
        return
    types = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    table = pa.table(
        {
            "timestamp": pa.array([T0.value + ns for ns, _ in points], pa.timestamp("ns", "UTC")),
            "value": pa.array([v for _, v in points], types[kind]),
        }
    )
    store.append_many(name, table, kind=kind)


def _values(kind: str, missing: bool) -> st.SearchStrategy[Any]:
    """Values of `kind`, with ties; with `missing`, NaN (floats) or nulls (int, bool)."""
    if kind == "float":
        values = st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
            st.integers(-3, 3).map(float),
            st.just(0.1),
        )
        return st.one_of(values, st.just(float("nan"))) if missing else values
    values = st.one_of(st.integers(-(10**12), 10**12), st.integers(-3, 3))
    if kind == "bool":
        values = st.booleans()
    return st.one_of(values, st.none()) if missing else values


# seconds within ~5 h on a 17 s grid: duplicates, gaps, hour and minute boundaries crossed
_OFFSETS = st.integers(0, 1100).map(lambda k: k * 17_000_000_000)
_LENGTHS = st.one_of(
    st.integers(1, 6).map(lambda h: h * 3_600_000_000_000),
    st.integers(1, 20_000).map(lambda s: s * 1_000_000_000),
)
_BOUNDS = st.one_of(
    st.none(),
    st.integers(-2, 6).map(lambda h: h * 3_600_000_000_000),  # on the hour
    st.integers(-60, 330).map(lambda m: m * 60_000_000_000),  # on a minute
    st.integers(-600, 20_000).map(lambda s: s * 1_000_000_000 + 250_000_000),  # off both
)


@st.composite
def _cases(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["float", "int", "bool"]))
    missing = draw(st.booleans())
    points = st.lists(st.tuples(_OFFSETS, _values(kind, missing)), max_size=45)
    batches = [draw(points) for _ in range(3)]
    aggs = draw(st.lists(st.sampled_from(COMPOSED), min_size=1, max_size=4, unique=True))
    start = draw(_BOUNDS)
    end = draw(_BOUNDS)
    if start is not None and end is not None and end <= start:
        end = start + draw(_LENGTHS)  # a window: end after start
    origin = draw(st.sampled_from(ORIGINS[:2] * 3 + ORIGINS))
    ends = origin in ("end", "end_day")
    return {
        "kind": kind,
        "batches": batches,
        "aggs": aggs,
        "rule": draw(st.sampled_from(RULES[:6] * 2 + RULES)),
        "origin": origin,
        "offset": None if ends else draw(st.sampled_from((None, None, *OFFSETS))),
        "closed": draw(st.sampled_from([None, None, None, "left", "right"])),
        "start": None if start is None else T0 + pd.Timedelta(start, "ns"),
        "end": None if end is None else T0 + pd.Timedelta(end, "ns"),
        "sidecars": draw(st.sampled_from(["none", "all", "some"])),
        "partition": draw(st.sampled_from(["hour", "day"])),
    }


# -- the property ----------------------------------------------------------------------------


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_cases())
def test_rollup_reads_equal_point_reads(case: dict[str, Any]) -> None:
    kind = case["kind"]
    with tempfile.TemporaryDirectory() as tmp:
        store = hfdata.open_store(Path(tmp) / "s", partition=case["partition"])
        try:
            first, late, tail = case["batches"]
            _append(store, "v", kind, first)
            store.compact(include_active=True)
            _append(store, "v", kind, late)  # late data: a second file in the partitions
            store.compact(include_active=True)
            _append(store, "v", kind, tail)  # in the log
            if not any(case["batches"]):
                _append(store, "v", kind, [(0, None)])
            options = {k: case[k] for k in ("start", "end", "origin", "offset", "closed")} | {
                "resample": case["rule"],
                "agg": case["aggs"],
            }
            slow = _outcome(store, "v", rollups=False, **options)
            _sidecars(store, "v", case["sidecars"])
            with _spy() as used:
                fast = _outcome(store, "v", **options)
        finally:
            store.close()
    event(f"{kind}: {'rollups' if used else 'points'}, {fast[0]}")
    assert fast[0] == slow[0], (fast, slow)
    if slow[0] == "error":
        assert fast[1] == slow[1]
        return
    values = [v for batch in case["batches"] for _, v in batch]
    _same(fast[1], slow[1], case["aggs"], values, exact=not used)


# -- which reads compose ---------------------------------------------------------------------


H = 3_600_000_000_000


@pytest.mark.parametrize(
    ("rule", "options", "bounded", "expected"),
    [
        ("1h", {}, False, "1h"),
        ("2h", {}, False, "1h"),
        ("30min", {}, False, "1min"),
        ("7min", {}, False, "1min"),  # 1 min divides 7 min and a day: midnights on its grid
        ("90s", {}, False, None),  # no resolution divides 90 s
        ("45s", {}, False, None),
        ("1D", {}, False, None),  # a calendar day
        ("1h", {"closed": "right"}, False, None),  # a rollup bin holds its start, not its end
        ("1h", {"offset": "30min"}, False, "1min"),
        ("1h", {"offset": "30s"}, False, None),
        ("1h", {"origin": "epoch"}, False, "1h"),
        ("1h", {"origin": "2024-03-09T20:03:00Z"}, False, "1min"),
        ("1h", {"origin": "2024-03-09T20:00:30Z"}, False, None),
        ("1h", {"origin": "start", "closed": "left"}, False, None),  # the first point's time
        ("1h", {"origin": "start", "closed": "left"}, True, "1h"),  # the window's start
        ("1h", {"origin": "end", "closed": "left"}, False, None),
    ],
)
def test_choose_takes_the_largest_resolution_on_the_bins_grid(
    rule: str, options: dict[str, Any], bounded: bool, expected: str | None
) -> None:
    bin_rule = parse_bin_rule(rule, **options, to_ns=lambda t: pd.Timestamp(t).value)
    lo, last = (T0.value, T0.value + 5 * H - 1) if bounded else (NS_MIN, NS_MAX)
    chosen = fromrollups.choose(
        bin_rule, parse_aggs("mean"), ("1min", "1h"), lo, last, bounded=bounded
    )
    assert (chosen.rule if chosen else None) == expected


@pytest.mark.parametrize("agg", ["median", "nunique", "rms", "ptp", "twa", "q90", np.mean])
def test_aggregations_that_do_not_compose_read_the_points(agg: Any) -> None:
    rule = parse_bin_rule("1h")
    assert fromrollups.choose(rule, parse_aggs(agg), ("1h",), NS_MIN, NS_MAX, bounded=False) is None
    assert (
        fromrollups.choose(rule, parse_aggs(["count", agg]), ("1h",), NS_MIN, NS_MAX, bounded=False)
        is None
    )


def _filled_store(store: hfdata.Store) -> None:
    rng = np.random.default_rng(7)
    n = 4000
    ns = np.sort(rng.integers(0, 30 * H, n))
    values = rng.normal(10, 3, n)
    values[rng.random(n) < 0.05] = np.nan
    frame = pd.DataFrame({"timestamp": pd.to_datetime(T0.value + ns, utc=True), "value": values})
    store.append_many("x", frame.iloc[:3000])
    store.compact(include_active=True)
    store.append_many("x", frame.iloc[3000:])
    store.append_many("s", pd.DataFrame({"timestamp": frame.timestamp, "value": "a"}))
    ints = pa.table(
        {
            "timestamp": pa.array(T0.value + ns[::7], pa.timestamp("ns", "UTC")),
            "value": pa.array(rng.integers(-50, 50, len(ns[::7])), pa.int64()),
        }
    )
    store.append_many("i", ints, kind="int")


@pytest.mark.parametrize(
    ("options", "composes"),
    [
        ({"resample": "1h", "agg": "mean"}, True),
        ({"resample": "3h", "agg": ["sum", "ohlc"], "start": "2024-03-10T01:30Z"}, True),
        ({"resample": "1h", "agg": ["min", "var"], "include_log": False}, True),
        ({"resample": "30min", "agg": "std", "end": "2024-03-10T20:00:00.5Z"}, True),
        ({"resample": "1h", "agg": "mean", "dedupe": "last"}, False),
        ({"resample": "1h", "agg": "median"}, False),
        ({"resample": "90s", "agg": "mean"}, False),
        ({"resample": "1h", "agg": "mean", "rollups": False}, False),
    ],
)
def test_a_read_uses_rollups_only_when_it_composes(
    store: hfdata.Store, options: dict[str, Any], composes: bool
) -> None:
    _filled_store(store)
    with _spy() as used:
        got = store.read("x", **options)
    assert bool(used) is composes
    reference = store.read("x", **(options | {"rollups": False}))
    pd.testing.assert_frame_equal(got, reference, check_exact=not composes, rtol=1e-12)


def test_several_variables_each_as_it_can(store: hfdata.Store) -> None:
    """Wide and long: numeric variables from rollups, a string variable from its points,
    on the grid `rollups=False` makes."""
    _filled_store(store)
    cases: list[tuple[Literal["long", "wide"], list[str], Any]] = [
        ("wide", ["x", "i"], ["mean", "max", "count"]),
        ("long", ["x", "i"], "mean"),
        ("wide", ["x", "s"], ["count", "last"]),
    ]
    for how, names, agg in cases:
        with _spy() as used:
            got = store.read(names, resample="2h", agg=agg, how=how, start="2024-03-09T22:10Z")
        assert len(used) == sum(n != "s" for n in names)
        reference = store.read(
            names, resample="2h", agg=agg, how=how, start="2024-03-09T22:10Z", rollups=False
        )
        pd.testing.assert_frame_equal(got, reference, rtol=1e-12)


def test_fills_apply_after_rollups(store: hfdata.Store) -> None:
    _filled_store(store)
    options: dict[str, Any] = {
        "resample": "15min",
        "agg": ["mean", "last"],
        "fill": "ffill",
        "limit": 2,
    }
    with _spy() as used:
        got = store.read("x", **options)
    assert used
    pd.testing.assert_frame_equal(got, store.read("x", rollups=False, **options), rtol=1e-12)


def test_only_the_cut_bins_and_files_without_rollups_read_points(store: hfdata.Store) -> None:
    """With every file's sidecar, points are read only for the two cut rollup bins."""
    _filled_store(store)
    store.compact(include_active=True)
    _sidecars(store, "x", "all")
    with _point_reads() as reads:
        got = store.read("x", "2024-03-10T00:20Z", "2024-03-10T05:40Z", resample="1h")
    assert reads
    assert all(last - lo < H for lo, last in reads)  # each within one cut 1 h bin
    reference = store.read(
        "x", "2024-03-10T00:20Z", "2024-03-10T05:40Z", resample="1h", rollups=False
    )
    pd.testing.assert_frame_equal(got, reference, rtol=1e-12)


def test_exact_aggregations_with_infinities_and_ties(store: hfdata.Store) -> None:
    """Equal timestamps across files and the log keep read order for first and last;
    infinities are extremes like any value."""
    t = [T0 + pd.Timedelta(minutes=m) for m in (0, 0, 1, 59, 59, 61)]
    store.append_many("x", pd.DataFrame({"timestamp": t[:3], "value": [1.0, np.inf, -2.0]}))
    store.compact(include_active=True)
    store.append_many("x", pd.DataFrame({"timestamp": t, "value": [5.0, 6.0, -np.inf, 7, 8, 9]}))
    store.compact(include_active=True)
    store.append_many("x", pd.DataFrame({"timestamp": t[3:], "value": [np.nan, 3.0, 4.0]}))
    for sidecars in ("none", "all"):
        _sidecars(store, "x", sidecars)
        with _spy() as used:
            got = store.read("x", resample="1h", agg=["first", "last", "ohlc", "count", "sum"])
        assert used
        reference = store.read(
            "x", resample="1h", agg=["first", "last", "ohlc", "count", "sum"], rollups=False
        )
        pd.testing.assert_frame_equal(got, reference, check_exact=True)
        assert got["first"].iloc[0] == 1.0 and got["last"].iloc[0] == 3.0


def test_cli_no_rollups_reads_the_points(
    store: hfdata.Store, capsys: pytest.CaptureFixture[str]
) -> None:
    _filled_store(store)
    store.close()
    args = ["read", str(store.root), "x", "--resample", "1h", "--agg", "count"]
    with _spy() as used:
        assert main(args) == 0
    fast = capsys.readouterr().out
    assert used
    with _spy() as used:
        assert main([*args, "--no-rollups"]) == 0
    assert not used
    assert capsys.readouterr().out == fast


@pytest.mark.parametrize(
    ("rollups", "rule", "composes"),
    [((), "1h", False), (("15min",), "30min", True), (("15min",), "20min", False)],
)
def test_the_stores_own_resolutions(
    make_store: Callable[..., hfdata.Store], rollups: tuple[str, ...], rule: str, composes: bool
) -> None:
    store = make_store(rollups=rollups)
    _filled_store(store)
    with _spy() as used:
        got = store.read("x", resample=rule, agg=["mean", "max"])
    assert bool(used) is composes
    pd.testing.assert_frame_equal(
        got, store.read("x", resample=rule, agg=["mean", "max"], rollups=False), rtol=1e-12
    )


def test_compaction_sidecars_spare_the_points(store: hfdata.Store) -> None:
    """The sidecars compaction writes are what a read uses: over whole rollup bins no
    point of a compacted file is read; a store without them reads the same frame."""
    _filled_store(store)
    store.compact(include_active=True)
    options: dict[str, Any] = {"resample": "2h", "agg": COMPOSED}
    window: dict[str, Any] = {"start": "2024-03-09T22:00Z", "end": "2024-03-10T22:00Z"}
    with _point_reads() as reads:
        got = store.read("x", **options, **window)
        whole = store.read("x", **options)
    assert reads == []
    reference = store.read("x", **options, **window, rollups=False)
    pd.testing.assert_frame_equal(got, reference, rtol=1e-12)
    _sidecars(store, "x", "none")
    hfdata.read.query.clear_cache()
    pd.testing.assert_frame_equal(store.read("x", **options), whole, rtol=1e-12)
