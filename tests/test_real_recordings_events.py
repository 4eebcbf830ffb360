"""Issue 17's new reads on a real recording: ObsPy's bundled seismic traces (3 channels
at 100 Hz), stored part compacted and part in the log, against plain pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_twa import reference

import hfdata

obspy = pytest.importorskip("obspy")


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.Series]]:
    root = tmp_path_factory.mktemp("obspy")
    series = {}
    with hfdata.open_store(root, partition="hour") as store:
        for trace in obspy.read():
            start = pd.Timestamp(trace.stats.starttime.datetime, tz="UTC")
            index = start + pd.to_timedelta(np.arange(trace.stats.npts) * trace.stats.delta, "s")
            s = pd.Series(trace.data.astype(np.float64), index=index.as_unit("ns"))
            half = len(s) // 2
            frame = s.rename("value").rename_axis("timestamp").reset_index()
            store.append_many(trace.id, frame.iloc[:half])
            store.compact(include_active=True)
            store.append_many(trace.id, frame.iloc[half:])  # the rest stays in the log
            series[trace.id] = s
    return root, series


def test_resample_options_and_fill_equal_pandas(
    traces: tuple[Path, dict[str, pd.Series]],
) -> None:
    root, series = traces
    with hfdata.open_store(root) as store:
        for name, s in series.items():
            got = store.read(
                name, resample="7s", agg="std", closed="right", label="right", origin="epoch"
            )
            want = s.resample("7s", closed="right", label="right", origin="epoch").std()
            np.testing.assert_allclose(got["value"].to_numpy(), want.to_numpy(), rtol=1e-12)
            assert got.index.equals(want.index.rename("timestamp"))


def test_twa_asof_and_around_equal_their_references(
    traces: tuple[Path, dict[str, pd.Series]],
) -> None:
    root, series = traces
    rng = np.random.default_rng(17)
    with hfdata.open_store(root) as store:
        for name, s in series.items():
            ns = pd.DatetimeIndex(s.index).asi8
            # twa over 5 s bins of a window starting mid-trace (the value in force at the
            # start comes from before it)
            start, end = int(ns[1234]) + 3, int(ns[-1])
            got = store.read(
                name,
                pd.Timestamp(start, tz="UTC"),
                pd.Timestamp(end, tz="UTC"),
                resample="5s",
                agg="twa",
            )
            labels = got.index.as_unit("ns").asi8
            edges = [max(min(int(e), end), start) for e in [*labels, labels[-1] + 5 * 10**9]]
            points = list(zip(ns.tolist(), s.tolist(), strict=True))
            before = [p for p in points if p[0] < start]
            inside = [p for p in points if start <= p[0] < end]
            want = reference(inside, edges, before[-1], None)
            np.testing.assert_allclose(got["value"].to_numpy(), want, rtol=1e-9)
            # asof at unsorted times between the samples, against merge_asof
            at = pd.DatetimeIndex(rng.integers(ns[0] - 10**9, ns[-1] + 10**9, 300), tz="UTC")
            tol = pd.Timedelta("15ms")
            asof = store.asof(name, at, tolerance=tol, direction="nearest")
            left = pd.DataFrame({"t": at, "row": np.arange(len(at))}).sort_values("t")
            right = pd.DataFrame({"t": s.index, "v": s.to_numpy()})
            joined = pd.merge_asof(left, right, on="t", direction="nearest", tolerance=tol)
            expected = joined.sort_values("row")["v"].to_numpy()
            np.testing.assert_array_equal(asof["value"].to_numpy(np.float64), expected)
            # around: mean and std over +-2 s, against a slice per event
            events = at[:50]
            around = store.around(name, events, before="2s", after="2s", agg=["mean", "std"])
            for t, row in zip(events, around.itertuples(), strict=True):
                window = s[(s.index >= t - pd.Timedelta("2s")) & (s.index < t + pd.Timedelta("2s"))]
                np.testing.assert_allclose(
                    [row.mean, row.std], [window.mean(), window.std()], rtol=1e-9, equal_nan=True
                )
