"""Review workflow (tdm review confirm/list) and the per-centre scorecard."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.validators.factory import make_frames
from validators.scorecard import build_scorecard, render_scorecard_html


def test_review_confirm_list_and_validation_suppression(warehouse, capsys):
    from tdm.cli import main
    from tdm.warehouse.connection import open_reader

    home = str(warehouse.home)
    rc = main(["review", "confirm", "--centre", "smc", "--patient", "P000001", "--rule", "lab_value_implausible",
               "--column", "value", "--reason", "true CRP 80 (sepsis), checked in chart", "--reviewer", "dm.kim",
               "--home", home])
    assert rc == 0
    assert main(["review", "confirm", "--centre", "smc", "--patient", "P1", "--rule", "range", "--reason", "x",
                 "--reviewer", "y", "--home", home]) == 2          # errors cannot be confirmed
    con = open_reader(warehouse.snapshot)
    try:
        df = con.execute("SELECT * FROM ingest.reviews").df()
    finally:
        con.close()
    assert len(df) == 1 and df.loc[0, "reviewer"] == "dm.kim" and df.loc[0, "rule"] == "lab_value_implausible"
    assert pd.notna(df.loc[0, "reviewed_at"])
    capsys.readouterr()
    assert main(["review", "list", "--home", home]) == 0
    assert "dm.kim" in capsys.readouterr().out


def test_scorecard_tdm_command_writes_html(warehouse, tmp_path):
    from tdm.cli import main
    from tdm.warehouse.connection import open_writer, publish_snapshot

    with open_writer(warehouse.warehouse) as con:
        con.execute("INSERT INTO ingest.files (centre_id, file_name, file_kind, checksum_sha256, size_bytes, "
                    "received_at, status, rows_read, rows_loaded, rows_warned, rows_rejected, code_version) VALUES "
                    "('smc', 'a.csv', 'wide', 'x', 1, TIMESTAMP '2026-10-01 10:00:00', 'loaded_with_rejections', "
                    "10, 8, 1, 2, 'test')")
        fid = con.execute("SELECT max(file_id) FROM ingest.files").fetchone()[0]
        con.execute("INSERT INTO ingest.issues (file_id, source_line, rule, severity, message) VALUES "
                    f"({fid}, 3, 'range', 'error', 'm'), ({fid}, 5, 'range', 'error', 'm')")
        publish_snapshot(con, warehouse.warehouse, warehouse.snapshot)
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
