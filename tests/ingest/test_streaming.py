"""Large files are streamed in chunks inside one transaction: same warehouse as the in-memory path."""

from __future__ import annotations

import os
import shutil

import pytest

import tdm.ingest as ingest
from tdm.ingest import run_pass
from tdm.synth import generate_cohort, write_exports
from tests.ingest.test_crash_safety import state


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    from tdm.centres import builtin_profiles

    folder = tmp_path_factory.mktemp("exports")
    profiles = {"knuh": builtin_profiles()["knuh"]}
    write_exports(generate_cohort(80, ("knuh",), 11), profiles, folder, error_rate=0.0, seed=11)
    return folder


def _run(tmp_path, exports, monkeypatch, *, stream: bool) -> dict:
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "stream-test-key-0123456789")
    monkeypatch.setattr(ingest, "STREAM_THRESHOLD_BYTES", 0 if stream else 10**12)
    monkeypatch.setattr(ingest, "STREAM_CHUNK_ROWS", 97)   # many chunks, boundaries mid-patient
    home = tmp_path / ("stream" if stream else "memory")
    shutil.copytree(exports, home / "inbox")
    run_pass(str(home), stable_seconds=0)
    return state(str(home))


def test_streamed_and_in_memory_loads_are_identical(tmp_path, exports, monkeypatch):
    streamed = _run(tmp_path, exports, monkeypatch, stream=True)
    memory = _run(tmp_path, exports, monkeypatch, stream=False)
    assert streamed["core.lab_results"] and streamed == memory


def test_a_bad_chunk_rejects_the_whole_streamed_file(tmp_path, exports, monkeypatch):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "stream-test-key-0123456789")
    monkeypatch.setattr(ingest, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(ingest, "STREAM_CHUNK_ROWS", 50)
    home = tmp_path / "h"
    shutil.copytree(exports, home / "inbox")
    labs = next((home / "inbox" / "knuh").glob("*lis*"))
    data = labs.read_bytes()
    cut = data.index(b"\n", len(data) // 2)
    labs.write_bytes(data[:cut] + b"\n\xff\xfe broken bytes\n" + data[cut + 1:])  # invalid UTF-8 late in the file
    out = {c.file_name: c for c in run_pass(str(home), stable_seconds=0)}
    bad = out[labs.name]
    assert bad.status == "rejected" and "decoded" in bad.message
    got = state(str(home))
    assert not [r for r in got["core.lab_results"] if r[-1] == labs.name]   # no partial chunks kept
    assert any(r[1] == "visits" or "visit" in r[1] for r in got["files"]) or got["core.assessments"]
