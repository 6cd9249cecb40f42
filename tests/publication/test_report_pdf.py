"""report.pdf as Chromium prints it: every column and every row of every table on the A4 pages.

The publication is built end to end with Chromium switched on; the tables are read back from
report.html (what the report shows) and looked up in the PDF's text (``pdftotext -raw``, page by
page).  Text clipped off a page is not extracted, so a cut column fails the row check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from tests.analytics.test_publication import load_cohort, synthetic_cohort

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFTOTEXT = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(not (CHROMIUM and PDFTOTEXT),
                                reason="needs Debian's chromium and poppler-utils (pdftotext)")


class Tables(HTMLParser):
    """Section id -> (header cells, body rows) of every table under an <h2 id=...>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self._section = None
        self._row = None
        self._cell = None
        self._head = False

    def handle_starttag(self, tag, attrs):
        if tag == "h2" and dict(attrs).get("id"):
            self._section = dict(attrs)["id"]
            self.tables[self._section] = ([], [])
        elif tag == "thead":
            self._head = True
        elif tag == "tr" and self._section:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._head = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._section:
            head, body = self.tables[self._section]
            (head.extend if self._head else lambda r: body.append(r))(self._row)
            self._row = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    from base.config import load_settings
    from publication import build_publication
    from warehouse.init import init_warehouse

    settings = load_settings(tmp_path_factory.mktemp("pdf") / "home", mode="demo")
    settings.ensure_dirs()
    init_warehouse(settings)
    cohorts = synthetic_cohort(150, 5, centres=("c1", "c2", "c3"))
    cohorts.update(synthetic_cohort(14, 8, centres=("knuh",)))
    load_cohort(settings, cohorts)
    s = build_publication(replace(settings, chromium=CHROMIUM), parameters={"seed": 3, "bootstrap_resamples": 50})
    parser = Tables()
    parser.feed(s.report_path.read_text(encoding="utf-8"))
    info = subprocess.run(["pdfinfo", str(s.pdf_path)], capture_output=True, text=True).stdout
    n_pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    pages = [subprocess.run([PDFTOTEXT, "-raw", "-f", str(i), "-l", str(i), str(s.pdf_path), "-"],
                            capture_output=True, text=True, check=True).stdout for i in range(1, n_pages + 1)]
    return s, parser.tables, pages, info


def test_pdf_is_written_with_the_publication_on_a4(printed):
    s, tables, pages, info = printed
    assert s.pdf_path == s.folder / "report.pdf" and s.pdf_path.read_bytes()[:5] == b"%PDF-"
    assert "written by" in s.pdf_message
    assert re.search(r"Page size:\s+(595|594\.\d+) x (842|841\.\d+) pts", info)  # A4 portrait first page
    assert len(pages) >= 5
    for name in ("table1", "table2_univariate", "table3_final_model", "table4_cutoffs", "roc_by_centre",
                 "leave_one_centre_out"):
        assert name in tables, name


def test_every_column_and_row_of_every_table_is_on_the_pages(printed):
    _, tables, pages, _ = printed
    text = _squash("".join(pages))
    page_texts = [_squash(p) for p in pages]
    missing_headers, cut_rows = [], []
    for name, (head, body) in tables.items():
        missing_headers += [(name, h) for h in head if _squash(h) not in text]
        for row in body:
            # the cells of a row are printed one after the other on one page (rows never split)
            joined = _squash("".join(row))
            if not any(joined in p for p in page_texts):
                cut_rows.append((name, row))
    assert not missing_headers, missing_headers
    assert not cut_rows, cut_rows[:5]


def test_a_table_split_across_pages_repeats_its_header(printed):
    _, tables, pages, _ = printed
    squashed = [_squash(p) for p in pages]
    for name, (head, body) in tables.items():
        on = [i for i, p in enumerate(squashed) if any(_squash("".join(r)) in p for r in body)]
        for i in on:
            assert _squash("".join(head)) in squashed[i], (name, i + 1)


def test_print_stylesheet_repeats_headers_of_a_long_table(tmp_path):
    from analytics.render import DisplayTable, Section, render_report
    from publication.pdf import write_pdf

    rows = [[f"row {i:03d}", f"{i * 1.5:.1f}", "x" * 20] for i in range(160)]
    table = DisplayTable(["Label", "Value, µg/mL", "Remark"], rows, [""] * len(rows), ["a footnote"])
    html = render_report(title="t", meta=[("Publication", "p")], parameters=[], source_files=[],
                         sections=[Section("long", "A long table", table)], figures={}, skipped=[])
    (tmp_path / "r.html").write_text(html, encoding="utf-8")
    res = write_pdf(tmp_path / "r.html", tmp_path / "r.pdf", CHROMIUM)
    assert res.path is not None, res.message
    text = subprocess.run([PDFTOTEXT, "-raw", str(res.path), "-"], capture_output=True, text=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 3
    for p in pages:
        if "row " in p:
            assert "Value, µg/mL" in p  # the header on every page the table reaches
    assert all(f"row {i:03d}" in text for i in range(160))


def test_without_chromium_the_publication_says_so_and_succeeds(warehouse, monkeypatch):
    import json

    from publication import build_publication

    load_cohort(warehouse, synthetic_cohort(60, 5))
    s = build_publication(replace(warehouse, chromium=""), parameters={"seed": 1, "bootstrap_resamples": 10})
    assert s.pdf_path is None and not (s.folder / "report.pdf").exists()
    assert "no Chromium found" in s.pdf_message and "apt-get install chromium" in s.pdf_message
    assert json.loads((s.folder / "publication.json").read_text())["pdf"] == s.pdf_message
