"""Trial family 2: power loss drops every byte not yet fsynced; nothing durable is lost.

The store runs in this process with `os` replaced in the write-path
modules only, by a `Disk` that records what each `fsync` made durable and
raises `PowerLoss` at a chosen `write` or `fsync` (before or after the call). No
other disk state changes between two such calls of a single-threaded writer, so a
loss at each of them covers every moment. The disk after the loss is then built
in a fresh directory:

- file data: each file cut back to its length at its last fsync (empty if never);
- names: in the `journaled` model (ext4, xfs: any fsync commits the journal, so
  every create/rename before it), the whole tree as it was at the last fsync of
  anything; in the `posix` model, each directory's entries as they were at the
  last fsync *of that directory* (creations and renames never fsynced are undone).

Points count as durable when `append`/`append_many` return with
`durability="fsync"`, and when `flush()` returns with group commit
(`fsync_interval`, in `flush` and `buffered` mode). The disk after the loss must
hold every durable point, parse cleanly, and reopen.

Issue 20: the same trials with writers that also delete ranges and correct points
(`versions.make_version_plan`): a deletion acknowledged under `fsync` (or by a group
commit's `flush()`) is on disk after the loss exactly once, an unacknowledged one whole or
not at all, never without an earlier step of its writer; the rebooted store reads (plain,
`dedupe`, `as_of`) what the model says. And power lost during a compaction or optimize
with tombstones in flight: after recovery every version and tombstone is there once.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import threading
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from parquetside import log_state, store_state

import hfdata
from hfdata.layout import SCHEMA_FILE
from hfdata.store import upgrade_store
from hfdata.tools.verify import verify as hfdata_verify

from .conftest import Figures
from .model import (
    MAINTENANCE_MODULES,
    Model,
    Op,
    abandon,
    apply_op,
    check_against_model,
    leftovers,
    make_plan,
    os_replaced,
    scan_log,
    stored_rows,
    torture_count,
)
from .test_sidecars_killed import reports_agree, sidecar_check
from .versions import (
    FAULTS,
    VersionModel,
    check_held,
    check_reads,
    held_from_scan,
    held_from_state,
    make_version_plan,
)

SCHEMA_NOT_FSYNCED = (
    "hfdata/log/schema.py store_schema writes _schema.json's temporary file and links it into "
    "place without fsyncing the file (or the directory): after a power loss the name can "
    "survive with zero bytes, and load_schema then raises orjson.JSONDecodeError on every "
    "open/append of that variable"
)

POSIX_DIRENT_NOT_FSYNCED = (
    "hfdata/log/segment.py Segment.__init__ never fsyncs the directory after linking a new segment "
    "into it (nor log/ after creating log/<var>), so under POSIX rules (fsync(2): a file's "
    "fsync does not make its directory entry durable) every fsynced point of a fresh "
    "segment can vanish with its name"
)


class PowerLoss(BaseException):
    """The machine lost power here (a BaseException so no `except OSError` swallows it)."""


class Disk:
    """What survives a power loss, tracked through the `os` the store sees."""

    def __init__(self, root: Path, model: str, crash_at: int, after: bool) -> None:
        self.root = root
        self.model = model
        self.crash_at = crash_at
        self.after = after
        self.calls = 0
        self.crashed = False  # set at the crash: no thread writes or fsyncs after it
        self.main = threading.get_ident()
        self.data: dict[int, bytes] = {}  # inode -> content at its last fsync
        self.listing: dict[int, dict[str, tuple[int, bool]]] = {}  # dir inode -> entries
        self.root_ino = os.stat(root).st_ino
        for directory, _, files in os.walk(root):  # everything before the trial is durable
            self._snapshot_dir(Path(directory))
            for name in files:
                path = Path(directory) / name
                self.data[os.stat(path).st_ino] = path.read_bytes()
        self.os = types.SimpleNamespace(
            **{k: getattr(os, k) for k in dir(os) if not k.startswith("__")}
        )
        self.os.write = self.write
        self.os.fsync = self.fsync
        self.fsyncs = 0

    def _snapshot_dir(self, directory: Path) -> None:
        """Record a folder's entries as durable. Another thread (compaction derives sidecars
        on one, and its fsyncs snapshot too) may remove or rename an entry while this lists
        the folder: an entry gone by the time it is looked at is not there."""
        entries: dict[str, tuple[int, bool]] = {}
        try:
            ino = os.stat(directory).st_ino
            with os.scandir(directory) as listing:
                children = list(listing)
        except FileNotFoundError:  # the folder itself went meanwhile
            return
        for child in children:
            try:
                st = child.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            entries[child.name] = (st.st_ino, stat.S_ISDIR(st.st_mode))
        self.listing[ino] = entries

    def _tick(self, when_after: bool) -> None:
        if self.crashed:  # the power is off for every thread (compaction derives on one)
            raise PowerLoss
        if threading.get_ident() != self.main or when_after != self.after:
            return
        if self.calls == self.crash_at:
            self.crashed = True
            raise PowerLoss

    def _count(self) -> None:
        if threading.get_ident() == self.main:
            self.calls += 1

    def write(self, fd: int, data: Any) -> int:
        self._tick(False)
        written = os.write(fd, data)
        self._tick(True)
        self._count()
        return written

    def fsync(self, fd: int) -> None:
        self._tick(False)
        st = os.fstat(fd)
        self.fsyncs += 1
        if stat.S_ISDIR(st.st_mode):
            if self.model == "posix":
                self._snapshot_dir(Path(os.readlink(f"/proc/self/fd/{fd}")))
        else:
            with open(f"/proc/self/fd/{fd}", "rb") as f:
                self.data[st.st_ino] = f.read()
        if self.model == "journaled":  # the journal commit makes every name durable
            for directory, _, _ in os.walk(self.root):
                self._snapshot_dir(Path(directory))
        self._tick(True)
        self._count()

    def rebuild(self, target: Path) -> None:
        """Write the disk as it is after the power loss into `target`."""

        def build(dir_ino: int, into: Path) -> None:
            into.mkdir(exist_ok=True)
            for name, (ino, is_dir) in self.listing.get(dir_ino, {}).items():
                if is_dir:
                    build(ino, into / name)
                else:
                    (into / name).write_bytes(self.data.get(ino, b""))

        build(self.root_ino, target)


CONFIGS: dict[str, dict[str, Any]] = {
    "fsync": {"durability": "fsync"},
    "group": {"durability": "flush", "fsync_interval": 3600.0},
    "group-buffered": {"durability": "buffered", "fsync_interval": 3600.0},
}


def one_trial(tmp: Path, seed: int, config: str, fs_model: str) -> dict[str, int]:
    rng = random.Random(seed)
    live = tmp / "live"
    hfdata.open_store(live).close()  # the store exists before the trial: durable baseline
    disk = Disk(
        live,
        fs_model,
        crash_at=rng.randint(0, 120),
        after=rng.random() < 0.5,
    )
    plan = make_plan(rng.randrange(1 << 30), 1, 200)
    model = Model()
    options: dict[str, Any] = dict(CONFIGS[config])
    options["max_segment_bytes"] = rng.choice([300, 1024, 4096])
    options["max_open_segments"] = rng.choice([1, 2, 256])  # LRU closes segments often
    store = None
    pending: list[tuple[str, list[float]]] = []
    replaced = os_replaced(disk.os)
    replaced.__enter__()
    try:
        store = hfdata.open_store(live, **options)
        for i, op in enumerate(plan):
            if op.ids:
                model.attempt(op.variable, list(op.ids))
            apply_op(store, op, i)
            if op.ids:
                pending.append((op.variable, list(op.ids)))
            if config == "fsync" or op.kind == "flush":
                for var, ids in pending:  # durable from here on
                    model.ack(var, ids)
                pending.clear()
    except PowerLoss:
        pass
    finally:
        replaced.__exit__(None, None, None)
        if store is not None:
            abandon(store)
    after = tmp / "after"
    disk.rebuild(after)
    scan = scan_log(after)
    found = {var: [(ns, value) for _, ns, value, _ in rows] for var, rows in scan.rows.items()}
    verdict = check_against_model(found, model)
    with hfdata.open_store(after) as reopened:  # the store comes back after the reboot
        reopened.append("temp", "2026-11-26T00:00:00Z", 1.0)
    return {
        "trials": 1,
        "durable_points_checked": model.acked_count(),
        "durable_points_lost": verdict.lost,
        "doubled": verdict.doubled,
        "unknown": verdict.unknown,
        "bad_lines_visible": len(scan.bad) + len(scan.torn_closed),
        "fsyncs_seen": disk.fsyncs,
    }


def run_trials(tmp_path: Path, trials: int, seed: int, fs_model: str, figures: Figures) -> None:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for trial in range(trials):
        config = list(CONFIGS)[trial % len(CONFIGS)]
        counts = one_trial(tmp_path / f"t{trial}", rng.randrange(1 << 30), config, fs_model)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    figures.add(f"power_loss_{fs_model}", **totals)
    assert totals["durable_points_lost"] == 0, totals
    assert totals["doubled"] == totals["unknown"] == totals["bad_lines_visible"] == 0, totals


def test_power_loss_journaled_quick(tmp_path: Path, figures: Figures) -> None:
    run_trials(tmp_path, 6, seed=1, fs_model="journaled", figures=figures)


@pytest.mark.slow
def test_power_loss_journaled_torture(tmp_path: Path, figures: Figures) -> None:
    run_trials(tmp_path, torture_count(500), seed=2, fs_model="journaled", figures=figures)


@pytest.mark.slow
def test_power_loss_posix_torture(tmp_path: Path, figures: Figures) -> None:
    run_trials(tmp_path, torture_count(500), seed=3, fs_model="posix", figures=figures)


def test_schema_file_survives_power_loss(tmp_path: Path) -> None:
    # The first fsync-mode append creates _schema.json, then fsyncs the segment: the
    # journal commit makes the schema's name durable, but not its (never fsynced) bytes.
    one_trial(tmp_path, 0, "fsync", "journaled")
    for schema in (tmp_path / "after").rglob(SCHEMA_FILE):
        assert schema.read_bytes() != b""


def test_fsynced_point_in_a_fresh_segment_survives_posix_power_loss(tmp_path: Path) -> None:
    live = tmp_path / "live"
    hfdata.open_store(live).close()
    disk = Disk(live, "posix", crash_at=10**9, after=False)
    with os_replaced(disk.os):
        store = hfdata.open_store(live, durability="fsync")
        store.append("temp", "2026-11-26T00:00:00Z", 1.0)  # returned: fsynced, durable
    abandon(store)
    disk.rebuild(tmp_path / "after")
    rows = scan_log(tmp_path / "after").rows.get("temp", [])
    assert [value for *_, value, _ in rows] == [1.0]


# -- power loss during compaction ---------------------------------------------------------


def compaction_trial(tmp: Path, seed: int, fs_model: str) -> dict[str, int]:
    """Points made durable (fsync mode, closed), then a compaction loses power at a random
    fsync; after the reboot, recovery and a full compaction, every point is there once.
    """
    rng = random.Random(seed)
    live = tmp / "live"
    model = Model()
    with hfdata.open_store(live, durability="fsync", max_segment_bytes=2000) as store:
        for i, op in enumerate(make_plan(rng.randrange(1 << 30), 1, 80)):
            apply_op(store, op, i)
            if op.ids:
                model.attempt(op.variable, list(op.ids))
                model.ack(op.variable, list(op.ids))
        if rng.random() < 0.5:  # Parquet already there: the next batch adds late data
            store.compact()
            for i, op in enumerate(make_plan(rng.randrange(1 << 30), 2, 30)):
                apply_op(store, op, i)
                if op.ids:
                    model.attempt(op.variable, list(op.ids))
                    model.ack(op.variable, list(op.ids))
    disk = Disk(live, fs_model, crash_at=rng.randint(0, 40), after=rng.random() < 0.5)
    crashed = False
    with os_replaced(disk.os, MAINTENANCE_MODULES):
        try:
            with hfdata.open_store(live) as store:
                if rng.random() < 0.25:
                    store.optimize()
                else:
                    store.compact()
        except PowerLoss:
            crashed = True
    after = tmp / "after"
    disk.rebuild(after)
    emptied = empty_sidecars(after)  # never fsynced: a power cut leaves them empty
    with hfdata.open_store(after) as store:  # recovery rolls the journal forward or back
        store.compact()
        rows = stored_rows(after)
        read = {v: len(store.read(v)) for v in model.acked}
        agree = reports_agree(store)  # from the sidecars left, empty ones read as missing
    errors = [f.message for f in hfdata_verify(after) if f.level == "error"]
    assert errors == [], errors
    upgrade_store(after)  # rewrites what the power cut emptied
    with hfdata.open_store(after) as store:
        check = sidecar_check(store)
        assert (check["sidecars_missing"], check["orphans"]) == (0, 0), check
    verdict = check_against_model(rows, model)
    return {
        "trials": 1,
        "power_lost_mid_compaction": int(crashed),
        "fsyncs_seen": disk.fsyncs,
        "durable_points_checked": model.acked_count(),
        "durable_points_lost": verdict.lost,
        "doubled": verdict.doubled,
        "unknown": verdict.unknown,
        "read_count_mismatches": sum(1 for v, n in read.items() if n != len(model.acked[v])),
        "sidecars_emptied": emptied,
        **agree,
    }


def empty_sidecars(root: Path) -> int:
    return sum(
        1
        for top in ("_stats", "_rollups")
        for path in (root / "parquet" / top).rglob("*")
        if path.is_file() and path.stat().st_size == 0
    )


def run_compaction_trials(
    tmp_path: Path, trials: int, seed: int, fs_model: str, figures: Figures
) -> None:
    rng = random.Random(seed)
    totals: dict[str, int] = {}
    for trial in range(trials):
        counts = compaction_trial(tmp_path / f"c{trial}", rng.randrange(1 << 30), fs_model)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    figures.add(f"power_loss_compaction_{fs_model}", **totals)
    assert totals["durable_points_lost"] == totals["doubled"] == totals["unknown"] == 0, totals
    assert totals["read_count_mismatches"] == 0, totals


PARQUET_DIRS_NOT_FSYNCED = (
    "hfdata/parquet/files.py write_parquet creates parquet/, parquet/variable=<v>/ and "
    "date=<k>/ with mkdir(parents=True) and journal.publish fsyncs only the directories "
    "holding renamed files (date=<k>/, log/<v>/, compacted/), never the parents of newly "
    "created directories (parquet/ in the root, variable=<v>/ in parquet/, date=<k>/ in "
    "variable=<v>/; _journal/ in the root likewise). Under POSIX rules a power loss after "
    "a compaction can keep the segments' move to compacted/ but lose the Parquet file's "
    "path: every point of the batch is gone from reads. Fix: a makedirs helper that fsyncs "
    "the parent of every directory it creates, used for parquet/…/date=<k>/, _journal/ and "
    "_quarantine/<v>/"
)


def posix_compaction(fs_model: str) -> Any:
    return pytest.param(
        fs_model,
        marks=(),
    )


@pytest.mark.parametrize("seed", [957281565, 1044983918, 476335516, 92687535, 52484733])
def test_power_loss_right_after_publishing_began(tmp_path: Path, seed: int) -> None:
    """The trials of the full POSIX run (seed 2, 200 trials) that lost points: power went
    between the journal's "publishing" and the fsync of the renamed outputs' directory,
    and the temporary outputs' names had never been fsynced, so neither name survived
    and the roll forward moved the segments with their points in no Parquet file."""
    counts = compaction_trial(tmp_path, seed, "posix")
    assert counts["power_lost_mid_compaction"] == 1
    assert counts["durable_points_lost"] == counts["doubled"] == counts["unknown"] == 0, counts
    assert counts["read_count_mismatches"] == 0, counts


def test_a_finished_compaction_survives_posix_power_loss(tmp_path: Path) -> None:
    live = tmp_path / "live"
    with hfdata.open_store(live, durability="fsync") as store:
        store.append("v", "2026-11-26T00:00:00Z", 1.0)
    disk = Disk(live, "posix", crash_at=10**9, after=False)  # no crash during compaction
    with os_replaced(disk.os, MAINTENANCE_MODULES), hfdata.open_store(live) as store:
        store.compact()
    disk.rebuild(tmp_path / "after")  # power lost just after compact() returned
    with hfdata.open_store(tmp_path / "after") as store:
        assert len(store.read("v")) == 1


@pytest.mark.parametrize("fs_model", [posix_compaction("journaled"), posix_compaction("posix")])
def test_power_loss_during_compaction_quick(
    tmp_path: Path, fs_model: str, figures: Figures
) -> None:
    run_compaction_trials(tmp_path, 4, seed=1, fs_model=fs_model, figures=figures)


@pytest.mark.slow
@pytest.mark.parametrize("fs_model", [posix_compaction("journaled"), posix_compaction("posix")])
def test_power_loss_during_compaction_torture(
    tmp_path: Path, fs_model: str, figures: Figures
) -> None:
    run_compaction_trials(tmp_path, torture_count(200), seed=2, fs_model=fs_model, figures=figures)


# -- issue 20: a deletion acknowledged under fsync is never lost ---------------------------

VERSION_FAULTS = (*FAULTS, "bad_lines_visible")


def versions_trial(tmp: Path, seed: int, config: str, fs_model: str) -> Counter[str]:
    """`one_trial` with a writer that also deletes ranges and corrects points: after the
    power loss every durable point and tombstone is on disk exactly once, an unacknowledged
    step is there whole or not at all (each variable's steps a prefix of the attempts),
    and the rebooted store's reads (plain, `dedupe`, `as_of`) are the model's."""
    rng = random.Random(seed)
    live = tmp / "live"
    hfdata.open_store(live).close()
    disk = Disk(live, fs_model, crash_at=rng.randint(0, 160), after=rng.random() < 0.5)
    plan = make_version_plan(rng.randrange(1 << 30), 1, 200)
    model = VersionModel()
    options: dict[str, Any] = dict(CONFIGS[config])
    options["max_segment_bytes"] = rng.choice([300, 1024, 4096])
    options["max_open_segments"] = rng.choice([1, 2, 256])
    store = None
    pending: list[Op] = []
    replaced = os_replaced(disk.os)
    replaced.__enter__()
    try:
        store = hfdata.open_store(live, **options)
        for i, op in enumerate(plan):
            model.attempt(op, (1, i))
            apply_op(store, op, i)
            pending.append(op)
            if config == "fsync" or op.kind == "flush":
                for done in pending:  # durable from here on
                    model.ack(done)
                pending.clear()
    except PowerLoss:
        pass
    finally:
        replaced.__exit__(None, None, None)
        if store is not None:
            abandon(store)
    after = tmp / "after"
    disk.rebuild(after)
    scan = scan_log(after)
    held = held_from_scan(scan)
    counts = check_held(held, model)
    counts["bad_lines_visible"] += len(scan.bad) + len(scan.torn_closed)
    if any(counts[k] for k in VERSION_FAULTS):
        return counts  # the model cannot say what to read: the family fails on the counts
    with hfdata.open_store(after) as reopened:
        counts.update(check_reads(reopened, held, model, rng, as_of_reads=4))
    counts.update(model.counts())
    counts.update({"trials": 1, f"config_{config}": 1, "fsyncs_seen": disk.fsyncs})
    return counts


def run_version_trials(
    tmp_path: Path, trials: int, seed: int, fs_model: str, figures: Figures
) -> None:
    rng = random.Random(seed)
    totals: Counter[str] = Counter()
    for trial in range(trials):
        config = list(CONFIGS)[trial % len(CONFIGS)]
        totals.update(
            versions_trial(tmp_path / f"v{trial}", rng.randrange(1 << 30), config, fs_model)
        )
    figures.add(f"power_loss_tombstones_{fs_model}", **totals)
    faults = {k: totals[k] for k in VERSION_FAULTS if totals[k]}
    assert not faults, faults


def test_power_loss_with_tombstones_quick(tmp_path: Path, figures: Figures) -> None:
    run_version_trials(tmp_path, 6, seed=1, fs_model="journaled", figures=figures)


@pytest.mark.slow
@pytest.mark.parametrize("fs_model", ["journaled", "posix"])
def test_power_loss_with_tombstones_torture(
    tmp_path: Path, fs_model: str, figures: Figures
) -> None:
    run_version_trials(tmp_path, torture_count(500), seed=4, fs_model=fs_model, figures=figures)


def test_fsynced_tombstone_in_a_fresh_segment_survives_posix_power_loss(tmp_path: Path) -> None:
    live = tmp_path / "live"
    with hfdata.open_store(live, durability="fsync") as store:
        store.append("temp", "2026-11-26T00:00:00Z", 1.0)
    disk = Disk(live, "posix", crash_at=10**9, after=False)
    with os_replaced(disk.os):
        store = hfdata.open_store(live, durability="fsync")
        store.delete("temp", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z")  # durable now
    abandon(store)
    disk.rebuild(tmp_path / "after")
    day = pd.Timestamp("2026-11-26T00:00:00Z").value, pd.Timestamp("2026-11-27T00:00:00Z").value
    assert [t[1:3] for t in scan_log(tmp_path / "after").tombstones["temp"]] == [day]
    with hfdata.open_store(tmp_path / "after") as reopened:
        assert reopened.read("temp").empty


def versions_compaction_trial(tmp: Path, seed: int, fs_model: str) -> Counter[str]:
    """Points and tombstones made durable (fsync mode, closed, some compacted already), then
    a compaction (or optimize) loses power at a random write or fsync of all it makes, its
    tombstone file in flight; after the reboot, recovery and a full compaction the store holds every
    version and every tombstone exactly once and reads are the model's."""
    rng = random.Random(seed)
    live = tmp / "live"
    model = VersionModel()
    action = "optimize" if rng.random() < 0.25 else "compact"
    with hfdata.open_store(live, durability="fsync", max_segment_bytes=2000) as store:
        for gen, length in ((1, 80), (2, 30)):
            for i, op in enumerate(make_version_plan(rng.randrange(1 << 30), gen, length)):
                apply_op(store, op, i)
                model.attempt(op, (gen, i))
                model.ack(op)
            if action == "compact" and (gen == 2 or rng.random() < 0.5):
                break  # else: Parquet and a tombstone file already there, the next batch adds
            store.compact()  # optimize: two batches' data and tombstone files to merge
    before = store_state(live)
    held = held_from_state(*before)
    counts = check_held(held, model)
    counts["tombstones_in_flight"] = sum(log_state(live)[1].values())
    counts["tombstone_files_before"] = len(list(live.glob("parquet/_tombstones/*/*.parquet")))
    # The moment is drawn over every write and fsync a dry run on a copy makes (the last
    # draw: power lost just after it returned), so the tombstone file's steps are hit too.
    probe = tmp / "probe"
    shutil.copytree(live, probe)
    dry = Disk(probe, fs_model, crash_at=10**9, after=False)
    with os_replaced(dry.os, MAINTENANCE_MODULES), hfdata.open_store(probe) as store:
        getattr(store, action)()
    shutil.rmtree(probe)
    counts["steps_available"] = dry.calls
    disk = Disk(live, fs_model, crash_at=rng.randint(0, dry.calls), after=rng.random() < 0.5)
    with os_replaced(disk.os, MAINTENANCE_MODULES):
        try:
            with hfdata.open_store(live) as store:
                getattr(store, action)()
        except PowerLoss:
            counts[f"power_lost_mid_{action}"] += 1
    after = tmp / "after"
    disk.rebuild(after)
    with hfdata.open_store(after) as store:  # recovery rolls the journal forward or back
        store.compact()
        rows, tombs = store_state(after)
        counts["durable_points_lost"] += sum((before[0] - rows).values())
        counts["doubled"] += sum((rows - before[0]).values())
        counts["durable_tombstones_lost"] += sum((before[1] - tombs).values())
        counts["tombstones_doubled"] += sum((tombs - before[1]).values())
        counts["leftovers"] += len(leftovers(after))
        counts.update(check_reads(store, held, model, rng, as_of_reads=4))
    counts.update({"trials": 1, f"action_{action}": 1, "fsyncs_seen": disk.fsyncs})
    counts.update(model.counts())
    return counts


COMPACTION_VERSION_FAULTS = (*VERSION_FAULTS, "durable_points_lost", "durable_tombstones_lost")


def run_version_compaction_trials(
    tmp_path: Path, trials: int, seed: int, fs_model: str, figures: Figures
) -> None:
    rng = random.Random(seed)
    totals: Counter[str] = Counter()
    for trial in range(trials):
        totals.update(
            versions_compaction_trial(tmp_path / f"vc{trial}", rng.randrange(1 << 30), fs_model)
        )
    figures.add(f"power_loss_compaction_tombstones_{fs_model}", **totals)
    faults = {k: totals[k] for k in (*COMPACTION_VERSION_FAULTS, "leftovers") if totals[k]}
    assert not faults, faults


@pytest.mark.parametrize("fs_model", ["journaled", "posix"])
def test_power_loss_during_compaction_with_tombstones_quick(
    tmp_path: Path, fs_model: str, figures: Figures
) -> None:
    run_version_compaction_trials(tmp_path, 3, seed=1, fs_model=fs_model, figures=figures)


@pytest.mark.slow
@pytest.mark.parametrize("fs_model", ["journaled", "posix"])
def test_power_loss_during_compaction_with_tombstones_torture(
    tmp_path: Path, fs_model: str, figures: Figures
) -> None:
    run_version_compaction_trials(
        tmp_path, torture_count(200), seed=5, fs_model=fs_model, figures=figures
    )
