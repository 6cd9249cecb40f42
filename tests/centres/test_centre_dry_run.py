"""``tdm centres --file``: a dry run gives the full report (rule findings too) and loads nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
from tests.lake import read_lake


def _export(settings, tmp_path: Path, **cells) -> Path:
    """A clean synthetic smc export with ``column=value`` set on its first data row."""
    from tdm.cli import main
    from centres.privacy import load_key

    load_key(settings, create=True)   # the home's demo key, as `tdm init` makes it

    out = tmp_path / "exports"
    assert main(["synth", "-n", "4", "--centres", "smc", "--csv", "--out", str(out), "--home", str(settings.home)]) == 0
    path = next((out / "smc").glob("*.csv"))
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    for column, value in cells.items():
        rows[1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_dry_run_reports_rule_findings_and_loads_nothing(warehouse, tmp_path, capsys):
    from tdm.cli import main

    path = _export(warehouse, tmp_path, pcdai="", albumin_g_dl="38", diagnosis_date="2014-02-30")
    capsys.readouterr()
    assert main(["centres", "--file", str(path), "--centre", "smc", "--out", str(tmp_path / "dry"),
                 "--home", str(warehouse.home)]) == 0
    out = capsys.readouterr().out
    assert "would be: Loaded with rejected rows" in out
    assert "4 line(s) read: 3 would load" in out and "1 would be rejected" in out
    assert "line 2: error pcdai" in out and "[required]" in out            # a rule finding, not a parse problem
    assert "line 2: error diagnosis_date = 2014-02-30" in out and "(expected: YYYY-MM-DD" in out
    assert "error albumin_g_dl = 38: looks like g/L: 38 g/L = 3.8 g/dL" in out     # as typed, the analyte column
    report = next((tmp_path / "dry").glob("*.html")).read_text(encoding="utf-8")
    assert 'id="dry-run"' in report and "Would be: Loaded with rejected rows" in report
    con = read_lake(warehouse)
    try:
        assert con.execute("SELECT count(*) FROM ingest.files").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM ingest.queries").fetchone()[0] == 0
    finally:
        con.close()
    assert path.exists()                                                   # not archived


def test_dry_run_of_a_file_missing_a_required_column_says_it_would_be_rejected(warehouse, tmp_path, capsys):
    from tdm.cli import main

    path = _export(warehouse, tmp_path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    i = rows[0].index("pcdai")
    path.write_text("\n".join(",".join(r[:i] + r[i + 1:]) for r in rows) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["centres", "--file", str(path), "--centre", "smc", "--home", str(warehouse.home)]) == 0
    out = capsys.readouterr().out
    assert "would be: File rejected" in out and "pcdai" in out
    assert (warehouse.reports / "smc" / "dry-run").is_dir()
    assert main(["centres", "--file", str(tmp_path / "nope.csv"), "--centre", "smc",
                 "--home", str(warehouse.home)]) == 2
