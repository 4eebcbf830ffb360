"""Store.quality's time checks, thresholds and verify's warnings (issue 19)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import hfdata
from hfdata.errors import InvalidArgument
from hfdata.tools.verify import verify


def test_implausible_times(store: hfdata.Store) -> None:
    times = ["1901-05-01T00:00Z", "1969-12-31T23:59Z", "2026-01-01T00:00Z", "2030-01-01T00:00Z"]
    for i, t in enumerate(times):
        store.append("x", t, float(i))
    store.compact(include_active=True)
    store.append("x", "2031-01-01T00:00Z", 9.0)  # in the log
    found = store.quality(now="2026-06-01T00:00Z").set_index("check")
    early = found.loc["before_1970"]
    assert (early["start"], early["end"]) == (pd.Timestamp(times[0]), pd.Timestamp(times[1]))
    assert early["detail"].startswith("2 points before 1970")
    late = found.loc["far_future"]
    assert (late["start"], late["end"]) == (
        pd.Timestamp("2030-01-01T00:00Z"),
        pd.Timestamp("2031-01-01T00:00Z"),
    )
    assert late["detail"].startswith("2 points after")
    span = found.loc["long_span"]
    assert (span["start"], span["end"]) == (
        pd.Timestamp(times[0]),
        pd.Timestamp("2031-01-01T00:00Z"),
    )
    assert "129.7 years" in span["detail"]
    quiet = store.quality(now="2032-01-01T00:00Z", max_span="200y")
    assert set(quiet["check"]) == {"before_1970"}


def test_stuck_and_nan_runs_cross_files(store: hfdata.Store) -> None:
    t0 = pd.Timestamp("2026-02-01T00:00Z")
    for i in range(120):  # 2 minutes of 5.0: stuck across a compaction and the log tail
        store.append("y", t0 + pd.Timedelta(seconds=i), 5.0 if i < 100 else float("nan"))
        if i in (40, 80):
            store.compact(include_active=True)
    found = store.quality(stuck_for="90s", nan_run="15s", checks=["stuck", "nan_run"])
    assert list(found["check"]) == ["stuck", "nan_run"]
    assert found["start"].tolist() == [t0, t0 + pd.Timedelta(seconds=100)]
    assert found["end"].tolist() == [t0 + pd.Timedelta(seconds=99), t0 + pd.Timedelta(seconds=119)]
    assert "100 rows" in found["detail"][0]
    assert store.quality(stuck_for="100s", checks=["stuck"]).empty


def test_bad_thresholds_name_the_argument(store: hfdata.Store) -> None:
    store.append("z", "2026-01-01Z", 1.0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"stuck_for": "soon"}, "stuck_for"),
        ({"spike_z": 0}, "spike_z"),
        ({"spike_window": 2}, "spike_window"),
        ({"checks": ["spikes"]}, "checks"),
        ({"max_span": "-1y"}, "max_span"),
    ]
    for kwargs, argument in cases:
        with pytest.raises(InvalidArgument) as caught:
            store.quality(**kwargs)
        assert caught.value.argument == argument
    with pytest.raises(InvalidArgument) as caught:
        store.coverage(freq="0s")
    assert caught.value.argument == "freq"


def test_verify_warns_of_stuck_values(store: hfdata.Store) -> None:
    t0 = pd.Timestamp("2026-02-01T00:00Z")
    for i in range(3):
        store.append("flat", t0 + pd.Timedelta(hours=i), 1.5)
    store.compact(include_active=True)
    store.flush()
    messages = [f.message for f in verify(store.root) if f.level == "warning"]
    assert any(m.startswith("flat: stuck from 2026-02-01 00:00:00+00:00") for m in messages)
