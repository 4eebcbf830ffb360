"""Seeded generated data, the same for every contender.

Points look like a real sensor stream: timestamps are timezone-aware UTC datetimes
about 10 ms apart with jitter, values a float random walk, and one point in ten
carries a small metadata dict (as the original module's users passed one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SEED", "START", "Point", "day", "frame", "points", "regular"]

SEED = 20261126
START = datetime(2026, 11, 26, tzinfo=UTC)
_START_NS = int(pd.Timestamp(START).value)

Point = tuple[datetime, float, dict[str, Any] | None]


def _ns(n: int, rng: np.random.Generator, step_ms: float) -> np.ndarray:
    steps = rng.integers(int(step_ms * 0.5e6), int(step_ms * 1.5e6), size=n, dtype=np.int64)
    return _START_NS + np.cumsum(steps)


def points(n: int, *, seed: int = SEED) -> list[Point]:
    """``n`` points ``(aware UTC datetime, float, metadata or None)``."""
    rng = np.random.default_rng(seed)
    ns = _ns(n, rng, 10.0) // 1000 * 1000  # datetimes hold microseconds
    values = np.round(20.0 + np.cumsum(rng.normal(0.0, 0.05, size=n)), 6)
    stamps = pd.DatetimeIndex(ns, tz="UTC").to_pydatetime()  # microsecond datetimes
    sensors = [f"xyz{i:03d}" for i in range(8)]
    out: list[Point] = []
    for i in range(n):
        meta = {"location": "room_a", "sensor_id": sensors[i % 8]} if i % 10 == 0 else None
        out.append((stamps[i], float(values[i]), meta))
    return out


def frame(n: int, *, seed: int = SEED) -> pd.DataFrame:
    """A pandas frame of ``n`` rows: ``timestamp`` (datetime64[ns, UTC]) and ``value``."""
    rng = np.random.default_rng(seed)
    ns = _ns(n, rng, 1.0)
    values = np.round(20.0 + np.cumsum(rng.normal(0.0, 0.05, size=n)), 4)
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ns, tz="UTC").as_unit("ns"),
            "value": values,
        }
    )


def regular(n: int, *, hz: int = 20, start: datetime = START, seed: int = SEED) -> pd.DataFrame:
    """``n`` rows at exactly ``hz`` points per second from ``start``: ``timestamp``, ``value``.

    The sensor stream of the read workloads (issue 4: 2,000,000 points at 20 Hz).
    """
    rng = np.random.default_rng(seed)
    first = int(pd.Timestamp(start).value)
    ns = first + np.arange(n, dtype=np.int64) * (1_000_000_000 // hz)
    values = np.round(20.0 + np.cumsum(rng.normal(0.0, 0.01, size=n)), 4)
    return pd.DataFrame(
        {"timestamp": pd.DatetimeIndex(ns, tz="UTC").as_unit("ns"), "value": values}
    )


def day(index: int, *, hz: int, seed: int = SEED) -> pd.DataFrame:
    """Day ``index`` (0-based, from ``START``) of a ``hz`` stream, seeded per day."""
    return regular(86_400 * hz, hz=hz, start=START + timedelta(days=index), seed=seed + index)
