"""The HTML report (issue 19): one self-contained file, its numbers the summary's, and a
render in headless Chromium (skipped when no `chromium` is on PATH, unless
HFDATA_REQUIRE_CHROMIUM=1, which `make report-check` sets)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import hfdata
from hfdata.errors import InvalidArgument, MissingDependency
from hfdata.report.html import MAX_BINS, auto_freq, bin_count, format_duration
from hfdata.tools.cli import main

T0 = pd.Timestamp("2026-03-01T00:00:00", tz="UTC")
TEMP = "temp <&\"'> $x$"  # every character HTML (and matplotlib's math mode) cares about
COUNT = "count&n"
FLAG = "flag"
LABEL = "label"
LABEL_VALUE = "<b>on</b> & off"


def _fill(store: hfdata.Store) -> None:
    """Three days of 10 s points with a 3 h outage and a spike, part still in the log;
    an int, a bool and a string variable."""
    ts = T0 + pd.to_timedelta(np.arange(0, 3 * 86400, 10), unit="s")
    values = pd.Series(np.sin(np.arange(len(ts)) / 100.0), index=ts)
    values = values[(ts < T0 + pd.Timedelta("20h")) | (ts > T0 + pd.Timedelta("23h"))]
    values.iloc[5000] = 50.0
    values.iloc[7000] = np.nan
    split = T0 + pd.Timedelta("2D12h")
    store.append_many(TEMP, values[values.index < split])
    minutes = T0 + pd.to_timedelta([*range(60), *range(200, 260), *range(420, 425)], unit="min")
    store.append_many(COUNT, pd.Series(np.arange(len(minutes)), index=minutes))
    store.append(FLAG, T0, True)
    store.append(FLAG, T0 + pd.Timedelta("1h"), False)
    store.append(LABEL, T0, LABEL_VALUE)
    store.compact(include_active=True)
    store.append_many(TEMP, values[values.index >= split])  # the log tail


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store and its report (built once: matplotlib is the slow part)."""
    root = tmp_path_factory.mktemp("html") / "store"
    with hfdata.open_store(root) as store:
        _fill(store)
        path = store.report(root.parent / "report.html", max_gaps=1)
    return root, path


class _Page(HTMLParser):
    """The parts of a page the tests look at: tags with attributes, section headings,
    tables as rows of cell text, and the ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.sections: dict[str, str] = {}  # section id -> its h2 text
        self.tables: dict[str, list[list[str]]] = {}  # "<section id>:<n>" -> rows
        self.doctype = ""
        self._section = ""
        self._counts: dict[str, int] = {}
        self._text: list[str] | None = None
        self._row: list[str] | None = None
        self._table: list[list[str]] | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "section":
            self._section = str(found.get("id"))
        elif tag == "table":
            n = self._counts.get(self._section, 0)
            self._counts[self._section] = n + 1
            self._table = self.tables.setdefault(f"{self._section}:{n}", [])
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td", "h2"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._row is not None and self._text is not None:
            self._row.append("".join(self._text))
            self._text = None
        elif tag == "h2" and self._text is not None:
            self.sections[self._section] = "".join(self._text)
            self._text = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self._table.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_one_self_contained_file(made: tuple[Path, Path]) -> None:
    text = made[1].read_text(encoding="utf-8")
    page = _parse(text)
    assert page.doctype.lower() == "doctype html"
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert any(
        t == "meta" and a.get("name") == "viewport" and "width=device-width" in str(a["content"])
        for t, a in page.tags
    )
    style = text[text.index("<style>") : text.index("</style>")]
    assert "url(" not in style and "@import" not in style  # no fonts or pictures fetched
    assert ".scroll { overflow-x: auto" in style and "img { max-width: 100%" in style
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) == 1 + 3  # the heatmap and the three numeric variables' plots
    for attrs in images:
        src = str(attrs["src"])
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert attrs["alt"]
    for _, attrs in page.tags:
        for key in ("src", "href", "action", "poster", "srcset"):
            value = attrs.get(key)
            if value is None:
                continue
            assert not re.match(r"\s*(https?:)?//", value), (key, value)
            if key == "href":  # every link is to a part of this page
                assert value.startswith("#") and value[1:] in page.ids, value
    assert "http://" not in text and "https://" not in text


def test_a_section_per_variable_with_escaped_names(made: tuple[Path, Path]) -> None:
    root, path = made
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    with hfdata.open_store(root) as store:
        names = store.variables()
    assert sorted(names) == sorted([TEMP, COUNT, FLAG, LABEL])
    headings = [page.sections[f"v-{i}"] for i in range(len(names))]
    assert headings == names  # the parser's unescaped text is the name itself
    for raw in (TEMP, COUNT, LABEL_VALUE):
        assert raw not in text
    assert "temp &lt;&amp;&quot;&#x27;&gt; $x$" in text
    assert "&lt;b&gt;on&lt;/b&gt; &amp; off" in text  # a string value, escaped
    assert [page.sections[s] for s in ("summary", "coverage", "quality")] == [
        "Summary",
        "Coverage",
        "Quality",
    ]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_summary_table_shows_summary_values(made: tuple[Path, Path]) -> None:
    root, path = made
    shown = _frame(_parse(path.read_text(encoding="utf-8")).tables["summary:0"])
    with hfdata.open_store(root) as store:
        want = store.summary()
    assert list(shown.columns) == ["variable", *(c.replace("_", " ") for c in want.columns)]
    assert list(shown["variable"]) == list(want.index)
    assert want["log_rows"][TEMP] > 0 and want["gap_count"][TEMP] == 1
    for i, name in enumerate(want.index):
        for column in want.columns:
            value: Any = want.at[name, column]
            cell = str(shown.at[i, column.replace("_", " ")])
            if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
                assert cell == "-", (name, column)
            elif column == "kind":
                assert cell == value
            elif column in ("first", "last"):
                assert pd.Timestamp(cell, tz="UTC") == value, (name, column)
            elif column in ("median_interval", "longest_gap"):
                assert pd.Timedelta(cell) == value, (name, column)
            elif column == "coverage":
                assert cell.endswith(" %")
                assert _number(cell[:-2]) == pytest.approx(value * 100, abs=0.005)
            elif isinstance(value, (bool, np.bool_)):
                assert cell == str(bool(value)).lower()
            elif isinstance(value, (int, np.integer)):
                assert _number(cell) == value, (name, column)
            elif isinstance(value, (float, np.floating)):
                assert _number(cell) == pytest.approx(value, rel=5e-6), (name, column)
            else:
                assert cell == str(value), (name, column)


def test_gaps_and_findings_of_each_variable(made: tuple[Path, Path]) -> None:
    root, path = made
    page = _parse(path.read_text(encoding="utf-8"))
    with hfdata.open_store(root) as store:
        names = store.variables()
        count_gaps = store.gaps(COUNT)
        temp_gaps = store.gaps(TEMP)
        findings = store.quality(TEMP)
    section = {name: f"v-{i}" for i, name in enumerate(names)}
    assert len(count_gaps) == 2  # max_gaps=1: only the longest is listed
    listed = _frame(page.tables[f"{section[COUNT]}:0"])
    longest = count_gaps.sort_values("duration").iloc[-1]
    assert len(listed) == 1
    assert pd.Timestamp(str(listed.loc[0, "start"]), tz="UTC") == longest["start"]
    assert pd.Timestamp(str(listed.loc[0, "end"]), tz="UTC") == longest["end"]
    assert pd.Timedelta(str(listed.loc[0, "duration"])) == longest["duration"]

    gaps = _frame(page.tables[f"{section[TEMP]}:0"])
    assert len(temp_gaps) == 1 and len(gaps) == 1
    assert pd.Timedelta(str(gaps.loc[0, "duration"])) == pd.Timedelta("3h 20s")
    assert "spike" in set(findings["check"])
    shown = _frame(page.tables[f"{section[TEMP]}:1"])
    assert list(shown.columns) == ["check", "start", "end", "detail"]
    assert list(shown["check"]) == list(findings["check"])
    assert list(shown["detail"]) == list(findings["detail"])
    overview = _frame(page.tables["quality:0"])
    assert list(overview["variable"]) == [TEMP] and overview.loc[0, "spike"] == str(
        (findings["check"] == "spike").sum()
    )


class _Recording:
    """A store that records what the report reads."""

    def __init__(self, store: hfdata.Store) -> None:
        self.store = store
        self.reads: list[tuple[Any, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def read(self, variables: Any, *args: Any, **kwargs: Any) -> Any:
        self.reads.append((variables, kwargs))
        return self.store.read(variables, *args, **kwargs)


def test_plots_read_binned_rollups_never_points(
    made: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hfdata.read import fromrollups, query
    from hfdata.report.html import ReportOptions, write_report

    answered: list[Any] = []  # rollup tables the reads were answered from

    def rollup_rows(*args: Any, **kwargs: Any) -> Any:
        table = real(*args, **kwargs)
        answered.append(table)
        return table

    real = fromrollups.rollup_rows  # what query.rollup_rows names
    monkeypatch.setattr(query, "rollup_rows", rollup_rows)
    with hfdata.open_store(made[0]) as store:
        recording = _Recording(store)
        write_report(recording, tmp_path / "r.html", None, ReportOptions.make(freq="1D"))
        numeric = [n for n in store.variables() if n != LABEL]
        assert len(answered) == len(numeric) and all(t is not None for t in answered)
        assert recording.reads == [
            (n, {"resample": pd.Timedelta("1D"), "agg": ["mean", "min", "max"]}) for n in numeric
        ]
        frame = store.read(TEMP, resample="1D", agg=["mean", "min", "max"])
    assert frame["max"].max() == 50.0  # the spike is in the band the plot draws
    page = _parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "1D mean (line) and min-max (band), 3 bins" in (tmp_path / "r.html").read_text()
    assert page.sections["v-0"] == COUNT


def test_bins_stay_under_the_limit() -> None:
    hour = pd.Timedelta("1h")
    assert auto_freq(T0, T0 + pd.Timedelta("30D")) == hour
    assert bin_count(T0, T0 + (MAX_BINS - 1) * hour, hour) == MAX_BINS
    assert auto_freq(T0, T0 + (MAX_BINS - 1) * hour) == hour
    assert auto_freq(T0, T0 + MAX_BINS * hour) == pd.Timedelta("1D")
    assert bin_count(T0 + pd.Timedelta("30min"), T0 + pd.Timedelta("90min"), hour) == 2
    for years in (6, 30, 200):
        last = T0 + pd.Timedelta(days=365 * years)
        freq = auto_freq(T0, last)
        assert freq % pd.Timedelta("1D") == pd.Timedelta(0) and freq > pd.Timedelta("1D")
        assert MAX_BINS // 2 < bin_count(T0, last, freq) <= MAX_BINS
    assert format_duration(pd.Timedelta("2D3h0min20.5s")) == "2 days 3h 20.5s"
    assert format_duration(pd.Timedelta(1)) == "0.000000001s"
    for text in ("2 days 3h 20.5s", "1 day 1min", "0.000000001s", "10s"):
        assert format_duration(pd.Timedelta(text)) == text


def test_bin_count_matches_coverage(made: tuple[Path, Path]) -> None:
    with hfdata.open_store(made[0]) as store:
        summary = store.summary()
        first, last = summary["first"].min(), summary["last"].max()
        for freq in ("1h", "1D", "7h"):
            grid = store.coverage(freq=freq)
            assert len(grid) == bin_count(first, last, pd.Timedelta(freq))


def test_options_checked_and_plots_optional(
    made: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hfdata.open_store(made[0]) as store:
        with pytest.raises(InvalidArgument, match="2,000") as caught:
            store.report(tmp_path / "r.html", freq="1min")
        assert caught.value.argument == "freq"
        for bad in ("soon", "-1h", "0s"):
            with pytest.raises(InvalidArgument, match="positive"):
                store.report(tmp_path / "r.html", freq=bad)
        with pytest.raises(InvalidArgument, match="max_gaps"):
            store.report(tmp_path / "r.html", max_gaps=-1)
        with pytest.raises(InvalidArgument, match="create it first"):
            store.report(tmp_path / "no" / "r.html")
        assert not list(tmp_path.iterdir())

        monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
        with pytest.raises(MissingDependency, match=r"hfdata\[plot\]"):
            store.report(tmp_path / "r.html")
        path = store.report(tmp_path / "r.html", [LABEL, TEMP], plots=False, title="a<b")
    page = _parse(path.read_text(encoding="utf-8"))
    assert not [t for t, _ in page.tags if t == "img"]
    assert [page.sections["v-0"], page.sections["v-1"]] == [LABEL, TEMP]  # the order given
    assert "<title>a&lt;b</title>" in path.read_text(encoding="utf-8")


def test_empty_store(tmp_path: Path) -> None:
    with hfdata.open_store(tmp_path / "s") as store:
        path = store.report(tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert "The store holds no variables yet." in text
    _parse(text)


def test_cli(made: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(made[0]), COUNT, "-o", str(out), "--freq", "1D"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (")
    page = _parse(out.read_text(encoding="utf-8"))
    assert page.sections["v-0"] == COUNT and "v-1" not in page.sections
    assert main(["report", str(made[0]), "-o", str(out), "--freq", "1s"]) == 2
    assert "--freq 1s makes" in capsys.readouterr().err
    assert main(["report", str(made[0]), "-o", str(out), "--max-gaps", "-2"]) == 2
    assert "--max-gaps must be" in capsys.readouterr().err


# -- headless Chromium -------------------------------------------------------------------

_PROBE = (
    "<script>document.title = [document.documentElement.scrollWidth, window.innerWidth,"
    " Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length,"
    " document.images.length].join(' ')</script></body>"
)


@pytest.fixture
def chromium() -> Iterator[str]:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("HFDATA_REQUIRE_CHROMIUM"):
            pytest.fail("no chromium on PATH (make report-check installs Debian's)")
        pytest.skip("no chromium on PATH (make report-check installs it)")
    yield found


def _render(chromium: str, page: Path, profile: Path, width: int) -> tuple[str, list[str]]:
    """The DOM Chromium builds from `page` and the console messages it logged."""
    done = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            f"--window-size={width},900",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a timing assertion
        check=True,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def test_chromium_draws_without_console_errors(
    made: tuple[Path, Path], chromium: str, tmp_path: Path
) -> None:
    # the detector sees a console error when there is one
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom');nothere()</script>")
    _, console = _render(chromium, bad, tmp_path / "profile", 800)
    assert any("boom" in line for line in console)
    assert any("nothere" in line for line in console)

    report = made[1]
    dom, console = _render(chromium, report, tmp_path / "profile", 800)
    assert console == []
    drawn = _parse(dom)
    assert drawn.sections == _parse(report.read_text(encoding="utf-8")).sections
    assert len([t for t, _ in drawn.tags if t == "img"]) == 4

    # as narrow as headless Chromium goes: the page does not scroll sideways (wide tables
    # scroll in their own box, pictures shrink) and every picture decodes
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", _PROBE))
    dom, console = _render(chromium, probe, tmp_path / "profile", 360)
    assert console == []
    title = re.search(r"<title>([^<]*)</title>", dom)
    assert title is not None
    scroll_width, inner_width, decoded, images = map(int, title.group(1).split())
    assert inner_width <= 520 and scroll_width <= inner_width
    assert decoded == images == 4
