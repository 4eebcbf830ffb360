"""A fork server for killed-writer trials: pay the interpreter and import cost once.

Run as a script. It imports hfdata, then reads one JSON command per line on stdin:
`{"root", "seed", "gen", "length", "durability", "max_segment_bytes", "kill_after",
"spin"}`. For each it forks a writer child that follows `make_plan(seed, gen,
length)` and reports the index of every operation that returned on a pipe. The
server reads `kill_after` acknowledgements, spins a random while, sends SIGKILL at
whatever the child is doing, drains the acknowledgements that were already in the
pipe, reaps the child and answers one JSON line: `{"acked_ops", "status", "error"}`.
The server itself never touches the store, so its state never leaks into a child.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
import sys
import traceback
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hfdata
from reliability.model import apply_op, make_plan


def run_child(cmd: dict[str, Any], ack_fd: int) -> None:
    plan = make_plan(int(cmd["seed"]), int(cmd["gen"]), int(cmd["length"]))
    store = hfdata.open_store(
        str(cmd["root"]),
        durability=cmd["durability"],
        max_segment_bytes=int(cmd["max_segment_bytes"]),
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

    def _wrap(self, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.calls == self.at:
                if self.fail:
                    self.calls += 1
                    raise OSError(errno.EIO, "injected I/O error")
                os._exit(DIED)
            self.calls += 1
            return real(*args, **kwargs)

        return call


DIED = 77
MAINTENANCE_MODULES = ("hfdata.compact", "hfdata.journal", "hfdata.parquetio", "hfdata.log")


def run_compactor(cmd: dict[str, Any], ack_fd: int) -> None:
    """Compact (or optimize) the store; die at a chosen os call if asked."""
    die = Die(int(cmd.get("die_at", -1)), fail=bool(cmd.get("fail", False)))
    for name in MAINTENANCE_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "os"):
            module.os = die.os  # type: ignore[attr-defined]
    os.write(ack_fd, b"start\n")
    store = hfdata.open_store(str(cmd["root"]))
    if cmd["action"] == "optimize":
        store.optimize()
    else:
        store.compact()
    store.close()
    os.write(ack_fd, b"calls %d\n" % die.calls)
    os.write(ack_fd, b"closed\n")


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
        reply = serve_one(json.loads(raw))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
