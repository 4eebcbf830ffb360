"""Trial family 10: compaction, optimize and upgrade killed with stats and rollup sidecars
in flight (issue 19).

Each trial builds a store as family 3 does (closed segments, a killed writer's orphan,
sometimes Parquet already there: late data), in some trials with no sidecars at all (a
store from before issue 19). Then a compactor, an optimizer or an upgrade (which builds
every missing sidecar) runs in a child of the fork server and is

- killed by SIGKILL after a random spin once it has started (`signal`), or
- ended at its Nth mutating call (`os` in the maintenance modules, `pathlib`, the
  object-store filesystem), N drawn over all the calls a dry run on a copy makes, so
  every step is hit: data publishing, each sidecar's temporary, fsync and rename, orphan
  deletion (`step`), or
- given an `OSError(EIO)` at that call instead (`error`).

Then the store is opened (recovery), compacted, and checked:

- every acknowledged point is stored exactly once (family 3's model check);
- nothing disagrees: every sidecar of a live file is exactly what its file's points give
  (`file_stats`, `build`), and `hfdata verify` finds no error; orphans may remain (readers
  ignore them), temporaries may not;
- after `hfdata upgrade` every live file has all its sidecars and no orphan is left;
- where the read and report stages answer from sidecars (`Store.summary`,
  `read(..., rollups=True)`), their answers equal the points'.
"""

from __future__ import annotations

import inspect
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hfdata
from hfdata.compact import compaction
from hfdata.compact.derive import Derived, wanted
from hfdata.parquet.rollups import build_many
from hfdata.parquet.sidecars import data_rel, decode_rollup, rollup_rel, stats_rel
from hfdata.parquet.stats import FileStats, file_stats
from hfdata.store import upgrade_store
from hfdata.tools.verify import verify as hfdata_verify

from .conftest import Figures, WriterServer
from .model import leftovers, torture_count
from .test_compaction_killed import build_store
from .test_compaction_killed import verify as verify_rows


def sidecar_check(store: hfdata.Store) -> dict[str, int]:
    """Every sidecar of a live file equals what the file's points give; returns counts of
    sidecars present, missing and orphaned."""
    parts, settings = store.parts, store.settings
    present = missing = 0
    live: set[str] = set()
    for encoded in parts.variables():
        listing = parts.listing(encoded)
        assert listing.kind is not None
        for file in listing.files:
            live.add(file.rel)
            table = pq.read_table(file.path, columns=["timestamp", "value"])
            ns = np.asarray(table.column("timestamp").combine_chunks().view(pa.int64()))
            values = table.column("value").combine_chunks()
            for rel in wanted(settings, file, listing.kind):
                data = parts.get_sidecar(rel)
                if data is None:
                    missing += 1
                    continue
                present += 1
                if rel == stats_rel(file):
                    want = file_stats(ns, values, listing.kind, settings.gap_threshold_ns)
                    assert FileStats.from_json(data) == want, rel
                else:  # the rollups over every resolution (the coarser composed)
                    rules = settings.resolutions()
                    built = build_many(ns, values, listing.kind, [n for _, n in rules])
                    [want] = [
                        t
                        for (r, _), t in zip(rules, built, strict=True)
                        if rollup_rel(file, r) == rel
                    ]
                    got = decode_rollup(data, listing.kind)
                    assert got.equals(want), rel
    every = parts.sidecars("_stats") + parts.sidecars("_rollups")
    orphans = [rel for rel in every if data_rel(rel) not in live]
    return {"sidecars_checked": present, "sidecars_missing": missing, "orphans": len(orphans)}


def reports_agree(store: hfdata.Store) -> dict[str, int]:
    """Where the read and report stages answer from sidecars, they answer as the points."""
    counts: dict[str, int] = {}
    names = store.variables()
    read: Any = store.read  # `rollups=` arrives with the read stage's part of issue 19
    if "rollups" in inspect.signature(read).parameters:
        for name in names:
            kwargs: dict[str, Any] = {"resample": "1min", "agg": ["count", "sum", "min", "max"]}
            fast = read(name, rollups=True, **kwargs)
            slow = read(name, rollups=False, **kwargs)
            pd.testing.assert_frame_equal(fast, slow, rtol=1e-12)
        counts["rollup_reads_compared"] = len(names)
    summary = getattr(store, "summary", None)
    if summary is not None:
        table = summary()
        for name in names:
            points = store.read(name)
            assert int(table.loc[name, "rows"]) == len(points)
            assert table.loc[name, "first"] == points.index.min()
            assert table.loc[name, "last"] == points.index.max()
            assert table.loc[name, "max"] == points["value"].max()
        counts["summaries_compared"] = len(names)
    return counts


def one_trial(root: Path, server: WriterServer, rng: random.Random, gen0: int) -> dict[str, int]:
    old = rng.random() < 0.3  # a store from before issue 19: no sidecars yet
    with pytest.MonkeyPatch.context() as m:
        if old:
            m.setattr(compaction, "derive_after_publish", lambda *a, **k: Derived())
        model = build_store(root, server, rng, gen0)
    mode = rng.choice(["signal", "step", "step", "error"])
    action = rng.choice(["compact", "compact", "optimize", "upgrade"])
    if action == "optimize":  # something to merge: two compactions' files per partition
        with hfdata.open_store(root) as s:
            s.compact()
    counts: dict[str, int] = {"trials": 1, f"mode_{mode}": 1, f"action_{action}": 1}
    counts["stores_without_sidecars"] = int(old)
    if mode == "signal":
        reply = server.run(root=str(root), action=action, spin=rng.randint(0, 400_000))
    else:
        copy = root.with_name(root.name + "-dry")
        shutil.copytree(root, copy)
        dry = server.run(root=str(copy), action=action, kill=False)
        shutil.rmtree(copy)
        assert dry["error"] == "", dry["error"]
        at = rng.randrange(max(dry["calls"], 1) + 1)
        reply = server.run(
            root=str(root), action=action, kill=False, die_at=at, fail=mode == "error"
        )
        counts["steps_available"] = dry["calls"]
    if mode == "error" and reply["error"]:
        counts["injected_errors_raised"] = 1
    else:
        assert reply["error"] == "", reply["error"]
    counts["interrupted"] = int(not reply["closed"])
    with hfdata.open_store(root) as store:  # recovery, then a complete compaction
        store.compact()
        assert leftovers(root) == [], leftovers(root)
        counts.update(verify_rows(root, model))
        counts.update(sidecar_check(store))
    errors = [f.message for f in hfdata_verify(root) if f.level == "error"]
    assert errors == [], errors
    report = upgrade_store(root)  # builds whatever a kill or an old store left missing
    counts["built_by_upgrade"] = report.sidecars
    counts["orphans_removed"] = report.orphans
    with hfdata.open_store(root) as store:
        after = sidecar_check(store)
        assert (after["sidecars_missing"], after["orphans"]) == (0, 0), after
        counts.update(reports_agree(store))
    assert leftovers(root) == []
    return counts


def run_trials(
    server: WriterServer, tmp_path: Path, trials: int, seed: int, figures: Figures
) -> None:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for trial in range(trials):
        counts = one_trial(tmp_path / f"s{trial}", server, rng, gen0=10 * trial + 1)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    figures.add("sidecars_killed", **totals)


def test_sidecars_killed_quick(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_trials(server, tmp_path, 4, seed=11, figures=figures)


@pytest.mark.slow
def test_sidecars_killed_torture(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    run_trials(server, tmp_path, torture_count(200), seed=12, figures=figures)
