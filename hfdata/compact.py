"""Compaction: closed log segments into hive-partitioned Parquet (issue 3; not built yet)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hfdata.settings import StoreSettings

__all__ = ["CompactionReport", "compact", "drop", "optimize"]


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What one compaction or optimize run did."""

    segments: int = 0
    rows: int = 0
    partitions: int = 0
    files: int = 0
    quarantined: int = 0
    seconds: float = 0.0


def compact(
    root: Path,
    settings: StoreSettings,
    *,
    variables: list[str] | None = None,
    progress: bool | None = None,
    wait: bool = True,
) -> CompactionReport:
    raise NotImplementedError("compaction arrives with issue 3")


def optimize(
    root: Path,
    settings: StoreSettings,
    *,
    variables: list[str] | None = None,
    dedupe: Literal["last", "first"] | None = None,
    progress: bool | None = None,
) -> CompactionReport:
    raise NotImplementedError("optimize arrives with issue 3")


def drop(root: Path, settings: StoreSettings, variable: str) -> None:
    raise NotImplementedError("drop arrives with issue 3")
