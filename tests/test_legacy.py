"""Importing files written by the original `store_data_point` module."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cliutil import stored

import hfdata
from hfdata.timeparse import TimeRules
from hfdata.tools.legacy import LegacyFile, find_legacy_files, import_file

SECOND = 1_000_000_000
T0 = 1_795_687_200_000_000_000  # 2026-11-26T10:00:00Z


class OriginalStore:
    """The original module's logic, line for line (data/high_frequency_data_store.py)."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        os.makedirs(self.base_dir, exist_ok=True)

    def _get_file_path(self, variable_name: str) -> str:
        return os.path.join(self.base_dir, f"{variable_name}.jsonl")

    def store_data_point(
        self, variable_name: str, timestamp: Any, value: Any, metadata: Any = None
    ) -> None:
        file_path = self._get_file_path(variable_name)
        data_point = {
            "timestamp": timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp,
            "value": value,
            "metadata": metadata,
        }
        with open(file_path, "a") as f:
            f.write(json.dumps(data_point) + "\n")


@pytest.fixture
def legacy_dir(tmp_path: Path) -> Path:
    source = tmp_path / "old"
    original = OriginalStore(str(source))
    meta = {"location": "room_a", "sensor_id": "xyz123"}
    original.store_data_point("sensor_temp_celsius", datetime(2026, 11, 26, 10, 0), 25.5, meta)
    original.store_data_point(
        "sensor_temp_celsius",
        datetime(2026, 11, 26, 11, 0, 1, 250000, tzinfo=timezone(timedelta(hours=1))),
        float("nan"),
    )
    original.store_data_point("sensor_temp_celsius", "2026-11-26T10:00:02Z", 26)
    original.store_data_point("sensor_temp_celsius", datetime(2026, 11, 26, 10, 0, 3), "oops")
    original.store_data_point(
        "system_load_avg", datetime(2026, 11, 26, 10, 0, tzinfo=UTC), 0.65, {"host": "s1"}
    )
    (source / "plant").mkdir()
    original.store_data_point("plant/line 1", datetime(2026, 11, 26, 10, 0, 0, 1), {"a": [1]})
    (source / "notes.txt").write_text("not data")
    return source


def test_finds_every_variable_file(legacy_dir: Path) -> None:
    files, skipped = find_legacy_files(legacy_dir)
    assert [f.variable for f in files] == ["plant/line 1", "sensor_temp_celsius", "system_load_avg"]
    assert skipped == []
    single, _ = find_legacy_files(legacy_dir / "system_load_avg.jsonl")
    assert single == [LegacyFile(legacy_dir / "system_load_avg.jsonl", "system_load_avg")]


def test_import_keeps_times_values_and_metadata(legacy_dir: Path, tmp_path: Path) -> None:
    files, _ = find_legacy_files(legacy_dir)
    with hfdata.open_store(tmp_path / "store") as store:
        reports = {f.variable: import_file(store, f, TimeRules("UTC")) for f in files}
    temp = reports["sensor_temp_celsius"]
    assert (temp.lines, temp.appended, temp.rejected_count) == (4, 3, 1)
    assert temp.rejected[0].line == 4 and "float" in temp.rejected[0].reason
    points = stored(tmp_path / "store", "sensor_temp_celsius")
    assert [p[0] for p in points] == [T0, T0 + SECOND + 250_000_000, T0 + 2 * SECOND]
    assert points[0][1] == 25.5 and math.isnan(points[1][1]) and points[2][1] == 26.0  # type: ignore[arg-type]
    assert json.loads(points[0][2] or "") == {"location": "room_a", "sensor_id": "xyz123"}
    assert points[1][2] is None  # "metadata": null is no metadata
    assert stored(tmp_path / "store", "plant/line 1") == [(T0 + 1000, '{"a":[1]}', None)]


def test_naive_times_in_the_zone_the_original_ran_in(legacy_dir: Path, tmp_path: Path) -> None:
    files, _ = find_legacy_files(legacy_dir / "sensor_temp_celsius.jsonl")
    with hfdata.open_store(tmp_path / "store") as store:
        import_file(store, files[0], TimeRules("Europe/Berlin"))
    points = stored(tmp_path / "store", "sensor_temp_celsius")
    # naive 10:00 Berlin (UTC+1 in November) is 09:00Z; offsets and Z are kept as given
    assert [p[0] for p in points] == [
        T0 - 3600 * SECOND,
        T0 + SECOND + 250_000_000,
        T0 + 2 * SECOND,
    ]


def test_import_into_the_same_folder_skips_the_store(tmp_path: Path) -> None:
    """The compatibility class opens its store in the original base_dir, next to old files."""
    base = tmp_path / "data"
    OriginalStore(str(base)).store_data_point("x", datetime(2026, 11, 26, 10, 0), 1.0)
    compat = hfdata.HighFrequencyDataStore(base_dir=str(base))
    compat.store_data_point("y", datetime(2026, 11, 26, 10, 0), 2.0)
    compat.close()
    files, _ = find_legacy_files(base)
    assert [f.variable for f in files] == ["x"]  # not log/y/....jsonl


def test_illegal_names_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "ok.jsonl").write_text('{"timestamp": "2026-11-26T10:00:00", "value": 1}\n')
    (tmp_path / "bad\x01name.jsonl").write_text("")
    (tmp_path / ".hidden.jsonl").write_text("")
    files, skipped = find_legacy_files(tmp_path)
    assert [f.variable for f in files] == ["ok"]
    assert len(skipped) == 1 and "control character" in skipped[0]


def test_numeric_timestamps_need_an_epoch_unit(tmp_path: Path) -> None:
    OriginalStore(str(tmp_path / "old")).store_data_point("n", 1_795_687_200, 1.0)
    legacy = LegacyFile(tmp_path / "old" / "n.jsonl", "n")
    with hfdata.open_store(tmp_path / "a") as store:
        refused = import_file(store, legacy, TimeRules("UTC"))
    assert refused.appended == 0 and "epoch_unit" in refused.rejected[0].reason
    with hfdata.open_store(tmp_path / "b") as store:
        accepted = import_file(store, legacy, TimeRules("UTC", "s"))
    assert accepted.appended == 1
    assert stored(tmp_path / "b", "n") == [(T0, 1.0, None)]
