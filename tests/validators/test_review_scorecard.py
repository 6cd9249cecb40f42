"""Review workflow (tdm review confirm/list) and the per-centre scorecard."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.validators.factory import make_frames
from validators.scorecard import build_scorecard, render_scorecard_html


def _load_file(settings, frames, name):
    """Validate against the warehouse's confirmations and load, as an ingestion pass does."""
    from warehouse import queries as Q
    from warehouse.load import load_file, reserve_file_id
    from tests.factories import file_meta
    from tests.validators.factory import ctx
    from validators import validate_file

    with Q.write_session(settings) as con:
        result = validate_file(frames, None, ctx(file_name=name, reviews=Q.confirmed_findings(con, "smc")))
        load_file(con, reserve_file_id(con), file_meta(name=name, centre="smc", checksum=name, file_kind="wide"),
                  result)
    return result


def _with_labs(frames, line, **values):
    lab = frames["lab"].copy()
    for analyte, v in values.items():
        lab.loc[(lab["source_line"] == line) & (lab["analyte"] == analyte), "value"] = v
    return {**frames, "lab": lab}


def test_review_confirm_is_scoped_to_one_validated_finding_and_revocable(warehouse, capsys):
    """Defect 1 of issue 17: what a data manager types matches; nonsense is refused; nothing else is hidden."""
    from tdm.cli import main
    from centres.privacy import load_key, pseudonymise

    home = str(warehouse.home)
    pid = pseudonymise(pd.Series(["SMC-0042"]), load_key(warehouse, create=True)).iloc[0]
    f = make_frames(2)
    f = {k: v.assign(patient_id=v["patient_id"].where(v["source_line"] != 2, pid)) for k, v in f.items()}
    _load_file(warehouse, _with_labs(f, 2, esr_mm_h=160.0), "first.csv")

    base = ["review", "confirm", "--rule", "lab_value_implausible", "--reason", "true ESR 160, chart checked",
            "--reviewer", "dm.kim", "--home", home]
    capsys.readouterr()
    assert main(base + ["--centre", "nosuch", "--patient", "whoever", "--column", "banana"]) == 2
    assert "no centre 'nosuch'" in capsys.readouterr().err
    assert main(base + ["--centre", "smc", "--patient", "whoever", "--column", "esr_mm_h"]) == 2
    assert "no open finding for patient whoever" in capsys.readouterr().err
    assert main(base + ["--centre", "smc", "--patient", pid, "--column", "banana"]) == 2
    assert "esr_mm_h = 160" in capsys.readouterr().err          # says what there is to confirm
    assert main(["review", "confirm", "--centre", "smc", "--patient", pid, "--rule", "range", "--reason", "x",
                 "--reviewer", "y", "--home", home]) == 2          # errors cannot be confirmed
    # the study number, as a data manager knows the patient, and the analyte column, as in the report
    assert main(base + ["--centre", "smc", "--patient", "SMC-0042", "--column", "esr_mm_h"]) == 0
    out = capsys.readouterr().out
    assert "confirmed query" in out and "esr_mm_h = 160" in out and "dm.kim" in out

    # a later file: the same ESR is not reported again; albumin 38 (g/L typed into g/dL) and another
    # implausible value of the patient (WBC 60000) are
    r = _load_file(warehouse, _with_labs(f, 2, esr_mm_h=160.0, albumin_g_dl=38.0, wbc_per_ul=60000.0), "second.csv")
    assert r.warnings_suppressed == 1
    assert r.issues[["patient_id", "column_name", "value", "rule"]].values.tolist() == [
        [pid, "albumin_g_dl", "38", "unit_mixup"], [pid, "wbc_per_ul", "60000", "lab_value_implausible"]]

    assert main(["review", "list", "--centre", "smc", "--home", home]) == 0
    listing = capsys.readouterr().out
    assert "dm.kim" in listing and "true ESR 160" in listing
    qid = int(listing.split("query ")[1].split(":")[0])
    assert main(["review", "revoke", "--centre", "smc", "--query", str(qid), "--reason", "lab re-ran it",
                 "--reviewer", "dm.kim", "--home", home]) == 0
    assert "open again" in capsys.readouterr().out
    r = _load_file(warehouse, _with_labs(f, 2, esr_mm_h=160.0), "third.csv")
    assert r.warnings["column_name"].tolist() == ["esr_mm_h"]       # reported again
    assert main(["queries", "show", str(qid), "--home", home]) == 0
    history = capsys.readouterr().out
    assert "answered" in history and "revoked" in history and "lab re-ran it" in history


def test_queries_cli_answer_close_and_list(warehouse, capsys):
    from tdm.cli import main

    home = str(warehouse.home)
    _load_file(warehouse, _with_labs(make_frames(2), 2, esr_mm_h=160.0), "first.csv")
    capsys.readouterr()
    assert main(["queries", "list", "--centre", "smc", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "esr_mm_h" in out and "1 query" in out
    qid = int(next(ln.split()[0] for ln in out.splitlines() if ln.strip()[:1].isdigit()))   # the id column
    assert main(["queries", "close", str(qid), "--reason", "ok", "--by", "coord", "--home", home]) == 2
    assert "only an answered query" in capsys.readouterr().err
    assert main(["queries", "answer", str(qid), "--confirm", "--will-correct", "--reason", "r", "--by", "dm",
                 "--home", home]) == 2
    assert main(["queries", "answer", str(qid), "--confirm", "--reason", "sepsis", "--by", "dm", "--centre", "knuh",
                 "--home", home]) == 2
    assert "no query" in capsys.readouterr().err
    assert main(["queries", "answer", str(qid), "--confirm", "--reason", "sepsis", "--by", "dm", "--home", home]) == 0
    assert main(["queries", "close", str(qid), "--reason", "plausible", "--by", "coord", "--home", home]) == 0
    assert main(["queries", "list", "--state", "closed", "--home", home]) == 0
    assert "accepted" not in capsys.readouterr().err


def test_scorecard_tdm_command_writes_html(warehouse, tmp_path):
    from tdm.cli import main
    from warehouse.lake import open_writer

    with open_writer(warehouse.lake, home=warehouse.home) as con:
        con.execute("INSERT INTO ingest.files (file_id, centre_id, file_name, file_kind, checksum_sha256, size_bytes, "
                    "received_at, status, rows_read, rows_loaded, rows_warned, rows_rejected, code_version) VALUES "
                    "(1, 'smc', 'a.csv', 'wide', 'x', 1, TIMESTAMP '2026-10-01 10:00:00', 'loaded_with_rejections', "
                    "10, 8, 1, 2, 'test')")
        fid = con.execute("SELECT max(file_id) FROM ingest.files").fetchone()[0]
        con.execute("INSERT INTO ingest.issues (file_id, source_line, rule, severity, message) VALUES "
                    f"({fid}, 3, 'range', 'error', 'm'), ({fid}, 5, 'range', 'error', 'm')")
    assert main(["scorecard", "--centre", "smc", "--out", str(tmp_path), "--home", str(warehouse.home)]) == 0
    html = (tmp_path / "scorecard-smc.html").read_text()
    assert "Data-quality scorecard: smc" in html and "<code>range</code>" in html and "2026-10" in html


def test_scorecard_completeness_and_rates():
    f = make_frames(4)
    p = f["patient"].copy()
    p.loc[0, "paris_age"] = pd.NA
    tables = {"patient": p, "assessment": f["assessment"], "elisa": f["elisa"], "lab": f["lab"]}
    files = pd.DataFrame({"file_id": [1, 2], "received_at": pd.to_datetime(["2026-09-03", "2026-10-03"]),
                          "status": ["rejected", "loaded"], "rows_read": [4, 4], "rows_loaded": [0, 4],
                          "rows_rejected": [4, 0]})
    issues = pd.DataFrame({"file_id": [1, 1, 1], "source_line": [2, 2, 3], "rule": ["range", "range", "required"],
                           "severity": ["error"] * 3})
    card = build_scorecard("smc", tables, files, issues, now=dt.datetime(2026, 11, 1))
    c = card.completeness.set_index(["entity", "variable"])
    assert c.loc[("patient", "paris_age"), "pct_filled"] == 75.0
    assert c.loc[("lab", "tgn6_pmol_8e8_rbc"), "pct_filled"] == 0.0
    rr = card.rule_rates.set_index("rule")
    assert rr.loc["range", "lines"] == 1 and rr.loc["range", "pct_lines"] == 12.5
    assert list(card.files_over_time["month"]) == ["2026-10", "2026-09"]
    html = render_scorecard_html(card)
    assert "<script" not in html and "paris_age" in html


def test_scorecard_counts_open_queries_and_their_age():
    now = dt.datetime(2026, 11, 30, 12, 0)
    queries = pd.DataFrame({"state": ["open", "open", "open", "answered", "closed"],
                            "answer": [None, None, None, "confirmed", "will_correct"],
                            "opened_at": [now - dt.timedelta(days=d) for d in (2, 10, 40, 5, 60)]})
    f = make_frames(2)
    card = build_scorecard("smc", {k: f[k] for k in ("patient", "assessment", "elisa", "lab")},
                           pd.DataFrame({"received_at": [now], "status": ["loaded"], "rows_read": [2], "rows_rejected": [0]}),
                           pd.DataFrame(columns=["file_id", "source_line", "rule", "severity"]), queries, now=now)
    q = card.queries
    assert (q["open"], q["answered"], q["closed"]) == (3, 1, 1)
    assert (q["oldest_open_days"], q["median_open_days"]) == (40.0, 10.0)
    assert q["open_by_age"] == [("under a week", 1), ("1 to 4 weeks", 1), ("over 4 weeks", 1)]
    assert card.totals["confirmed"] == 1
    html = render_scorecard_html(card)
    assert 'id="queries-open">3<' in html and "the oldest 40.0 days" in html and 'href="index.html"' in html


def test_scorecard_command_reads_the_queries(warehouse, tmp_path):
    from tdm.cli import main

    _load_file(warehouse, _with_labs(make_frames(2), 2, esr_mm_h=160.0), "first.csv")
    assert main(["scorecard", "--centre", "smc", "--out", str(tmp_path), "--home", str(warehouse.home)]) == 0
    assert 'id="queries-open">1<' in (tmp_path / "scorecard-smc.html").read_text()
