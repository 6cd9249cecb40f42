"""The publication's report.html as a real browser renders it, and the analyse/cutoffs commands.

The report is built by the real publication on a cohort loaded through the real loader, one of whose
centre ids is hostile markup; headless chromium loads the file (scripts enabled) and dumps the DOM
after load.  If the markup had been injected, its script would have renamed the document.
"""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from tests.analytics.test_publication import load_cohort, synthetic_cohort

CHROMIUM = "/usr/bin/chromium"
HOSTILE = "c<script>document.title='pwned'</script>"
TITLE = "IFX trough levels and mucosal healing: analysis publication"
FIGURES = ("figure1_trough_by_outcome", "figure2_mh_rate", "figure3_roc")


class DomTables(HTMLParser):
    """Collects the title, every <img>/<script>/<link> and each table under an <h2 id=...>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.imgs, self.tags, self.urls = "", [], [], []
        self.tables: dict[str, list[list[str]]] = {}
        self._in_title = False
        self._section = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        for k in ("src", "href"):
            if a.get(k):
                self.urls.append(a[k])
        if tag == "title":
            self._in_title = True
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "h2":
            self._section = a.get("id")
            if self._section:
                self.tables.setdefault(self._section, [])
        elif tag == "tr" and self._section:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:  # header rows have <th> only
                self.tables[self._section].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell.append(data)


def dump_dom(html_path: Path, profile: Path) -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: the report cannot be checked in a real browser")
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--dump-dom",
                        html_path.resolve().as_uri()], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "<html" in r.stdout, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from base.config import load_settings
    from publication import build_publication
    from warehouse.init import init_warehouse

    base = tmp_path_factory.mktemp("browser")
    settings = load_settings(base / "home", mode="demo")
    settings.ensure_dirs()
    init_warehouse(settings)
    load_cohort(settings, synthetic_cohort(150, 5, centres=("c1", "c2", HOSTILE)))
    s = build_publication(settings, parameters={"seed": 3, "bootstrap_resamples": 50})
    dom = dump_dom(s.report_path, base / "chromium-profile")
    parser = DomTables()
    parser.feed(dom)
    return s, dom, parser


def test_report_renders_title_and_table4(rendered):
    from analytics.render import table4_layout
    from analytics.render.formats import format_cutoff

    s, dom, p = rendered
    assert p.title == TITLE
    assert re.search(r"<h1>\s*" + re.escape(TITLE) + r"\s*</h1>", dom)
    rows = p.tables["table4_cutoffs"]
    expected = table4_layout(s.cutoff_table, target_specificity=0.8)
    assert rows == expected.rows and len(rows) == len(s.cutoff_table) >= 7
    shown = [r[0].split(" ")[0] for r in rows]
    for fixed in ("≥3", "≥3.5", "≥4.5", "≥5", "≥5.3", "≥6", "≥8.5"):
        assert fixed in shown
    # the Youden row (marked a) shows the MH Youden cut-off of the ROC summary at the assay's resolution
    roc = pd.read_csv(s.folder / "roc_summary.csv").set_index("outcome")
    youden = next(r for r in rows if " a" in r[0])
    assert youden[0].split(" ")[0] == f"≥{format_cutoff(roc.loc['mucosal_healing', 'youden_cutoff'])}"
    # percentages with the CI in the cell
    assert re.fullmatch(r"\d+\.\d \(\d+\.\d–\d+\.\d\)", youden[1])


def test_report_embeds_its_figures_and_references_nothing_outside(rendered):
    s, dom, p = rendered
    srcs = {img.get("alt"): img.get("src", "") for img in p.imgs}
    for name in FIGURES:
        assert srcs[name].startswith("data:image/png;base64,"), name
    assert len(p.imgs) == len(FIGURES)
    assert not [u for u in p.urls if re.match(r"\s*(https?:)?//", u)], p.urls
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", dom, re.I)
    assert "url(http" not in dom and "@import" not in dom
    assert all(u.startswith(("data:", "#")) for u in p.urls), p.urls


def test_hostile_centre_id_is_shown_as_text(rendered):
    s, dom, p = rendered
    assert p.title == TITLE and "pwned" not in p.title  # the script never ran
    assert "script" not in p.tags
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    # it is shown, as text, where the centres are listed
    centres = [r[0] for r in p.tables["roc_by_centre"]]
    assert HOSTILE in centres


# --------------------------------------------------------------------------------------------
# the command line: tdm analyse, then tdm cutoffs --json
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


def test_cli_analyse_then_cutoffs_json(prefect_harness, warehouse, tmp_path, monkeypatch, capsys):
    from tdm.cli import main
    from warehouse.lake import open_reader

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    load_cohort(warehouse, synthetic_cohort(90, 7))
    home = str(warehouse.home)
    capsys.readouterr()
    assert main(["analyse", "--home", home, "--bootstrap", "100", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    pid = re.search(r"publication: (pub-\S+)", out).group(1)
    assert "seed: 1" in out and "report:" in out

    assert main(["cutoffs", "--home", home, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["publication_id"] == pid

    con = open_reader(warehouse.lake)
    try:
        stored = [json.loads(r[0]) for r in con.execute(
            "SELECT row_json FROM published.tables WHERE publication_id = ? AND table_name = 'table4_cutoffs' "
            "ORDER BY row_number", [pid]).fetchall()]
        seed, params = con.execute("SELECT seed, parameters FROM published.publications WHERE publication_id = ?",
                                   [pid]).fetchone()
    finally:
        con.close()
    assert stored and printed["rows"] == stored
    assert seed == 1 and json.loads(params)["bootstrap_resamples"] == 100

