"""Turn the records of a run into targets met/not met, a console summary and RESULTS.md."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from benchmarks._harness import WORKLOADS

__all__ = ["best_other", "console", "evaluate", "groups", "markdown", "ratio"]

Record = dict[str, Any]


def groups(records: list[Record]) -> dict[str, dict[str, list[Record]]]:
    """Measurements by workload then case, in workload order and first-seen case order."""
    out: dict[str, dict[str, list[Record]]] = defaultdict(dict)
    for r in records:
        if r["kind"] == "measurement":
            out[r["workload"]].setdefault(r["case"], []).append(r)
    return {w: out[w] for w in sorted(out, key=_workload_key)}


def _workload_key(w: str) -> tuple[int, str]:
    return (int(w), w) if w.isdigit() else (99, w)


def _ok(r: Record) -> bool:
    return bool(r["status"] == "ok" and math.isfinite(r["rate"]))


def best_other(group: list[Record]) -> Record | None:
    """The fastest contender of a group that is not hfdata (peer, baseline or limit)."""
    others = [r for r in group if r["role"] != "hfdata" and _ok(r)]
    return max(others, key=lambda r: r["rate"]) if others else None


def ratio(subject: Record, reference: Record) -> float:
    """How many times faster ``subject`` is than ``reference`` (rate over rate).

    When both were timed in the same alternated rounds (equal numbers of times), this
    is the median of the per-round ratios: each round's pair ran back to back, so a
    burst of load from other jobs hits both sides of a pair, not one contender's
    median. Otherwise it is the ratio of the median rates.
    """
    ts, tr = subject["times"], reference["times"]
    if len(ts) == len(tr) > 0 and all(t > 0 for t in ts):
        per_round = [(subject["n"] / a) / (reference["n"] / b) for a, b in zip(ts, tr, strict=True)]
        return float(statistics.median(per_round))
    return float(subject["rate"] / reference["rate"])


def evaluate(records: list[Record]) -> list[Record]:
    """Each target with ``measured`` (a ratio or value) and ``status``: met, NOT MET (the
    threshold missed or a check failed), not measured, or withdrawn (still measured)."""
    by_name = {
        (r["workload"], r["case"], r["contender"]): r for r in records if r["kind"] == "measurement"
    }
    out = []
    for t in records:
        if t["kind"] != "target":
            continue
        measured: float | None = None
        if t["value"] is not None:
            measured = float(t["value"])
            met = (t["maximum"] is None or measured <= t["maximum"]) and (
                t["minimum"] is None or measured >= t["minimum"]
            )
        else:
            subject = by_name.get((t["workload"], t["case"], t["subject"]))
            reference = by_name.get((t["workload"], t["case"], t["reference"]))
            if subject and reference and _ok(subject) and _ok(reference):
                measured = ratio(subject, reference)
            met = measured is not None and (t["minimum"] is None or measured >= t["minimum"])
        failures = list(t.get("failures") or ())  # records saved before had none
        if t.get("withdrawn"):
            status = "withdrawn"
        elif failures:
            status = "NOT MET"
        else:
            status = "not measured" if measured is None else "met" if met else "NOT MET"
        aim = t["aim"] is not None and measured is not None and measured >= t["aim"]
        out.append(
            {**t, "measured": measured, "status": status, "aim_met": aim, "failures": failures}
        )
    return out


def _seconds(s: float) -> str:
    if not math.isfinite(s):
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def _rate(r: Record) -> str:
    return f"{r['rate']:,.0f}" if _ok(r) else "-"


def _ratio(r: Record, best: Record | None) -> str:
    if best is None or not _ok(r):
        return "-"
    return f"{ratio(r, best):.2f}x"


def _unit(t: Record) -> str:
    unit = t.get("unit", "x")
    return "x" if unit == "x" else f" {unit}"


def _threshold(t: Record) -> str:
    if t.get("withdrawn"):
        return f"- ({t['withdrawn']})"
    if t["maximum"] is not None:
        return f"≤ {t['maximum']:g}{_unit(t)}"
    text = f"≥ {t['minimum']:g}{_unit(t)}" if t["minimum"] is not None else "-"
    if t["aim"] is not None:
        text += f" (aim {t['aim']:g}x)"
    return text


def _measured(t: Record) -> str:
    # one line, no table separators: a failure's text can be an assertion's report
    failed = "".join(f"; failed: {' '.join(f.split())}" for f in t["failures"])
    failed = failed.replace("|", "/")
    if t["measured"] is None:
        return "-" + failed
    aim = " (aim met)" if t["aim_met"] else ""
    return f"{t['measured']:.2f}{_unit(t)}{aim}{failed}"


def console(records: list[Record]) -> str:
    """A plain-text summary for the terminal."""
    lines: list[str] = []
    notes = _notes(records)
    grouped = groups(records)
    for w in sorted(set(grouped) | set(notes), key=_workload_key):
        lines.append(f"== workload {w}: {WORKLOADS.get(w, w)}")
        for case, group in grouped.get(w, {}).items():
            best = best_other(group)
            lines.append(f"  -- {case}")
            for r in group:
                extra = f"  [{r['status']}: {r['note']}]" if r["status"] != "ok" else ""
                lines.append(
                    f"    {r['contender']:<34} {_seconds(r['median_s']):>10} "
                    f"{_rate(r):>14} {r['unit']}/s  {_ratio(r, best):>7}{extra}"
                )
        lines.extend(f"  note: {text}" for text in notes.get(w, []))
    lines.append("== targets")
    for t in evaluate(records):
        lines.append(f"  [{t['status']:>12}] {t['text']}: {_measured(t)} (needs {_threshold(t)})")
    return "\n".join(lines)


def _notes(records: list[Record]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r["kind"] == "note":
            out[r["workload"]].append(r["text"])
    return out


def markdown(
    records: list[Record],
    machine: dict[str, Any],
    run: dict[str, Any],
    plots: dict[str, str],
) -> str:
    """The whole RESULTS.md page."""
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    out = [
        "# Benchmark results",
        "",
        f"Generated by `{run['command']}` on {run['date']} "
        f"({'quick' if run['quick'] else 'full'} run, {run['seconds']:.0f} s). "
        "Do not edit by hand: rerun the command.",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory "
        f"{machine['memory_gib']} GiB; {machine['os']}",
        f"- Scratch disk: {machine['filesystem']}; hfdata commit {machine['commit']}",
        f"- Python {machine['python']}; {versions}",
        "- The machine is shared with other jobs, so absolute times are noisy; the ratios "
        "compare contenders measured alternately in the same run.",
        "",
        "## Method",
        "",
        "Every contender gets the same seeded generated data (`benchmarks/_data.py`). Each "
        "is run once untimed (warm-up), then the contenders of a group are timed in "
        "alternation, reversing the order every other round (A B C, C B A, …), so drift "
        "hits all of them. Tables show the median time per repetition, the rate (units "
        "per second at the median) and the speed relative to the fastest contender that "
        "is not hfdata in the same group (peer, baseline or bare-loop limit; by median "
        "rate); above 1.00x is faster. Ratios, here and in the targets, are the median of "
        "the per-round ratios of two contenders timed back to back, which keeps bursts "
        "of load from other jobs on this shared machine out of them. Setup (opening "
        "stores, creating files, converting frames) is outside the timed region.",
        "",
        "## Targets",
        "",
        "| workload | target | source | measured | needs | status |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in evaluate(records):
        out.append(
            f"| {t['workload']} | {t['text']} | {t['source']} | {_measured(t)} | "
            f"{_threshold(t)} | **{t['status']}** |"
        )
    if run.get("profiles"):
        out += [
            "",
            f"Where a target is missed, the profile is in [{run['profiles']}]({run['profiles']}).",
        ]
    for title, path in plots.items():
        out += ["", f"![{title}]({path})"]
    notes = _notes(records)
    grouped = groups(records)
    for w in sorted(set(grouped) | set(notes), key=_workload_key):
        out += ["", f"## Workload {w}: {WORKLOADS.get(w, w)}"]
        for case, group in grouped.get(w, {}).items():
            best = best_other(group)
            out += [
                "",
                f"### {case}",
                "",
                "| contender | role | n | median | rate | vs best other | runs | note |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
            ]
            for r in group:
                status = "" if r["status"] == "ok" else f"{r['status']}: "
                out.append(
                    f"| {r['contender']} | {r['role']} | {r['n']:,} {r['unit']} | "
                    f"{_seconds(r['median_s'])} | {_rate(r)} {r['unit']}/s | "
                    f"{_ratio(r, best)} | {len(r['times'])} | {status}{r['note']} |"
                )
        if notes.get(w):
            out.append("")
            out.extend(f"- {text}" for text in notes[w])
    out.append("")
    return "\n".join(out)
