"""`hfdata.json`: created once, read back, conflicts refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

import hfdata
from hfdata.errors import CorruptFile, SettingsConflict


def test_created_with_defaults(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path / "s").close()
    body = orjson.loads((tmp_path / "s" / "hfdata.json").read_bytes())
    assert body["format"] == "hfdata"
    assert body["format_version"] == 3  # issue 20: arrival times and tombstones
    assert body["partition"] == "day"
    assert body["naive_timezone"] == "UTC"
    assert body["epoch_unit"] is None
    assert body["log_retention_seconds"] == 7 * 86400
    assert body["history_retention_seconds"] is None  # keep history


def test_history_retention_is_recorded_and_checked(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path, history_retention=timedelta(days=2)).close()
    body = orjson.loads((tmp_path / "hfdata.json").read_bytes())
    assert body["history_retention_seconds"] == 2 * 86400
    with hfdata.open_store(tmp_path) as store:
        assert store.settings.history_retention_seconds == 2 * 86400
    with pytest.raises(SettingsConflict, match="history_retention_seconds"):
        hfdata.open_store(tmp_path, history_retention=None)
    with pytest.raises(ValueError, match="history_retention must be a non-negative"):
        hfdata.open_store(tmp_path / "other", history_retention=timedelta(seconds=-1))


def test_reopen_reads_settings_back(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path, partition="hour", epoch_unit="ms").close()
    with hfdata.open_store(tmp_path) as store:
        assert store.settings.partition == "hour"
        assert store.settings.epoch_unit == "ms"
        store.append("x", 1_700_000_000_000, 1.0)  # ms epoch accepted without saying so again


def test_conflicting_setting_is_refused(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path, partition="hour").close()
    with pytest.raises(SettingsConflict, match="partition='hour'"):
        hfdata.open_store(tmp_path, partition="day")
    hfdata.open_store(tmp_path, partition="hour").close()  # the same value is fine


@pytest.mark.parametrize(
    "kwargs",
    [
        {"partition": "week"},
        {"epoch_unit": "minutes"},
        {"naive_timezone": "Nowhere/Land"},
        {"durability": "maybe"},
        {"max_segment_bytes": 0},
        {"max_segment_age": -1},
        {"flush_interval": 0},
        {"log_retention": timedelta(days=-1)},
        {"max_open_segments": 0},
    ],
    ids=repr,
)
def test_bad_options_are_value_errors(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        hfdata.open_store(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "hfdata.json").write_text("{}")
    with pytest.raises(CorruptFile, match="not an hfdata"):
        hfdata.open_store(tmp_path)
    (tmp_path / "hfdata.json").write_text("garbage")
    with pytest.raises(CorruptFile, match="not valid JSON"):
        hfdata.open_store(tmp_path)


def test_newer_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hfdata.json").write_bytes(orjson.dumps({"format": "hfdata", "format_version": 99}))
    with pytest.raises(CorruptFile, match="Upgrade"):
        hfdata.open_store(tmp_path)


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"{}",
        b"[1, 2]",
        b'"hfdata"',
        b'{"format": "hfdata", "format_version": 99}',
        b'{"format": "hfdata", "format_version": "1"}',
        b'{"format": "hfdata", "format_version": 1, "partition": "fortnight"}',
        b'{"format": "hfdata", "format_version": 1, "log_retention_seconds": "soon"}',
    ],
    ids=repr,
)
def test_unusable_settings_file_is_corrupt_file_naming_it(tmp_path: Path, body: bytes) -> None:
    """A damaged `hfdata.json` is the store's fault, not the caller's: an `OSError` kind
    (the CLI exits 1), never a bare `ValueError`, and the message says which file and what
    to do."""
    path = tmp_path / "hfdata.json"
    path.write_bytes(body)
    with pytest.raises(CorruptFile) as raised:
        hfdata.open_store(tmp_path)
    assert isinstance(raised.value, OSError) and not isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert str(path) in message
    assert "restore hfdata.json" in message or "Upgrade hfdata" in message
    assert path.read_bytes() == body  # the file is left as it was


def test_dst_rules_are_recorded_at_creation(tmp_path: Path) -> None:
    hfdata.open_store(
        tmp_path, naive_timezone="Europe/Berlin", nonexistent=timedelta(hours=1), ambiguous=False
    ).close()
    body = orjson.loads((tmp_path / "hfdata.json").read_bytes())
    assert body["nonexistent"] == 3600.0  # a timedelta is recorded as seconds
    assert body["ambiguous"] is False
    with hfdata.open_store(tmp_path) as store:
        assert store.settings.nonexistent == 3600.0
        assert store.settings.ambiguous is False
        rules = store.settings.time_rules()
        assert rules.nonexistent == timedelta(hours=1)
    hfdata.open_store(tmp_path, nonexistent=timedelta(seconds=3600), ambiguous=False).close()
    with pytest.raises(SettingsConflict, match=r"nonexistent=3600.0"):
        hfdata.open_store(tmp_path, nonexistent="shift_forward")
    with pytest.raises(SettingsConflict, match="ambiguous=False"):
        hfdata.open_store(tmp_path, ambiguous="infer")


def test_old_store_without_dst_keys_reads_raise(tmp_path: Path) -> None:
    hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin").close()
    path = tmp_path / "hfdata.json"
    body = orjson.loads(path.read_bytes())
    del body["nonexistent"], body["ambiguous"]
    path.write_bytes(orjson.dumps(body))
    with hfdata.open_store(tmp_path) as store:
        assert (store.settings.nonexistent, store.settings.ambiguous) == ("raise", "raise")
    hfdata.open_store(tmp_path, nonexistent="raise", ambiguous="raise").close()


@pytest.mark.parametrize(
    "kwargs",
    [{"nonexistent": "NaT"}, {"ambiguous": "NaT"}],
    ids=repr,
)
def test_nat_dst_rules_are_refused(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="missing timestamps"):
        hfdata.open_store(tmp_path, naive_timezone="Europe/Berlin", **kwargs)  # type: ignore[arg-type]
    hfdata.open_store(tmp_path).close()  # an existing store: still a ValueError, not a conflict
    with pytest.raises(ValueError, match="missing timestamps"):
        hfdata.open_store(tmp_path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nonexistent": "later"},
        {"nonexistent": timedelta(0)},
        {"ambiguous": "first"},
        {"ambiguous": 1},
        {"max_metadata_bytes": 0},
        {"max_metadata_bytes": 1.5},
    ],
    ids=repr,
)
def test_bad_input_options_are_value_errors(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        hfdata.open_store(tmp_path, **kwargs)  # type: ignore[arg-type]
