"""A closed store writes nothing: no point, and no new variable (no `_schema.json`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import hfdata
from hfdata.errors import StoreClosed
from hfdata.layout import SCHEMA_FILE, log_dir


@pytest.mark.parametrize("durability", ["flush", "fsync", "buffered"])
def test_a_closed_store_creates_no_variable(tmp_path: Path, durability: str) -> None:
    store = hfdata.open_store(tmp_path, durability=durability)  # type: ignore[arg-type]
    store.append("old", "2026-11-26T09:00:00Z", 1.0)
    store.close()
    with pytest.raises(StoreClosed):
        store.append("new", "2026-11-26T09:00:00Z", 1.0)
    with pytest.raises(StoreClosed):
        store.append_many(
            "new_batch", pd.DataFrame({"timestamp": ["2026-11-26T09:00:00Z"], "value": [1.0]})
        )
    assert not (log_dir(tmp_path, "new") / SCHEMA_FILE).exists()
    assert not (log_dir(tmp_path, "new_batch") / SCHEMA_FILE).exists()
    with hfdata.open_store(tmp_path) as again:
        assert again.variables() == ["old"]
