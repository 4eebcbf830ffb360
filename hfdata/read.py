"""Reading: Parquet plus log tail into frames (issue 4; not built yet)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from hfdata.settings import StoreSettings

__all__ = ["VariableInfo", "info", "read", "scan", "variables"]


@dataclass(frozen=True, slots=True)
class VariableInfo:
    """What `Store.info` reports about one variable."""

    name: str


def read(
    root: Path,
    settings: StoreSettings,
    variables: str | list[str],
    start: Any,
    end: Any,
    **kwargs: Any,
) -> Any:
    raise NotImplementedError("reading arrives with issue 4")


def scan(root: Path, settings: StoreSettings, variable: str, start: Any, end: Any) -> pl.LazyFrame:
    raise NotImplementedError("scan arrives with issue 4")


def variables(root: Path) -> list[str]:
    raise NotImplementedError("variables arrives with issue 4")


def info(root: Path, settings: StoreSettings, variable: str) -> VariableInfo:
    raise NotImplementedError("info arrives with issue 4")
