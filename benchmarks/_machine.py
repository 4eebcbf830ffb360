"""What the results were measured on: machine, disk, interpreter and library versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["commit", "describe"]

_PACKAGES = (
    "hfdata",
    "pandas",
    "polars",
    "pyarrow",
    "numpy",
    "orjson",
    "duckdb",
    "matplotlib",
)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _filesystem(path: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[-1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def commit(root: Path) -> str:
    """`<short commit>` of the git checkout at `root`, marked when its `hfdata/` has
    uncommitted changes (the code measured is not the commit's); "unknown" outside git."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "hfdata"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}{' (hfdata/ modified)' if dirty else ''}"


def _arctic_versions() -> dict[str, str]:
    from benchmarks._arctic import arctic_python

    python = arctic_python()
    if not python.exists():
        return {"arcticdb": "not installed (no .venv-arctic)"}
    code = "import arcticdb, pandas; print(arcticdb.__version__, pandas.__version__)"
    try:
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=120
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return {"arcticdb": "not importable in .venv-arctic"}
    return {"arcticdb": f"{out[0]} (own venv, pandas {out[1]})"}


def describe(scratch: Path, extra_versions: dict[str, str] | None = None) -> dict[str, Any]:
    """A dict of facts for the results page."""
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions.update(_arctic_versions())
    versions.update(extra_versions or {})
    memory = _memory_gib()
    return {
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "memory_gib": None if memory is None else round(memory, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "filesystem": _filesystem(scratch),
        "commit": commit(Path(__file__).resolve().parent.parent),
        "versions": versions,
    }
