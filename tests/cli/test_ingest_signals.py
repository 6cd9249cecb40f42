"""SIGINT / SIGTERM during ``tdm ingest``: the file in hand is finished, the rest stays in the
inbox, one line says so, and the exit code is 130 / 143 (so cron and scripts can tell)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ingestion as ingest
from tdm.cli import main
from base.runtime import STOP

ROOT = Path(__file__).resolve().parents[2]
KEY = "signal-test-key-0123456789abcdef"


def _home_with_files(tmp_path, monkeypatch, n: int) -> Path:
    from centres.profile import load_profiles
    from synth import generate_cohort, write_exports

    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)
    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0
    profiles = load_profiles(home / "centres")
    for i in range(n):
        write_exports(generate_cohort(10, ("smc",), i), {"smc": profiles["smc"]}, tmp_path / f"s{i}", seed=i)
        (src,) = (tmp_path / f"s{i}" / "smc").iterdir()
        dst = home / "inbox" / "smc" / f"export_{i}.csv"
        dst.write_bytes(src.read_bytes())
        os.utime(dst, (time.time() - 60 + i, time.time() - 60 + i))
    return home


def test_a_requested_stop_leaves_the_files_in_the_inbox(tmp_path, monkeypatch, capsys):
    home = _home_with_files(tmp_path, monkeypatch, 2)
    STOP.set()
    try:
        assert ingest.run_pass(str(home), stable_seconds=0) == []
    finally:
        STOP.clear()
    assert len(list((home / "inbox" / "smc").iterdir())) == 2
    assert len(ingest.run_pass(str(home), stable_seconds=0)) == 2


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143),
                                       pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_tdm_ingest_after_the_current_file(sig, code, tmp_path, monkeypatch, capsys):
    n = 5
    home = _home_with_files(tmp_path, monkeypatch, n)
    capsys.readouterr()
    # the session's Prefect home (tests/conftest.py): migrated once, kept between runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") or k == "PREFECT_HOME"}
    env.update(TDM_HOME=str(home), TDM_PSEUDONYM_KEY=KEY, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", "from tdm.cli import run; run()", "ingest", "--stable-seconds", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()          # not a terminal: one plain line per finished file
        assert first.startswith("smc/export_0.csv: loaded"), first
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    stopped = [ln for ln in err.splitlines() if ln.startswith("stopped by")]
    assert len(stopped) == 1 and f"stopped by {signal.Signals(sig).name} after the current file" in stopped[0]
    left = len(list((home / "inbox" / "smc").iterdir()))
    archived = len(list((home / "archive" / "smc").iterdir()))
    assert left >= 1 and archived >= 1 and left + archived == n
    assert f"{left} complete file(s) left in the inbox" in stopped[0]
    assert "Traceback" not in err
