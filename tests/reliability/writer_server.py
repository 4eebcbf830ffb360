"""A fork server for killed-writer trials: pay the interpreter and import cost once.

Run as a script. It imports hfdata, then reads one JSON command per line on stdin:
`{"root", "seed", "gen", "length", "durability", "max_segment_bytes", "kill_after",
"spin", "versions"}`. For each it forks a writer child that follows `make_plan(seed, gen,
length)` (`make_version_plan` with `versions`: deletions and corrections too) and
reports the index of every operation that returned on a pipe. The server reads
`kill_after` acknowledgements, spins a random while, sends SIGKILL at whatever the child
is doing, drains the acknowledgements that were already in the pipe, reaps the child
and answers one JSON line: `{"acked_ops", "status", "error"}`.
The server itself never touches the store, so its state never leaks into a child.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import pathlib
import signal
import sys
import threading
import traceback
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hfdata
from reliability.model import MAINTENANCE_MODULES as MODEL_MAINTENANCE_MODULES
from reliability.model import Op, apply_op, make_plan, modules_under, op_table
from reliability.versions import make_version_plan


def run_child(cmd: dict[str, Any], ack_fd: int) -> None:
    # With "versions" (issue 20) the plan also deletes ranges and corrects points.
    planner = make_version_plan if cmd.get("versions") else make_plan
    plan = planner(int(cmd["seed"]), int(cmd["gen"]), int(cmd["length"]))
    store = hfdata.open_store(
        str(cmd["root"]),
        durability=cmd["durability"],
        max_segment_bytes=int(cmd["max_segment_bytes"]),
        max_open_segments=int(cmd.get("max_open_segments", 256)),
        max_segment_age=float(cmd.get("max_segment_age", 600.0)),
    )
    for i, op in enumerate(plan):
        apply_op(store, op, i)
        os.write(ack_fd, b"%d\n" % i)
    store.close()
    os.write(ack_fd, b"closed\n")


class Die:
    """An `os` stand-in that ends the process (as SIGKILL would) at its Nth chosen call."""

    CALLS = ("rename", "replace", "fsync", "unlink", "ftruncate", "link", "write", "pwrite")

    def __init__(self, at: int, *, fail: bool = False) -> None:
        self.at = at
        self.fail = fail  # raise OSError(EIO) instead of dying
        self.calls = 0
        self.os = types.SimpleNamespace(
            **{k: getattr(os, k) for k in dir(os) if not k.startswith("__")}
        )
        for name in self.CALLS:
            setattr(self.os, name, self._wrap(getattr(os, name)))

    def tick(self) -> None:
        """Count one mutating call: the chosen one dies (or raises EIO) before it runs."""
        if self.calls == self.at:
            if self.fail:
                self.calls += 1
                raise OSError(errno.EIO, "injected I/O error")
            os._exit(DIED)
        self.calls += 1

    def _wrap(self, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.tick()
            return real(*args, **kwargs)

        return call

    def watch_paths(self) -> None:
        """Count `pathlib.Path`'s mutating methods too (they call `os` through pathlib's own
        reference, which the module proxies miss): the upgrade removes its plan with
        `Path.unlink`, makes folders with `Path.mkdir`. Only in a child that does nothing
        else, so patching the class is harmless."""
        for name in PATH_CALLS:
            setattr(pathlib.Path, name, self._wrap(getattr(pathlib.Path, name)))

    def watch_object_store(self) -> None:
        """Count the mutating calls of an object-store root's filesystem (pyarrow's, C++):
        a `parquet_root` that is a local path gets a `LocalFileSystem` subclass whose
        create_dir, delete_*, move, copy_file and open_*_stream count first (it is still a
        `LocalFileSystem`, so the root behaves exactly as it does unwatched)."""
        import pyarrow.fs as pafs

        from hfdata.parquet import objectstore

        tick = self.tick

        class Counting(pafs.LocalFileSystem):  # type: ignore[misc]
            pass

        for name in FS_CALLS:

            def make(name: str) -> Any:
                real = getattr(pafs.LocalFileSystem, name)

                def call(fs: Any, *args: Any, **kwargs: Any) -> Any:
                    tick()
                    return real(fs, *args, **kwargs)

                return call

            setattr(Counting, name, make(name))
        real_filesystem = objectstore.filesystem

        def filesystem(*args: Any, **kwargs: Any) -> tuple[Any, str]:
            fs, base = real_filesystem(*args, **kwargs)
            return (Counting() if type(fs) is pafs.LocalFileSystem else fs), base

        objectstore.filesystem = filesystem


PATH_CALLS = ("unlink", "rename", "replace", "rmdir", "mkdir", "touch", "write_bytes", "write_text")
FS_CALLS = (
    "create_dir",
    "delete_dir",
    "delete_dir_contents",
    "delete_file",
    "move",
    "copy_file",
    "open_output_stream",
    "open_append_stream",
)


DIED = 77
MAINTENANCE_MODULES = (*MODEL_MAINTENANCE_MODULES, *modules_under("hfdata.log"))


def run_compactor(cmd: dict[str, Any], ack_fd: int) -> None:
    """Compact (or optimize) the store; die at a chosen os call if asked."""
    die = Die(int(cmd.get("die_at", -1)), fail=bool(cmd.get("fail", False)))
    for name in MAINTENANCE_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "os"):
            module.os = die.os  # type: ignore[attr-defined]
    if cmd["action"] == "upgrade":
        run_upgrade(cmd, die, ack_fd)
        return
    os.write(ack_fd, b"start\n")
    store = hfdata.open_store(str(cmd["root"]))
    if cmd["action"] == "optimize":
        store.optimize()
    else:
        store.compact()
    store.close()
    os.write(ack_fd, b"calls %d\n" % die.calls)
    os.write(ack_fd, b"closed\n")


def run_upgrade(cmd: dict[str, Any], die: Die, ack_fd: int) -> None:
    """Upgrade a format-1 store (`via`: `upgrade_store`, `open_store(upgrade=True)` or the
    CLI's `main`), counting `os`, `pathlib` and an object-store root's filesystem calls."""
    for name in UPGRADE_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "os", None) is os:
            module.os = die.os  # type: ignore[attr-defined]
    die.watch_paths()
    die.watch_object_store()
    os.write(ack_fd, b"start\n")
    root = str(cmd["root"])
    via = cmd.get("via", "api")
    if via == "open":
        hfdata.open_store(root, upgrade=True).close()
    elif via == "cli":
        from hfdata.tools.cli import main as cli_main

        with contextlib.redirect_stdout(sys.stderr):  # stdout is the server's reply pipe
            code = cli_main(["upgrade", root])
        if code != 0:
            raise RuntimeError(f"hfdata upgrade exited with {code}")
    else:
        from hfdata.store import upgrade_store

        upgrade_store(root)
    os.write(ack_fd, b"calls %d\n" % die.calls)
    os.write(ack_fd, b"closed\n")


UPGRADE_MODULES = ("hfdata.settings", "hfdata.store")


def role_writer(cmd: dict[str, Any]) -> None:
    """Two threads append their own ids to overlapping variables; acks go to a file."""
    store = hfdata.open_store(str(cmd["root"]), max_segment_bytes=int(cmd["max_segment_bytes"]))
    ack = os.open(str(cmd["ack_file"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    variables = list(cmd["variables"])

    def run(thread: int) -> None:
        gen = int(cmd["gen"]) + thread
        j = 0
        for step in range(int(cmd["steps"])):
            var = variables[(step * 7 + thread) % len(variables)]
            if step % 5 == 4:
                ids = tuple(float(gen * 1_000_000 + j + k) for k in range(10))
                store.append_many(var, op_table(ids))
            else:
                ids = (float(gen * 1_000_000 + j),)
                apply_op(store, Op("one", var, ids))
            j += len(ids)
            os.write(ack, "".join(f"{var}\t{x!r}\n" for x in ids).encode())
            if step % 50 == 49:
                store.rotate([var])

    threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    os.close(ack)


def role_maintainer(cmd: dict[str, Any]) -> None:
    """Compact or optimize in a loop until the stop file appears; count the runs."""
    store = hfdata.open_store(str(cmd["root"]))
    stop = Path(str(cmd["stop"]))
    runs = 0
    while not stop.exists():
        if cmd["role"] == "compactor":
            store.compact()
        else:
            store.optimize()
        runs += 1
    store.close()
    Path(str(cmd["out"])).write_text(json.dumps({"runs": runs}))


def role_reader(cmd: dict[str, Any]) -> None:
    """Read every variable in a loop: counts never go down, no value twice in a read."""
    store = hfdata.open_store(str(cmd["root"]))
    stop = Path(str(cmd["stop"]))
    last: dict[str, int] = {}
    report = {"reads": 0, "count_went_down": 0, "doubled_in_a_read": 0, "errors": 0}
    details: list[str] = []
    while True:
        final = stop.exists()  # one more full pass after the stop file appears
        for var in cmd["variables"]:
            try:
                frame = store.read(var)
            except hfdata.VariableNotFound:
                continue
            report["reads"] += 1
            n = len(frame)
            if n < last.get(var, 0):
                report["count_went_down"] += 1
                details.append(f"{var}: {last[var]} -> {n}")
            last[var] = max(n, last.get(var, 0))
            values = frame["value"].to_numpy()
            if len(set(values.tolist())) != len(values):
                report["doubled_in_a_read"] += 1
                details.append(f"{var}: a value twice in one read of {n} rows")
        if final:
            break
    store.close()
    Path(str(cmd["out"])).write_text(json.dumps({**report, "details": details[:10]}))


ROLES = {
    "writer": role_writer,
    "compactor": role_maintainer,
    "optimizer": role_maintainer,
    "reader": role_reader,
}


def spawn(cmd: dict[str, Any]) -> dict[str, Any]:
    """Start a role in a child and answer at once with its pid (reap it with `reap`)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ROLES[str(cmd["role"])](cmd)
        except BaseException:
            Path(str(cmd["error_file"])).write_text(traceback.format_exc())
            code = 1
        os._exit(code)
    return {"pid": pid}


def reap(cmd: dict[str, Any]) -> dict[str, Any]:
    _, status = os.waitpid(int(cmd["pid"]), 0)
    return {"status": status, "ok": os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0}


def serve_one(cmd: dict[str, Any]) -> dict[str, Any]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer
        os.close(read_fd)
        code = 0
        try:
            if cmd.get("action", "write") == "write":
                run_child(cmd, write_fd)
            else:
                run_compactor(cmd, write_fd)
        except BaseException as exc:
            os.write(write_fd, b"T %s\n" % type(exc).__name__.encode())
            os.write(write_fd, b"E " + traceback.format_exc().replace("\n", " | ").encode() + b"\n")
            code = 1
        os._exit(code)
    os.close(write_fd)
    acked, error, closed, calls, started, error_type = 0, "", False, -1, False, ""
    kill_after = int(cmd.get("kill_after", 0))
    with os.fdopen(read_fd, "rb") as pipe:

        def take(line: bytes) -> None:
            nonlocal acked, error, closed, calls, started, error_type
            if line.startswith(b"T "):
                error_type = line[2:].decode().strip()
            elif line.startswith(b"calls "):
                calls = int(line.split()[1])
            elif line.strip() == b"start":
                started = True
            elif line.startswith(b"E "):
                error = line[2:].decode(errors="replace")
            elif line.strip() == b"closed":
                closed = True
            elif line.strip():
                acked = int(line) + 1

        writer = cmd.get("action", "write") == "write"
        if cmd.get("kill", True):
            while not (error or closed) and (acked < kill_after if writer else not started):
                line = pipe.readline()
                if not line:
                    break
                take(line)
            spin = 0
            for k in range(int(cmd.get("spin", 0))):
                spin += k  # pick the moment inside the next operation
            os.kill(pid, signal.SIGKILL)
        for line in pipe:  # acknowledgements written before the kill landed
            take(line)
    _, status = os.waitpid(pid, 0)
    return {
        "acked_ops": acked,
        "status": status,
        "error": error,
        "error_type": error_type,
        "closed": closed,
        "calls": calls,
        "died_at_step": os.WIFEXITED(status) and os.WEXITSTATUS(status) == DIED,
    }


def main() -> None:
    for raw in sys.stdin:
        if not raw.strip():
            continue
        cmd = json.loads(raw)
        action = cmd.get("action", "write")
        if action == "spawn":
            reply = spawn(cmd)
        elif action == "reap":
            reply = reap(cmd)
        else:
            reply = serve_one(cmd)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
