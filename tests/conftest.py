"""Fixtures shared by every test module.

`store` is an open store in `tmp_path / "s"`, closed after the test. Its `open_store`
options come from a `store_options` mark (on the test, or `pytestmark` for a module)
or from indirect parametrisation::

    pytestmark = pytest.mark.store_options(max_segment_bytes=4000)

    @pytest.mark.parametrize("store", [{"partition": "hour"}], indirect=True)
    def test_x(store: hfdata.Store) -> None: ...

`make_store(**options)` opens one with options chosen inside the test (or a second
handle on the same directory); every store it opened is closed after the test.
Shared hypothesis strategies live in `strategies.py`, log helpers in `logutil.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hfdata

__all__ = ["MakeStore"]

MakeStore = Callable[..., hfdata.Store]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "store_options(**options): open_store options of the `store` fixture"
    )


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[MakeStore]:
    """`make_store(**options)`: `hfdata.open_store(tmp_path / "s", **options)`, closed after."""
    opened: list[hfdata.Store] = []

    def make(**options: Any) -> hfdata.Store:
        store = hfdata.open_store(tmp_path / "s", **options)
        opened.append(store)
        return store

    yield make
    for store in reversed(opened):
        store.close()


@pytest.fixture
def store(request: pytest.FixtureRequest, make_store: MakeStore) -> hfdata.Store:
    """An open store in `tmp_path / "s"` (options: `store_options` mark, indirect param)."""
    marker = request.node.get_closest_marker("store_options")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    options.update(getattr(request, "param", {}))
    return make_store(**options)
