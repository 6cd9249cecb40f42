"""Isolation: a centre's inbox can only create or change that centre's rows; odd file names and
links never lead outside the home."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape

import ingestion as ingest
import ingestion.read as reader
from tests.reliability.conftest import KEY
from tests.reliability.corpus import set_cell, utf8
from tests.lake import read_lake

CORE = ("core.patients", "core.assessments", "core.elisa_results", "core.lab_results")


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)


def _rows(home: Path, sql: str, params=()) -> list[tuple]:
    con = read_lake(home)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _centre_state(home: Path, centre: str) -> dict:
    return {t: sorted(_rows(home, f"SELECT * FROM {t} WHERE centre_id = ?", [centre]), key=repr) for t in CORE}


def _drop(home: Path, centre: str, name: str, data: bytes) -> Path:
    p = home / "inbox" / centre / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_a_file_in_one_inbox_cannot_create_or_change_another_centres_rows(tmp_path, sources):
    home = tmp_path / "home"
    _drop(home, "knuh", "knuh_baseline.csv", sources.knuh_baseline)
    ingest.run_pass(str(home), stable_seconds=0)
    knuh_before = _centre_state(home, "knuh")
    assert knuh_before["core.patients"]
    knuh_ids = [ln.split(",")[0] for ln in sources.knuh_baseline.decode("utf-8-sig").splitlines()[1:4]]

    # (a) smc uses knuh's study numbers for one patient; (b) smc claims knuh in a centre_id column;
    # (c) a knuh export dropped into the smc inbox; (d) a byte-identical copy of the file knuh sent
    claims_ids = set_cell(sources.smc_slot(1), "patient_id", knuh_ids[0])
    claims_col = sources.smc_slot(2)
    claims_col[0].append("centre_id")
    for r in claims_col[1:]:
        r.append("knuh")
    _drop(home, "smc", "smc_knuh_ids.csv", utf8(claims_ids))
    _drop(home, "smc", "smc_centre_column.csv", utf8(claims_col))
    _drop(home, "smc", "knuh_visits.csv", sources.knuh_visits)
    _drop(home, "smc", "knuh_baseline.csv", sources.knuh_baseline)
    out = {c.file_name: c for c in ingest.run_pass(str(home), stable_seconds=0)}

    assert _centre_state(home, "knuh") == knuh_before          # not one knuh row created, changed or superseded
    assert {c.centre_id for c in out.values()} == {"smc"}
    a = out["smc_knuh_ids.csv"]
    assert a.status == "loaded_with_rejections" and a.rows_rejected == 1
    finding = _rows(home, "SELECT i.source_line, i.message FROM ingest.issues i JOIN ingest.files f USING (file_id) "
                          "WHERE f.file_name = 'smc_knuh_ids.csv' AND i.rule = 'patient_in_other_centre'")
    assert finding == [(3, "patient id already registered by centre knuh")]
    quarantined = _rows(home, "SELECT q.centre_id FROM quarantine.rows q JOIN ingest.files f USING (file_id) "
                              "WHERE f.file_name = 'smc_knuh_ids.csv'")
    assert quarantined and {r[0] for r in quarantined} == {"smc"}   # kept under the sender's centre
    b = out["smc_centre_column.csv"]
    assert (b.status, "'centre_id'") == ("rejected", "'centre_id'") and "not expected in this export" in b.message
    c = out["knuh_visits.csv"]
    assert c.status == "rejected" and "mapped column(s) missing" in c.message   # read as an smc export
    d = out["knuh_baseline.csv"]
    assert d.status == "duplicate" and d.rows_loaded == 0                      # content seen before: nothing loaded
    assert _rows(home, "SELECT DISTINCT centre_id FROM core.patients ORDER BY 1") == [("knuh",), ("smc",)]


def test_the_same_raw_study_number_at_two_centres_never_merges(tmp_path, sources):
    """The pseudonym depends on the raw number only, so a clash is detectable; rows stay keyed by
    (centre, patient): the second centre's record is flagged, and the first centre's stays untouched."""
    home = tmp_path / "home"
    shared = "TDM-SHARED-001"
    smc = set_cell(sources.smc_slot(3), "patient_id", shared)
    _drop(home, "smc", "smc_first.csv", utf8(smc))
    ingest.run_pass(str(home), stable_seconds=0)
    smc_before = _centre_state(home, "smc")
    lines = sources.knuh_baseline.decode("utf-8-sig").splitlines()
    lines[2] = shared + lines[2][lines[2].index(","):]
    _drop(home, "knuh", "knuh_baseline.csv", ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    out = {c.file_name: c for c in ingest.run_pass(str(home), stable_seconds=0)}

    assert out["knuh_baseline.csv"].status == "loaded_with_rejections"
    assert _centre_state(home, "smc") == smc_before
    smc_pid = _rows(home, "SELECT patient_id FROM core.patients p JOIN ingest.files f USING (file_id) "
                          "WHERE f.file_name = 'smc_first.csv' AND p.source_line = 3")[0][0]
    issue = _rows(home, "SELECT i.source_line, i.patient_id, i.message FROM ingest.issues i "
                        "JOIN ingest.files f USING (file_id) WHERE f.centre_id = 'knuh' "
                        "AND i.rule = 'patient_in_other_centre'")
    assert issue == [(3, smc_pid, "patient id already registered by centre smc")]
    q = _rows(home, "SELECT centre_id, patient_id, reasons FROM quarantine.rows WHERE patient_id = ?", [smc_pid])
    assert q == [("knuh", smc_pid, "patient_in_other_centre")]
    # two separate identities: never one patient row carrying both centres' data
    assert _rows(home, "SELECT centre_id FROM core.patients WHERE patient_id = ?", [smc_pid]) == [("smc",)]


def test_the_wrong_centre_rule_rejects_foreign_rows(tmp_path, sources, monkeypatch):
    """Defence in depth: centre_id always comes from the profile, but should a frame ever carry
    another centre's id, validation rejects the whole file and nothing is stored."""
    home = tmp_path / "home"
    path = _drop(home, "smc", "smc_tampered.csv", utf8(sources.smc_slot(4)))
    settings, profiles, key = ingest.setup(str(home))
    st = path.stat()
    cand = ingest.Candidate("smc", path, st.st_size, st.st_mtime)
    real = reader.harmonise_raw

    def tampered(con, *args, **kw):       # the harmonised tables of the reading stage, tampered with
        h = real(con, *args, **kw)
        for e in ("patient", "assessment", "elisa", "lab"):
            con.execute(f"UPDATE {e} SET centre_id = 'knuh'").fetchall()
        return h

    monkeypatch.setattr(reader, "harmonise_raw", tampered)
    committed = ingest.commit(settings, ingest.prepare(settings, profiles["smc"], cand, key))
    assert committed.status == "rejected" and "records of centre(s) knuh, not of smc" in committed.message
    assert _rows(home, "SELECT error_code FROM ingest.files") == [("wrong_centre",)]
    for t in CORE:
        assert _rows(home, f"SELECT count(*) FROM {t}") == [(0,)]


ODD_NAMES = [
    "smc_..%2f..%2fetc%2fpasswd.csv",
    "smc_..\\..\\..\\evil.csv",
    "C:\\Windows\\smc_export.csv",
    "smc_$(touch pwned).csv",
    "smc_<img src=x onerror=alert(1)>.csv",
    "smc\nsecond line.csv",
    "smc_\x1b[31mred.csv",
    "smc 한글 파일 (1).csv",
    "-rf --no-preserve-root.csv",
    "smc_" + "x" * 247 + ".csv",                 # 251 bytes: legal, but too long with an archive prefix
]
IGNORED_NAMES = ["..%2f..%2fsmc.csv", "..\\..\\smc.csv", ".hidden.csv"]   # dot-files: never ingested


def test_odd_file_names_stay_inside_the_home(tmp_path, sources):
    home = tmp_path / "home"
    for i, name in enumerate(ODD_NAMES + IGNORED_NAMES):
        _drop(home, "smc", name, utf8(sources.smc_slot(10 + i)))
    bad = os.fsdecode(b"smc_\xff\xfe_latin1.csv")              # not valid UTF-8 on disk
    _drop(home, "smc", bad, utf8(sources.smc_slot(30)))
    # a link to another centre's file, and a link out of the home
    _drop(home, "knuh", "knuh_baseline.csv", sources.knuh_baseline)
    os.symlink(home / "inbox" / "knuh" / "knuh_baseline.csv", home / "inbox" / "smc" / "smc_link.csv")
    outside = tmp_path / "outside.csv"
    outside.write_bytes(utf8(sources.smc_slot(31)))
    os.symlink(outside, home / "inbox" / "smc" / "smc_outside.csv")
    before_outside = sorted(p.name for p in tmp_path.iterdir())

    settings, profiles, _ = ingest.setup(str(home))
    found = ingest.discover(settings, list(profiles), stable_seconds=0)
    assert any("smc_link.csv" in w and "symlink" in w for w in found.warnings)
    assert any("smc_outside.csv" in w and "symlink" in w for w in found.warnings)
    assert any("not valid UTF-8" in w for w in found.warnings)
    out = ingest.run_pass(str(home), stable_seconds=0)

    by_name = {c.file_name: c for c in out}
    assert sorted(by_name) == sorted(ODD_NAMES + ["knuh_baseline.csv"])
    for name in ODD_NAMES:
        c = by_name[name]
        assert c.status == "loaded" and c.centre_id == "smc", (name, c.message)
        archive, report = Path(c.archive_path).resolve(), Path(c.report_path).resolve()
        assert archive.parent == (home / "archive" / "smc").resolve() and archive.is_file()
        assert report.parent == (home / "reports" / "smc").resolve() and report.is_file()
        assert len(archive.name.encode()) <= 255 and len(report.name.encode()) <= 255
        html = report.read_text(encoding="utf-8")
        assert str(escape(name)) in html or name.startswith("smc_xxx")
    assert "<img src=x" not in (home / "reports" / "smc" / "index.html").read_text(encoding="utf-8")
    assert by_name["knuh_baseline.csv"].centre_id == "knuh"          # the linked file: once, as knuh's
    assert _rows(home, "SELECT count(*) FROM ingest.files WHERE checksum_sha256 = "
                       "(SELECT checksum_sha256 FROM ingest.files WHERE file_name = 'knuh_baseline.csv')") == [(1,)]
    # nothing written outside the home; the link target is untouched; ignored names stay put
    assert sorted(p.name for p in tmp_path.iterdir()) == before_outside
    assert outside.read_bytes() == utf8(sources.smc_slot(31))
    assert not list(tmp_path.rglob("pwned"))
    left = sorted(os.listdir(home / "inbox" / "smc"))
    assert left == sorted(IGNORED_NAMES + [bad, "smc_link.csv", "smc_outside.csv"])
