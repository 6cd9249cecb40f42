"""Load: 20 centres dropping files at once, the same file twice, a file replaced while it is being
read, two ingestion passes racing each other - every distinct content is processed exactly once."""

from __future__ import annotations

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

ROOT = str(Path(__file__).resolve().parents[2])
N_CENTRES = 20
PASS = "import sys; sys.path.insert(0, {root!r}); from ingestion import run_pass; run_pass({home!r}, stable_seconds=0)"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)


def _centres(home: Path, n: int = N_CENTRES) -> list[str]:
    """n copies of the smc profile under other centre ids (the profile file name is the centre id)."""
    src = (Path(ROOT) / "centres" / "builtin" / "smc.yaml").read_text(encoding="utf-8")
    (home / "centres").mkdir(parents=True, exist_ok=True)
    ids = [f"c{i:02d}" for i in range(1, n + 1)]
    for c in ids:
        (home / "centres" / f"{c}.yaml").write_text(src.replace("centre_id: smc", f"centre_id: {c}"), encoding="utf-8")
    return ids


def _q(home: Path, sql: str, params=()) -> list[tuple]:
    con = read_lake(home)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _inbox_files(home: Path) -> list[Path]:
    return [p for p in (home / "inbox").rglob("*") if p.is_file()]


def test_twenty_centres_at_once_with_two_racing_passes(tmp_path, sources):
    home = tmp_path / "home"
    ids = _centres(home)
    contents = {}
    for i, c in enumerate(ids):
        data = utf8(sources.smc_slot(1 + i))
        (home / "inbox" / c).mkdir(parents=True)
        (home / "inbox" / c / f"{c}_export.csv").write_bytes(data)
        contents[f"{c}_export.csv"] = data
    # the same file twice: a renamed copy in the same inbox
    (home / "inbox" / "c01" / "c01_export (copy).csv").write_bytes(contents["c01_export.csv"])
    ingest.setup(str(home))                 # migrate once, so the racing passes start together

    env = dict(os.environ, TDM_PSEUDONYM_KEY=KEY)
    procs = [subprocess.Popen([sys.executable, "-c", PASS.format(root=ROOT, home=str(home))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]          # neither pass crashes on the other's work
    ingest.run_pass(str(home), stable_seconds=0)       # anything deferred by the race is picked up now

    assert _inbox_files(home) == []
    files = _q(home, "SELECT centre_id, file_name, status, checksum_sha256, rows_loaded FROM ingest.files")
    assert len(files) == N_CENTRES + 1                # one row per inbox file: no file recorded twice
    by_status = {}
    for f in files:
        by_status.setdefault(f[2], []).append(f)
    assert len(by_status["loaded"]) == N_CENTRES and len(by_status["duplicate"]) == 1
    assert set(by_status) == {"loaded", "duplicate"}
    assert len({f[3] for f in by_status["loaded"]}) == N_CENTRES       # each distinct content loaded once
    assert by_status["duplicate"][0][0] == "c01" and by_status["duplicate"][0][4] == 0
    assert {f[1] for f in files if f[0] == "c01"} == {"c01_export.csv", "c01_export (copy).csv"}
    # no double-loaded rows: 3 patients per centre, each key current once, all from one file each
    assert _q(home, "SELECT count(*) FROM core.patients") == [(3 * N_CENTRES,)]
    assert _q(home, "SELECT centre_id, patient_id FROM core.patients WHERE is_current "
                    "GROUP BY ALL HAVING count(*) > 1") == []
    assert _q(home, "SELECT count(DISTINCT centre_id) FROM core.patients") == [(N_CENTRES,)]
    archived = [p for p in (home / "archive").rglob("*") if p.is_file()]
    assert len(archived) == N_CENTRES + 1


def test_a_file_replaced_while_being_read_is_read_again_once(tmp_path, sources, monkeypatch):
    home = tmp_path / "home"
    inbox = home / "inbox" / "smc"
    inbox.mkdir(parents=True)
    first, second = utf8(sources.smc_slot(1)), utf8(sources.smc_slot(2))
    (inbox / "smc_export.csv").write_bytes(first)
    (inbox / "smc_other.csv").write_bytes(utf8(sources.smc_slot(3)))

    import ingestion.read as reading

    real = reading.read_raw
    replaced = []

    def read_then_replace(con, path, spec, *a, **kw):
        raw = real(con, path, spec, *a, **kw)
        if Path(path).name == "smc_export.csv" and not replaced:     # the sender replaces it mid-read
            tmp = Path(path).with_name(".smc_export.csv.part")
            tmp.write_bytes(second)
            os.replace(tmp, path)
            replaced.append(path)
        return raw

    monkeypatch.setattr(reading, "read_raw", read_then_replace)
    out = {c.file_name: c for c in ingest.run_pass(str(home), stable_seconds=0)}
    assert out["smc_export.csv"].status == "not_ready" and "changed while it was being read" in \
        out["smc_export.csv"].message
    assert out["smc_other.csv"].status == "loaded"                   # the rest of the pass goes on
    assert (inbox / "smc_export.csv").read_bytes() == second         # left in the inbox, nothing recorded
    assert _q(home, "SELECT count(*) FROM ingest.files WHERE file_name = 'smc_export.csv'") == [(0,)]

    out = {c.file_name: c for c in ingest.run_pass(str(home), stable_seconds=0)}
    assert out["smc_export.csv"].status == "loaded"
    assert ingest.run_pass(str(home), stable_seconds=0) == []
    rows = _q(home, "SELECT checksum_sha256, status FROM ingest.files WHERE file_name = 'smc_export.csv'")
    import hashlib

    assert rows == [(hashlib.sha256(second).hexdigest(), "loaded")]   # the content actually loaded
    ids_first = {r[0] for r in sources.smc_slot(1)[1:]}
    stored = {r[0] for r in _q(home, "SELECT p.patient_id FROM core.patients p JOIN ingest.files f USING (file_id) "
                                     "WHERE f.file_name = 'smc_export.csv'")}
    assert len(stored) == 3 and not (stored & ids_first)             # pseudonyms only; never the first version
    assert _q(home, "SELECT count(*) FROM core.patients") == [(6,)]


def test_a_file_replaced_between_validation_and_load_is_not_loaded(tmp_path, sources):
    home = tmp_path / "home"
    inbox = home / "inbox" / "smc"
    inbox.mkdir(parents=True)
    path = inbox / "smc_export.csv"
    path.write_bytes(utf8(sources.smc_slot(1)))
    settings, profiles, key = ingest.setup(str(home))
    cand = ingest.discover(settings, list(profiles), stable_seconds=0).ready[0]
    prepared = ingest.prepare(settings, profiles["smc"], cand, key)
    assert prepared.error is None
    path.write_bytes(utf8(sources.smc_slot(2)) + b"\n")            # rewritten before the single writer runs
    os.utime(path, (cand.mtime + 5, cand.mtime + 5))
    committed = ingest.commit(settings, prepared)
    assert committed.status == "not_ready" and committed.file_id is None
    assert ingest.archive_file(cand, committed) is None and path.exists()
    assert _q(home, "SELECT count(*) FROM ingest.files") == [(0,)]


def test_a_file_still_being_written_waits_then_loads_once(tmp_path, sources):
    """Discovery's stability check: a file whose mtime is recent is left for a later pass; a sender's
    temporary name (*.part) is never picked up; once complete, it is loaded exactly once."""
    home = tmp_path / "home"
    inbox = home / "inbox" / "smc"
    inbox.mkdir(parents=True)
    data = utf8(sources.smc_slot(1))
    growing = inbox / "smc_export.csv"
    growing.write_bytes(data[: len(data) // 2])                    # half written, just now
    part = inbox / "smc_other.csv.part"
    part.write_bytes(utf8(sources.smc_slot(2)))
    old = growing.stat().st_mtime - 60
    os.utime(part, (old, old))                                     # old, but still a temporary name

    assert ingest.run_pass(str(home), stable_seconds=5) == []
    settings, profiles, _ = ingest.setup(str(home))
    found = ingest.discover(settings, list(profiles), stable_seconds=5)
    assert [p.name for p in found.waiting] == ["smc_export.csv"] and found.ready == ()
    assert _q(home, "SELECT count(*) FROM ingest.files") == [(0,)]

    growing.write_bytes(data)                                      # the sender finishes...
    part.rename(inbox / "smc_other.csv")                           # ...and renames its temporary file
    for p in (growing, inbox / "smc_other.csv"):
        os.utime(p, (old, old))                                    # and 60 s pass
    out = ingest.run_pass(str(home), stable_seconds=5)
    assert sorted((c.file_name, c.status) for c in out) == [("smc_export.csv", "loaded"), ("smc_other.csv", "loaded")]
    assert ingest.run_pass(str(home), stable_seconds=5) == []
    assert _q(home, "SELECT file_name, rows_loaded FROM ingest.files ORDER BY 1") == [("smc_export.csv", 3),
                                                                                     ("smc_other.csv", 3)]
