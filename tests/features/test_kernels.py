"""The feature kernels of issue 18 against the plain per-window references: pandas'
`Series.skew()` / `Series.kurt()`, `np.polyfit`, and numpy on each window's non-NaN
values, over random data with NaN, duplicate and irregular timestamps, and windows that
are empty, tiny, overlapping or apart (and gathered in tiny chunks, so every chunk
boundary is crossed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from unittest import mock

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hfdata.errors import InvalidArgument
from hfdata.features import kernels
from hfdata.features.kernels import KERNELS, ROW_WISE, WindowKernels, window_features

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

EPOCH_2026 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z in ns
STEP = 10_000_000  # 100 Hz


# -- the references: one window's non-NaN values and their times -------------------------
def _seconds(t: Ints) -> Floats:
    return np.asarray((t - t[0]) / 1e9, dtype=np.float64)


def reference(name: str, v: Floats, t: Ints) -> float:
    """Feature `name` of one window, the plain way (NaN already dropped)."""
    if name == "abs_energy":
        return float(np.sum(v * v))
    if not len(v):
        return math.nan
    if name == "skew":
        return float(pd.Series(v).skew())  # type: ignore[arg-type]
    if name == "kurt":
        return float(pd.Series(v).kurt())  # type: ignore[arg-type]
    if name == "slope":
        s = _seconds(t)
        if len(v) < 2 or (s == s[0]).all():
            return math.nan
        return float(np.polyfit(s, v, 1)[0])
    x = v - v.mean()
    if name == "zero_crossings":
        x = x[x != 0]
        return float(np.count_nonzero(np.sign(x[1:]) != np.sign(x[:-1])))
    assert name == "dominant_frequency"
    if len(v) < 2:
        return math.nan
    d = float(np.median(np.diff(t))) / 1e9  # the spacing in exact ns, then seconds
    if d == 0:
        return math.nan
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(v), d)[1 + np.argmax(spectrum[1:])])


def row_reference(name: str, v: Floats) -> float:
    """Read's aggregation `name` of one window, as pandas' Series method (NaN dropped)."""
    s = pd.Series(v, dtype=np.float64)
    if name == "ptp":
        return float(s.max() - s.min()) if len(v) else math.nan
    if name == "rms":
        return float(np.sqrt((s * s).mean())) if len(v) else math.nan
    return float(getattr(s, name)())


def tolerance(name: str, v: Floats, t: Ints) -> float:
    """The absolute tolerance where the true value is about 0: 1e-12 of the feature's
    scale on this window (dimensionless for skew and kurt)."""
    spread = float(np.ptp(v)) if len(v) else 0.0
    if name == "slope" and len(t) > 1:
        return 1e-12 * max(spread, 1.0) / max(float(np.ptp(_seconds(t))), 1e-9)
    if name == "abs_energy":
        return 1e-12 * float(np.sum(v * v))
    return 1e-12


# -- random windows over random series ----------------------------------------------------
@dataclass(frozen=True)
class Case:
    values: Floats
    ns: Ints
    starts: Ints
    ends: Ints


# values on a dyadic grid (exact sums, values often equal to their window's mean, ties
# and constant runs), well conditioned (spread >= 1/16 against magnitudes <= 64)
_VALUE = st.one_of(
    st.integers(-1024, 1024).map(lambda k: k / 16),
    st.integers(-3, 3).map(float),
    st.just(math.nan),
)
# steps between timestamps: duplicates, the regular step, jitter, gaps
_STEP = st.one_of(
    st.just(0),
    st.just(STEP),
    st.integers(STEP - STEP // 10, STEP + STEP // 10),
    st.integers(1, 10**12),
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    values = np.array(draw(st.lists(_VALUE, max_size=80)), dtype=np.float64)
    n = len(values)
    steps = draw(st.lists(_STEP, min_size=n, max_size=n))
    base = draw(st.sampled_from([0, EPOCH_2026]))
    ns = base + np.cumsum(np.array(steps, dtype=np.int64))
    # windows: sorted starts and lengths 0..12 (ends made non-decreasing), so they come
    # empty, of 1..4 values, overlapping, adjacent, or apart with gaps between
    count = draw(st.integers(0, 25))
    starts = np.sort(np.array(draw(st.lists(st.integers(0, n), min_size=count, max_size=count))))
    lengths = np.array(draw(st.lists(st.integers(0, 12), min_size=count, max_size=count)))
    ends = np.maximum.accumulate(np.minimum(starts + lengths, n)) if count else starts
    return Case(values, ns, starts.astype(np.int64), np.asarray(ends, dtype=np.int64))


def check(case: Case, names: tuple[str, ...] = KERNELS, *, swept: bool = False) -> None:
    """Every kernel in `names` against its reference; with `swept`, the kernels are
    announced (so one sweep computes them all) and read's row-wise aggregations are
    checked too."""
    wanted = (*names, *ROW_WISE) if swept else ()
    computed = WindowKernels(case.values, case.ns, case.starts, case.ends, wanted)
    if swept:
        for name in sorted(ROW_WISE):
            got = computed.aggregate(name)
            for i, (s, e) in enumerate(zip(case.starts, case.ends, strict=True)):
                v = case.values[s:e][~np.isnan(case.values[s:e])]
                want = row_reference(name, v)
                if math.isnan(want):
                    assert math.isnan(got[i]), (name, i, got[i], v)
                else:
                    assert got[i] == pytest.approx(want, rel=1e-9, abs=1e-12), (name, i, v)
    for name in names:
        got = computed.compute(name)
        assert got.shape == case.starts.shape
        assert got.dtype == np.float64
        for i, (s, e) in enumerate(zip(case.starts, case.ends, strict=True)):
            window = case.values[s:e]
            kept = ~np.isnan(window)
            v, t = window[kept], case.ns[s:e][kept]
            want = reference(name, v, t)
            if math.isnan(want):
                assert math.isnan(got[i]), (name, i, got[i], v, t)
            else:
                tol = tolerance(name, v, t)
                assert got[i] == pytest.approx(want, rel=1e-9, abs=tol), (name, i, v, t)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=cases(),
    chunk=st.sampled_from([1, 5, 64, kernels.CHUNK]),
    rows=st.sampled_from([1, 7, kernels.ROWS]),
    swept=st.booleans(),
)
def test_every_kernel_equals_the_per_window_reference(
    case: Case, chunk: int, rows: int, swept: bool
) -> None:
    with mock.patch.object(kernels, "CHUNK", chunk), mock.patch.object(kernels, "ROWS", rows):
        check(case, swept=swept)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    missing=st.sampled_from([0.0, 0.1, 0.5]),
    stride=st.sampled_from([7, 25, 50]),
)
def test_random_floats_long_overlapping_windows(seed: int, missing: float, stride: int) -> None:
    """Gaussian values (no exact ties) over jittered 100 Hz times at 2026, windows of 50
    rows every `stride` rows (overlapping, tiling, or with gaps between)."""
    rng = np.random.default_rng(seed)
    n = 600
    values = rng.normal(3.0, 2.0, n)
    values[rng.random(n) < missing] = np.nan
    ns = EPOCH_2026 + np.cumsum(rng.integers(STEP - 1000, STEP + 1000, n))
    starts = np.arange(0, n, stride, dtype=np.int64)
    check(Case(values, ns, starts, np.minimum(starts + 50, n)), swept=True)


def test_values_on_their_mean_are_dropped_as_numpy_decides() -> None:
    """Decimals whose true mean is one of them: whether a value equals its window's mean
    depends on the order of the sum, and the kernels' order is numpy's (pairwise), so
    the zero crossings (and the spectra) match `v - v.mean()` bit for bit. A sequential
    sum (reduceat) decides differently on about a quarter of these windows."""
    rng = np.random.default_rng(3)
    pieces = [rng.permutation(np.tile([0.1, 0.2, 0.3], k)) for k in range(3, 40)]
    values = np.concatenate(pieces)
    sizes = np.array([len(p) for p in pieces])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    ns = np.arange(len(values), dtype=np.int64) * STEP
    check(Case(values, ns, starts, starts + sizes), ("zero_crossings", "dominant_frequency"))


def test_a_pure_sine_gives_its_frequency_exactly() -> None:
    """200 points at 100 Hz hold whole periods of k/2 Hz: the peak is that bin, exactly."""
    n = 200
    ns = EPOCH_2026 + np.arange(n, dtype=np.int64) * STEP
    t = np.arange(n) / 100
    for k in range(1, 100):
        for wave in (np.sin, np.cos):
            values = 5.0 + wave(2 * np.pi * (k / 2) * t)
            got = window_features("dominant_frequency", values, ns, _i([0]), _i([n]))
            assert got[0] == k / 2, (k, wave)


def test_two_windows_of_different_sines_each_find_their_own() -> None:
    ns = np.arange(400, dtype=np.int64) * STEP
    t = np.arange(200) / 100
    values = np.concatenate([np.sin(2 * np.pi * 3 * t), np.sin(2 * np.pi * 11.5 * t)])
    got = window_features("dominant_frequency", values, ns, _i([0, 200, 100]), _i([200, 400, 300]))
    assert got[0] == 3.0
    assert got[1] == 11.5
    assert not math.isnan(got[2])


def test_constant_windows() -> None:
    """All values equal: skew and kurt NaN (pandas' zero variance), no zero crossing,
    abs_energy n * c**2, slope 0 (exactly: every deviation is the same number)."""
    for c in (0.0, 0.1, -7.3, 1e9 + 0.5):
        values = np.full(9, c)
        ns = EPOCH_2026 + np.arange(9, dtype=np.int64) * STEP
        starts, ends = _i([0, 0, 2, 5]), _i([9, 4, 7, 9])
        computed = WindowKernels(values, ns, starts, ends)
        assert np.isnan(computed.compute("skew")).all()
        assert np.isnan(computed.compute("kurt")).all()
        assert pd.isna(pd.Series(values).skew()) and pd.isna(pd.Series(values).kurt())
        assert (computed.compute("zero_crossings") == 0).all()
        assert computed.compute("abs_energy") == pytest.approx(
            [9 * c * c, 4 * c * c, 5 * c * c, 4 * c * c], rel=1e-12
        )
        assert (computed.compute("slope") == 0).all()


def test_empty_and_short_windows() -> None:
    values = np.array([1.0, np.nan, 2.0, 4.0, 8.0, np.nan])
    ns = np.arange(6, dtype=np.int64) * STEP
    starts, ends = _i([0, 1, 5, 0, 0, 0, 0, 6]), _i([0, 2, 6, 1, 3, 4, 5, 6])
    # windows: empty, [nan] (empty), [nan] (empty), 1, 2, 3 and 4 values, empty at the end
    got = {name: window_features(name, values, ns, starts, ends) for name in KERNELS}
    empty = [0, 1, 2, 7]
    assert (got["abs_energy"][empty] == 0).all()
    for name in KERNELS:
        if name != "abs_energy":
            assert np.isnan(got[name][empty]).all(), name
    assert np.isnan(got["skew"][[3, 4]]).all() and not np.isnan(got["skew"][5])
    assert np.isnan(got["kurt"][[3, 4, 5]]).all() and not np.isnan(got["kurt"][6])
    assert np.isnan(got["slope"][3]) and got["slope"][4] == pytest.approx(1 / 0.02)
    assert got["zero_crossings"][3] == 0 and got["zero_crossings"][4] == 1
    assert np.isnan(got["dominant_frequency"][3])
    assert got["dominant_frequency"][4] == pytest.approx(1 / (2 * 0.02))


def test_slope_keeps_its_precision_at_epoch_offsets() -> None:
    """A line of 0.25 per second sampled around 2026 (and 50 years on): the slope is
    0.25, and the same as at epoch 0, although ns / 1e9 there has only ~1e-7 s of
    resolution."""
    rng = np.random.default_rng(7)
    offsets = np.sort(rng.integers(0, 60 * 10**9, 300))
    for base in (0, EPOCH_2026, EPOCH_2026 + 50 * 365 * 86_400 * 10**9):
        ns = base + offsets
        values = 3.0 + 0.25 * (offsets - offsets[0]) / 1e9
        got = window_features("slope", values, ns, _i([0, 17, 100]), _i([300, 40, 101]))
        assert got[0] == pytest.approx(0.25, rel=1e-12)
        assert got[1] == pytest.approx(0.25, rel=1e-12)
        assert np.isnan(got[2])


def test_duplicate_times_only() -> None:
    """Every time equal: slope and dominant_frequency NaN (no spacing), the rest defined."""
    values = np.array([1.0, 5.0, 2.0, 7.0])
    ns = np.full(4, EPOCH_2026, dtype=np.int64)
    computed = WindowKernels(values, ns, _i([0]), _i([4]))
    assert np.isnan(computed.compute("slope")[0])
    assert np.isnan(computed.compute("dominant_frequency")[0])
    assert computed.compute("skew")[0] == pytest.approx(pd.Series(values).skew(), rel=1e-12)
    assert computed.compute("zero_crossings")[0] == 3


def test_infinities_and_overflows_warn_nothing() -> None:
    """Warnings are errors under pytest (and in callers' test suites): an infinity or a
    square past 1.8e308 gives inf or NaN quietly."""
    values = np.array([1.0, np.inf, 2.0, -np.inf, 3.0, 1e308, 1e308, 5.0, 6.0, 7.0])
    ns = np.arange(10, dtype=np.int64) * STEP
    computed = WindowKernels(values, ns, _i([0, 0, 4, 5]), _i([3, 10, 7, 7]))
    for name in KERNELS:
        assert computed.compute(name).shape == (4,)
    assert (computed.compute("abs_energy") == np.inf).all()
    assert np.isnan(computed.compute("skew")).all()


def test_a_name_that_is_not_a_kernel_is_refused() -> None:
    computed = WindowKernels(np.zeros(3), np.arange(3), _i([0]), _i([3]))
    for bad in ("mean", "moments", "__init__", "_skew", ""):
        with pytest.raises(InvalidArgument, match="is not a kernel") as caught:
            computed.compute(bad)
        assert caught.value.argument == "funcs"


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="one length"):
        WindowKernels(np.zeros(3), np.arange(4), _i([0]), _i([3]))
    with pytest.raises(InvalidArgument, match="as many window"):
        WindowKernels(np.zeros(3), np.arange(3), _i([0, 1]), _i([3]))


def _i(items: list[int]) -> Ints:
    return np.array(items, dtype=np.int64)
