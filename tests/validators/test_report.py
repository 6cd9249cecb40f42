"""Report renderers: escaping, formula neutralisation, capping, JSON, index, scorecard, resubmission."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time

import pandas as pd

from tests.validators.factory import ctx, make_frames, set_cell
from validators import validate_file
from validators.report import ReportMeta, Supersedes, issues_csv, neutralise, render_html, report_json
from validators.report_index import render_index
from validators.resubmission import resubmission_diff

SCRIPT = '<script>document.title="pwned"</script>'
FORMULA = '=HYPERLINK("http://evil.example","click")'


def meta(**kw):
    base = dict(centre_id="smc", file_name="smc_export.csv", file_id=12, checksum="ab" * 32, size=1234,
                received_at=dt.datetime(2026, 10, 1, 9, 30), status="loaded_with_rejections",
                csv_name="000012-smc_export.csv", json_name="000012-smc_export.json")
    base.update(kw)
    return ReportMeta(**base)


def hostile_result():
    f = make_frames(4)
    f = set_cell(f, "patient", 2, "paris_location", SCRIPT)
    f = set_cell(f, "patient", 3, "paris_behaviour", FORMULA)
    f = set_cell(f, "assessment", 4, "pcdai", 150.0)
    return validate_file(f, None, ctx())


def test_html_escapes_every_value_and_has_no_script():
    r = hostile_result()
    html = render_html(r, meta())
    assert "<script" not in html.lower()
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in html
    assert "=HYPERLINK(&#34;http://evil.example&#34;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "http://" not in html.replace("http://evil.example", "")  # no external asset
    assert 'id="rows-read">4<' in html and 'id="rows-rejected">3<' in html


def test_csv_neutralises_formulas_and_keeps_every_issue():
    r = hostile_result()
    text = issues_csv(r, meta())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(r.issues)
    values = {row["value"] for row in rows}
    assert "'" + FORMULA in values and FORMULA not in values
    assert all(row["file_name"] == "smc_export.csv" and row["checksum"] == "ab" * 32 for row in rows)
    for row in rows:
        for v in row.values():
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), v
    assert neutralise("-1") == "'-1" and neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("ok") == "ok"
    assert neutralise(None) == ""


def test_json_has_meta_counts_rules_and_issues():
    r = hostile_result()
    doc = json.loads(report_json(r, meta()))
    assert doc["file"]["checksum_sha256"] == "ab" * 32 and doc["file"]["file_id"] == 12
    assert doc["counts"] == {"rows_read": 4, "rows_loaded": 1, "rows_warned": 0, "rows_rejected": 3}
    assert doc["counts"]["rows_read"] == 1 + 0 + 3 and 'id="rows-clean">1<' in render_html(r, meta())
    assert {x["rule"] for x in doc["rules"]} == {"allowed_codes", "range"}
    assert len(doc["issues"]) == len(r.issues)
    assert doc["issues"][0]["source_line"] == 2


def test_file_error_report_has_one_clear_message():
    f = make_frames(2, centre="sch")
    r = validate_file(f, None, ctx())
    html = render_html(r, meta(status="rejected"))
    assert 'id="file-error"' in html and "not of smc" in html
    doc = json.loads(report_json(r, meta(status="rejected")))
    assert doc["file_error"]["code"] == "wrong_centre"
    # a file that failed before validation (no result at all)
    html = render_html(None, meta(status="rejected", message="the file is not UTF-8 <b>"))
    assert "the file is not UTF-8 &lt;b&gt;" in html
    text = issues_csv(None, meta(status="rejected", message="=bad"))
    assert "'=bad" in text


def test_big_report_is_capped(big_result):
    # speed is measured in benchmarks/, not asserted here
    r, _ = big_result
    html = render_html(r, meta())
    text = issues_csv(r, meta())
    report_json(r, meta())
    assert html.count("<tr><td class=\"num\">") <= 500 + 10
    assert "Showing 500 of 10000 findings" in html and "000012-smc_export.csv" in html
    assert len(html) < 1_500_000
    assert text.count("\n") == 10000 + 1


def test_index_newest_first_and_escaped():
    files = pd.DataFrame({
        "file_id": [1, 2, 3], "file_name": ["a.csv", "b<i>.csv", "c.csv"], "file_kind": ["wide"] * 3,
        "received_at": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-02-01"]),
        "status": ["loaded", "rejected", "loaded_with_rejections"], "rows_read": [10, 5, 7],
        "rows_loaded": [10, 0, 6], "rows_warned": [0, 0, 1], "rows_rejected": [0, 5, 1],
        "message": [None, "too many errors", None],
        "report_path": ["/x/reports/smc/a.html", "/x/reports/smc/b.html", None]})
    html = render_index(files, "smc")
    assert html.index("b&lt;i&gt;.csv") < html.index("c.csv") < html.index("a.csv")
    assert 'href="a.html"' in html and "<i>" not in html


def test_resubmission_diff_newly_accepted_and_still_rejected():
    f = make_frames(4)
    bad = set_cell(set_cell(f, "assessment", 2, "pcdai", 150.0), "assessment", 3, "pcdai", 150.0)
    first = validate_file(bad, None, ctx())
    assert first.rows_rejected == 2
    fixed = set_cell(f, "assessment", 3, "pcdai", 150.0)       # line 2 corrected, line 3 still wrong
    second = validate_file(fixed, None, ctx())
    d = resubmission_diff(first.rejected, second)
    a = d.rows[d.rows["entity"] == "assessment"].set_index("source_line")
    assert a.loc[2, "status"] == "newly_accepted" and a.loc[3, "status"] == "still_rejected"
    # counted in lines (issue 17, defect 3): line 2 carries 9 records (patient, assessment, elisa, 6 labs)
    assert len(d.rows[d.rows["status"] == "newly_accepted"]) == 9
    assert (d.newly_accepted, d.still_rejected, d.newly_rejected) == (1, 1, 0)
    html = render_html(second, meta(supersedes=Supersedes(11, "smc_export.csv", dt.datetime(2026, 9, 1), d)))
    assert 'id="supersedes"' in html and 'id="newly-accepted">1<' in html and "lines earlier rejected" in html
    doc = json.loads(report_json(second, meta(supersedes=Supersedes(11, "smc_export.csv", None, d))))
    assert doc["supersedes"]["diff"]["still_rejected"] == 1


def test_write_file_report_and_index(tmp_path):
    from ingestion.reports import write_file_report, write_index

    r = hostile_result()
    html = write_file_report(r, meta(), tmp_path)
    assert html.parent == tmp_path / "smc" and html.exists()
    assert html.with_suffix(".csv").exists() and html.with_suffix(".json").exists()
    idx = write_index("smc", pd.DataFrame({"file_id": [12], "file_name": ["smc_export.csv"],
                                           "received_at": [dt.datetime(2026, 10, 1)], "status": ["loaded"],
                                           "report_path": [str(html)]}), tmp_path)
    assert html.name in idx.read_text()


def test_validation_doc_lists_every_rule_from_the_registry():
    from pathlib import Path

    from validators.registry import rules_markdown

    doc = (Path(__file__).resolve().parents[2] / "docs" / "VALIDATION.md").read_text(encoding="utf-8")
    assert rules_markdown() in doc, "regenerate the rule table in docs/VALIDATION.md"


def test_the_report_speaks_to_data_managers():
    """Issue 17, defect 3: counts that add up, analyte columns and cells as typed, links between pages."""
    f = make_frames(7)
    lab = f["lab"].copy()
    for line in (2, 3, 4):
        lab.loc[(lab["source_line"] == line) & (lab["analyte"] == "esr_mm_h"), "value"] = 160.0 + line  # warnings
    f = {**f, "lab": lab}
    f = set_cell(set_cell(set_cell(f, "assessment", 5, "pcdai", 150.0), "assessment", 6, "pcdai", 150.0),
                 "assessment", 7, "pcdai", 150.0)
    r = validate_file(f, None, ctx())
    html = render_html(r, meta())
    # 7 read = 1 loaded without problem + 3 loaded with warnings + 3 not loaded
    assert 'id="rows-read">7<' in html and 'id="rows-clean">1<' in html and 'id="rows-warned">3<' in html
    assert 'id="rows-rejected">3<' in html and 'id="rows-loaded">4<' in html
    assert "<td>esr_mm_h</td><td class=\"val\">162</td>" in html         # the analyte column, 162 not 162.0
    assert 'href="index.html"' in html and 'href="scorecard.html"' in html
    assert 'href="../index.html"' in render_html(r, meta(dry_run=True))
    assert 'href="scorecard.html"' in render_index(pd.DataFrame([{"file_id": 1, "file_name": "a.csv"}]), "smc")


def test_fixes_never_send_a_data_manager_to_the_centre_profile():
    from validators.registry import RULES

    for rule in RULES.values():
        assert "profile" not in rule.fix.lower(), rule.name


def test_expected_date_formats_read_yyyy_mm_dd():
    from centres.cells import human_format, human_formats

    assert human_format("%Y-%m-%d") == "YYYY-MM-DD"
    assert human_format("%d.%m.%Y %H:%M") == "DD.MM.YYYY hh:mm"
    assert human_formats(["%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d"]) == "YYYY-MM-DD or YYYY/MM/DD"
