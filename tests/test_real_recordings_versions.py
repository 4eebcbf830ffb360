"""Issue 20's deletions, corrections and `as_of` reads on real recordings: ObsPy's
bundled seismic trace and heartpy's example PPG, part compacted and part in the log,
against plain pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hfdata

obspy = pytest.importorskip("obspy")
heartpy = pytest.importorskip("heartpy")


def seismic() -> pd.Series:
    trace = obspy.read()[0]
    start = pd.Timestamp(trace.stats.starttime.datetime, tz="UTC")
    index = start + pd.to_timedelta(np.arange(trace.stats.npts) * trace.stats.delta, "s")
    return pd.Series(trace.data.astype(np.float64), index=index.as_unit("ns"))


def ppg() -> pd.Series:
    data, _ = heartpy.load_exampledata(0)  # 100 Hz
    index = pd.date_range("2026-11-26", periods=len(data), freq="10ms", tz="UTC", unit="ns")
    return pd.Series(np.asarray(data, np.float64), index=index)


def frame(s: pd.Series) -> pd.DataFrame:
    return s.rename("value").rename_axis("timestamp").to_frame()


def test_deletion_correction_and_as_of_on_real_recordings(tmp_path: Path) -> None:
    seis, pulse = seismic(), ppg()
    with hfdata.open_store(tmp_path / "s", partition="hour") as store:
        store.append_many("seis", frame(seis.iloc[:2000]))
        store.append_many("ppg", frame(pulse))
        store.compact(include_active=True)
        store.append_many("seis", frame(seis.iloc[2000:]))  # the rest stays in the log
        before = pd.Timestamp.now(tz="UTC")
        lo, hi = seis.index[1000], seis.index[2500]  # across the compacted and log parts
        store.delete("seis", lo, hi)
        store.append("seis", seis.index[1200].to_pydatetime(), 999.0)  # re-added afterwards
        corrected = pulse.copy()
        corrected.iloc[100:200] *= 2
        store.append_many("ppg", frame(corrected.iloc[100:200]))

        kept = seis[(seis.index < lo) | (seis.index >= hi)]
        want = pd.concat([kept, pd.Series([999.0], index=[seis.index[1200]])]).sort_index()
        got = store.read("seis")["value"]
        assert got.to_numpy().tolist() == want.to_numpy().tolist()
        assert got.index.equals(pd.DatetimeIndex(want.index, name="timestamp"))
        old = store.read("seis", as_of=before)["value"]
        assert np.array_equal(old.to_numpy(), seis.to_numpy())
        assert np.array_equal(store.read("ppg", dedupe="last")["value"], corrected.to_numpy())
        then = store.read("ppg", as_of=before, dedupe="last")["value"]
        assert np.array_equal(then.to_numpy(), pulse.to_numpy())
        history = store.history("seis", seis.index[990], seis.index[2510])
        assert len(history) == 1520 + 1 and int(history["deleted_at"].notna().sum()) == 1500

        store.compact(include_active=True)
        store.optimize()  # history kept (no retention): reads unchanged
        assert store.read("seis")["value"].to_numpy().tolist() == want.to_numpy().tolist()
        assert len(store.history("seis", seis.index[990], seis.index[2510])) == 1521
