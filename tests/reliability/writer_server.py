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

import json
import os
import signal
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hfdata
from reliability.model import apply_op, make_plan


def run_child(cmd: dict[str, object], ack_fd: int) -> None:
    plan = make_plan(int(cmd["seed"]), int(cmd["gen"]), int(cmd["length"]))  # type: ignore[call-overload]
    store = hfdata.open_store(
        str(cmd["root"]),
        durability=cmd["durability"],  # type: ignore[arg-type]
        max_segment_bytes=int(cmd["max_segment_bytes"]),  # type: ignore[call-overload]
    )
    for i, op in enumerate(plan):
        apply_op(store, op, i)
        os.write(ack_fd, b"%d\n" % i)
    store.close()
    os.write(ack_fd, b"closed\n")


def serve_one(cmd: dict[str, object]) -> dict[str, object]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer
        os.close(read_fd)
        code = 0
        try:
            run_child(cmd, write_fd)
        except BaseException:
            os.write(write_fd, b"E " + traceback.format_exc().replace("\n", " | ").encode() + b"\n")
            code = 1
        os._exit(code)
    os.close(write_fd)
    acked, error, closed = 0, "", False
    kill_after = int(cmd["kill_after"])  # type: ignore[call-overload]
    with os.fdopen(read_fd, "rb") as pipe:

        def take(line: bytes) -> None:
            nonlocal acked, error, closed
            if line.startswith(b"E "):
                error = line[2:].decode(errors="replace")
            elif line.strip() == b"closed":
                closed = True
            elif line.strip():
                acked = int(line) + 1

        while acked < kill_after and not error and not closed:
            line = pipe.readline()
            if not line:
                break
            take(line)
        spin = 0
        for k in range(int(cmd["spin"])):  # type: ignore[call-overload]
            spin += k  # pick the moment inside the next operation
        os.kill(pid, signal.SIGKILL)
        for line in pipe:  # acknowledgements written before the kill landed
            take(line)
    _, status = os.waitpid(pid, 0)
    return {"acked_ops": acked, "status": status, "error": error, "closed": closed}


def main() -> None:
    for raw in sys.stdin:
        if not raw.strip():
            continue
        reply = serve_one(json.loads(raw))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
