"""A `Store` nobody holds is closed by the garbage collector, as an unclosed file is.

A notebook cell `store = hfdata.open_store(...)` run again drops the previous handle
without `close()`. Its segments must still be closed (so a later compaction takes their
points) and its flusher thread must end, with a `ResourceWarning` saying so.
"""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import pandas as pd
import pytest

import hfdata
from hfdata.compat import HighFrequencyDataStore
from hfdata.layout import log_dir


def _flushers() -> int:
    return sum(t.name.startswith("hfdata-flusher-") for t in threading.enumerate())


def test_twenty_dropped_handles_are_closed_and_compacted(tmp_path: Path) -> None:
    before = _flushers()
    with pytest.warns(
        ResourceWarning, match=r"unclosed <hfdata\.Store .*use `with` or \.close\(\)"
    ):
        for i in range(20):  # the cell run 20 times
            store = hfdata.open_store(tmp_path, durability="buffered")
            store.append("x", f"2024-01-01T00:00:{i:02d}Z", float(i))
        del store
        gc.collect()
    assert _flushers() == before
    assert list(log_dir(tmp_path, "x").glob("*.active")) == []  # every segment closed
    with hfdata.open_store(tmp_path) as fresh:
        report = fresh.compact(include_active=True)
        assert report.rows == 20
        got = fresh.read("x", include_log=False)  # Parquet only: the log holds none of them
    assert got["value"].tolist() == [float(i) for i in range(20)]
    assert got.index[0] == pd.Timestamp("2024-01-01T00:00:00Z")


def test_nothing_the_store_owns_keeps_it_alive(tmp_path: Path) -> None:
    """Not its flusher thread, its bound `append`, nor the compatibility wrapper."""
    store = hfdata.open_store(tmp_path)
    append = store.append
    append("x", "2024-01-01T00:00:00Z", 1.0)
    ref = weakref.ref(store)
    with pytest.warns(ResourceWarning):
        del store
        gc.collect()
    assert ref() is None
    with pytest.raises(hfdata.StoreClosed):  # the writer went with its store
        append("x", "2024-01-01T00:00:01Z", 2.0)

    legacy = HighFrequencyDataStore(str(tmp_path / "legacy"))
    legacy.store_data_point("y", "2024-01-01T00:00:00Z", 1.0)
    ref = weakref.ref(legacy.store)
    with pytest.warns(ResourceWarning):
        del legacy
        gc.collect()
    assert ref() is None


def test_a_closed_store_is_collected_without_a_warning(tmp_path: Path) -> None:
    before = _flushers()
    with hfdata.open_store(tmp_path) as store:
        store.append("x", "2024-01-01T00:00:00Z", 1.0)
    del store
    gc.collect()  # pytest turns a stray ResourceWarning into an error
    assert _flushers() == before
