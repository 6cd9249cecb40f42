"""The cross-centre rule under any interleaving: the same raw study number sent by two centres in
the same pass is flagged ``patient_in_other_centre`` for the centre that commits second, exactly as
when the centres run one after the other (issue 13, item 3)."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

import ingestion as ingest
import ingestion.writer as stages
from tests.reliability.conftest import KEY
from tests.reliability.corpus import set_cell, utf8
from tests.lake import read_lake

SHARED = "TDM-RACE-007"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)


def _files(sources) -> dict[str, tuple[str, bytes]]:
    """One file per centre with the shared raw study number on file line 3 (smc: wide CSV, the columnar
    path; knuh: a baseline file, the reference path)."""
    smc = utf8(set_cell(sources.smc_slot(5), "patient_id", SHARED))
    lines = sources.knuh_baseline.decode("utf-8-sig").splitlines()
    lines[2] = SHARED + lines[2][lines[2].index(","):]
    return {"smc": ("smc_race.csv", smc),
            "knuh": ("knuh_race_baseline.csv", ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))}


def _drop(home: Path, files) -> dict[str, Path]:
    out = {}
    for centre, (name, data) in files.items():
        p = home / "inbox" / centre / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        out[centre] = p
    return out


def _outcome(home: Path) -> dict:
    """Per centre: status, loaded/rejected counts and the cross-centre findings (line, message)."""
    con = read_lake(home)
    try:
        files = con.execute("SELECT centre_id, status, rows_loaded, rows_rejected FROM ingest.files").fetchall()
        issues = con.execute("SELECT f.centre_id, i.source_line, i.message FROM ingest.issues i JOIN ingest.files f "
                             "USING (file_id) WHERE i.rule = 'patient_in_other_centre' ORDER BY 1, 2").fetchall()
        holders = con.execute("SELECT count(DISTINCT centre_id) FROM core.patients WHERE patient_id IN (SELECT "
                              "patient_id FROM ingest.issues WHERE rule = 'patient_in_other_centre')").fetchone()[0]
    finally:
        con.close()
    return {"files": sorted(files), "issues": issues, "holders": holders}


def _candidate(path: Path, centre: str) -> ingest.Candidate:
    st = path.stat()
    return ingest.Candidate(centre, path, st.st_size, st.st_mtime)


def _sequential(tmp_path: Path, sources, order: tuple[str, str]) -> dict:
    home = tmp_path / ("seq-" + "-".join(order))
    files = _files(sources)
    for centre in order:                      # one pass per centre: the second sees the first's rows
        _drop(home, {centre: files[centre]})
        ingest.run_pass(str(home), stable_seconds=0)
    return _outcome(home)


@pytest.mark.parametrize("order", [("smc", "knuh"), ("knuh", "smc")], ids=["smc-first", "knuh-first"])
def test_both_prepared_before_either_commits_gives_the_sequential_outcome(tmp_path, sources, order):
    """The worst interleaving, made deterministic: both files are prepared against the same empty
    warehouse, then committed one after the other (each decided under the lock)."""
    home = tmp_path / "home"
    paths = _drop(home, _files(sources))
    settings, profiles, key = ingest.setup(str(home))
    prepared = {c: ingest.prepare(settings, profiles[c], _candidate(paths[c], c), key) for c in order}
    for c in order:
        ingest.commit(settings, prepared[c])
    got = _outcome(home)
    assert [i[0] for i in got["issues"]] == [order[1]]          # the centre that committed second
    assert got["issues"][0][1] == 3 and "already registered by centre " + order[0] in got["issues"][0][2]
    assert got["holders"] == 1                                    # never loaded at both centres
    assert got == _sequential(tmp_path, sources, order)


def test_two_centres_in_the_same_parallel_pass(tmp_path, sources, monkeypatch):
    """Threads as in the flow, each centre's file held after its preparation until both are prepared."""
    home = tmp_path / "home"
    _drop(home, _files(sources))
    barrier = threading.Barrier(2, timeout=60)
    waited: set[str] = set()
    real = stages.prepare

    def prepare(settings, profile, candidate, key):
        prepared = real(settings, profile, candidate, key)
        if candidate.centre_id not in waited:      # each centre's first file: before any commit
            waited.add(candidate.centre_id)
            barrier.wait()
        return prepared

    monkeypatch.setattr(stages, "prepare", prepare)
    settings, profiles, key = ingest.setup(str(home))
    found = ingest.discover(settings, list(profiles), stable_seconds=0)
    out: list = []
    threads = [threading.Thread(target=lambda c=c: out.append(ingest.process_file_guarded(settings, profiles[c.centre_id],
                                                                                          c, key)))
               for c in found.ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(c.status for c in out) == ["loaded", "loaded_with_rejections"]
    got = _outcome(home)
    assert len(got["issues"]) == 1 and got["holders"] == 1
    first = next(c.centre_id for c in out if c.status == "loaded")
    assert got == _sequential(tmp_path, sources, (first, ({"smc", "knuh"} - {first}).pop()))
