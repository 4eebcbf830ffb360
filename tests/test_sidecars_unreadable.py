"""An unreadable sidecar is a missing one (issue 19, docs/contracts.md "Derived files").

Sidecars are not fsynced, so after a power cut one may be empty (its name committed
without its bytes: ext4 and XFS with delayed allocation), cut short, zero-filled or
garbage. For each sidecar (the stats, the `1min` and the `1h` rollup) and each damage,
readers take the damaged one for absent and answer from the file's points: `summary`,
`gaps` and `read(resample=...)` equal the answers of the intact store, `load_stats` /
`load_rollups` give None for that file only, and `verify` reports no error (it counts
the sidecar as not built). The next compaction of the variable rewrites an empty one
(the listing gives its size) and `hfdata upgrade` rewrites any that does not decode,
byte for byte as compaction wrote it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import hfdata
from hfdata.parquet.root import PartFile
from hfdata.parquet.sidecars import (
    clear_sidecar_cache,
    load_rollups,
    load_stats,
    rollup_rel,
    stats_rel,
)
from hfdata.store import upgrade_store
from hfdata.tools.verify import verify

T0 = pd.Timestamp("2026-11-26T00:00:00", tz="UTC")

DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "cut": lambda data: data[: len(data) // 2],  # a JSON cut short, a Parquet footer missing
    "zeros": lambda data: bytes(len(data)),
    "garbage": lambda data: np.random.default_rng(7).bytes(len(data)),
    "other-kind": lambda data: b'{"version": 1}' if data.startswith(b"PAR1") else b"PAR1",
}
SIDECARS = ("stats", "1min", "1h")


def frame(start: pd.Timestamp, n: int, seed: int) -> pd.DataFrame:
    """10 s points with a 20-minute gap, repeats, NaN and a duplicated timestamp."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 5, n).astype(float)
    values[rng.random(n) < 0.05] = np.nan
    index = pd.date_range(start, periods=n, freq="10s", tz="UTC")
    keep = (index < start + pd.Timedelta("2h")) | (index >= start + pd.Timedelta("2h20min"))
    out = pd.DataFrame({"value": values}, index=index)[keep]
    return pd.concat([out, out.iloc[[5]].assign(value=99.0)]).sort_index(kind="stable")


def rel_of(sidecar: str, file: PartFile) -> str:
    return stats_rel(file) if sidecar == "stats" else rollup_rel(file, sidecar)


def answers(store: hfdata.Store) -> dict[str, Any]:
    """What the readers that use sidecars answer (the store reopened: nothing cached)."""
    clear_sidecar_cache()
    return {
        "summary": store.summary(),
        "gaps": store.gaps("x"),
        "coverage": store.coverage(freq="1h"),
        "1h": store.read("x", resample="1h", agg=["count", "mean", "min", "max", "last"]),
        "5min": store.read("x", resample="5min", agg=["sum", "first", "std"]),
    }


def problems(findings: list[Any]) -> list[str]:
    return [f"{f.level}: {f.message}" for f in findings if f.level in ("error", "warning")]


def same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got.keys() == want.keys()
    for key, frame_ in want.items():
        pd.testing.assert_frame_equal(got[key], frame_, check_exact=False, rtol=1e-12)


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A store of two daily files with every sidecar, and its answers from them and from
    the points."""
    root = tmp_path_factory.mktemp("intact") / "s"
    with hfdata.open_store(root) as store:
        store.append_many("x", frame(T0, 8_000, seed=1))
        store.append_many("x", frame(T0 + pd.Timedelta(days=1), 6_000, seed=2))
        store.append("note", T0, "hello")
        store.compact(include_active=True)
        assert len(store.parts.listing("x").files) == 2
        from_sidecars = answers(store)
        for rule, aggs in (
            ("1h", ["count", "mean", "min", "max", "last"]),
            ("5min", ["sum", "first", "std"]),
        ):
            points = store.read("x", resample=rule, agg=aggs, rollups=False)
            pd.testing.assert_frame_equal(
                from_sidecars[rule], points, check_exact=False, rtol=1e-12
            )
    assert not [p for p in problems(verify(root)) if p.startswith("error")]
    return root, from_sidecars


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("sidecar", SIDECARS)
def test_an_unreadable_sidecar_is_read_as_missing(
    tmp_path: Path, intact: tuple[Path, dict[str, Any]], sidecar: str, damage: str
) -> None:
    source, want = intact
    root = tmp_path / "s"
    _copy(source, root)
    with hfdata.open_store(root) as store:
        parts = store.parts
        first, second = parts.listing("x").files
        rel = rel_of(sidecar, first)
        original = parts.get_sidecar(rel)
        assert original
        damaged = DAMAGES[damage](original)
        (parts.base / rel).write_bytes(damaged)  # type: ignore[attr-defined]
        clear_sidecar_cache()
        if sidecar == "stats":
            loaded: dict[str, Any] = load_stats(parts, [first, second])
        else:
            loaded = load_rollups(parts, [first, second], sidecar)
        assert loaded[first.rel] is None and loaded[second.rel] is not None
        same(answers(store), want)

    findings = verify(root)
    assert problems(findings) == problems(verify(source))  # a data warning, no error
    [lacking] = [f.message for f in findings if "not built yet" in f.message]
    assert lacking.startswith("1 stats or rollup files not built yet")
    assert f"1 of them unreadable (e.g. {rel} (" in lacking

    if damage == "empty":  # the next compaction of the variable rewrites it
        with hfdata.open_store(root) as store:
            store.append("x", T0 + pd.Timedelta(days=2), 1.0)
            store.compact(include_active=True)
            assert store.parts.get_sidecar(rel) == original
    else:  # compaction leaves a non-empty one (it does not read sidecars); upgrade rewrites it
        with hfdata.open_store(root) as store:
            store.append("x", T0 + pd.Timedelta(days=2), 1.0)
            store.compact(include_active=True)
            assert store.parts.get_sidecar(rel) == damaged
        report = upgrade_store(root)
        assert report.sidecars == 1
        with hfdata.open_store(root) as store:
            assert store.parts.get_sidecar(rel) == original
    findings = verify(root)
    assert problems(findings) == problems(verify(source))
    assert not [f for f in findings if "not built yet" in f.message]


def test_upgrade_rewrites_only_the_unreadable(
    tmp_path: Path, intact: tuple[Path, dict[str, Any]]
) -> None:
    source, want = intact
    root = tmp_path / "s"
    _copy(source, root)
    with hfdata.open_store(root) as store:
        parts = store.parts
        files = parts.listing("x").files
        rels = [rel_of(sidecar, file) for sidecar in SIDECARS for file in files]
        before = {rel: (parts.base / rel).stat().st_mtime_ns for rel in rels}  # type: ignore[attr-defined]
        original = parts.get_sidecar(rels[0])
        (parts.base / rels[0]).write_bytes(b"")  # type: ignore[attr-defined]
    assert upgrade_store(root).sidecars == 1
    with hfdata.open_store(root) as store:
        parts = store.parts
        assert parts.get_sidecar(rels[0]) == original
        after = {rel: (parts.base / rel).stat().st_mtime_ns for rel in rels}  # type: ignore[attr-defined]
        assert {rel for rel in rels if after[rel] != before[rel]} == {rels[0]}
        same(answers(store), want)


def _copy(source: Path, target: Path) -> None:
    shutil.copytree(source, target)
