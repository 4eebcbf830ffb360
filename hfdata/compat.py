"""`HighFrequencyDataStore`: the original 25-line module's API on top of `Store`.

Code written for `store_data_point` runs unchanged; points land in an hfdata store
at `base_dir` (durability "flush": each call is in the OS when it returns, as
before, but without opening and closing a file per point).
"""

from __future__ import annotations

from typing import Any

from hfdata.store import Store, open_store

__all__ = ["HighFrequencyDataStore"]


class HighFrequencyDataStore:
    """Drop-in replacement for `data.high_frequency_data_store.HighFrequencyDataStore`."""

    def __init__(self, base_dir: str = "data/high_frequency_data") -> None:
        self.base_dir = base_dir
        self.store: Store = open_store(base_dir)

    def initialize_storage(self) -> None:
        """Kept for compatibility; the store is ready once constructed."""

    def store_data_point(
        self,
        variable_name: str,
        timestamp: Any,
        value: Any,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Append one point, as the original did (its timestamps: datetime or ISO text)."""
        self.store.append(variable_name, timestamp, value, metadata)

    def close(self) -> None:
        """Close the underlying store (also done at interpreter exit)."""
        self.store.close()
