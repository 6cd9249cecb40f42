"""The one path (read_raw + harmonise_raw) equals the recorded outcome of the deleted pandas reference
(``tests/one_path/recording.py``) on the whole reliability corpus, every synthetic error kind and the
centre round trips: entity rows, cell findings and file errors, exactly; and the clean round trip
equals the synthetic cohort itself (an independent truth)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from schema.relations import FINDINGS_TABLE, tables_to_frames
from centres.raw import read_raw
from centres.sql_harmonise import harmonise_raw
from base.errors import TdmError
from synth import ERROR_KINDS
from tests.centres.centre_roundtrip import assert_frames_match, truth_for
from tests.one_path.recording import (KEY, PROFILES, corpus_inputs, differences, load_recording, outcome_record,
                                      save_recording, synthetic_inputs, synthetic_runs)
from tests.reliability.corpus import CASES

RECORD = os.environ.get("TDM_RECORD_EXPECTATIONS") == "1"


def error_tuple(exc: TdmError) -> tuple:
    return (type(exc).__name__, getattr(exc, "code", None), exc.message, exc.line, exc.column,
            None if exc.value is None else str(exc.value))


def run_one_path(path: Path, centre: str, profile=None) -> tuple[dict | None, dict]:
    """(entity frames, outcome record) of one file through the one path; (None, None) without a spec."""
    profile = profile or PROFILES[centre]
    spec = profile.match(path.name)
    if spec is None:
        return None, None
    con = duckdb.connect()
    try:
        try:
            raw = read_raw(con, path, spec, path.name)
            harmonise_raw(con, raw, spec, profile, KEY)
        except TdmError as exc:
            return None, outcome_record(None, None, error_tuple(exc))
        frames = tables_to_frames(con)
        findings = con.execute(f"SELECT * FROM {FINDINGS_TABLE}").df()
    finally:
        con.close()
    return frames, outcome_record(frames, findings, None)


@pytest.fixture(scope="module")
def recording() -> dict:
    return load_recording()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[str, Path, str]]:
    return corpus_inputs(tmp_path_factory.mktemp("one_path_corpus"))


def representative(cases) -> set[str]:
    """One case per file-error code and per (centre, rules, column) of a loaded file: every way a file
    ends, in a third of the time of the whole corpus."""
    rejected, loaded = {}, {}
    for c in cases:
        if c.status == "rejected":
            rejected.setdefault(c.code, c.name)
        else:
            loaded.setdefault((c.centre, c.rules, c.column if isinstance(c.column, str) else None), c.name)
    return {f"corpus:{n}" for n in set(rejected.values()) | set(loaded.values())}


def compare(recording: dict, inputs, labels: set[str] | None = None, frames: dict | None = None) -> tuple[int, int, int]:
    """Run every input through the one path and compare with the recording; (compared, errors, loaded).
    ``frames``: filled with each file's entity frames by label."""
    report, compared, errors, loaded, new = {}, 0, 0, 0, {}
    for label, path, centre in inputs:
        if labels is not None and label not in labels:
            continue
        got_frames, got = run_one_path(path, centre)
        if got is None:
            continue
        if frames is not None:
            frames[label] = got_frames
        assert label in recording, f"{label}: no recorded outcome"
        new[label] = got
        compared += 1
        errors += "error" in got
        loaded += "error" not in got and bool(got["entities"])
        diffs = differences(recording[label], got)
        if diffs:
            report[label] = diffs
    if RECORD and report:
        save_recording({**recording, **new})
    assert not report, "\n".join(f"{k}: {v}" for k, v in report.items())
    return compared, errors, loaded


def test_representative_corpus_cases_equal_the_recording(corpus, recording):
    compared, errors, loaded = compare(recording, corpus, representative(CASES))
    # the comparison really ran: every file-error code and every loaded shape
    assert errors >= 17 and loaded >= 20, (compared, errors, loaded)


@pytest.mark.slow
def test_the_whole_reliability_corpus_equals_the_recording(corpus, recording):
    compared, errors, loaded = compare(recording, corpus)
    assert compared >= 80 and errors >= 30 and loaded >= 35, (compared, errors, loaded)


def test_every_synthetic_error_kind_equals_the_recording_and_the_round_trip_the_cohort(tmp_path_factory,
                                                                                        recording):
    cohort, runs = synthetic_runs(tmp_path_factory.mktemp("one_path_synth"))
    assert set(runs["errors"].injected["kind"]) == set(ERROR_KINDS)
    assert set(runs["cp949"].files["encoding"]) >= {"cp949"}
    inputs = synthetic_inputs(runs)
    frames: dict = {}
    compared, errors, loaded = compare(recording, inputs, frames=frames)
    assert (compared, errors, loaded) == (18, 0, 18)
    assert sum(len(recording[label]["findings"]) for label, _, _ in inputs) > 0
    # the round trip: the one path's clean frames are the cohort itself
    clean: dict[str, dict[str, list]] = {}
    for label, path, centre in inputs:
        if label.startswith("synth:clean:"):
            for entity, df in frames[label].items():
                if len(df):
                    clean.setdefault(centre, {}).setdefault(entity, []).append(df)
    for centre in ("smc", "sch", "knuh"):
        for entity, want in truth_for(cohort, centre, KEY).items():
            assert_frames_match(pd.concat(clean[centre][entity], ignore_index=True), want, entity)


def test_the_recording_holds_every_input(recording):
    """Nothing silently dropped from the recording: every corpus case with a spec and all 18 synthetic files."""
    corpus = {k for k in recording if k.startswith("corpus:")}
    assert len(corpus) >= 80 and {k.split(":", 1)[0] for k in recording} == {"corpus", "synth", "case"}
    assert sum(k.startswith("synth:") for k in recording) == 18 and "case:decimal_comma" in recording
