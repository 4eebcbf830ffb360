"""`hfdata demo`: the simulated feed, its threads, the directory it may wipe, a small full run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cliutil import hfdata_cli

import hfdata
from hfdata.layout import log_dir
from hfdata.log.parse import read_segment
from hfdata.log.schema import load_schema
from hfdata.tools.demo import MARKER, STATUS, DemoConfig, append_feed, run_demo, simulate

SECOND = 1_000_000_000
TINY = DemoConfig(sensors=3, rate_hz=5.0, hours=0.1, threads=2, late_fraction=0.01)


def log_points(root: Path, variable: str) -> pd.DataFrame:
    directory = log_dir(root, variable)
    kind = load_schema(directory)
    tables: list[pd.DataFrame] = [
        read_segment(p, kind).table.to_pandas() for p in sorted(directory.glob("*.jsonl"))
    ]
    return pd.concat(tables, ignore_index=True)


def test_simulated_feed_is_realistic() -> None:
    feeds = simulate(DemoConfig(sensors=4, rate_hz=50.0, hours=0.5, late_fraction=0.001))
    assert [f.name for f in feeds] == ["temp_00", "humidity_01", "pressure_02", "vibration_03"]
    start = pd.Timestamp("2026-11-26T08:00:00Z").value
    for feed in feeds:
        assert np.all(np.diff(feed.ns) > 0)  # jitter never reorders a sensor's own stream
        steps = np.diff(feed.ns)
        assert steps.min() < SECOND / 50 < steps.max()  # jittered around 20 ms
        assert steps.max() >= 5 * SECOND  # at least one outage
        for gap_start, gap_end in feed.gaps:
            inside = (feed.ns >= gap_start) & (feed.ns < gap_end)
            assert not inside.any()
        assert len(feed.late_ns) > 0
        assert np.all(feed.late_arrival > feed.late_ns)
        assert feed.ns.min() >= start - SECOND
        assert feed.points <= 50 * 1800
    again = simulate(DemoConfig(sensors=4, rate_hz=50.0, hours=0.5, late_fraction=0.001))
    assert np.array_equal(again[2].values, feeds[2].values)  # seeded: the same every run


def test_append_feed_from_threads_loses_nothing(tmp_path: Path) -> None:
    feeds = simulate(TINY)
    with hfdata.open_store(tmp_path) as store:
        points, singles, seconds = append_feed(store, feeds, TINY)
    outages = sum(len(f.gaps) for f in feeds)
    assert points == sum(f.points for f in feeds) + outages
    assert singles == sum(len(f.late_ns) for f in feeds) + outages
    assert seconds > 0
    for feed in feeds:
        got = log_points(tmp_path, feed.name)
        expected = np.sort(np.concatenate([feed.ns, feed.late_ns]))
        assert np.array_equal(np.sort(got["timestamp"].astype("int64").to_numpy()), expected)
        late = got["metadata"].fillna("").str.contains('"late":true')
        assert late.sum() == len(feed.late_ns)
        described = got["metadata"].fillna("").str.contains(f'"sensor":"{feed.name}"')
        assert described.sum() >= 1
    assert len(log_points(tmp_path, STATUS)) == outages


def test_demo_only_wipes_its_own_directory(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="did not create"):
        run_demo(precious, TINY, say=lambda _: None)
    assert (precious / "thesis.tex").exists()
    result = hfdata_cli("demo", precious, "--small")
    assert result.returncode == 2
    assert "did not create" in result.stderr and "Traceback" not in result.stderr
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(FileExistsError, match="not a directory"):
        run_demo(afile, TINY, say=lambda _: None)


def test_small_demo_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    (root / MARKER).write_text("")
    (root / "stale").write_text("from an earlier run")  # a previous demo run: wiped
    lines: list[str] = []
    result = run_demo(root, DemoConfig.small(), say=lines.append)
    output = "\n".join(lines)
    assert not (root / "stale").exists() and (root / MARKER).exists()
    feeds = simulate(DemoConfig.small())
    full = result.frames["full"]
    assert len(full) == feeds[0].points  # every point of the first sensor, late ones too
    assert full.index.is_monotonic_increasing
    bars = result.frames["ohlc"]
    assert list(bars.columns)[:4] == ["open", "high", "low", "close"]
    assert (bars["high"] >= bars["low"]).all()
    minute = full["value"].resample("1min").ohlc()
    pd.testing.assert_frame_equal(
        bars[["open", "high", "low", "close"]], minute, check_names=False, check_freq=False
    )
    wide = result.frames["wide"]
    assert wide.shape[1] == 5
    assert result.plot is not None and result.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "throughput seen" in output and "OHLC" in output
    assert set(result.timings) >= {"append (threads)", "compact"}


def test_demo_command(tmp_path: Path) -> None:
    result = hfdata_cli("demo", tmp_path / "d", "--small", "--no-plot", "--sensors", "5")
    assert result.returncode == 0, result.stderr
    assert "simulating 5 sensors at 10 Hz" in result.stdout
    assert not (tmp_path / "d" / "demo.png").exists()
    clean = hfdata_cli("verify", tmp_path / "d")
    assert clean.returncode == 0, clean.stdout
