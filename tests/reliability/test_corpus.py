"""The broken-input corpus, ingested in one real pass: every file ends with its specific outcome.

For each case (``tests/reliability/corpus.py``) the test checks the ``ingest.files`` row (status,
error code, a specific message), ``ingest.issues`` (the rule at the right line and column), the
warehouse tables (nothing from a rejected file, the good rows of a partially loaded one), the
written report (HTML + JSON + CSV under ``<home>/reports/<centre>/``) and that the file left the inbox
for the archive, so it is not retried forever.  Good files of every centre go through the same pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import escape

from tests.reliability.conftest import GOOD
from tests.reliability.corpus import CASES, Case, _lis_line
from tests.lake import read_lake

ENTITY_TABLES = ("core.patients", "core.assessments", "core.elisa_results", "core.lab_results", "quarantine.rows")


def test_the_corpus_is_large_and_names_are_unique():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({(c.centre, c.file_name) for c in CASES}) == len(CASES)


def _line(case: Case, corpus_pass, sources) -> int | None:
    if case.line == -1:
        return _lis_line(sources, corpus_pass.slot[case.name])
    return case.line


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_outcome(case: Case, corpus_pass, sources):
    row = corpus_pass.file(case.file_name)
    committed = corpus_pass.committed[case.file_name]
    assert (row["status"], committed.status) == (case.status, case.status), row["message"]
    assert row["centre_id"] == case.centre

    # -- it left the inbox, into this centre's archive (not retried on the next pass)
    assert not (corpus_pass.home / "inbox" / case.centre / case.file_name).exists()
    archived = Path(row["archive_path"])
    assert archived.is_file() and archived.parent == corpus_pass.home / "archive" / case.centre
    html, doc, csv_text = corpus_pass.report(case.file_name)
    assert doc["file"]["status"] == case.status and doc["file"]["file_name"] == case.file_name

    issues = corpus_pass.issues[corpus_pass.issues["file_name"] == case.file_name]
    if case.status == "rejected":
        assert row["error_code"] == case.code
        assert case.message in row["message"], row["message"]
        assert "could not be processed" not in row["message"]      # never a generic crash message
        # exactly one file-level issue, with the same code
        assert issues[["rule", "severity"]].values.tolist() == [[case.code, "file_error"]]
        if case.column:
            assert issues["column_name"].iloc[0] == case.column
        # nothing stored from it
        for table in ENTITY_TABLES:
            assert corpus_pass.count(table, case.file_name) == 0, table
        # the report says the same, specifically
        assert doc["file_error"]["code"] == case.code
        assert case.message in doc["file_error"]["message"]
        assert 'id="file-error"' in html and str(escape(case.message)) in html
        assert case.code in csv_text
        return

    # -- loaded (maybe with rejected lines): rows are in the warehouse
    assert row["error_code"] is None or row["error_code"] != row["error_code"]   # None / NaN
    assert corpus_pass.count("core.patients", case.file_name) + corpus_pass.count("core.lab_results",
                                                                                  case.file_name) > 0
    line = _line(case, corpus_pass, sources)
    for rule in case.rules:
        hit = issues[(issues["rule"] == rule) & (issues["source_line"] == line)]
        assert len(hit), f"no {rule} issue at line {line}: {issues[['source_line', 'rule', 'message']].values}"
        in_json = [i for i in doc["issues"] if i["rule"] == rule and i["source_line"] == line]
        assert in_json, f"{rule} at line {line} missing from the JSON report"
    if case.rules:
        first = issues[(issues["rule"] == case.rules[0]) & (issues["source_line"] == line)].iloc[0]
        assert case.message in first["message"], first["message"]
        if case.column:
            assert first["column_name"] in (case.column if isinstance(case.column, tuple) else (case.column,))
        assert str(escape(case.message)) in html
        assert case.message in csv_text
    if case.status == "loaded_with_rejections":
        assert row["rows_rejected"] >= 1 and row["rows_loaded"] >= 1
        assert corpus_pass.count("quarantine.rows", case.file_name) >= 1
    else:
        assert row["rows_rejected"] == 0 and row["rows_loaded"] == row["rows_read"] >= 1


def test_good_files_of_the_same_pass_load(corpus_pass):
    names = list(GOOD.values()) + ["knuh_baseline.csv", "knuh_visits.csv", "knuh_elisa.csv"]
    for name in names:
        row = corpus_pass.file(name)
        assert row["status"] == "loaded" and row["rows_rejected"] == 0 and row["rows_loaded"] == row["rows_read"] > 0
    assert corpus_pass.count("core.patients", GOOD["smc"]) == 3
    assert corpus_pass.count("core.lab_results", GOOD["knuh_lis"]) > 0


def test_every_file_is_recorded_once_and_the_inbox_is_empty(corpus_pass):
    files = corpus_pass.files
    assert len(files) == len(CASES) + 6
    assert not files.duplicated(["centre_id", "file_name"]).any()
    assert set(files["status"]) <= {"loaded", "loaded_with_rejections", "rejected"}    # no 'duplicate' by accident
    left = [p for p in (corpus_pass.home / "inbox").rglob("*") if p.is_file()]
    assert left == []
    assert files["message"].dropna().map(lambda m: "could not be processed" not in m).all()


def test_stored_text_is_inert_in_reports(corpus_pass):
    """Cell text that looks like a formula or markup reaches the warehouse as data, never as code."""
    html, _, csv_text = corpus_pass.report("smc_script.csv")
    assert "<script>alert(1)</script>" not in html
    import duckdb

    con = read_lake(corpus_pass.home)
    try:
        stored = {r[0] for r in con.execute("SELECT DISTINCT assay_name FROM core.elisa_results e JOIN ingest.files f "
                                            "USING (file_id) WHERE f.file_name IN ('smc_script.csv', 'smc_formula.csv')"
                                            ).fetchall()}
    finally:
        con.close()
    assert {"<script>alert(1)</script>", "=HYPERLINK(\"http://evil.example\",\"x\")"} <= stored
