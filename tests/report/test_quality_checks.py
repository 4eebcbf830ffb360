"""Store.quality's time checks, thresholds and verify's warnings (issue 19)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import hfdata
from hfdata.errors import InvalidArgument
from hfdata.report import pieces as pieces_module
from hfdata.tools.cli import main
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


def spiky_store(store: hfdata.Store) -> pd.Timestamp:
    """A variable with one spike (in a compacted file with its stats) and a stuck run."""
    t0 = pd.Timestamp("2026-02-01T00:00Z")
    for i in range(200):
        value = 1000.0 if i == 100 else float(i % 7)
        store.append("wave", t0 + pd.Timedelta(seconds=i), value)
    for i in range(3):
        store.append("flat", t0 + pd.Timedelta(hours=i), 1.5)
    store.compact(include_active=True)
    store.flush()
    return t0


def test_verify_scores_spikes_only_when_asked(
    store: hfdata.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify stays cheap: by default it warns of what the per-file stats answer (stuck
    values, NaN runs) and reads no point of the report's pieces; quality="full" adds the
    spike check, which reads and scores every point."""
    t0 = spiky_store(store)
    assert [t.value for t in store.quality(checks=["spike"])["start"]] == [
        (t0 + pd.Timedelta(seconds=100)).value
    ]
    read: list[str] = []
    real = pieces_module._read_file

    def counting(file: Any, kind: Any, view: Any) -> Any:
        read.append(file.rel)
        return real(file, kind, view)

    monkeypatch.setattr(pieces_module, "_read_file", counting)
    default = [f.message for f in verify(store.root) if f.level == "warning"]
    assert read == []  # every file has its stats sidecar: none read for the quality checks
    assert any(m.startswith("flat: stuck from 2026-02-01 00:00:00+00:00") for m in default)
    assert not any(": spike from" in m for m in default)
    full = [f.message for f in verify(store.root, quality="full") if f.level == "warning"]
    assert len(read) == 2  # each variable's one file, for its spikes
    assert any(m.startswith("wave: spike from 2026-02-01 00:01:40+00:00") for m in full)
    assert any(m.startswith("flat: stuck from") for m in full)
    with pytest.raises(InvalidArgument) as caught:
        verify(store.root, quality="points")  # type: ignore[arg-type]
    assert caught.value.argument == "quality"


def test_cli_verify_quality_full(store: hfdata.Store, capsys: pytest.CaptureFixture[str]) -> None:
    spiky_store(store)
    assert main(["verify", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "flat: stuck from" in out and ": spike from" not in out
    assert main(["verify", str(store.root), "--quality", "full"]) == 0
    out = capsys.readouterr().out
    assert "wave: spike from 2026-02-01 00:01:40+00:00" in out and "flat: stuck from" in out
    assert main(["verify", str(store.root), "--quality", "points"]) == 2  # a usage error
    assert "invalid choice: 'points'" in capsys.readouterr().err
