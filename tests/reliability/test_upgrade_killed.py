"""Trial family 9: the upgrades to format 3 (1 -> 3 through issue 16's relocation, and
2 -> 3: issue 20's arrival times) killed and failed at each step.

Each trial takes a format-1 store: the `local` store of tests/data/format1.tar.gz (written
by the hfdata before the kind level), its `shared_a`/`shared_b` pair sharing one
object-store root (`shared_root`: commit records; one of the pair upgraded before or after
the trial's), or a synthetic one: a current store of random data, read, then converted to
format 1 (each `parquet/kind=K/variable=E` moved to `parquet/variable=E`, format_version 1)
with an all-null float64 file added to a string variable, as format 1 wrote the points of a
variable whose kind was not known yet (the upgrade must rewrite it), or (`format2`) a
current store of random data, read, then turned into format 2 (`format1.to_format2`:
every data file without `arrived`), which the upgrade rewrites partition by partition
with arrival times. An upgrade child
(`hfdata.store.upgrade_store`, `open_store(upgrade=True)` or the CLI's `main`) is then

- killed by SIGKILL after a random spin once it has started (`signal`), or
- ended at its Nth mutating call (`step`), N drawn over all the calls a dry run on a copy
  makes, so every step is hit: the plan write, `_schema.json`, each rename and fsync, each
  copy, commit PUT and delete, the rewrite batches, the version record, the plan removal.
  Counted are the `os` calls of the maintenance modules (as trial family 3), the mutating
  `pathlib.Path` methods (the plan's removal, folders made) and, for an object-store root,
  the mutating methods of its pyarrow filesystem (writer_server.py `Die.watch_object_store`:
  a `LocalFileSystem` subclass counting create_dir, delete_*, move, copy_file and
  open_*_stream), or
- given an `OSError(EIO)` at that call instead (`error`).

Then a store whose version is not yet recorded is refused without `upgrade=True`, the
upgrade is finished (any of the three ways), and: every variable reads exactly as before
(values, NaN, None, metadata, ints near 2**53, int64 timestamps), each partition holds as
many rows as before (nothing lost or doubled), every file sits in its kind's folder with
its kind's schema and (object store) is named by a live commit, no plan, journal or
temporary is left, `verify` finds no error, and a second upgrade changes nothing.

OBJECT_STORE_TEMPORARIES: an object-store root that is a local path writes each commit
record and upload through a hidden temporary, renamed into place. Each has one fixed name
(a retry overwrites it, a roll back deletes it; a relocation commit's name says it is one,
and the next relocation of the variable deletes its temporary), so a killed run leaves
none behind: `object_store_temporaries_left` must be 0, as every other leftover.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from format1 import (
    assert_reads_equal,
    expected_reads,
    extract,
    point_shared_roots,
    reads,
    to_format2,
)

import hfdata
from hfdata.compact.upgrade import PLAN_FILE
from hfdata.kinds import Kind
from hfdata.layout import Partition, decode_name, new_batch_id, partition_key_ns
from hfdata.parquet.files import KIND_SCHEMAS
from hfdata.parquet.objectstore import ParquetRoot
from hfdata.settings import FORMAT_VERSION, recorded_format_version
from hfdata.store import upgrade_store
from hfdata.tools.cli import main as cli_main
from hfdata.tools.verify import verify

from .conftest import Figures, WriterServer
from .model import FULL, torture_count

SOURCES = ("local", "shared", "synthetic", "format2")
MODES = ("signal", "step", "step", "error")
VIAS = ("api", "open", "cli")
PARTITIONS: tuple[Partition, ...] = ("hour", "day", "month")
T0 = 1_780_000_000_000_000_000  # 2026-05-28
HOUR = 3_600_000_000_000
LOCKS = {".compact.lock", ".publish.lock"}


@dataclass
class Case:
    """One trial's stores: `victim` is upgraded by the child; `before` are upgraded
    (fully) before it, `after` after it; all of them share `parquet` when remote."""

    base: Path
    victim: Path
    expected: dict[str, pa.Table]
    remote: bool
    before: list[Path] = field(default_factory=list)
    after: list[Path] = field(default_factory=list)

    @property
    def stores(self) -> list[Path]:
        return [*self.before, self.victim, *self.after]

    @property
    def parquet(self) -> Path:
        return self.base / "shared_root" if self.remote else self.victim / "parquet"


# -- the stores ------------------------------------------------------------------------------
def extracted(cache: Path) -> Path:
    """The tarball, extracted once per session (trials copy it)."""
    base = cache / "format1"
    return base if base.is_dir() else extract(cache)


def tarball_case(base: Path, source: str, rng: random.Random, cache: Path) -> Case:
    shutil.copytree(extracted(cache), base)
    if source == "local":
        for name in ("shared_a", "shared_b", "shared_root"):
            shutil.rmtree(base / name)
        return Case(base, base / "local", expected_reads(base / "expected" / "local"), False)
    shutil.rmtree(base / "local")
    point_shared_roots(base)
    pair = [base / "shared_a", base / "shared_b"]
    rng.shuffle(pair)
    victim, other = pair
    case = Case(base, victim, expected_reads(base / "expected" / "shared"), True)
    (case.before if rng.random() < 0.5 else case.after).append(other)
    return case


def value_of(kind: str, rng: random.Random, i: int) -> Any:
    if rng.random() < 0.06:
        return None
    if kind == "float":
        return float("nan") if rng.random() < 0.05 else rng.uniform(-1e6, 1e6)
    if kind == "int":
        return rng.choice([1, -1]) * (2**53 + rng.randint(-3, 3))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "string":
        return rng.choice(["", "ok", "é ∑ 🙂", "a,b\n", f"s{i}"])
    return {"i": i, "x": [1, None, "y"], "f": rng.random()}


SYNTHETIC: dict[str, Kind] = {
    "temp": "float",
    "plant/line 1": "float",
    "0042": "float",
    "count": "int",
    "flag": "bool",
    "status": "string",
    "cfg": "json",
    "late": "string",
}


def synthetic_case(base: Path, rng: random.Random) -> Case:
    """A current store of random data, its reads, then the same files in format 1's
    layout, plus a kind-less all-null float64 file in the string variable `late`."""
    root = base / "store"
    partition: Partition = rng.choice(PARTITIONS)
    span = {"hour": 6 * HOUR, "day": 60 * HOUR, "month": 24 * 40 * HOUR}[partition]
    used: dict[str, set[int]] = {name: set() for name in SYNTHETIC}
    with hfdata.open_store(root, partition=partition) as store:
        for _ in range(rng.randint(1, 3)):
            for name, kind in SYNTHETIC.items():
                for i in range(rng.randint(1, 30)):
                    ns = T0 + rng.randrange(span)
                    if ns in used[name]:
                        continue
                    used[name].add(ns)
                    value = value_of(kind, rng, i)
                    meta = {"i": i, "tag": "m"} if rng.random() < 0.3 else None
                    when = pa.scalar(ns, pa.timestamp("ns", tz="UTC")).as_py()
                    store.append(name, when, value, meta, kind=kind)
            if rng.random() < 0.8:
                store.compact(include_active=True)
        if rng.random() < 0.3:
            store.optimize()
        for name in rng.sample(sorted(SYNTHETIC), 2):  # a log tail
            ns = T0 + span + rng.randrange(HOUR)
            store.append(name, pa.scalar(ns, pa.timestamp("ns", tz="UTC")).as_py(), None)
            used[name].add(ns)
        store.compact(
            variables=["late"], include_active=True
        )  # `late` has Parquet to hold the nulls
        expected = reads(store)
    parquet = root / "parquet"
    for kind_dir in sorted(parquet.glob("kind=*")):
        for var_dir in sorted(kind_dir.iterdir()):
            var_dir.rename(parquet / var_dir.name)
        kind_dir.rmdir()
    settings = root / "hfdata.json"
    recorded = orjson.loads(settings.read_bytes())
    recorded["format_version"] = 1
    settings.write_bytes(orjson.dumps(recorded))
    # What format 1 wrote for points compacted before their variable's kind was known.
    free = sorted({T0 + rng.randrange(span) for _ in range(12)} - used["late"])
    batch = new_batch_id()
    nulls: dict[str, list[int]] = {}
    for ns in free:
        nulls.setdefault(partition_key_ns(ns, partition), []).append(ns)
    for key, stamps in nulls.items():
        folder = parquet / "variable=late" / f"date={key}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "timestamp": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
                "value": pa.nulls(len(stamps), pa.float64()),
                "metadata": pa.nulls(len(stamps), pa.string()),
            },
            schema=pa.schema(
                [
                    pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
                    pa.field("value", pa.float64()),
                    pa.field("metadata", pa.string()),
                ]
            ),
        )
        pq.write_table(table, folder / f"part-{batch}.parquet", compression="zstd")
    late = expected["late"]
    added = pa.table(
        {
            "timestamp": pa.array(free, pa.int64()),
            "value": pa.nulls(len(free), late.schema.field("value").type),
            "metadata": pa.nulls(len(free), late.schema.field("metadata").type),
        }
    )
    merged = pa.concat_tables([late, added.cast(late.schema)])
    expected["late"] = merged.take(pc.sort_indices(merged, [("timestamp", "ascending")]))
    return Case(base, root, expected, False)


def format2_case(base: Path, rng: random.Random) -> Case:
    """A current store of random data (several compactions, so partitions hold several
    files; sometimes optimized; a log tail), its reads, then turned into format 2."""
    root = base / "store"
    partition: Partition = rng.choice(PARTITIONS)
    span = {"hour": 6 * HOUR, "day": 60 * HOUR, "month": 24 * 40 * HOUR}[partition]
    with hfdata.open_store(root, partition=partition) as store:
        for _ in range(rng.randint(2, 4)):
            for name, kind in SYNTHETIC.items():
                for i in range(rng.randint(1, 12)):
                    ns = T0 + rng.randrange(span)
                    when = pa.scalar(ns, pa.timestamp("ns", tz="UTC")).as_py()
                    meta = {"i": i} if rng.random() < 0.3 else None
                    store.append(name, when, value_of(kind, rng, i), meta, kind=kind)
            store.compact(include_active=True)
        if rng.random() < 0.3:
            store.optimize(variables=rng.sample(sorted(SYNTHETIC), 3))
        for name in rng.sample(sorted(SYNTHETIC), 2):  # a log tail
            ns = T0 + rng.randrange(span)
            store.append(name, pa.scalar(ns, pa.timestamp("ns", tz="UTC")).as_py(), None)
        expected = reads(store)
    to_format2(root)
    return Case(base, root, expected, False)


# -- what the checks look at --------------------------------------------------------------
def partition_rows(case: Case) -> Counter[tuple[str, str]]:
    """Rows per (variable, partition) in the live Parquet files, read from the files."""
    counts: Counter[tuple[str, str]] = Counter()
    if case.remote:
        root = ParquetRoot(str(case.parquet), owner="trial-checker")
        for encoded in root.variables():
            for file in root.listing(encoded).files:
                counts[decode_name(encoded), file.key] += pq.read_metadata(file.path).num_rows
        return counts
    for path in case.parquet.rglob("*.parquet"):
        if path.name.startswith(".") or _derived(path, case):
            continue
        parts = {p.split("=", 1)[0]: p.split("=", 1)[1] for p in path.parent.parts if "=" in p}
        counts[decode_name(parts["variable"]), parts["date"]] += pq.read_metadata(path).num_rows
    return counts


def _derived(path: Path, case: Case) -> bool:
    """A stats or rollup sidecar (issue 19), not data."""
    top = path.relative_to(case.parquet).parts[0]
    return top in ("_stats", "_rollups", "_spool", "_tombstones")


def assert_layout(case: Case) -> int:
    """Only kind folders (and commit records) at the top; every file in its kind's folder
    with that kind's schema; on an object store, every file named by a live commit."""
    top = {p.name for p in case.parquet.iterdir()}
    allowed = {f"kind={k}" for k in KIND_SCHEMAS} | ({"_hfdata"} if case.remote else set())
    allowed |= {"_stats", "_rollups", "_spool"}  # issue 19's derived files
    allowed |= {"_tombstones"}  # issue 20
    assert top <= allowed, top
    files = sorted(p for p in case.parquet.rglob("*.parquet") if not _derived(p, case))
    for path in files:
        kind = path.relative_to(case.parquet).parts[0].removeprefix("kind=")
        assert pq.read_schema(path).equals(KIND_SCHEMAS[kind]), path
    if case.remote:
        root = ParquetRoot(str(case.parquet), owner="trial-checker")
        live = {f.path for e in root.variables() for f in root.listing(e).files}
        assert {str(p) for p in files} == live, "data objects named by no live commit"
    return len(files)


def leftovers(case: Case) -> list[str]:
    """Plans, journals and temporaries: nothing a finished upgrade may leave."""
    found = []
    for path in case.base.rglob("*"):
        rel = str(path.relative_to(case.base))
        hidden = path.name.startswith(".") and path.name not in LOCKS
        journal = path.parent.name == "_journal" and path.is_file()
        if hidden or journal or path.name.endswith(".tmp"):
            found.append(rel)
    return sorted(found)


def snapshot(case: Case) -> dict[str, tuple[int, int]]:
    """Every file of the trial's stores with its size and mtime (a no-op changes none)."""
    return {
        str(p.relative_to(case.base)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in case.base.rglob("*")
        if p.is_file() and p.name not in LOCKS
    }


def state_after_kill(case: Case) -> dict[str, int]:
    """Where the child stopped: before its plan, with its plan written, or with the
    version recorded (so the signal trials show which steps their kills reached)."""
    if recorded_format_version(case.victim) >= FORMAT_VERSION:
        return {"stopped_with_version_recorded": 1}
    if (case.victim / "_journal" / PLAN_FILE).exists():
        return {"stopped_with_plan_written": 1}
    return {"stopped_before_plan": 1}


def copy_case(case: Case, target: Path) -> Case:
    shutil.copytree(case.base, target)
    point_shared_roots(target)
    moved = [target / p.relative_to(case.base) for p in case.stores]
    n = len(case.before)
    return Case(target, moved[n], case.expected, case.remote, moved[:n], moved[n + 1 :])


def finish(root: Path, via: str) -> None:
    if via == "open":
        hfdata.open_store(root, upgrade=True).close()
    elif via == "cli":
        assert cli_main(["upgrade", str(root)]) == 0
    else:
        upgrade_store(root)


# -- one trial -------------------------------------------------------------------------------
def make_case(base: Path, rng: random.Random, cache: Path, source: str) -> Case:
    if source == "synthetic":
        case = synthetic_case(base, rng)
    elif source == "format2":
        case = format2_case(base, rng)
    else:
        case = tarball_case(base, source, rng, cache)
    for root in case.before:
        upgrade_store(root)
    return case


def dry_run(server: WriterServer, case: Case, via: str) -> int:
    """How many mutating calls the child's upgrade makes, counted on a copy."""
    dry_case = copy_case(case, case.base.with_name(case.base.name + "-dry"))
    dry = server.run(root=str(dry_case.victim), action="upgrade", via=via, kill=False)
    shutil.rmtree(dry_case.base)
    assert dry["error"] == "", dry["error"]
    calls: int = dry["calls"]
    return calls


def one_trial(
    case: Case,
    server: WriterServer,
    rng: random.Random,
    source: str,
    mode: str,
    at: int | None = None,
) -> dict[str, int]:
    """Upgrade `case.victim` in a child ended as `mode` says (at call `at`, drawn if None),
    finish the upgrade, check everything; returns the trial's counters."""
    rows_before = partition_rows(case)
    via = rng.choice(VIAS)
    counts: dict[str, int] = {"trials": 1, f"source_{source}": 1, f"mode_{mode}": 1}
    counts[f"child_via_{via}"] = 1
    if mode == "signal":
        reply = server.run(
            root=str(case.victim), action="upgrade", via=via, spin=rng.randint(0, 3_000_000)
        )
    else:
        if at is None:
            calls = dry_run(server, case, via)
            at = rng.randrange(calls + 1)  # == calls: the run completes
            counts["steps_available"] = calls
        reply = server.run(
            root=str(case.victim),
            action="upgrade",
            via=via,
            kill=False,
            die_at=at,
            fail=mode == "error",
        )
        counts["died_at_step"] = int(reply["died_at_step"])
    if mode == "error" and reply["error"]:
        counts["injected_errors_raised"] = 1
        counts[f"error_type_{reply['error_type']}"] = 1
    else:
        assert reply["error"] == "", reply["error"]
    counts["interrupted"] = int(not reply["closed"])

    counts.update(state_after_kill(case))
    version = recorded_format_version(case.victim)
    if version < FORMAT_VERSION:
        with pytest.raises(hfdata.UpgradeRequired):
            hfdata.open_store(case.victim)
        counts["refused_until_upgraded"] = 1
    else:
        hfdata.open_store(case.victim).close()
        counts["version_recorded_before_finish"] = 1
    finish_via = rng.choice(VIAS)
    counts[f"finished_via_{finish_via}"] = 1
    finish(case.victim, finish_via)
    for root in case.after:
        upgrade_store(root)

    for root in case.stores:
        assert recorded_format_version(root) == FORMAT_VERSION
        with hfdata.open_store(root) as store:
            counts["rows_checked"] = counts.get("rows_checked", 0) + assert_reads_equal(
                reads(store), case.expected
            )
        counts["variables_checked"] = counts.get("variables_checked", 0) + len(case.expected)
        errors = [f for f in verify(root) if f.level == "error"]
        assert errors == [], errors[:3]
    rows_after = partition_rows(case)
    counts["lost"] = sum((rows_before - rows_after).values())
    counts["doubled"] = sum((rows_after - rows_before).values())
    assert rows_after == rows_before
    counts["files_checked"] = assert_layout(case)
    left = leftovers(case)
    tmps = [x for x in left if x.startswith("shared_root/") and x.endswith(".tmp")]
    counts["object_store_temporaries_left"] = len(tmps)
    assert left == [], left
    counts["leftovers"] = len(left)
    before = snapshot(case)
    for root in case.stores:  # a second upgrade changes nothing
        report = upgrade_store(root)
        assert (report.from_version, report.variables, report.files) == (FORMAT_VERSION, 0, 0)
    assert snapshot(case) == before
    return counts


def run_trials(
    server: WriterServer,
    tmp_path: Path,
    plan: list[tuple[str, str]],
    seed: int,
    figures: Figures,
) -> None:
    rng = random.Random(seed)
    totals: Counter[str] = Counter()
    cache = tmp_path / "cache"
    cache.mkdir()
    for trial, (source, mode) in enumerate(plan):
        case = make_case(tmp_path / f"t{trial}", rng, cache, source)
        totals.update(one_trial(case, server, rng, source, mode))
        shutil.rmtree(case.base)
    figures.add("upgrade_killed", **totals)


def every_step(
    server: WriterServer, tmp_path: Path, source: str, seed: int, stride: int, figures: Figures
) -> None:
    """Kill one store's upgrade at each of its steps in turn (every `stride`-th, and always
    the last few: the version record and the plan's removal)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    template = make_case(tmp_path / f"{source}-template", random.Random(seed), cache, source)
    calls = dry_run(server, template, "api")
    steps = sorted(set(range(0, calls + 1, stride)) | set(range(max(calls - 6, 0), calls + 1)))
    totals: Counter[str] = Counter({"stores": 1, "steps_available": calls})
    for at in steps:
        case = copy_case(template, tmp_path / f"{source}-{at}")
        totals.update(one_trial(case, server, random.Random(seed + at), source, "step", at))
        shutil.rmtree(case.base)
    figures.add(f"upgrade_killed_every_step_{source}", **totals)


def test_upgrade_killed_quick(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    """Every source in every mode once (the step trials at random steps)."""
    plan = [(source, mode) for source in SOURCES for mode in ("signal", "step", "error")]
    run_trials(server, tmp_path, plan, seed=1, figures=figures)


def test_killed_at_the_last_steps_leaves_no_plan(
    server: WriterServer, tmp_path: Path, figures: Figures
) -> None:
    """The last steps (the version record, the plan's removal, their fsyncs): a plan left
    beside a recorded version was never removed (fixed: the plan goes first)."""
    every_step(server, tmp_path, "local", seed=5, stride=1_000_000, figures=figures)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES)
def test_upgrade_killed_at_every_step(
    server: WriterServer, tmp_path: Path, figures: Figures, source: str
) -> None:
    """Every step of one store's upgrade in turn (every 10th unless HFDATA_TORTURE=full)."""
    every_step(server, tmp_path, source, seed=6, stride=1 if FULL else 10, figures=figures)


@pytest.mark.slow
def test_upgrade_killed_torture(server: WriterServer, tmp_path: Path, figures: Figures) -> None:
    rng = random.Random(3)
    plan = [(rng.choice(SOURCES), rng.choice(MODES)) for _ in range(torture_count(300))]
    run_trials(server, tmp_path, plan, seed=4, figures=figures)
