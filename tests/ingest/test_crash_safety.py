"""SIGKILL at random points of an ingestion pass, then restart: the same warehouse as an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from ingestion import run_pass
from synth import generate_cohort, write_exports
from tests.lake import read_lake

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASS = "import sys; sys.path.insert(0, {root!r}); from ingestion import run_pass; run_pass({home!r}, stable_seconds=0)"


def _make_inbox(folder, seed=7):
    from centres import builtin_profiles

    profiles = builtin_profiles()
    cohort = generate_cohort(60, tuple(profiles), seed)
    write_exports(cohort, profiles, folder, error_rate=0.05, seed=seed)


def _inbox(home, source):
    # the same bytes for every run (an XLSX carries its creation time, so regenerating would differ)
    shutil.copytree(source, os.path.join(home, "inbox"), copy_function=shutil.copy2)


def state(home) -> dict:
    """Everything that matters, independent of file ids (a killed run may consume a sequence number)."""
    con = read_lake(home)
    try:
        out = {"files": con.execute(
            "SELECT centre_id, file_name, checksum_sha256, status, rows_read, rows_loaded, rows_warned, "
            "rows_rejected FROM ingest.files ORDER BY ALL").fetchall()}
        for t in ("core.patients", "core.assessments", "core.elisa_results", "core.lab_results", "quarantine.rows"):
            cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()
                    if r[0] not in ("file_id", "superseded_by_file_id")]
            out[t] = con.execute(
                f"SELECT {', '.join('t.' + c for c in cols)}, f.file_name FROM {t} t "
                f"JOIN ingest.files f USING (file_id) ORDER BY ALL").fetchall()
        out["issues"] = con.execute(
            "SELECT f.file_name, i.* EXCLUDE (file_id) FROM ingest.issues i JOIN ingest.files f USING (file_id) "
            "ORDER BY ALL").fetchall()
    finally:
        con.close()
    inbox = sorted(p for _, _, fs in os.walk(os.path.join(home, "inbox")) for p in fs)
    archived = sorted(p.split("-", 1)[1] for _, _, fs in os.walk(os.path.join(home, "archive")) for p in fs)
    out["inbox"], out["archived"] = inbox, archived
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("exports"))
    _make_inbox(folder)
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, source):
    home = str(tmp_path_factory.mktemp("ref") / "home")
    os.environ["TDM_PSEUDONYM_KEY"] = "crash-test-key-0123456789"
    _inbox(home, source)
    run_pass(home, stable_seconds=0)
    return state(home)


def _kill_after(home: str, delay: float) -> int:
    proc = subprocess.Popen([sys.executable, "-c", PASS.format(root=ROOT, home=home)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return proc.returncode


def _crash_then_restart(tmp_path, source, delays) -> dict:
    home = str(tmp_path / "home")
    _inbox(home, source)
    for d in delays:
        _kill_after(home, d)
    run_pass(home, stable_seconds=0)
    return state(home)


@pytest.mark.parametrize("delays", [(2.5,), (3.5, 1.0)])
def test_sigkill_then_restart_gives_the_uninterrupted_warehouse(tmp_path, source, reference, monkeypatch, delays):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "crash-test-key-0123456789")
    got = _crash_then_restart(tmp_path, source, delays)
    assert got["inbox"] == [] and reference["inbox"] == []
    assert got == reference


@pytest.mark.slow
@pytest.mark.parametrize("delay", [1.5 + 0.4 * i for i in range(12)])
def test_crash_loop_long(tmp_path, source, reference, monkeypatch, delay):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "crash-test-key-0123456789")
    assert _crash_then_restart(tmp_path, source, (delay,)) == reference
