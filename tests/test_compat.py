"""`HighFrequencyDataStore`: code written for the original module runs unchanged."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from logutil import log_lines

import hfdata


def test_original_usage_example_runs_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = hfdata.HighFrequencyDataStore(base_dir="temp_hf_data")
    store.initialize_storage()
    variable1 = "sensor_temp_celsius"
    metadata1 = {"location": "room_a", "sensor_id": "xyz123"}
    store.store_data_point(variable1, datetime(2023, 10, 27, 14, 29, 59, 5), 25.5, metadata1)
    store.store_data_point("system_load_avg", "2023-10-27T14:30:00Z", 0.65, {"host": "server01"})
    store.store_data_point(variable1, datetime(2023, 10, 27, 14, 30, 1), 25.8, metadata1)
    store.close()
    root = tmp_path / "temp_hf_data"
    assert log_lines(root, variable1) == [
        {"timestamp": "2023-10-27T14:29:59.000005Z", "value": 25.5, "metadata": metadata1},
        {"timestamp": "2023-10-27T14:30:01Z", "value": 25.8, "metadata": metadata1},
    ]
    assert log_lines(root, "system_load_avg") == [
        {"timestamp": "2023-10-27T14:30:00Z", "value": 0.65, "metadata": {"host": "server01"}}
    ]


def test_default_base_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = hfdata.HighFrequencyDataStore()
    store.store_data_point("x", "2026-01-01T00:00:00", 1.0)
    store.close()
    assert log_lines(tmp_path / "data" / "high_frequency_data", "x")[0]["value"] == 1.0


def test_errors_are_typed(tmp_path: Path) -> None:
    store = hfdata.HighFrequencyDataStore(base_dir=str(tmp_path))
    with pytest.raises(hfdata.InvalidTimestamp):
        store.store_data_point("x", "whenever", 1.0)
    with pytest.raises(hfdata.InvalidVariableName):
        store.store_data_point("", "2026-01-01", 1.0)
    store.close()
