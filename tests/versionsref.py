"""A plain pandas reference for issue 20's reads: stored versions `(timestamp, value,
arrived)` and tombstones `(start, end, recorded)`, and what a reader at `as_of` sees
(docs/contracts.md, "Versions"), written as directly as the rule reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Reference:
    """Every version appended (in append order) and every tombstone recorded."""

    rows: list[tuple[int, float, int]] = field(default_factory=list)  # ts, value, arrived
    tombstones: list[tuple[int, int, int]] = field(default_factory=list)  # start, end, recorded

    def known(self, as_of: int | None) -> pd.DataFrame:
        """The versions a reader at `as_of` knows of, each with its `deleted_at` (the
        earliest tombstone known by then that deletes it; <NA> if none)."""
        frame = pd.DataFrame(self.rows, columns=["ts", "value", "arrived"])
        frame["order"] = np.arange(len(frame))
        if as_of is not None:
            frame = frame[frame["arrived"] <= as_of]
        stones = [t for t in self.tombstones if as_of is None or t[2] <= as_of]
        deleted = []
        for ts, arrived in zip(frame["ts"], frame["arrived"], strict=True):
            hits = [r for s, e, r in stones if s <= ts < e and arrived < r]
            deleted.append(min(hits) if hits else None)
        frame["deleted_at"] = pd.array(deleted, dtype="Int64")
        return frame.reset_index(drop=True)

    def visible(self, as_of: int | None, dedupe: str | None = None) -> pd.DataFrame:
        """The visible versions (`ts`, `value`, `arrived`), sorted by ts then arrival;
        with `dedupe`, one per timestamp: the greatest (`last`) or smallest arrival."""
        frame = self.known(as_of)
        frame = frame[frame["deleted_at"].isna()]
        frame = frame.sort_values(["ts", "arrived", "order"], kind="stable")
        if dedupe is not None:
            frame = frame.drop_duplicates("ts", keep="last" if dedupe == "last" else "first")
        return frame[["ts", "value", "arrived"]].reset_index(drop=True)

    def history(self, as_of: int | None) -> pd.DataFrame:
        """Every known version with `superseded_at` (the arrival of the next visible
        version of its timestamp) and `deleted_at`, sorted by ts then arrival."""
        frame = self.known(as_of).sort_values(["ts", "arrived", "order"], kind="stable")
        superseded = []
        for ts, arrived, order in zip(frame["ts"], frame["arrived"], frame["order"], strict=True):
            later = frame[
                (frame["ts"] == ts)
                & frame["deleted_at"].isna()
                & (
                    (frame["arrived"] > arrived)
                    | ((frame["arrived"] == arrived) & (frame["order"] > order))
                )
            ]
            superseded.append(int(later["arrived"].min()) if len(later) else None)
        frame["superseded_at"] = pd.array(superseded, dtype="Int64")
        return frame[["ts", "value", "arrived", "superseded_at", "deleted_at"]].reset_index(
            drop=True
        )
