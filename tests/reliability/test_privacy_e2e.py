"""End-to-end privacy: a file carrying direct identifiers is rejected before anything is stored, and
no identifier value reaches a table, a report, ``ingest.files.message`` or a log - only column names.
The production-mode missing-key path through the CLI is one clear message and exit code 2."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import ingestion as ingest
from tests.reliability.conftest import KEY
from tests.reliability.corpus import utf8
from tests.lake import read_lake

NAMES = ["홍길동", "Minji Kim-Park", "이서연"]
PHONES = ["010-9876-5432", "010-2222-3434", "01055556666"]
RRNS = ["050101-3123456", "061231-4234567", "070707-3456789"]
EMAILS = ["minji.kim@hospital.kr", "seoyeon.lee@example.org", "gd.hong@family.kr"]
ADDRESSES = ["서울시 강남구 일원로 81", "12 Rose Street, Daegu", "창원시 의창구 100"]
SECRETS = NAMES + PHONES + RRNS + EMAILS + ADDRESSES


def _with_identifiers(rows: list[list[str]]) -> bytes:
    rows = [list(r) for r in rows]
    extra = {"patient_name": NAMES, "contact": PHONES, "memo": RRNS, "note": EMAILS, "address": ADDRESSES}
    rows[0] += list(extra)
    for i, r in enumerate(rows[1:]):
        r += [v[i % len(v)] for v in extra.values()]
    return utf8(rows)


def _rrn_as_study_number(baseline: bytes) -> bytes:
    """The study-number column itself holds resident registration numbers (values, not a header)."""
    lines = baseline.decode("utf-8-sig").split("\n")
    out = [lines[0]]
    for i, line in enumerate(l for l in lines[1:4] if l):
        out.append(RRNS[i] + line[line.index(","):])
    return ("\ufeff" + "\n".join(out) + "\n").encode("utf-8")


def _everything_stored(home: Path) -> str:
    """Every row of every table of the lake, every snapshot's change list, and the catalog's and
    data files' bytes (nothing may hide in a superseded or uncommitted file), as text."""
    out = []
    con = read_lake(home)
    try:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_catalog = 'lake' AND table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            out.append(repr(con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()))
        out.append(repr(con.execute("SELECT * FROM lake.snapshots()").fetchall()))
    finally:
        con.close()
    for f in sorted((home / "lake").rglob("*")):
        if f.is_file():
            out.append(f.read_bytes().decode("latin-1"))
    return "\n".join(out)


def test_identifier_file_is_rejected_and_no_value_leaks(tmp_path, sources, monkeypatch, caplog, capsys):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)
    home = tmp_path / "home"
    (home / "inbox" / "smc").mkdir(parents=True)
    (home / "inbox" / "knuh").mkdir(parents=True)
    (home / "inbox" / "smc" / "smc_with_names.csv").write_bytes(_with_identifiers(sources.smc_slot(1)))
    (home / "inbox" / "smc" / "smc_good.csv").write_bytes(utf8(sources.smc_slot(2)))
    (home / "inbox" / "knuh" / "knuh_baseline_rrn.csv").write_bytes(_rrn_as_study_number(sources.knuh_baseline))
    caplog.set_level(logging.DEBUG)

    out = {c.file_name: c for c in ingest.run_pass(str(home), stable_seconds=0)}

    bad = out["smc_with_names.csv"]
    assert bad.status == "rejected" and out["smc_good.csv"].status == "loaded"
    for col, kind in [("patient_name", "name"), ("contact", "phone number"), ("memo", "resident registration number"),
                      ("note", "e-mail"), ("address", "address")]:
        assert f"'{col}' ({kind})" in bad.message
    assert "nothing from this file was stored" in bad.message
    rrn = out["knuh_baseline_rrn.csv"]
    assert rrn.status == "rejected" and "'PT_NO' (resident registration number)" in rrn.message

    con = read_lake(home)
    try:
        files = {r[0]: r[1:] for r in con.execute(
            "SELECT file_name, status, error_code, rows_loaded, file_id FROM ingest.files").fetchall()}
        for name in ("smc_with_names.csv", "knuh_baseline_rrn.csv"):
            status, code, loaded, file_id = files[name]
            assert (status, code, loaded) == ("rejected", "direct_identifier", 0)
            for table in ("core.patients", "core.assessments", "core.elisa_results", "core.lab_results",
                          "quarantine.rows"):
                assert con.execute(f"SELECT count(*) FROM {table} WHERE file_id = ?", [file_id]).fetchone()[0] == 0
            issue = con.execute("SELECT rule, column_name, value FROM ingest.issues WHERE file_id = ?",
                                [file_id]).fetchall()
            assert len(issue) == 1 and issue[0][0] == "direct_identifier" and issue[0][2] is None
    finally:
        con.close()

    stored = _everything_stored(home)
    reports = "\n".join(p.read_text(encoding="utf-8") for p in (home / "reports").rglob("*") if p.is_file())
    assert "patient_name" in reports and "PT_NO" in reports      # the reports name the columns...
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    for secret in SECRETS:                                       # ...and never a value
        assert secret not in stored, secret
        assert secret not in reports, secret
        assert secret not in logs, secret
        assert secret not in bad.message and secret not in rrn.message

    # the file itself is deleted, not archived: the identifiers are not kept anywhere under the home
    kept = [p.name for p in home.rglob("*") if p.is_file()]
    assert not any(n.endswith(("smc_with_names.csv", "knuh_baseline_rrn.csv")) for n in kept), kept
    assert any(n.endswith("smc_good.csv") for n in kept)                 # good files are archived as usual
    con = read_lake(home)
    assert con.execute("SELECT count(*) FROM ingest.files WHERE error_code = 'direct_identifier' "
                       "AND archive_path IS NOT NULL").fetchone()[0] == 0
    con.close()

    # the same file dropped again is a duplicate and is deleted too
    (home / "inbox" / "smc" / "smc_with_names_again.csv").write_bytes(_with_identifiers(sources.smc_slot(1)))
    (again,) = ingest.run_pass(str(home), stable_seconds=0)
    assert again.status == "duplicate" and again.discarded
    assert not any(p.name.endswith("smc_with_names_again.csv") for p in home.rglob("*"))


def _cli(home: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from tdm.cli import run; run()", "ingest", "--home", str(home),
                           "--stable-seconds", "0"], env=env, capture_output=True, text=True, timeout=120)


def test_production_mode_without_a_key_is_one_clear_cli_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TDM_PSEUDONYM_KEY", "TDM_PSEUDONYM_KEY_FILE")}
    env.update(TDM_MODE="production", PREFECT_HOME=str(tmp_path / "prefect"), COLUMNS="250")
    home = tmp_path / "home"
    init = subprocess.run([sys.executable, "-c", "from tdm.cli import run; run()", "init", "--home", str(home)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr      # a production home: no key is created
    proc = _cli(home, env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no pseudonymisation key: production mode needs "
                                                   "TDM_PSEUDONYM_KEY or TDM_PSEUDONYM_KEY_FILE"), proc.stderr
    assert not (home / "secrets" / "pseudonym.key").exists()    # never a default key

    env["TDM_PSEUDONYM_KEY_FILE"] = str(tmp_path / "missing.key")
    proc = _cli(home, env)
    assert proc.returncode == 2 and "pseudonymisation key file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
