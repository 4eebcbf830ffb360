"""Drive ``_arctic_worker.py`` in the ArcticDB venv (pandas < 3) from the harness.

``ArcticWorker.start(scratch, parquet)`` returns a worker, or ``None`` plus the reason
(venv missing, ArcticDB not importable), so the contender is skipped with a note.
The interpreter is ``$HFDATA_ARCTIC_PYTHON`` or ``.venv-arctic/bin/python`` at the
repository root (``make bench-env`` creates it).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["ArcticWorker", "arctic_python"]

_ROOT = Path(__file__).resolve().parent.parent
_WORKER = Path(__file__).resolve().parent / "_arctic_worker.py"


def arctic_python() -> Path:
    """The interpreter that has ArcticDB (it may not exist)."""
    env = os.environ.get("HFDATA_ARCTIC_PYTHON")
    return Path(env) if env else _ROOT / ".venv-arctic" / "bin" / "python"


class ArcticWorker:
    """A running worker; ``call(op=…)`` sends one request and returns its reply."""

    def __init__(self, proc: subprocess.Popen[str], versions: dict[str, str]) -> None:
        self.proc = proc
        self.versions = versions

    @classmethod
    def start(cls, scratch: Path, parquet: Path) -> tuple[ArcticWorker | None, str]:
        python = arctic_python()
        if not python.exists():
            return None, f"ArcticDB venv missing ({python}); create it with `make bench-env`"
        proc = subprocess.Popen(
            [str(python), str(_WORKER), str(scratch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            text=True,
        )
        worker = cls(proc, {})
        try:
            reply = worker.call(op="load", parquet=str(parquet))
        except RuntimeError as exc:
            worker.close()
            return None, f"ArcticDB worker failed to start: {exc}"
        worker.versions = reply.get("versions", {})
        return worker, ""

    def call(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError as exc:
            raise RuntimeError(f"ArcticDB worker died: {exc}") from exc
        if not line:
            raise RuntimeError(f"ArcticDB worker exited (code {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "ArcticDB worker error"))
        return reply

    def timed(self, **request: Any) -> float:
        """Send a timed op; the worker's own measurement, in seconds."""
        return float(self.call(**request)["seconds"])

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(RuntimeError, OSError):
                self.call(op="quit")
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
