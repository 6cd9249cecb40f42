"""The HTML report in a real headless browser (Debian's chromium): renders, shows counts and problem
rows, and runs no injected content."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.validators.factory import ctx, make_frames, set_cell
from validators import validate_file
from validators.report import ReportMeta, render_html
from validators.report_index import render_index

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.path.exists(p)), None)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed (apt-get install chromium)")]

INJECTED = '<script>document.title="pwned";document.body.setAttribute("data-pwned","1")</script>'
IMG = '<img src=x onerror="document.title=\'pwned-img\'">'


def _dump_dom(path: Path, tmp_path: Path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000", "--dump-dom", path.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_report_renders_in_chromium_without_running_injected_content(tmp_path):
    f = make_frames(4)
    f = set_cell(f, "patient", 2, "paris_location", INJECTED)
    f = set_cell(f, "patient", 3, "paris_behaviour", IMG)
    f = set_cell(f, "patient", 4, "paris_growth", '=HYPERLINK("http://evil.example","x")')
    r = validate_file(f, None, ctx())
    meta = ReportMeta(centre_id="smc", file_name="smc_export.csv", file_id=1, checksum="0" * 64, size=10,
                      received_at=dt.datetime(2026, 10, 1), status="loaded_with_rejections",
                      csv_name="000001-smc_export.csv")
    page = tmp_path / "report.html"
    page.write_text(render_html(r, meta), encoding="utf-8")
    dom = _dump_dom(page, tmp_path)
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert title == "Validation report: smc_export.csv"
    assert "pwned" not in title and 'data-pwned="1"' not in dom
    assert re.search(r'id="rows-read">\s*4\s*<', dom)
    assert re.search(r'id="rows-rejected">\s*3\s*<', dom)
    assert 'id="problems"' in dom
    # the injected markup is shown as text, not as elements
    assert "&lt;script&gt;document.title" in dom
    assert "&lt;img src=x onerror=" in dom
    assert "=HYPERLINK(" in dom
    assert dom.lower().count("<script") == 0 and "<img" not in dom


def test_index_renders_in_chromium(tmp_path):
    import pandas as pd

    files = pd.DataFrame({"file_id": [1], "file_name": [INJECTED], "received_at": [dt.datetime(2026, 1, 1)],
                          "status": ["loaded"], "report_path": ["a.html"]})
    page = tmp_path / "index.html"
    page.write_text(render_index(files, "smc"), encoding="utf-8")
    dom = _dump_dom(page, tmp_path)
    assert "Files received: smc" in dom and 'data-pwned="1"' not in dom and "&lt;script&gt;" in dom
