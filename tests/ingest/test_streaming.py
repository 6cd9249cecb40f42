"""Large files take the one path like any other: read set-wise into the writer's temporary tables, decided
and loaded in one transaction, so nothing of a file is ever committed before its end."""

from __future__ import annotations

import os
import shutil

import pytest

import duckdb

from base.config import load_settings
from centres import builtin_profiles
from ingestion import run_pass
from ingestion.discovery import Candidate
from ingestion.read import read_into_tables
from synth import generate_cohort, write_exports
from tests.ingest.test_crash_safety import state
from tests.lake import read_lake


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    from centres import builtin_profiles

    folder = tmp_path_factory.mktemp("exports")
    profiles = {"knuh": builtin_profiles()["knuh"]}
    write_exports(generate_cohort(80, ("knuh",), 11), profiles, folder, error_rate=0.0, seed=11)
    return folder


def _key(monkeypatch) -> None:
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "stream-test-key-0123456789")


def _run(tmp_path, exports, monkeypatch, name: str = "reference") -> dict:
    _key(monkeypatch)
    home = tmp_path / name
    shutil.copytree(exports, home / "inbox")
    run_pass(str(home), stable_seconds=0)
    return state(str(home))


def test_a_bad_line_late_in_a_file_rejects_the_whole_file(tmp_path, exports, monkeypatch):
    _key(monkeypatch)
    home = tmp_path / "h"
    shutil.copytree(exports, home / "inbox")
    labs = next((home / "inbox" / "knuh").glob("*lis_labs*"))
    data = labs.read_bytes()
    cut = data.index(b"\n", len(data) // 2)
    labs.write_bytes(data[:cut] + b"\n\xff\xfe broken bytes\n" + data[cut + 1:])  # invalid UTF-8 late in the file
    out = {c.file_name: c for c in run_pass(str(home), stable_seconds=0)}
    bad = out[labs.name]
    assert bad.status == "rejected" and "decoded" in bad.message
    got = state(str(home))
    assert got["core.lab_results"] == []                       # nothing of the bad file kept
    others = [f for f in got["files"] if f[1] != labs.name]
    assert len(others) == 3 and all(f[3] == "loaded" for f in others)   # the good files still load


KILL_STREAM = """
import os, signal, sys
sys.path.insert(0, {root!r})
os.environ["TDM_PSEUDONYM_KEY"] = "stream-test-key-0123456789"
import ingestion as ingest
import ingestion.read as reader
from tests.lake import read_lake
real = reader.harmonise_raw
def killer(con, raw, spec, *a, **k):
    out = real(con, raw, spec, *a, **k)
    if spec.kind == "labs_long":       # the lab file in its tables, then SIGKILL
        os.kill(os.getpid(), signal.SIGKILL)
    return out
reader.harmonise_raw = killer
ingest.run_pass({home!r}, stable_seconds=0)
"""

ROW_TABLES = tuple(f"core.{e}" for e in ("patients", "assessments", "elisa_results", "lab_results")) + \
    ("quarantine.rows", "ingest.issues")


def test_sigkill_mid_file_then_restart_gives_the_uninterrupted_warehouse(tmp_path, exports, monkeypatch):
    import subprocess
    import sys
    import textwrap

    import duckdb

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    reference = _run(tmp_path, exports, monkeypatch)
    home = tmp_path / "killed"
    shutil.copytree(exports, home / "inbox")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(KILL_STREAM.format(root=root, home=str(home)))],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]

    def uncommitted(home) -> int:
        con = read_lake(home)
        try:
            return sum(con.execute(f"SELECT count(*) FROM {t} WHERE file_id NOT IN "
                                   "(SELECT file_id FROM ingest.files)").fetchone()[0] for t in ROW_TABLES)
        finally:
            con.close()

    # one lake transaction per file: nothing of the killed file was ever committed
    assert uncommitted(home) == 0
    run_pass(str(home), stable_seconds=0)
    assert state(str(home)) == reference


def test_a_correction_supersedes_the_earlier_rows(tmp_path, exports, monkeypatch):
    _key(monkeypatch)
    home = tmp_path / "h"
    shutil.copytree(exports, home / "inbox")
    run_pass(str(home), stable_seconds=0)                     # first delivery
    labs = next((home / "archive" / "knuh").glob("*lis_labs*"))
    corrected = home / "inbox" / "knuh" / labs.name.split("-", 1)[1]
    corrected.write_bytes(labs.read_bytes() + b"\n")          # same rows, new content checksum
    (out,) = run_pass(str(home), stable_seconds=0)
    assert out.status == "loaded"
    import duckdb

    con = read_lake(home)
    rows = con.execute("SELECT file_id, is_current, superseded_by_file_id, count(*) FROM core.lab_results "
                       "GROUP BY ALL ORDER BY ALL").fetchall()
    con.close()
    (old_id, old_cur, old_by, n_old), (new_id, new_cur, new_by, n_new) = rows
    assert (old_cur, old_by, new_cur, new_by) == (False, new_id, True, None) and new_id == out.file_id
    assert n_old == n_new == out.rows_loaded


def test_a_wide_file_with_a_finding_is_read_set_wise_not_whole(tmp_path, monkeypatch):
    """A wide CSV is read set-wise by DuckDB whatever its findings (the pandas whole-file reader is never
    called): the bad line is rejected, the others load."""
    import centres.readers as readers
    from centres import builtin_profiles

    _key(monkeypatch)
    folder = tmp_path / "exports"
    write_exports(generate_cohort(40, ("smc",), 3), {"smc": builtin_profiles()["smc"]}, folder, error_rate=0.0, seed=3)
    src = next((folder / "smc").glob("*.csv"))
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    j = lines[0].split(",").index("pcdai")
    cells = lines[2].split(",")
    cells[j] = "N/A"
    lines[2] = ",".join(cells)
    home = tmp_path / "home"
    (home / "inbox" / "smc").mkdir(parents=True)
    (home / "inbox" / "smc" / src.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    def whole(*a, **kw):
        raise AssertionError("a large file was read whole into memory")

    monkeypatch.setattr(readers, "read_workbook", whole)
    out = run_pass(str(home), stable_seconds=0)
    assert [(c.status, c.rows_rejected) for c in out] == [("loaded_with_rejections", 1)]


def test_the_reading_stage_caps_memory_and_spills_to_the_configured_directory(tmp_path):
    """The reading stage sets DuckDB's memory limit and spill directory from Settings on the connection
    it is given (the writer's, or a dry run's private in-memory one)."""
    import duckdb

    from base.config import load_settings
    from ingestion.read import bound_memory

    settings = load_settings(tmp_path / "home", environ={"TDM_WRITER_MEMORY_LIMIT": "300MB",
                                                         "TDM_SPILL_DIR": str(tmp_path / "spill")})
    con = duckdb.connect()
    bound_memory(con, settings)
    limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert spill == str(tmp_path / "spill") and (tmp_path / "spill").is_dir()
    assert limit == "286.1 MiB", limit                      # 300 MB as DuckDB shows it


def test_the_reading_stage_leaves_the_contracts_tables_and_drops_the_text_cells(tmp_path, exports):
    """After stages 1-2 the file's text cells (``raw``, its largest table) are gone and the entity tables
    are there: no later stage reads ``raw``, and while it stayed the 2 GB file's checks ran out of memory
    under a 256 MB limit (docs/LAKE.md "Writer memory")."""
    profile = builtin_profiles()["knuh"]
    path = next(p for p in sorted((exports / "knuh").iterdir()) if profile.match(p.name) is not None)
    st = path.stat()
    con = duckdb.connect()
    try:
        read_into_tables(con, load_settings(tmp_path / "home"), profile, profile.match(path.name),
                         Candidate("knuh", path, st.st_size, st.st_mtime), b"stream-test-key-0123456789")
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    finally:
        con.close()
    assert {"patient", "assessment", "elisa", "lab", "findings"} <= tables and "raw" not in tables, tables
