"""The one path (read_raw + harmonise_raw) against the reference path (read_export + harmonise) on the
whole reliability corpus, every synthetic error kind and the centre round trips: entity frames, cell
findings and file errors must agree exactly (``tests/one_path/differential.py``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tdm.centres import builtin_profiles
from tdm.synth import ERROR_KINDS, generate_cohort, write_exports
from tests.centres.centre_roundtrip import assert_frames_match, truth_for
from tests.one_path.differential import differences, one_path, reference
from tests.reliability.conftest import slots
from tests.reliability.corpus import CASES, Sources

KEY = b"one-path-differential-key-0123456789"
PROFILES = builtin_profiles()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[str, Path, str]]:
    folder = tmp_path_factory.mktemp("one_path_corpus")
    sources = Sources.build(folder / "clean", n_patients=360, seed=5)
    slot = slots(CASES)
    out = []
    for c in CASES:
        path = folder / c.centre / c.name / c.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(c.build(sources, slot[c.name]))
        out.append((c.name, path, c.centre))
    return out


def _compare(path: Path, centre: str) -> tuple[list[str], object, object]:
    profile = PROFILES[centre]
    spec = profile.match(path.name)
    if spec is None:
        return [], None, None
    ref, new = reference(path, spec, profile, KEY), one_path(path, spec, profile, KEY)
    return differences(ref, new), ref, new


def representative(cases) -> set[str]:
    """One case per file-error code and per (centre, rules, column) of a loaded file: every way a file
    ends, in a third of the time of the whole corpus."""
    rejected, loaded = {}, {}
    for c in cases:
        if c.status == "rejected":
            rejected.setdefault(c.code, c.name)
        else:
            loaded.setdefault((c.centre, c.rules, c.column if isinstance(c.column, str) else None), c.name)
    return set(rejected.values()) | set(loaded.values())


def _agree(corpus, names: set[str] | None = None) -> tuple[int, int, int]:
    report, compared, errors, loaded = {}, 0, 0, 0
    for name, path, centre in corpus:
        if names is not None and name not in names:
            continue
        diffs, ref, new = _compare(path, centre)
        if ref is None:
            continue
        compared += 1
        if ref.error:
            errors += 1
        else:
            loaded += 1
            assert any(len(df) for df in new.frames.values() if df is not None), name
        if diffs:
            report[name] = diffs
    assert not report, "\n".join(f"{k}: {v}" for k, v in report.items())
    return compared, errors, loaded


def test_representative_corpus_cases_agree(corpus):
    compared, errors, loaded = _agree(corpus, representative(CASES))
    # the comparison really ran on both sides: every file-error code and every loaded shape
    assert errors >= 17 and loaded >= 20, (compared, errors, loaded)


@pytest.mark.slow
def test_the_whole_reliability_corpus_agrees(corpus):
    compared, errors, loaded = _agree(corpus)
    assert compared >= 80 and errors >= 30 and loaded >= 35, (compared, errors, loaded)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Every synthetic error kind (at least one of each per centre), the sch layout as a CP949 CSV (a
    non-UTF-8 file, transcoded while read), and a clean export for the round trip."""
    folder = tmp_path_factory.mktemp("one_path_synth")
    cohort = generate_cohort(60, ("smc", "sch", "knuh"), 11)
    runs = {"errors": write_exports(cohort, PROFILES, folder / "errors", error_rate=0.25, seed=11),
            "cp949": write_exports(cohort, PROFILES, folder / "cp949", error_rate=0.25, seed=12,
                                   file_format={"sch": "csv"}, encoding={"sch": "cp949"}),
            "clean": write_exports(cohort, PROFILES, folder / "clean", error_rate=0.0, seed=11)}
    return cohort, runs


def test_every_synthetic_error_kind_and_round_trip_agrees(synthetic):
    cohort, runs = synthetic
    assert set(runs["errors"].injected["kind"]) == set(ERROR_KINDS)
    assert set(runs["cp949"].files["encoding"]) >= {"cp949"}
    report, files, findings = {}, 0, 0
    clean: dict[str, dict[str, list]] = {}
    for kind, m in runs.items():
        for r in m.files.itertuples():
            diffs, ref, new = _compare(Path(r.file), r.centre_id)
            assert ref is not None and ref.error is None, (kind, r.file, ref and ref.error)
            files += 1
            findings += len(new.findings)
            assert sum(len(df) for df in new.frames.values()) > 0, (kind, r.file)
            if diffs:
                report[f"{kind}:{Path(r.file).name}"] = diffs
            if kind == "clean":
                for entity, df in new.frames.items():
                    if len(df):
                        clean.setdefault(r.centre_id, {}).setdefault(entity, []).append(df)
    assert not report, "\n".join(f"{k}: {v}" for k, v in report.items())
    assert files == 18 and findings > 0
    # the round trip: the one path's clean frames are the cohort itself (an independent truth)
    for centre in ("smc", "sch", "knuh"):
        truth = truth_for(cohort, centre, KEY)
        for entity, want in truth.items():
            got = pd.concat(clean[centre][entity], ignore_index=True)
            assert_frames_match(got, want, entity)
