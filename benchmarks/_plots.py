"""PNG plots for RESULTS.md (matplotlib, Agg backend): target ratios, hfdata-vs-best
ratios per group, and the scaling curves (records with an ``x``)."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks._report import best_other, evaluate, groups, ratio

__all__ = ["write_plots"]

Record = dict[str, Any]


def write_plots(records: list[Record], directory: Path) -> dict[str, str]:
    """Write the plots into ``directory``; ``{title: file name}`` of those written.

    Returns an empty dict (and writes nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for title, name, draw in (
        ("Targets: measured ratio against the minimum", "targets.png", _targets),
        ("hfdata rate / best other contender", "ratios.png", _ratios),
        ("Scaling", "scaling.png", _scaling),
    ):
        fig = draw(plt, records)
        if fig is None:
            continue
        fig.savefig(directory / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written[title] = name
    return written


def _targets(plt: Any, records: list[Record]) -> Any:
    targets = [
        t
        for t in evaluate(records)
        if t["measured"] is not None
        and (t["minimum"] or t["maximum"])
        and t["status"] != "withdrawn"
    ]
    if not targets:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(targets) + 1.2))
    labels = [f"W{t['workload']}: {t['text']}" for t in targets]
    # Score >= 1 means met: measured / minimum, or maximum / measured for a ceiling.
    ratios = [
        t["maximum"] / max(t["measured"], 1e-9) if t["maximum"] else t["measured"] / t["minimum"]
        for t in targets
    ]
    colours = ["tab:green" if t["status"] == "met" else "tab:red" for t in targets]
    ys = range(len(targets))
    ax.barh(list(ys), ratios, color=colours)
    ax.axvline(1.0, color="black", linewidth=1)
    for y, t in zip(ys, targets, strict=True):
        unit = t.get("unit", "x")
        unit = "x" if unit == "x" else f" {unit}"
        needs = f"≤ {t['maximum']:g}{unit}" if t["maximum"] else f"≥ {t['minimum']:g}x"
        ax.text(0.02, y, f" {t['measured']:.2f}{unit} (needs {needs})", va="center")
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xlabel("measured / minimum, or maximum / measured (≥ 1 is met)")
    ax.set_title("Targets from the issues")
    return fig


def _ratios(plt: Any, records: list[Record]) -> Any:
    labels, values = [], []
    for w, cases in groups(records).items():
        for case, group in cases.items():
            best = best_other(group)
            if best is None:
                continue
            for r in group:
                if r["role"] == "hfdata" and r["status"] == "ok" and math.isfinite(r["rate"]):
                    labels.append(f"W{w} {case}: {r['contender']} vs {best['contender']}")
                    values.append(ratio(r, best))
    if not values:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(values) + 1.2))
    ys = list(range(len(values)))
    ax.barh(ys, values, color=["tab:green" if v >= 1 else "tab:orange" for v in values])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(min(0.1, min(values) / 1.5), max(2.0, max(values) * 1.5))
    ax.set_yticks(ys, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("hfdata rate / fastest non-hfdata contender (log scale)")
    return fig


def _scaling(plt: Any, records: list[Record]) -> Any:
    panels: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["kind"] == "measurement" and r["x"] is not None and r["status"] == "ok":
            panel = r.get("curve") or f"workload {r['workload']}"
            panels[panel][r["contender"]].append((r["x"], r["rate"]))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (panel, curves) in zip(axes[0], panels.items(), strict=True):
        for contender, pts in curves.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=contender)
        ax.set_title(panel)
        ax.set_xticks(sorted({p[0] for pts in curves.values() for p in pts}))
        ax.set_ylabel("rate (units/s)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return fig
