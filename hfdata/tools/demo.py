"""`hfdata demo`: a simulated sensor feed through the whole store, in under a minute.

Twenty sensors at 50 Hz (by default) with jitter, outages and a few late points are
appended from several threads into a fresh store (mostly `append_many` batches as
pandas, polars and Arrow frames; late points and status events one by one). The
demo then compacts with a progress bar, reads a slice, resamples to 1-minute OHLC,
builds a wide frame of five sensors, prints short tables with the throughput it
saw, and saves a PNG of a slice with its resampled line.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
import pyarrow as pa

from hfdata.errors import HfdataError
from hfdata.settings import SETTINGS_FILE
from hfdata.store import Store, open_store
from hfdata.tools.views import text_table

__all__ = ["DemoConfig", "DemoResult", "SensorFeed", "append_feed", "run_demo", "simulate"]

MARKER: Final = ".hfdata-demo"  # a dot-file: never data; marks a directory the demo may wipe
STATUS: Final = "feed_status"
_SECOND: Final = 1_000_000_000
_TYPES: Final = (  # (prefix, unit, base, daily-ish amplitude, noise, random-walk step)
    ("temp", "degC", 21.0, 1.5, 0.05, 0.002),
    ("humidity", "%", 45.0, 5.0, 0.3, 0.01),
    ("pressure", "hPa", 1013.0, 2.0, 0.1, 0.003),
    ("vibration", "mm/s", 2.0, 0.8, 0.4, 0.001),
)


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """How big a feed to simulate and what to show."""

    sensors: int = 20
    rate_hz: float = 50.0
    hours: float = 2.0
    threads: int = 4
    window_seconds: float = 60.0  # simulated time per append_many batch
    late_fraction: float = 0.0005
    seed: int = 7
    start: str = "2026-11-26T08:00:00Z"
    plot: bool = True
    progress: bool | None = None

    @classmethod
    def small(cls) -> DemoConfig:
        """A run of a few seconds (used by the tests)."""
        return cls(sensors=6, rate_hz=10.0, hours=0.25, threads=3)


@dataclass(frozen=True, slots=True)
class SensorFeed:
    """One sensor's simulated points in arrival order, and its late points."""

    name: str
    unit: str
    ns: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    late_ns: npt.NDArray[np.int64]
    late_values: npt.NDArray[np.float64]
    late_arrival: npt.NDArray[np.int64]  # simulated time each late point arrives
    gaps: list[tuple[int, int]]  # outages, [start, end) in ns

    @property
    def points(self) -> int:
        return len(self.ns) + len(self.late_ns)


@dataclass(slots=True)
class DemoResult:
    """What the demo did (the tests check these)."""

    root: Path
    points: int = 0
    single_appends: int = 0
    timings: dict[str, tuple[int, float]] = field(default_factory=dict)  # stage: (rows, s)
    frames: dict[str, Any] = field(default_factory=dict)
    plot: Path | None = None


def simulate(config: DemoConfig) -> list[SensorFeed]:
    """Every sensor's points: jittered samples, outages removed, some held back as late."""
    rng = np.random.default_rng(config.seed)
    start = int(pd.Timestamp(config.start).value)
    count = int(config.hours * 3600 * config.rate_hz)
    step = _SECOND / config.rate_hz
    feeds = []
    for i in range(config.sensors):
        prefix, unit, base, amplitude, noise, walk = _TYPES[i % len(_TYPES)]
        offsets = np.arange(count) * step
        jitter = np.clip(rng.normal(0, 0.12 * step, count), -0.4 * step, 0.4 * step)
        ns = start + (offsets + jitter).astype(np.int64)
        seconds = offsets / _SECOND
        period = 1200.0 + 300.0 * i  # a slow swing, visible in minute bars
        values = (
            base
            + 0.2 * i
            + amplitude * np.sin(2 * math.pi * seconds / period + i)
            + np.cumsum(rng.normal(0, walk, count))
            + rng.normal(0, noise, count)
        )
        keep = np.ones(count, dtype=bool)
        gaps: list[tuple[int, int]] = []
        for _ in range(rng.poisson(2 * config.hours) + 1):
            gap_start = start + int(rng.uniform(0.05, 0.95) * count * step)
            gap_end = gap_start + int(rng.uniform(5, 90) * _SECOND)
            keep &= (ns < gap_start) | (ns >= gap_end)
            gaps.append((gap_start, gap_end))
        late = keep & (rng.random(count) < config.late_fraction)
        delay = rng.uniform(30, 300, int(late.sum())) * _SECOND
        feeds.append(
            SensorFeed(
                name=f"{prefix}_{i:02d}",
                unit=unit,
                ns=ns[keep & ~late],
                values=values[keep & ~late].round(4),
                late_ns=ns[late],
                late_values=values[late].round(4),
                late_arrival=ns[late] + delay.astype(np.int64),
                gaps=sorted(gaps),
            )
        )
    return feeds


def _frame(feed: SensorFeed, lo: int, hi: int, flavour: int) -> Any:
    """The window's points as a pandas, polars or Arrow frame (the API takes all three)."""
    ns, values = feed.ns[lo:hi], feed.values[lo:hi]
    meta: list[str | None] = [None] * len(ns)
    if len(ns):  # the first point of each batch carries the sensor's description
        meta[0] = f'{{"sensor":"{feed.name}","unit":"{feed.unit}","site":"plant_a"}}'
    timestamps = pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    table = pa.table({"timestamp": timestamps, "value": values, "metadata": meta})
    if flavour == 0:
        return table
    if flavour == 1:
        return pl.from_arrow(table)
    frame = table.to_pandas()
    frame["metadata"] = [None if m is None else _meta_dict(feed) for m in meta]
    return frame


def _meta_dict(feed: SensorFeed) -> dict[str, str]:
    return {"sensor": feed.name, "unit": feed.unit, "site": "plant_a"}


def _writer(
    store: Store,
    feeds: list[SensorFeed],
    config: DemoConfig,
    bar: Any,
    counts: list[int],
    errors: list[BaseException],
) -> None:
    """One thread's share of the feed: window by window, sensor by sensor."""
    try:
        start = int(pd.Timestamp(config.start).value)
        window = int(config.window_seconds * _SECOND)
        end = start + int(config.hours * 3600 * _SECOND) + 400 * _SECOND
        cursors = [0] * len(feeds)
        late_cursors = [0] * len(feeds)
        late_order = [np.argsort(f.late_arrival, kind="stable") for f in feeds]
        reported: set[tuple[str, int]] = set()
        singles = appended = 0
        now = start
        while now < end:
            now += window
            for k, feed in enumerate(feeds):
                hi = int(np.searchsorted(feed.ns, now))  # nearly sorted; jitter < a step
                lo = cursors[k]
                if hi > lo:
                    appended += store.append_many(feed.name, _frame(feed, lo, hi, k % 3))
                    bar.update(hi - lo)
                    cursors[k] = hi
                order = late_order[k]
                while late_cursors[k] < len(order):
                    j = order[late_cursors[k]]
                    if feed.late_arrival[j] > now:
                        break
                    delay = (feed.late_arrival[j] - feed.late_ns[j]) / _SECOND
                    store.append(
                        feed.name,
                        pd.Timestamp(int(feed.late_ns[j]), tz="UTC"),
                        float(feed.late_values[j]),
                        {"late": True, "delay_s": round(float(delay), 1)},
                    )
                    singles += 1
                    bar.update(1)
                    late_cursors[k] += 1
                for gap_start, gap_end in feed.gaps:
                    if gap_end <= now and (feed.name, gap_start) not in reported:
                        reported.add((feed.name, gap_start))
                        store.append(
                            STATUS,
                            pd.Timestamp(gap_start, tz="UTC"),
                            f"{feed.name} offline for {(gap_end - gap_start) / _SECOND:.0f} s",
                            {"sensor": feed.name},
                        )
                        singles += 1
        counts.extend([appended + singles, singles])
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


class _NoBar:
    def update(self, n: int) -> None:
        pass


def append_feed(
    store: Store, feeds: list[SensorFeed], config: DemoConfig, bar: Any = None
) -> tuple[int, int, float]:
    """Append every feed from `config.threads` threads: (points, single appends, seconds)."""
    threads_n = max(1, min(config.threads, len(feeds)))
    shares = [feeds[t::threads_n] for t in range(threads_n)]
    counts: list[list[int]] = [[] for _ in shares]
    errors: list[BaseException] = []
    began = time.perf_counter()
    threads = [
        threading.Thread(
            target=_writer,
            args=(store, share, config, bar or _NoBar(), counts[t], errors),
            name=f"demo-writer-{t}",
        )
        for t, share in enumerate(shares)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.flush()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed


def _prepare_dir(root: Path) -> None:
    """Start from an empty directory; only ever delete one the demo itself made."""
    if root.exists():
        if not root.is_dir():
            raise FileExistsError(f"{root} exists and is not a directory; choose another DIR")
        if (root / MARKER).exists():
            shutil.rmtree(root)
        elif any(root.iterdir()):
            what = "an hfdata store" if (root / SETTINGS_FILE).exists() else "files"
            raise FileExistsError(
                f"{root} already holds {what} the demo did not create; choose another DIR "
                "(the demo deletes and recreates its directory)"
            )
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by 'hfdata demo'; deleted by the next run\n")


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def run_demo(
    root: Path, config: DemoConfig | None = None, *, say: Callable[[str], None] = print
) -> DemoResult:
    """Run the whole tour in `root` (recreated fresh) and return what it measured."""
    config = config or DemoConfig()
    _prepare_dir(root)
    result = DemoResult(root=root)
    feeds = simulate(config)
    total = sum(f.points for f in feeds)
    say(
        f"simulating {config.sensors} sensors at {config.rate_hz:g} Hz for {config.hours:g} h "
        f"({total:,} points, {config.threads} writer threads) into {root}"
    )
    show_bars = config.progress if config.progress is not None else sys.stderr.isatty()
    from tqdm import tqdm

    with open_store(root) as store:
        # -- 1. append from several threads ------------------------------------------------
        with tqdm(total=total, desc="append", unit="pt", disable=not show_bars) as bar:
            result.points, result.single_appends, elapsed = append_feed(store, feeds, config, bar)
        result.timings["append (threads)"] = (result.points, elapsed)
        say(
            f"appended {result.points:,} points ({result.single_appends:,} one by one) in "
            f"{elapsed:.1f} s: {_rate(result.points, elapsed)} points/s"
        )

        # -- 2. compact ----------------------------------------------------------------------
        began = time.perf_counter()
        report = store.compact(include_active=True, progress=show_bars)
        elapsed = time.perf_counter() - began
        result.timings["compact"] = (report.rows, elapsed)
        say(
            f"compacted {report.segments:,} segments into {report.files:,} Parquet files "
            f"({report.partitions:,} partitions) in {elapsed:.1f} s"
        )

        # -- 3. read ------------------------------------------------------------------------
        _reads(store, feeds, config, result, say)
    if config.plot and importlib.util.find_spec("matplotlib") is None:
        say("\nmatplotlib is not installed (pip install 'hfdata[plot]'): no plot this time")
    elif config.plot:
        result.plot = _plot(result, root / "demo.png")
        say(f"saved a plot of the slice and its 10-second mean to {result.plot}")
    say("")
    say(_throughput_table(result))
    say(f"\nthe store is in {root}; try: hfdata ls -l {root}   hfdata verify {root}")
    return result


def _reads(
    store: Store,
    feeds: list[SensorFeed],
    config: DemoConfig,
    result: DemoResult,
    say: Callable[[str], None],
) -> None:
    first = feeds[0].name
    result.frames["sensor"], result.frames["unit"] = first, feeds[0].unit
    start = pd.Timestamp(config.start)
    span = pd.Timedelta(hours=config.hours)
    slice_start = start + span / 3
    slice_end = slice_start + min(pd.Timedelta(minutes=10), span / 3)

    began = time.perf_counter()
    full = store.read(first)
    result.timings[f"read all of {first}"] = (len(full), time.perf_counter() - began)

    began = time.perf_counter()
    piece = store.read(first, slice_start, slice_end)
    result.timings["read a 10-minute slice"] = (len(piece), time.perf_counter() - began)
    result.frames["slice"] = piece
    result.frames["slice_10s"] = store.read(first, slice_start, slice_end, resample="10s")
    say(f"\n{first} from {slice_start:%H:%M} to {slice_end:%H:%M} ({len(piece):,} points):")
    say(piece.head(5).to_string())

    began = time.perf_counter()
    bars = store.read(first, resample="1min", agg="ohlc")
    result.timings["resample to 1-min OHLC"] = (len(full), time.perf_counter() - began)
    result.frames["ohlc"] = bars
    say(f"\n{first} as 1-minute OHLC bars ({len(bars):,} bars):")
    say(bars.head(5).round(3).to_string())

    names = [f.name for f in feeds[:5]]
    wide_end = slice_start + pd.Timedelta(minutes=1)
    began = time.perf_counter()
    wide = store.read(names, slice_start, wide_end, resample="5s", how="wide")
    raw_points = sum(
        int(np.count_nonzero((f.ns >= slice_start.value) & (f.ns < wide_end.value)))
        for f in feeds[:5]
    )
    result.timings["wide frame, 5 sensors x 1 min"] = (raw_points, time.perf_counter() - began)
    result.frames["wide"] = wide
    say(f"\n{len(names)} sensors side by side, 5-second means (wide frame):")
    say(wide.head(5).round(3).to_string())

    late = store.read(first, metadata=True)
    flagged = sum(1 for m in late["metadata"] if isinstance(m, dict) and m.get("late"))
    say(f"\n{first}: {int(flagged)} late points arrived after their neighbours; still in order")
    try:
        status = store.read(STATUS)
    except HfdataError:
        status = pd.DataFrame()
    if len(status):
        say(f"\n{STATUS}: {len(status)} outages, e.g.:")
        say(status.head(3).to_string())
    result.frames["status"] = status
    result.frames["full"] = full


def _throughput_table(result: DemoResult) -> str:
    rows = [
        (stage, rows, round(seconds, 3), round(rows / seconds) if seconds > 0 else None)
        for stage, (rows, seconds) in result.timings.items()
    ]
    return "throughput seen:\n" + text_table(("stage", "rows", "seconds", "rows/s"), rows)


def _plot(result: DemoResult, path: Path) -> Path:
    """PNG of the slice (broken at outages) and its 10-second mean, without pyplot."""
    from matplotlib.figure import Figure  # no global backend is touched

    piece = result.frames["slice"]["value"]
    mean = result.frames["slice_10s"]["value"]
    breaks = piece.index.to_series().diff() > pd.Timedelta(seconds=1)
    gaps = pd.Series(np.nan, index=piece.index[breaks.to_numpy()] - pd.Timedelta(microseconds=1))
    raw = pd.concat([piece, gaps]).sort_index()
    fig = Figure(figsize=(10, 4), dpi=100)
    ax = fig.subplots()
    ax.plot(raw.index, raw.to_numpy(), lw=0.4, alpha=0.6, label="raw points")
    ax.step(mean.index, mean.to_numpy(), where="post", lw=2.0, label="10-second mean")
    ax.set_title(
        f"hfdata demo: {result.frames['sensor']}, a 10-minute slice and its resampled line"
    )
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(str(result.frames["unit"]))
    ax.legend(loc="upper right")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    return path
