"""`hfdata.json`: the store's format version and the settings fixed at creation.

Only settings that change how stored data is interpreted live here (partition
granularity, how naive times and bare numbers are read, what a naive time in a
daylight-saving gap or fold becomes, log retention, where the Parquet tree lives, the
rollups' resolutions and the gap threshold the stats use), plus the store's random id.
Stores created before `nonexistent`/`ambiguous` existed read them as "raise"; before
`rollups`/`gap_threshold` (issue 19), as their defaults. Runtime knobs such as durability
and rotation, and object-store credentials, are per `open_store` call.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from hfdata.durable import atomic_write
from hfdata.errors import CorruptFile, InvalidArgument, SettingsConflict
from hfdata.layout import PARTITIONS, Partition, temp_sibling
from hfdata.timeparse import (
    EPOCH_UNITS,
    EpochUnit,
    Spelling,
    TimeRules,
    check_dst_options,
    resolve_timezone,
)

__all__ = [
    "DEFAULT_ROLLUPS",
    "FORMAT_VERSION",
    "SETTINGS_FILE",
    "StoreSettings",
    "load_or_create",
    "record_format_version",
    "recorded_format_version",
    "rollup_resolutions",
]

SETTINGS_FILE: Final = "hfdata.json"
# 3: arrival times (`arrived` in the log and in every Parquet file) and tombstones
# (issue 20); 2: Parquet under kind=<kind>/ (issue 16); 1: variable=<var>/ at the top.
# Older stores are upgraded by `hfdata.compact.upgrade`. docs/contracts.md, "Format
# versions", records each change.
FORMAT_VERSION: Final = 3
DEFAULT_ROLLUPS: Final = ("1min", "1h")
_RULE_TEXT: Final = re.compile(r"^[0-9]*[A-Za-z]+$")  # a folder name too: res=<rule>


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Settings recorded in `hfdata.json` when the store is created."""

    partition: Partition = "day"
    naive_timezone: str = "UTC"
    epoch_unit: EpochUnit | None = None
    log_retention_seconds: float | None = 7 * 86_400.0
    # how long a point deleted by a tombstone stays stored (`history`, `as_of` reads)
    # before `optimize` removes it; None: forever
    history_retention_seconds: float | None = None
    parquet_root: str | None = None  # None: <root>/parquet; else a path or URI (s3://…)
    store_id: str = ""  # names this store's files in a shared parquet root (commit owner)
    nonexistent: str | float = "raise"  # tz_localize's rule; a float is a shift in seconds
    ambiguous: str | bool = "raise"  # tz_localize's rule: "raise", "infer", True, False
    rollups: tuple[str, ...] = DEFAULT_ROLLUPS  # rollup resolutions, fixed rules; (): none
    gap_threshold: timedelta | None = None  # the stats' gap floor; None: 10x median interval

    def __post_init__(self) -> None:
        object.__setattr__(self, "rollups", tuple(self.rollups))  # JSON gives a list
        rollup_resolutions(self.rollups)
        if self.gap_threshold is not None and (
            not isinstance(self.gap_threshold, timedelta) or self.gap_threshold <= timedelta(0)
        ):
            raise InvalidArgument(
                f"gap_threshold must be a positive timedelta or None, got {self.gap_threshold!r}",
                argument="gap_threshold",
            )
        if self.partition not in PARTITIONS:
            raise ValueError(f"partition must be one of {PARTITIONS}, got {self.partition!r}")
        if self.epoch_unit is not None and self.epoch_unit not in EPOCH_UNITS:
            raise ValueError(
                f"epoch_unit must be one of {EPOCH_UNITS} or None, got {self.epoch_unit!r}"
            )
        resolve_timezone(self.naive_timezone)
        check_dst_options(self._nonexistent_rule(), self.ambiguous)
        if self.log_retention_seconds is not None and self.log_retention_seconds < 0:
            raise ValueError("log_retention must be a non-negative timedelta or None")
        if self.history_retention_seconds is not None and (
            isinstance(self.history_retention_seconds, bool)
            or not isinstance(self.history_retention_seconds, int | float)
            or self.history_retention_seconds < 0
        ):
            raise ValueError("history_retention must be a non-negative timedelta or None")

    def _nonexistent_rule(self) -> str | timedelta:
        value = self.nonexistent
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(seconds=value)
        return str(value)

    def resolutions(self) -> list[tuple[str, int]]:
        """The rollups as `(rule as recorded, resolution in ns)`, in recorded order."""
        return rollup_resolutions(self.rollups)

    @property
    def gap_threshold_ns(self) -> int | None:
        """`gap_threshold` in nanoseconds (what `file_stats` takes), or None."""
        if self.gap_threshold is None:
            return None
        return _ns_of(self.gap_threshold)

    def time_rules(
        self,
        *,
        epoch_unit: EpochUnit | None = None,
        timestamp_format: str | None = None,
        spelling: Spelling = "python",
        takes_format: bool = False,
    ) -> TimeRules:
        """The store's `TimeRules`, with one call's `epoch_unit`/`timestamp_format` if given
        (`takes_format`: the caller has a `timestamp_format` option, see `TimeRules`)."""
        return TimeRules(
            self.naive_timezone,
            epoch_unit or self.epoch_unit,
            nonexistent=self._nonexistent_rule(),
            ambiguous=self.ambiguous,
            timestamp_format=timestamp_format,
            spelling=spelling,
            takes_format=takes_format,
        )


def _ns_of(delta: timedelta) -> int:
    return (
        (delta.days * 86_400 + delta.seconds) * 1_000_000_000
        + delta.microseconds * 1_000
        + (
            int(getattr(delta, "nanoseconds", 0))  # a pandas Timedelta keeps nanoseconds
        )
    )


def rollup_resolutions(rules: tuple[str, ...] | list[str]) -> list[tuple[str, int]]:
    """`(rule, resolution in ns)` of each rollup rule; an `InvalidArgument` unless each is
    a fixed, positive pandas frequency ("1min", "15s", "1h"; not "1D" or "1MS", whose
    length is not fixed) written as a number and a unit, and no two are equal."""
    from pandas import Timedelta  # pandas only when a store opens (settings are light)
    from pandas.tseries.frequencies import to_offset

    found: list[tuple[str, int]] = []
    for rule in rules:
        offset = None
        if isinstance(rule, str) and _RULE_TEXT.match(rule):
            try:
                offset = to_offset(rule)
            except (ValueError, TypeError):
                offset = None
        try:
            nanos = offset.nanos if offset is not None else None
        except ValueError:  # a calendar frequency (months, weeks): no fixed length
            nanos = None
        if not isinstance(nanos, int) or nanos <= 0 or type(offset).__name__ == "Day":
            raise InvalidArgument(
                f"rollups: {rule!r} is not a fixed, positive frequency; give rules such as "
                '"1min", "15s" or "1h" (a day: "24h"), or () for no rollups',
                argument="rollups",
            )
        if any(nanos == seen for _, seen in found):
            raise InvalidArgument(
                f"rollups: {rule!r} repeats the resolution of another rule ({Timedelta(nanos)})",
                argument="rollups",
            )
        found.append((rule, nanos))
    return found


def _recorded(settings: StoreSettings) -> dict[str, Any]:
    """The settings as `hfdata.json` records them (`gap_threshold` in seconds)."""
    body = asdict(settings)
    body["rollups"] = list(settings.rollups)
    if settings.gap_threshold is not None:
        body["gap_threshold"] = _ns_of(settings.gap_threshold) / 1e9
    return body


def load_or_create(root: Path, requested: dict[str, Any]) -> StoreSettings:
    """Read `hfdata.json`, or create it from `requested` (only the keys the caller gave).

    A requested value that differs from the recorded one is a `SettingsConflict`.
    """
    path = root / SETTINGS_FILE
    if not path.exists():
        settings = StoreSettings(**requested, store_id=secrets.token_hex(8))
        root.mkdir(parents=True, exist_ok=True)
        body = {
            "format": "hfdata",
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(),
            **_recorded(settings),
        }
        tmp = temp_sibling(path)
        tmp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
        try:
            os.link(tmp, path)  # create-exclusive: two first openers agree on one file
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    settings = _read(path)
    for key, value in requested.items():
        if getattr(settings, key) != value:
            raise SettingsConflict(
                f"store {root} was created with {key}={getattr(settings, key)!r}; it cannot be "
                f"reopened with {key}={value!r}. Omit {key} to use the recorded value"
            )
    return settings


def recorded_format_version(root: Path) -> int:
    """The format version `hfdata.json` records (a file written before versions: 1).
    Call after `load_or_create`, which checks the file."""
    version = _load(root / SETTINGS_FILE).get("format_version", 1)
    return max(int(version), 1)


def record_format_version(root: Path, version: int) -> None:
    """Record a new format version in `hfdata.json`, durably and atomically (an upgrade's
    last step: before it, the store reads as the old format)."""
    path = root / SETTINGS_FILE
    recorded = _load(path)
    recorded["format_version"] = version
    atomic_write(path, orjson.dumps(recorded, option=orjson.OPT_INDENT_2))


def _load(path: Path) -> dict[str, Any]:
    """The JSON object `path` holds; anything else is a `CorruptFile`."""
    try:
        recorded = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise CorruptFile(
            f"{path} is not valid JSON; is this an hfdata store? If it is, restore "
            f"{SETTINGS_FILE} from a backup or another copy of the store"
        ) from exc
    if not isinstance(recorded, dict) or recorded.get("format") != "hfdata":
        raise CorruptFile(
            f"{path} is not an hfdata settings file; is this an hfdata store? If it is, "
            f"restore {SETTINGS_FILE} from a backup or another copy of the store"
        )
    return recorded


def _read(path: Path) -> StoreSettings:
    """The settings recorded in `path`; a file this hfdata cannot use is a `CorruptFile`.

    That covers a file that is not JSON, JSON that is not an hfdata settings object, a
    newer format version, and recorded values `StoreSettings` refuses. It is an `OSError`
    kind, not a `ValueError`: nothing the caller passed is wrong, the store's file is.
    An older format version reads (the caller upgrades or refuses it).
    """
    recorded = _load(path)
    version = recorded.get("format_version", 0)
    if not isinstance(version, int | float) or isinstance(version, bool):
        raise CorruptFile(
            f"{path} has format_version {version!r}, not a number; restore {SETTINGS_FILE} "
            "from a backup or another copy of the store"
        )
    if version > FORMAT_VERSION:
        raise CorruptFile(
            f"{path} has format version {version}; this hfdata reads up to "
            f"{FORMAT_VERSION}. Upgrade hfdata"
        )
    fields = {k: recorded[k] for k in StoreSettings.__dataclass_fields__ if k in recorded}
    gap = fields.get("gap_threshold")
    if isinstance(gap, int | float) and not isinstance(gap, bool):
        fields["gap_threshold"] = timedelta(seconds=gap)
    try:
        return StoreSettings(**fields)
    except (ValueError, TypeError) as exc:
        raise CorruptFile(
            f"{path} records a setting this hfdata refuses ({exc}); restore {SETTINGS_FILE} "
            "from a backup or another copy of the store"
        ) from exc
