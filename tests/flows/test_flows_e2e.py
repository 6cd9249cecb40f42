"""The real Prefect flows end to end on a small synthetic study (one run, under the test harness)."""

from __future__ import annotations

import os
import shutil
import threading

import duckdb
import pytest

from tdm.synth import generate_cohort, write_exports
from tests.lake import read_lake


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(scope="module")
def study_home(tmp_path_factory):
    from tdm.centres import builtin_profiles

    home = tmp_path_factory.mktemp("e2e") / "home"
    profiles = builtin_profiles()
    write_exports(generate_cohort(90, tuple(profiles), 5), profiles, home / "inbox", error_rate=0.03, seed=5)
    return home


def test_ingest_then_analyse_flows(prefect_harness, study_home, monkeypatch):
    from flows.analyse import analyse_flow
    from flows.ingest import ingest_flow

    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "e2e-key-0123456789abcdef")
    summary = ingest_flow(home=str(study_home), stable_seconds=0)
    assert len(summary.files) == 6 and all(f["status"].startswith("loaded") for f in summary.files)
    assert not any((study_home / "inbox").rglob("*.*")), "every processed file is archived"
    for f in summary.files:
        assert os.path.exists(f["report_path"])
    con = read_lake(study_home)
    per_file = con.execute(
        """SELECT f.file_name, f.rows_loaded,
                  (SELECT count(DISTINCT source_line) FROM (
                      SELECT file_id, source_line FROM core.patients UNION ALL
                      SELECT file_id, source_line FROM core.assessments UNION ALL
                      SELECT file_id, source_line FROM core.elisa_results UNION ALL
                      SELECT file_id, source_line FROM core.lab_results) r WHERE r.file_id = f.file_id)
           FROM ingest.files f""").fetchall()
    n_cohort = con.execute("SELECT count(*) FROM analysis.cohort").fetchone()[0]
    con.close()
    assert all(loaded == in_tables for _, loaded, in_tables in per_file), per_file
    assert n_cohort > 50

    pub = analyse_flow(home=str(study_home), bootstrap_resamples=200)
    assert (pub.folder / "report.html").exists() if hasattr(pub.folder, "exists") else os.path.exists(pub.folder)
    con = read_lake(study_home)
    pubs = con.execute("SELECT publication_id, n_patients FROM published.publications").fetchall()
    con.close()
    assert pubs == [(pub.publication_id, n_cohort)]

    # each file's validation summary and the publication's cut-off table are Prefect artifacts
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_artifacts()}
    assert {"ingest-files", "ingest-reports", "mh-cutoff-table", "publication-report"} <= set(artifacts)
    assert "report" in artifacts["ingest-reports"].data and ".html" in artifacts["ingest-reports"].data

    # the same exports dropped again are duplicates: nothing new is loaded
    again = study_home / "inbox"
    for f in (study_home / "archive").rglob("*.*"):
        dst = again / f.parent.name / f.name.split("-", 1)[1]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dst)
    second = ingest_flow(home=str(study_home), stable_seconds=0)
    assert {f["status"] for f in second.files} == {"duplicate"}
    assert second.rows_loaded == 0


def test_one_bad_file_among_good_ones_and_concurrent_writers(tmp_path, monkeypatch):
    """Plain functions: a corrupt file is rejected with a message while the others load, and two
    centres committing at the same moment are serialised (no lock error, nothing lost)."""
    from tdm.centres import builtin_profiles
    from tdm.ingest import commit, discover, prepare, setup

    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "e2e-key-0123456789abcdef")
    home = tmp_path / "home"
    profiles = builtin_profiles()
    write_exports(generate_cohort(40, ("smc", "sch"), 9), {k: profiles[k] for k in ("smc", "sch")},
                  home / "inbox", error_rate=0.0, seed=9)
    (home / "inbox" / "smc" / "smc_broken_export.csv").write_bytes(b"PK\x03\x04 not really a csv \x00\x01")
    settings, profs, key = setup(str(home))
    found = discover(settings, list(profs), stable_seconds=0)
    prepared = [prepare(settings, profs[c.centre_id], c, key) for c in found.ready]
    results: list = []
    threads = [threading.Thread(target=lambda p=p: results.append(commit(settings, p))) for p in prepared]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_name = {r.file_name: r for r in results}
    assert by_name["smc_broken_export.csv"].status == "rejected"
    assert by_name["smc_broken_export.csv"].message
    assert all(r.status == "loaded" for n, r in by_name.items() if n != "smc_broken_export.csv")
    con = read_lake(settings)
    assert con.execute("SELECT count(*) FROM ingest.files").fetchone()[0] == len(prepared)
    assert con.execute("SELECT count(DISTINCT centre_id) FROM core.patients").fetchone()[0] == 2
    con.close()
