"""`Store.features` on real recordings, against the pandas reference of
`test_store_features`: ObsPy's bundled seismic traces (3 channels at 100 Hz) and
heartpy's PPG recording with a millisecond clock (thousands of timestamps recorded
twice with different readings), each stored part compacted and part in the log."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from featureref import assert_close, reference

import hfdata

obspy = pytest.importorskip("obspy")
FUNCS = ["mean", "std", "min", "max", "rms", "ptp", "skew", "kurt", "slope", "abs_energy",
         "zero_crossings", "dominant_frequency"]  # fmt: skip


def _store(root: Path, series: dict[str, pd.Series]) -> None:
    with hfdata.open_store(root, partition="hour") as store:
        for name, s in series.items():
            frame = s.rename("value").rename_axis("timestamp").reset_index()
            half = len(frame) // 2
            store.append_many(name, frame.iloc[:half])
            store.compact(include_active=True, progress=False)
            store.append_many(name, frame.iloc[half:])  # the rest stays in the log


def test_seismic_traces(tmp_path: Path) -> None:
    series = {}
    for trace in obspy.read():
        start = pd.Timestamp(trace.stats.starttime.datetime, tz="UTC")
        index = start + pd.to_timedelta(np.arange(trace.stats.npts) * trace.stats.delta, "s")
        series[trace.id] = pd.Series(trace.data.astype(np.float64), index=index.as_unit("ns"))
    _store(tmp_path, series)
    with hfdata.open_store(tmp_path) as store:
        got = store.features(list(series), window="2s", stride="1s", funcs=FUNCS)
        for name, s in series.items():
            want = reference(s, "2s", "1s", {}, FUNCS, 1)
            scale = float(np.abs(s).max())
            assert_close(got[got["variable"] == name].drop(columns="variable"), want, scale)
            # the traces ring at a few Hz: every full window has a dominant frequency
            assert (
                got.loc[got["variable"] == name, "dominant_frequency"]
                .iloc[1:-2]
                .between(0.05, 50)
                .all()
            )


def test_ppg_with_clashing_duplicates(tmp_path: Path) -> None:
    data = pd.read_csv(str(importlib.resources.files("heartpy") / "data" / "data3.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(data["datetime"], format="ISO8601"), tz="UTC")
    s = pd.Series(data["hr"].to_numpy(dtype=float), index=index.as_unit("ns"))
    s = s.iloc[np.argsort(pd.DatetimeIndex(s.index).asi8, kind="stable")][:60_000]
    assert s.index.duplicated().sum() > 1_000
    _store(tmp_path, {"ppg": s})
    with hfdata.open_store(tmp_path) as store:
        got = store.features("ppg", window="10s", funcs=FUNCS, workers=2)
    want = reference(s, "10s", "10s", {}, FUNCS, 1)
    assert_close(got.drop(columns="variable"), want, float(np.abs(s).max()))
