"""A store's `PartsRoot` from its settings: `<root>/parquet`, or the `parquet_root` elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hfdata.parquet.local import LocalRoot
from hfdata.parquet.objectstore import ParquetRoot
from hfdata.parquet.root import PartsRoot

__all__ = ["open_root"]


def open_root(
    root: Path,
    parquet_root: str | None,
    storage_options: dict[str, Any] | None = None,
    *,
    owner: str,
) -> PartsRoot:
    """The Parquet root of the store at `root`: `parquet_root` (normalised, as settings
    record it) through `storage_options`, or `<root>/parquet` when it is None. `owner`
    (the store id) is named in the commit records an object store writes."""
    if parquet_root is None:
        return LocalRoot(root)
    return ParquetRoot(parquet_root, storage_options, owner=owner)
