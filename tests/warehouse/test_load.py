"""The loader: atomic per file (even under SIGKILL), idempotent, superseding with history, lineage."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from warehouse import load as loader
from warehouse.lake import open_writer
from warehouse.load import find_loaded_checksum, load_file, record_duplicate, reserve_file_id
from tests.lake import read_lake
from tests.factories import accepted_result, assessment, file_meta, frame, lab, patient, rejected_frame

TABLES = ("core.patients", "core.assessments", "core.elisa_results", "core.lab_results", "quarantine.rows",
          "ingest.issues", "ingest.files")


def _counts(settings) -> dict[str, int]:
    con = read_lake(settings)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def _result(n=3, centre="c1", rejected_lines=()):
    pats = [patient(f"P{i}", centre) for i in range(n)]
    labs = [lab(f"P{i}", "crp_mg_dl", 0.1 * i, centre=centre) for i in range(n)]
    rej = rejected_frame([{"entity": "patient", "source_line": ln, "centre_id": centre, "patient_id": "PX",
                           "record": {"sex": "X"}, "reasons": "allowed_codes"} for ln in rejected_lines])
    return accepted_result({"patient": frame("patient", pats), "lab": frame("lab", labs)},
                           rejected=rej if len(rejected_lines) else None)


def test_row_counts_in_ingest_files_equal_rows_in_tables(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        out = load_file(con, reserve_file_id(con), file_meta(), _result(4, rejected_lines=(9, 10)))
        rows = con.execute("SELECT rows_read, rows_loaded, rows_rejected, status FROM ingest.files").fetchall()
        per_file = con.execute(
            "SELECT count(DISTINCT source_line) FROM (SELECT source_line FROM core.patients WHERE file_id = ? "
            "UNION ALL SELECT source_line FROM core.lab_results WHERE file_id = ?)", [out.file_id, out.file_id]
        ).fetchone()[0]
        q = con.execute("SELECT count(DISTINCT source_line) FROM quarantine.rows WHERE file_id = ?",
                        [out.file_id]).fetchone()[0]
    assert rows == [(6, 4, 2, "loaded_with_rejections")]
    assert per_file == 4 and q == 2


def test_failure_mid_load_leaves_nothing(warehouse, monkeypatch):
    real = loader._append

    def boom(con, table, *a, **k):
        if table == "quarantine.rows":
            raise RuntimeError("disk full")
        return real(con, table, *a, **k)

    monkeypatch.setattr(loader, "_append", boom)
    before = _counts(warehouse)
    with open_writer(warehouse.lake, home=warehouse.home) as con, pytest.raises(RuntimeError):
        load_file(con, reserve_file_id(con), file_meta(), _result(3, rejected_lines=(7,)))
    assert _counts(warehouse) == before


KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from warehouse import load as loader
from warehouse.lake import open_writer
from tests.factories import accepted_result, file_meta, frame, lab, patient
real = loader._append
def killer(con, table, *a, **k):
    real(con, table, *a, **k)
    if table == "quarantine.rows":       # patients and labs written (INSERT ... SELECT), not yet committed
        os.kill(os.getpid(), signal.SIGKILL)
loader._append = killer
pats = [patient(f"P{{i}}") for i in range(2000)]
labs = [lab(f"P{{i}}", "crp_mg_dl", 0.1) for i in range(2000)]
res = accepted_result({{"patient": frame("patient", pats), "lab": frame("lab", labs)}})
from base.config import load_settings
s = load_settings({home!r})
with open_writer(s.lake, home=s.home) as con:
    loader.load_file(con, loader.reserve_file_id(con), file_meta(), res)
"""


def test_sigkill_during_a_load_leaves_no_partial_rows(warehouse):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = textwrap.dedent(KILL_SCRIPT.format(root=root, home=str(warehouse.home)))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    counts = _counts(warehouse)
    assert counts == {t: 0 for t in TABLES}


def test_same_content_twice_is_a_duplicate_and_loads_nothing(warehouse):
    meta = file_meta(checksum="same")
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        first = load_file(con, reserve_file_id(con), meta, _result(3))
        found = find_loaded_checksum(con, "same")
        dup = record_duplicate(con, reserve_file_id(con), file_meta(name="renamed.csv", checksum="same"), found[0])
    counts = _counts(warehouse)
    assert found[0] == first.file_id
    assert dup.status == "duplicate" and dup.duplicate_of_file_id == first.file_id
    assert counts["core.patients"] == 3 and counts["ingest.files"] == 2


def test_corrected_file_supersedes_and_keeps_history(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        first = load_file(con, reserve_file_id(con), file_meta(checksum="v1"),
                          accepted_result({"assessment": frame("assessment", [assessment("P1", pcdai=30.0),
                                                                              assessment("P2", pcdai=5.0)])}))
        second = load_file(con, reserve_file_id(con), file_meta(checksum="v2"),
                           accepted_result({"assessment": frame("assessment", [assessment("P1", pcdai=3.0)])}))
        rows = con.execute("SELECT patient_id, pcdai, is_current, file_id, superseded_by_file_id "
                           "FROM core.assessments ORDER BY patient_id, file_id").fetchall()
    assert second.superseded == {"assessment": 1}
    assert rows == [("P1", 30.0, False, first.file_id, second.file_id),
                    ("P1", 3.0, True, second.file_id, None),
                    ("P2", 5.0, True, first.file_id, None)]


def test_every_row_carries_its_file_and_line(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        out = load_file(con, reserve_file_id(con), file_meta(), _result(3))
        lines = con.execute("SELECT file_id, source_line FROM core.patients ORDER BY source_line").fetchall()
    assert lines == [(out.file_id, 2), (out.file_id, 3), (out.file_id, 4)]
