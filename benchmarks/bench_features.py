"""Workload 11 (issue 18): batch feature extraction with `Store.features`.

    python -m benchmarks.bench_features            full size (the 100 M point store is built once)
    python -m benchmarks.bench_features --quick    small sizes, a few seconds

Features: mean, std, min, max, rms, ptp, zero_crossings and dominant_frequency on
10 s windows (`FEATURES`).

* Speed. 10 variables of 6 hours at 100 Hz (2,160,000 points each, 21,600,000 in all;
  a sine of its own frequency per variable, noise and a slow drift), compacted. Contenders:
  - hfdata `Store.features` with the default workers (the cores) and with `workers=1`;
  - the plain pandas route a user writes (baseline, its reads timed too): `read` each
    variable, `resample("10s").agg(["mean", "std", "min", "max"])`, rms as the root of the
    resampled mean of squares, ptp as max - min, and `.apply` of `zero_crossings` and
    `dominant_frequency` written as a user would (per docs: the non-NaN values minus
    their mean, zeros skipped; the peak of |rfft| of the de-meaned values, DC excluded,
    at the median spacing of the window's timestamps);
  - tsflex 0.4 (peer) on the frames hfdata's `read` returns (read once, untimed): one
    function per feature on 10 s windows and strides, with its default `n_jobs` (the
    cores) and `n_jobs=1`. Its dominant frequency takes the sampling interval as known
    (0.01 s), the way tsflex users pass it; on this regular data that is each window's
    median spacing, so the work is the same.
  Targets: hfdata (default workers) at least 5x the pandas route and at least 3x the
  faster tsflex setting; the results must be equal (allclose) to both, per variable,
  else the target is NOT MET whatever it measured.
* Memory. One variable at 40 Hz over 30 days (103,536,000 points: an hour missing, NaN
  now and then and for a whole minute; bench_dask's `Recipe`), built through the public
  API a day at a time with compactions every five days, and cached under the scratch
  directory (`benchmarks/_work/features-memory/`) as bench_dask caches its store. Its
  features are computed in a fresh child process, with the default workers and with
  `workers=1`. The target: the job's peak memory less the child's resident set when its
  interpreter started, under 1 GiB. The job's peak is the largest sum of PSS over that
  process and every process it started, sampled every 20 ms (PSS splits a page shared
  after a fork among its sharers, so the sum is the memory they take together), or the
  process's own `VmHWM` if that is higher. Reported beside it: the largest sampled sum
  of RSS and each process's `VmHWM` summed (an upper bound: the peaks come at different
  times and shared pages count in each). The build runs in a child process too and its
  peak is reported. `--quick` uses a two-day 10 Hz store in
  a scratch directory that is removed after: it checks the machinery, not the bound.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hfdata
from benchmarks._harness import Contender, cache_dir, compare, note, scratch_dir, target
from benchmarks.bench_dask import DAY_NS, HOUR_NS, VARIABLE, Recipe, cached

__all__ = [
    "FEATURES",
    "MEMORY",
    "MEMORY_QUICK",
    "dominant_frequency",
    "pandas_route",
    "probe",
    "run",
    "zero_crossings",
]

W = "11"
_SOURCE = "issue 18"
_ROOT = Path(__file__).resolve().parent.parent
FEATURES = (
    "mean",
    "std",
    "min",
    "max",
    "rms",
    "ptp",
    "zero_crossings",
    "dominant_frequency",
)
_VARIABLES = [f"v{i}" for i in range(10)]
_WINDOW = "10s"
_HZ = 100
# 3 hours either side of midnight: two day partitions per variable
_START = pd.Timestamp("2026-11-29 21:00", tz="UTC").value
_RTOL = 1e-9
LIMIT_MIB = 1024.0
MIN_MEMORY_POINTS = 100_000_000

MEMORY = Recipe(
    name="features-memory-1",
    start="2026-06-01",
    days=30,
    hz=40,
    missing_days=(),
    gaps=((10, 3 * HOUR_NS, 4 * HOUR_NS),),
    nan_minute=(20, 600),
    nan_every=10_000,
)
MEMORY_QUICK = Recipe(
    name="features-memory-quick-1",
    start="2026-06-01",
    days=2,
    hz=10,
    missing_days=(),
    gaps=((0, 3 * HOUR_NS, 4 * HOUR_NS),),
    nan_minute=(1, 600),
    nan_every=1_000,
)


# -- the data ----------------------------------------------------------------------------


def _frame(i: int, n: int) -> pd.DataFrame:
    """Variable i: 20 + a sine at (2 + i) Hz + noise + a slow random walk, at 100 Hz."""
    rng = np.random.default_rng(1800 + i)
    t = np.arange(n) / _HZ
    values = (
        20.0
        + np.sin(2 * np.pi * (2.0 + i) * t)
        + rng.normal(0.0, 0.5, n)
        + np.cumsum(rng.normal(0.0, 0.005, n))
    )
    ns = _START + np.arange(n, dtype=np.int64) * (1_000_000_000 // _HZ)
    return pd.DataFrame({"timestamp": pd.to_datetime(ns, utc=True), "value": values})


def _build(root: Path, points: int) -> None:
    with hfdata.open_store(root) as store:
        for i, name in enumerate(_VARIABLES):
            store.append_many(name, _frame(i, points))
        store.compact(include_active=True, progress=False)


# -- the pandas route a user writes -----------------------------------------------------


def zero_crossings(window: pd.Series) -> float:
    """Sign changes of the window's non-NaN values minus their mean, exact zeros skipped."""
    x = window.dropna().to_numpy()
    if len(x) == 0:
        return math.nan
    x = x - x.mean()
    x = x[x != 0]
    return float(np.count_nonzero(np.diff(np.sign(x))))


def dominant_frequency(window: pd.Series) -> float:
    """The frequency (Hz) of the largest |rfft| bin of the de-meaned non-NaN values, DC
    left out, at the median spacing of their timestamps."""
    x = window.dropna()
    if len(x) < 2:
        return math.nan
    ns = pd.DatetimeIndex(x.index).as_unit("ns").asi8
    d = float(np.median(np.diff(ns))) / 1e9
    if not d > 0:
        return math.nan
    v = x.to_numpy()
    spectrum = np.abs(np.fft.rfft(v - v.mean()))
    return float(np.fft.rfftfreq(len(v), d)[1 + int(np.argmax(spectrum[1:]))])


def pandas_route(store: hfdata.Store, variables: Sequence[str], window: str) -> pd.DataFrame:
    """The features the plain pandas way, as one long frame like `Store.features`'."""
    frames = []
    for name in variables:
        s = store.read(name)["value"]
        r = s.resample(window)
        f = r.agg(["mean", "std", "min", "max"])
        f["rms"] = np.sqrt((s * s).resample(window).mean())
        f["ptp"] = f["max"] - f["min"]
        f["zero_crossings"] = r.apply(zero_crossings)
        f["dominant_frequency"] = r.apply(dominant_frequency)
        f.insert(0, "variable", name)
        frames.append(f)
    out: pd.DataFrame = pd.concat(frames)
    out.index.name = "window"
    return out


# -- tsflex -------------------------------------------------------------------------------


def _tsflex_or_reason() -> tuple[Any, str]:
    try:
        import tsflex  # type: ignore[import-untyped]
    except ImportError:
        return None, "tsflex not installed (`pip install -e '.[bench]'` or `make bench-env`)"
    return tsflex, ""


def _tsflex_collection(variables: Sequence[str], interval_s: float) -> Any:
    """tsflex's FeatureCollection of FEATURES: one function per feature, numpy arrays in."""
    from tsflex.features import (  # type: ignore[import-untyped]
        FeatureCollection,
        FuncWrapper,
        MultipleFeatureDescriptors,
    )

    def rms(x: np.ndarray[Any, Any]) -> float:
        return float(np.sqrt(np.mean(x * x)))

    def ptp(x: np.ndarray[Any, Any]) -> float:
        return float(np.max(x) - np.min(x))

    def std(x: np.ndarray[Any, Any]) -> float:
        return float(np.std(x, ddof=1))

    def crossings(x: np.ndarray[Any, Any]) -> float:
        x = x - x.mean()
        return float(np.count_nonzero(np.diff(np.sign(x[x != 0]))))

    def dominant(x: np.ndarray[Any, Any]) -> float:
        spectrum = np.abs(np.fft.rfft(x - x.mean()))
        return float(np.fft.rfftfreq(len(x), interval_s)[1 + int(np.argmax(spectrum[1:]))])

    functions = [
        FuncWrapper(np.mean, output_names="mean"),
        FuncWrapper(std, output_names="std"),
        FuncWrapper(np.min, output_names="min"),
        FuncWrapper(np.max, output_names="max"),
        FuncWrapper(rms, output_names="rms"),
        FuncWrapper(ptp, output_names="ptp"),
        FuncWrapper(crossings, output_names="zero_crossings"),
        FuncWrapper(dominant, output_names="dominant_frequency"),
    ]
    return FeatureCollection(
        MultipleFeatureDescriptors(
            functions=functions,
            series_names=list(variables),
            windows=[_WINDOW],
            strides=[_WINDOW],
        )
    )


def _tsflex_long(wide: pd.DataFrame, variables: Sequence[str]) -> dict[str, pd.DataFrame]:
    """tsflex's `<variable>__<feature>__w=10s` columns, one frame per variable."""
    return {
        v: wide[[f"{v}__{f}__w={_WINDOW}" for f in FEATURES]].set_axis(list(FEATURES), axis=1)
        for v in variables
    }


# -- checks -------------------------------------------------------------------------------


def _differences(
    ours: pd.DataFrame, theirs: dict[str, pd.DataFrame], who: str, variables: Sequence[str]
) -> list[str]:
    """What differs between hfdata's long frame and another's per-variable features."""
    problems: list[str] = []
    for v in variables:
        mine = ours[ours["variable"] == v]
        other = theirs[v]
        if len(mine) != len(other) or not np.array_equal(
            pd.DatetimeIndex(mine.index).as_unit("ns").asi8,
            pd.DatetimeIndex(other.index).as_unit("ns").asi8,
        ):
            problems.append(
                f"{who}: {v}: windows differ ({len(mine)} hfdata rows, {len(other)} {who})"
            )
            continue
        for f in FEATURES:
            a = mine[f].to_numpy(np.float64)
            b = other[f].to_numpy(np.float64)
            if not np.allclose(a, b, rtol=_RTOL, atol=1e-12, equal_nan=True):
                bad = int(np.count_nonzero(~np.isclose(a, b, rtol=_RTOL, atol=1e-12)))
                problems.append(f"{who}: {v}.{f}: {bad} of {len(a)} windows differ")
    return problems


# -- speed --------------------------------------------------------------------------------


def _speed(root: Path, points: int, repeats: int) -> list[dict[str, Any]]:
    total = points * len(_VARIABLES)
    case = (
        f"{len(FEATURES)} features on {_WINDOW} windows of {len(_VARIABLES)} variables "
        f"x {points:,} points (100 Hz)"
    )
    got: dict[str, Any] = {}

    def ours(workers: int | None) -> Callable[[Any], None]:
        def timed(_: Any) -> None:
            with hfdata.open_store(root) as store:
                frame = store.features(_VARIABLES, window=_WINDOW, funcs=FEATURES, workers=workers)
            got[f"hfdata workers={workers}"] = frame

        return timed

    def pandas_timed(_: Any) -> None:
        with hfdata.open_store(root) as store:
            got["pandas"] = pandas_route(store, _VARIABLES, _WINDOW)

    tsflex, why = _tsflex_or_reason()
    series: list[pd.Series] = []
    collection: Any = None
    if tsflex is not None:
        with hfdata.open_store(root) as store:  # the frames hfdata returns (untimed)
            series = [store.read(v)["value"].rename(v) for v in _VARIABLES]
        collection = _tsflex_collection(_VARIABLES, 1 / _HZ)

    def tsflex_timed(n_jobs: int | None) -> Callable[[Any], None]:
        def timed(_: Any) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got[f"tsflex n_jobs={n_jobs}"] = collection.calculate(
                    series,
                    return_df=True,
                    window_idx="begin",
                    include_final_window=True,
                    n_jobs=n_jobs,
                )

        return timed

    cores = os.cpu_count() or 1
    names = {
        "default": f"hfdata features (workers default = {cores})",
        "one": "hfdata features (workers=1)",
        "pandas": "pandas read+resample.agg+apply",
        "tsflex": f"tsflex {getattr(tsflex, '__version__', '')} (n_jobs default = {cores})",
        "tsflex1": f"tsflex {getattr(tsflex, '__version__', '')} (n_jobs=1)",
    }
    skip = why or None
    contenders = [
        Contender(names["default"], "hfdata", ours(None), total),
        Contender(names["one"], "hfdata", ours(1), total),
        Contender(names["pandas"], "baseline", pandas_timed, total),
        Contender(names["tsflex"], "peer", tsflex_timed(None), total, skip=skip),
        Contender(names["tsflex1"], "peer", tsflex_timed(1), total, skip=skip),
    ]
    out = compare(W, case, contenders, repeats=repeats, unit="points")
    series.clear()

    reference = got.get("hfdata workers=None")
    pandas_failures: list[str] = []
    tsflex_failures: list[str] = []
    details: list[str] = []
    if reference is None:
        pandas_failures.append("hfdata features failed: nothing to compare")
        tsflex_failures.append("hfdata features failed: nothing to compare")
    else:
        one = got.get("hfdata workers=1")
        if one is not None and not one.equals(reference):
            pandas_failures.append("workers=1 and the default workers give different frames")
        if "pandas" in got:
            per_variable = {
                v: g.drop(columns="variable") for v, g in got["pandas"].groupby("variable")
            }
            pandas_failures += _differences(reference, per_variable, "pandas", _VARIABLES)
        else:
            pandas_failures.append("the pandas route failed: nothing to compare")
        wide = got.get("tsflex n_jobs=None", got.get("tsflex n_jobs=1"))
        if wide is not None:
            tsflex_failures += _differences(
                reference, _tsflex_long(wide, _VARIABLES), "tsflex", _VARIABLES
            )
        if not pandas_failures:
            details.append("hfdata equals the pandas route (allclose, rtol 1e-9) on every variable")
        if wide is not None and not tsflex_failures:
            details.append("hfdata equals tsflex (allclose, rtol 1e-9) on every variable")
    out.append(
        target(
            W,
            case,
            "features: hfdata (default workers) vs the plain pandas route (reads included)",
            subject=names["default"],
            reference=names["pandas"],
            minimum=5.0,
            source=_SOURCE,
            failures=pandas_failures[:5],
        )
    )
    done = {r["contender"]: r for r in out if r.get("status") == "ok"}
    peers = [n for n in (names["tsflex"], names["tsflex1"]) if n in done]
    if peers:
        fastest = min(peers, key=lambda n: float(done[n]["median_s"]))
        out.append(
            target(
                W,
                case,
                "features: hfdata (default workers) vs the faster tsflex setting "
                "(tsflex's time only, on frames already read)",
                subject=names["default"],
                reference=fastest,
                minimum=3.0,
                source=_SOURCE,
                failures=tsflex_failures[:5],
            )
        )
    else:
        out.append(note(W, f"{case}: tsflex target not judged: {why or 'tsflex failed'}"))
    if details:
        out.append(note(W, f"{case}: " + "; ".join(details)))
    return out


# -- memory -------------------------------------------------------------------------------

# Run with `python -c` in a fresh interpreter: the resident set is read before any import.
_PROBE = """
import sys
def _kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0
_start = _kib('VmRSS')
from benchmarks.bench_features import probe
probe(_start, sys.argv[1:])
"""


def _status(pid: int | str) -> dict[str, int]:
    """VmRSS, VmHWM (KiB) and PPid of a process; empty if it is gone."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in {"VmRSS", "VmHWM", "PPid"}:
                out[key] = int(rest.split()[0])
    return out


def _pss_kib(pid: int | str) -> int:
    """A process's proportional set size (KiB): its resident pages, each shared page
    divided among the processes sharing it, so the sum over processes is the memory
    they take together (RSS counts a page shared after a fork in each); 0 if gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


class _TreeSampler:
    """Every 20 ms, over this process and every process it started (and theirs): the sum
    of their PSS and the sum of their RSS (the highest sum of each seen), and each started
    process's VmHWM (the highest seen, per pid)."""

    def __init__(self) -> None:
        self.me = os.getpid()
        self.child_peaks: dict[int, int] = {}
        self.tree_rss_peak = 0
        self.tree_pss_peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _descendants(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, frontier = [], [self.me]
        while frontier:
            parent = frontier.pop()
            kids = [p for p, pp in parents.items() if pp == parent]
            found += kids
            frontier += kids
        return found

    def sample(self) -> None:
        rss, pss = _status(self.me).get("VmRSS", 0), _pss_kib(self.me)
        for pid in self._descendants():
            s = _status(pid)
            rss += s.get("VmRSS", 0)
            pss += _pss_kib(pid)
            if "VmHWM" in s:
                self.child_peaks[pid] = max(self.child_peaks.get(pid, 0), s["VmHWM"])
        self.tree_rss_peak = max(self.tree_rss_peak, rss)
        self.tree_pss_peak = max(self.tree_pss_peak, pss)
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def __enter__(self) -> _TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _recipe(name: str) -> Recipe:
    return {MEMORY.name: MEMORY, MEMORY_QUICK.name: MEMORY_QUICK}[name]


def probe(start_kib: int, argv: list[str]) -> None:
    """The child process's work; prints one JSON object.

    `build HOME RECIPE`: the recipe's store under HOME (`bench_dask.cached`), its build
    seconds (null if reused) and this process's peak. `features STORE WORKERS RECIPE`:
    `Store.features` of the variable, timed, with the peak of this process and of every
    process it started, and a check of the result against `read(resample=)`.
    """
    import hfdata as hf

    mode = argv[0]
    if mode == "build":
        path, seconds = cached(_recipe(argv[2]), Path(argv[1]))
        me = _status("self")
        print(
            json.dumps(
                {
                    "path": str(path),
                    "seconds": seconds,
                    "start_kib": start_kib,
                    "peak_kib": me.get("VmHWM", 0),
                }
            )
        )
        return
    root, workers, recipe = (
        Path(argv[1]),
        (None if argv[2] == "default" else int(argv[2])),
        _recipe(argv[3]),
    )
    with hf.open_store(root) as store:
        store.info(VARIABLE)  # first-use costs out of the way
        imported = _status("self").get("VmRSS", 0)
        with _TreeSampler() as sampler:
            started = time.perf_counter()
            frame = store.features(VARIABLE, window=_WINDOW, funcs=FEATURES, workers=workers)
            seconds = time.perf_counter() - started
            sampler.sample()
        own_peak = _status("self").get("VmHWM", 0)
        # the check, after the measurement: day 1's mean/std/min/max as read(resample=) gives
        lo = pd.Timestamp(recipe.day_start(1), tz="UTC")
        day = store.read(
            VARIABLE,
            start=lo,
            end=lo + pd.Timedelta(DAY_NS),
            resample=_WINDOW,
            agg=["mean", "std", "min", "max"],
        )
    got = frame.loc[(frame.index >= lo) & (frame.index < lo + pd.Timedelta(DAY_NS))]
    problems = []
    if not np.array_equal(
        pd.DatetimeIndex(got.index).as_unit("ns").asi8,
        pd.DatetimeIndex(day.index).as_unit("ns").asi8,
    ):
        problems.append(f"day 1: {len(got)} windows, read(resample=) has {len(day)}")
    else:
        for f in ("mean", "std", "min", "max"):
            if not np.allclose(got[f], day[f], rtol=_RTOL, equal_nan=True):
                problems.append(f"day 1: {f} differs from read(resample=)")
    first, last = recipe.day_start(0), recipe.day_start(recipe.days)
    windows = (last - first) // pd.Timedelta(_WINDOW).value
    if len(frame) != windows:
        problems.append(f"{len(frame):,} windows, {windows:,} expected")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "start_kib": start_kib,
                "imported_kib": imported,
                "own_peak_kib": own_peak,
                "child_peaks_kib": sorted(sampler.child_peaks.values()),
                "tree_rss_peak_kib": sampler.tree_rss_peak,
                "tree_pss_peak_kib": sampler.tree_pss_peak,
                "samples": sampler.samples,
                "rows": len(frame),
                "problems": problems,
            }
        )
    )


def _child(*argv: str) -> dict[str, Any]:
    """Run `probe` in a fresh interpreter (this checkout's hfdata first on its path)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        cwd=_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe {argv[0]} exited {done.returncode}: {done.stderr[-600:]}")
    reply: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return reply


def _mib(kib: float) -> float:
    return kib / 1024


@contextlib.contextmanager
def _memory_home(quick: bool) -> Iterator[Path]:
    if quick:
        with scratch_dir("hfbench-features-quick") as tmp:
            yield tmp
        return
    yield cache_dir("features-memory")


def _memory(quick: bool) -> list[dict[str, Any]]:
    recipe = MEMORY_QUICK if quick else MEMORY
    points = recipe.points()
    case = f"features of one {recipe.hz} Hz variable over {recipe.days} days ({points:,} points)"
    out: list[dict[str, Any]] = []
    with _memory_home(quick) as home:
        built = _child("build", str(home), recipe.name)
        path = built["path"]
        build = "store built by an earlier run (cached; reused)"
        if built["seconds"] is not None:  # built now: say so, and keep it for later runs
            build = (
                f"store built in {built['seconds']:.0f} s through append_many and compact, "
                f"peak RSS {_mib(built['peak_kib'] - built['start_kib']):,.0f} MiB above "
                "the start of its process"
            )
            (home / "build.txt").write_text(build + "\n")
        elif (home / "build.txt").exists():
            build = (
                (home / "build.txt")
                .read_text()
                .strip()
                .replace("store built in", "store built by an earlier run (cached; reused) in", 1)
            )
        replies: dict[str, dict[str, Any]] = {}

        def run_probe(workers: str) -> Callable[[Any], float]:
            def timed(_: Any) -> float:
                reply = _child("features", path, workers, recipe.name)
                replies[workers] = reply
                return float(reply["seconds"])

            return timed

        cores = os.cpu_count() or 1
        names = {
            "default": f"hfdata features (workers default = {cores}), fresh process",
            "1": "hfdata features (workers=1), fresh process",
        }
        out += compare(
            W,
            case,
            [Contender(names[w], "hfdata", run_probe(w), points) for w in ("default", "1")],
            repeats=1,
            warmup=0,
            unit="points",
        )
    details = [build]
    for w, name in names.items():
        reply = replies.get(w)
        failures: list[str] = []
        if reply is None:
            failures.append("the probe failed")
            value = math.nan
        else:
            failures += reply["problems"]
            # the job's memory at its peak: the largest sampled sum of PSS over the
            # processes, or the process's own exact peak if sampling missed higher
            peak = max(reply["tree_pss_peak_kib"], reply["own_peak_kib"])
            value = _mib(peak - reply["start_kib"])
            children = reply["child_peaks_kib"]
            summed = sum(children) + reply["own_peak_kib"] - reply["start_kib"]
            details.append(
                f"workers={w}: {reply['seconds']:.1f} s; interpreter start "
                f"{_mib(reply['start_kib']):.0f} MiB, after imports "
                f"{_mib(reply['imported_kib']):.0f} MiB; largest sum of PSS "
                f"{_mib(reply['tree_pss_peak_kib']):.0f} MiB and of RSS "
                f"{_mib(reply['tree_rss_peak_kib']):.0f} MiB over "
                f"{reply['samples']} samples; peak RSS (VmHWM) of the process "
                f"{_mib(reply['own_peak_kib']):.0f} MiB and of the {len(children)} processes "
                f"it started {', '.join(f'{_mib(p):.0f}' for p in children) or '-'} MiB "
                f"(summed less the start: {_mib(summed):.0f} MiB, "
                "an upper bound: peaks at different times, pages shared after the fork "
                "counted in each)"
            )
        if not quick and points < MIN_MEMORY_POINTS:
            failures.append(f"{points:,} points, fewer than {MIN_MEMORY_POINTS:,}")
        scope = "quick: a small store" if quick else f"{points / 1e6:.1f} M points"
        out.append(
            target(
                W,
                case,
                f"features over {scope}, workers={w}: peak memory of the process and its "
                "workers (summed PSS) less its interpreter's start RSS, under 1 GiB",
                subject=name,
                value=value,
                maximum=LIMIT_MIB,
                unit="MiB",
                source=_SOURCE,
                failures=failures[:5],
            )
        )
    out.append(note(W, f"{case}: " + "; ".join(details)))
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    """Workload 11 with the issue 18 targets."""
    points = 60_000 if quick else 6 * 3600 * _HZ
    repeats = 3
    out: list[dict[str, Any]] = []
    with scratch_dir("w11") as work:
        root = work / "store"
        started = time.perf_counter()
        _build(root, points)
        out.append(
            note(
                W,
                f"{len(_VARIABLES)} variables of {points:,} compacted points at {_HZ} Hz "
                f"(built in {time.perf_counter() - started:.0f} s); {os.cpu_count()} cores",
            )
        )
        out += _speed(root, points, repeats)
    out += _memory(quick)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from benchmarks._report import console

    print(console(run(args.quick)))


if __name__ == "__main__":
    main()
