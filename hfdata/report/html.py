"""The HTML report (issue 19): one self-contained file a person opens first.

`build_report` writes the summary table, a coverage heatmap (variables by hours, or by
days over long spans), and per variable its mean line with a min-max band, its longest
gaps and its data-quality findings, all asked of a `ReportSource` (the `Store` facade:
this stage sits below it, so the facade passes itself in). `write_report` saves it.

Self-contained means nothing is fetched when the file is opened: the CSS is inline,
the pictures are PNG `data:` URIs (`charts`), no fonts, scripts or links leave the
file (the table of contents links to anchors inside it), so it can be mailed or opened
offline. It reads on a phone: a viewport meta tag, tables that scroll sideways inside
their own box, pictures no wider than the screen.

Memory: the summary and the coverage grid are small frames (a row per variable; at
most `MAX_BINS` bins); every other part is built variable by variable, and a plot reads
`read(v, resample=freq, agg=["mean", "min", "max"])`, which the store answers from its
rollups (1h by default) rather than the points. Every text from the store (variable
names, string values, finding details) is HTML-escaped.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from os import PathLike
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

from hfdata.durable import atomic_write
from hfdata.errors import InvalidArgument
from hfdata.report import charts

__all__ = [
    "MAX_BINS",
    "ReportOptions",
    "ReportSource",
    "auto_freq",
    "bin_count",
    "build_report",
    "format_duration",
    "parse_freq",
    "write_report",
]

MAX_BINS: Final = 2000
"""The most bins a coverage row (and a plot) has; the automatic `freq` keeps under it."""

_HOUR: Final = pd.Timedelta(hours=1)
_DAY: Final = pd.Timedelta(days=1)
_PLOTTED_KINDS: Final = ("float", "int", "bool")
_COUNTS: Final = (
    "rows",
    "parquet_rows",
    "log_rows",
    "nan_count",
    "duplicate_timestamps",
    "conflicting_duplicates",
    "gap_count",
    "parquet_bytes",
    "log_bytes",
)
_TEXT_CHARS: Final = 80

_CSS: Final = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 72rem; padding: 0 1rem 2rem; line-height: 1.45;
  color: #1b1f24; background: #fff; }
h1 { font-size: 1.5rem; margin: 1rem 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin-top: 2rem; padding-bottom: .2rem;
  border-bottom: 1px solid #d0d7de; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
p { margin: .4rem 0; }
.meta, .note { color: #57606a; font-size: .875rem; }
nav ul { list-style: none; padding: 0; margin: .5rem 0; display: flex; flex-wrap: wrap;
  gap: .2rem .9rem; }
nav a { overflow-wrap: anywhere; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
table { border-collapse: collapse; font-size: .875rem; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .55rem; border-bottom: 1px solid #eaeef2; text-align: right;
  white-space: nowrap; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
th:first-child, td:first-child { text-align: left; position: sticky; left: 0;
  background: #fff; }
th:first-child { background: #f6f8fa; }
td.text { text-align: left; white-space: normal; min-width: 12rem; }
figure { margin: .5rem 0; }
img { max-width: 100%; height: auto; display: block; }
figcaption { color: #57606a; font-size: .8rem; }
@media (max-width: 40rem) {
  body { padding: 0 .6rem 1.5rem; }
  h1 { font-size: 1.25rem; }
  table { font-size: .8rem; }
}
"""


class ReportSource(Protocol):
    """What the report asks of a store (`Store` is one)."""

    def summary(self, variables: str | list[str] | None = None) -> pd.DataFrame: ...

    def coverage(
        self,
        variables: str | list[str] | None = None,
        start: Any = None,
        end: Any = None,
        *,
        freq: Any = "1h",
        min_gap: Any = None,
    ) -> pd.DataFrame: ...

    def gaps(
        self, variable: str, start: Any = None, end: Any = None, *, min_gap: Any = None
    ) -> pd.DataFrame: ...

    def quality(self, variables: str | list[str] | None = None) -> pd.DataFrame: ...

    def read(
        self,
        variables: str | list[str],
        start: Any = None,
        end: Any = None,
        *,
        resample: Any = None,
        agg: Any = "mean",
    ) -> Any: ...


@dataclass(frozen=True)
class ReportOptions:
    """How much the report shows.

    `freq`: the bins of the heatmap and the plots (None: 1h, or 1D or whole days when
    that would be more than `MAX_BINS` bins; each plot picks by its own variable's
    span); `max_gaps`: the longest gaps listed per variable; `max_findings`: quality
    findings listed per variable; `plots`: draw the pictures (needs matplotlib).
    """

    freq: pd.Timedelta | None = None
    max_gaps: int = 20
    max_findings: int = 50
    plots: bool = True
    title: str = "hfdata report"

    @classmethod
    def make(
        cls,
        *,
        freq: Any = None,
        max_gaps: int = 20,
        max_findings: int = 50,
        plots: bool = True,
        title: str = "hfdata report",
    ) -> ReportOptions:
        """Check the options as given by a caller (InvalidArgument names the bad one)."""
        for name, value in (("max_gaps", max_gaps), ("max_findings", max_findings)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgument(
                    f"{name} must be a whole number >= 0, not {value!r}", argument=name
                )
        return cls(parse_freq(freq), max_gaps, max_findings, bool(plots), str(title))


def parse_freq(freq: Any) -> pd.Timedelta | None:
    """`freq` ("1h", "1D", a timedelta) as a positive Timedelta; None stays None."""
    if freq is None:
        return None
    try:
        value = pd.Timedelta(freq)
    except (ValueError, TypeError):
        value = None
    if value is None or pd.isna(value) or value <= pd.Timedelta(0):
        raise InvalidArgument(
            f"freq must be a positive fixed duration such as '1h' or '1D', not {freq!r}",
            argument="freq",
        )
    return value


def bin_count(first: pd.Timestamp, last: pd.Timestamp, freq: pd.Timedelta) -> int:
    """How many epoch-anchored `freq` bins `[first, last]` touches (as `coverage` makes)."""
    step = freq.value
    return int(last.value // step - first.value // step + 1)


def auto_freq(first: pd.Timestamp, last: pd.Timestamp) -> pd.Timedelta:
    """1h, else 1D, else whole days: the shortest keeping `[first, last]` within
    `MAX_BINS` bins."""
    for freq in (_HOUR, _DAY):
        if bin_count(first, last, freq) <= MAX_BINS:
            return freq
    days = math.ceil((last - first) / _DAY / (MAX_BINS - 1))
    while bin_count(first, last, days * _DAY) > MAX_BINS:
        days += 1
    return days * _DAY


def format_duration(value: Any) -> str:
    """A Timedelta as short text pandas reads back: "10s", "3h 20s", "2 days 1h 5min"."""
    if value is None or value is pd.NaT or pd.isna(value):
        return "-"
    td = pd.Timedelta(value)
    if td == pd.Timedelta(0):
        return "0s"
    sign, td = ("-", -td) if td < pd.Timedelta(0) else ("", td)
    c = td.components
    parts = []
    if c.days:
        parts.append(f"{c.days} day{'s' if c.days != 1 else ''}")
    if c.hours:
        parts.append(f"{c.hours}h")
    if c.minutes:
        parts.append(f"{c.minutes}min")
    fraction = c.milliseconds * 1_000_000 + c.microseconds * 1000 + c.nanoseconds
    if c.seconds or fraction:
        text = f"{c.seconds}.{fraction:09d}".rstrip("0").rstrip(".")
        parts.append(f"{text}s")
    return sign + " ".join(parts)


def _freq_text(freq: pd.Timedelta) -> str:
    for unit, name in ((_DAY, "D"), (_HOUR, "h"), (pd.Timedelta(minutes=1), "min")):
        if freq % unit == pd.Timedelta(0):
            return f"{freq // unit}{name}"
    return format_duration(freq)


def _time(value: Any) -> str:
    if value is None or value is pd.NaT or pd.isna(value):
        return "-"
    ts = pd.Timestamp(value).tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".") + (
        f"{ts.nanosecond:03d}".rstrip("0") if ts.nanosecond else ""
    )


def _value(value: Any) -> str:
    """A summary value as shown (escaped by the caller)."""
    if value is None or value is pd.NaT:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "-" if math.isnan(value) else f"{float(value):.6g}"
    if isinstance(value, pd.Timestamp):
        return _time(value)
    if isinstance(value, pd.Timedelta):
        return format_duration(value)
    text = str(value)
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "\u2026"


def _shown(column: str, value: Any) -> str:
    """The text a table shows for `value` in `column` (not yet escaped)."""
    if column == "coverage":
        return "-" if pd.isna(value) else f"{float(value) * 100:.2f} %"
    if column in ("first", "last", "start", "end"):
        return _time(value)
    if column in ("median_interval", "longest_gap", "duration"):
        return format_duration(value)
    return _value(value)


def _cell(column: str, value: Any) -> str:
    wide = column in ("last_value", "detail") and isinstance(value, str)
    return f'<td class="{"text" if wide else "num"}">{escape(_shown(column, value))}</td>'


def _table(frame: pd.DataFrame, first: str | None, anchors: dict[str, str] | None = None) -> str:
    """`frame` as a scrolling table; `first` names a leading column from the index."""
    heads = ([first] if first else []) + [str(c) for c in frame.columns]
    out = ['<div class="scroll"><table><thead><tr>']
    out += [f'<th scope="col">{escape(h.replace("_", " "))}</th>' for h in heads]
    out.append("</tr></thead><tbody>")
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        out.append("<tr>")
        if first:
            name = escape(str(label))
            link = anchors.get(str(label)) if anchors else None
            text = f'<a href="#{link}">{name}</a>' if link else name
            out.append(f'<th scope="row">{text}</th>')
        out += [_cell(c, v) for c, v in zip(frame.columns, row, strict=True)]
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _image(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _span(summary: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    first, last = summary["first"].dropna(), summary["last"].dropna()
    if first.empty or last.empty:
        return None
    return pd.Timestamp(first.min()), pd.Timestamp(last.max())


def _coverage_section(source: ReportSource, summary: pd.DataFrame, options: ReportOptions) -> str:
    out = ['<section id="coverage"><h2>Coverage</h2>']
    span = _span(summary)
    if span is None:
        out.append('<p class="note">No points yet.</p></section>')
        return "".join(out)
    freq = options.freq if options.freq is not None else auto_freq(*span)
    bins = bin_count(*span, freq)
    if bins > MAX_BINS:
        raise InvalidArgument(
            f"freq {_freq_text(freq)} makes {bins:,} bins over {_time(span[0])} to "
            f"{_time(span[1])} (at most {MAX_BINS:,}): choose a longer freq or leave it out",
            argument="freq",
        )
    text = _freq_text(freq)
    out.append(
        f'<p class="note">The share of each {escape(text)} bin (UTC) without a gap: a gap is '
        "an interval between points longer than 10x the variable's median interval; "
        "before a variable's first point and after its last nothing is covered.</p>"
    )
    if options.plots:
        grid = source.coverage(list(summary.index), freq=freq)
        alt = f"coverage of {len(summary)} variables in {text} bins"
        caption = f"{_plural(bins, 'bin')} of {text}"
        out.append(_image(charts.coverage_png(grid, freq), alt, caption))
    else:
        out.append('<p class="note">Plots are off.</p>')
    out.append("</section>")
    return "".join(out)


def _plot(source: ReportSource, name: str, row: pd.Series, options: ReportOptions) -> str:
    if row["kind"] not in _PLOTTED_KINDS or row["rows"] - row["nan_count"] <= 0:
        return ""
    first, last = pd.Timestamp(row["first"]), pd.Timestamp(row["last"])
    freq = options.freq if options.freq is not None else auto_freq(first, last)
    frame = source.read(name, resample=freq, agg=["mean", "min", "max"])
    frame = frame[["mean", "min", "max"]].apply(pd.to_numeric, errors="coerce").astype(float)
    text = _freq_text(freq)
    png = charts.series_png(frame, freq, text)
    caption = f"{text} mean (line) and min-max (band), {_plural(len(frame), 'bin')}"
    return _image(png, f"{name}: {text} mean with its min-max band", caption)


def _gaps_part(source: ReportSource, name: str, options: ReportOptions) -> str:
    gaps = source.gaps(name)
    out = ["<h3>Gaps</h3>"]
    if gaps.empty:
        out.append('<p class="note">No gaps (intervals over 10x the median interval).</p>')
        return "".join(out)
    longest = gaps.sort_values(["duration", "start"], ascending=[False, True], kind="stable")
    shown = longest.head(options.max_gaps)
    out.append(
        f'<p class="note">{_plural(len(gaps), "gap")} longer than 10x the median interval; '
        f"{'all' if len(shown) == len(gaps) else f'the {len(shown):,} longest'} "
        "below, longest first.</p>"
    )
    if len(shown):
        out.append(_table(shown.reset_index(drop=True)[["start", "end", "duration"]], None))
    return "".join(out)


def _quality_part(findings: pd.DataFrame, options: ReportOptions) -> str:
    out = ["<h3>Quality</h3>"]
    if findings.empty:
        out.append('<p class="note">No findings.</p>')
        return "".join(out)
    counts = findings["check"].value_counts(sort=False)
    listed = ", ".join(f"{escape(str(c))} {n:,}" for c, n in counts.items())
    shown = findings.head(options.max_findings)
    more = len(findings) - len(shown)
    out.append(
        f'<p class="note">{_plural(len(findings), "finding")}: {listed}'
        f"{f'; the first {len(shown):,} below (Store.quality lists all)' if more else ''}"
        ".</p>"
    )
    if len(shown):
        out.append(_table(shown.reset_index(drop=True)[["check", "start", "end", "detail"]], None))
    return "".join(out)


def _variable_section(
    source: ReportSource, anchor: str, name: str, row: pd.Series, options: ReportOptions
) -> tuple[str, pd.Series]:
    """The section of one variable, and its findings counted by check."""
    out = [f'<section id="{anchor}"><h2>{escape(name)}</h2>']
    out.append(
        f'<p class="meta">{escape(str(row["kind"]))}, {_plural(int(row["rows"]), "row")}, '
        f"{escape(_time(row['first']))} to {escape(_time(row['last']))}, median interval "
        f"{escape(format_duration(row['median_interval']))}, coverage "
        f"{escape(_shown('coverage', row['coverage']))}</p>"
    )
    if options.plots:
        out.append(_plot(source, name, row, options))
    out.append(_gaps_part(source, name, options))
    findings = source.quality(name)
    out.append(_quality_part(findings, options))
    out.append("</section>")
    return "".join(out), findings["check"].value_counts(sort=False)


def build_report(
    source: ReportSource,
    variables: str | Sequence[str] | None = None,
    options: ReportOptions | None = None,
    *,
    generated: pd.Timestamp | None = None,
) -> str:
    """The report's HTML text (see the module docstring).

    `variables`: one, several in this order, or None for every variable. Raises what
    `summary` raises for an unknown or badly named variable, InvalidArgument for a
    `freq` making more than `MAX_BINS` bins, MissingDependency for plots without
    matplotlib.
    """
    options = options or ReportOptions()
    if options.plots:
        charts.require_matplotlib()
    chosen = variables if variables is None or isinstance(variables, str) else list(variables)
    summary = source.summary(chosen)
    generated = generated if generated is not None else pd.Timestamp.now(tz="UTC")
    anchors = {str(name): f"v-{i}" for i, name in enumerate(summary.index)}

    coverage = _coverage_section(source, summary, options) if len(summary) else ""
    sections, counts = [], {}
    for name, row in summary.iterrows():
        html, found = _variable_section(source, anchors[str(name)], str(name), row, options)
        sections.append(html)
        counts[str(name)] = found

    title = escape(options.title)
    span = _span(summary)
    facts = [_plural(len(summary), "variable")]
    if span is not None:
        facts.append(f"{_time(span[0])} to {_time(span[1])}")
    facts.append(f"generated {_time(generated.floor('s'))}; times in UTC")
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
        f'<header><h1>{title}</h1><p class="meta">{escape(", ".join(facts))}</p></header>',
    ]
    if summary.empty:
        out.append('<p class="note">The store holds no variables yet.</p></body></html>\n')
        return "".join(out)
    links = [("summary", "Summary"), ("coverage", "Coverage"), ("quality", "Quality")]
    links += [(anchors[str(n)], str(n)) for n in summary.index]
    items = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in links)
    out.append(f'<nav aria-label="contents"><ul>{items}</ul></nav>')
    out.append('<section id="summary"><h2>Summary</h2>')
    out.append(_table(summary, "variable", anchors))
    out.append(
        '<p class="note">Rows count every point (missing values too); min, max and mean '
        "skip missing values (booleans as 0/1); duplicate timestamps are rows repeating an "
        "earlier timestamp, conflicting ones timestamps holding different values.</p>"
        "</section>"
    )
    out.append(coverage)
    out.append(_quality_overview(counts, anchors))
    out += sections
    out.append("</body></html>\n")
    return "".join(out)


def _quality_overview(counts: dict[str, pd.Series], anchors: dict[str, str]) -> str:
    out = ['<section id="quality"><h2>Quality</h2>']
    found = {name: c for name, c in counts.items() if c.sum()}
    if not found:
        out.append('<p class="note">No findings in any variable.</p></section>')
        return "".join(out)
    checks = sorted({str(check) for c in found.values() for check in c.index})
    frame = pd.DataFrame(
        [[int(c.get(check, 0)) for check in checks] for c in found.values()],
        index=pd.Index(list(found), name="variable"),
        columns=checks,
    )
    out.append(_table(frame, "variable", anchors))
    out.append('<p class="note">Findings per variable and check; listed in its section.</p>')
    out.append("</section>")
    return "".join(out)


def write_report(
    source: ReportSource,
    path: str | PathLike[str],
    variables: str | Sequence[str] | None = None,
    options: ReportOptions | None = None,
) -> Path:
    """Build the report and write it to `path` atomically (a temporary, then renamed)."""
    target = Path(path)
    if not target.parent.is_dir():  # found before the work, not at the final rename
        raise InvalidArgument(
            f"no directory {target.parent} to write the report in: create it first",
            argument="path",
        )
    text = build_report(source, variables, options)
    atomic_write(target, text.encode("utf-8"))
    return target
