"""The set-wise SQL rules against the pandas rules' recorded findings on real adapter output: every
synthetic error kind (synth, all centres and file kinds, ingested in order with the warehouse
context growing) and every loadable case of the reliability corpus (tests/reliability/corpus.py).
Each file's findings must be the recorded ones, and something must be found where the input has
rule errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from centres import adapt_file, builtin_profiles
from synth import ERROR_KINDS, generate_cohort, write_exports
from tests.reliability.corpus import CASES, Sources
from tests.validators.setwise_diff import check_recorded
from validators import ValidationContext

KEY = b"validator-test-key-0123456789abcdef"
KIND_ORDER = {"wide": 0, "baseline": 0, "visit": 1, "elisa": 2, "labs_long": 3}
TODAY = dt.date(2026, 11, 1)
#: the synthetic error kinds that the cross-record rules (not the adapter or the dictionary) catch
RULE_KINDS = {"swapped_dates": "date_order", "duplicate_row": "duplicate_row", "orphan_visit": "orphan_record",
              "trough_after_infusion": "trough_after_infusion"}


def _compare_centre(files: pd.DataFrame, profile, centre: str) -> list[tuple[str, int, set[str]]]:
    """Adapt a centre's files in ingestion order; assert both sides agree per file. Returns
    (file, number of findings, rules found) per file."""
    known = pd.DataFrame({c: pd.Series(dtype="object") for c in ("centre_id", "patient_id")})
    existing = pd.DataFrame({"centre_id": pd.Series(dtype="object"), "patient_id": pd.Series(dtype="object"),
                             "colonoscopy_date": pd.Series(dtype="datetime64[us]"),
                             "infusion_date": pd.Series(dtype="datetime64[us]")})
    out = []
    files = files.assign(_o=files["kind"].map(KIND_ORDER).fillna(9)).sort_values("_o", kind="stable")
    for rec in files.itertuples():
        a = adapt_file(rec.file, profile, KEY)
        ctx = ValidationContext(centre_id=centre, file_name=rec.file_name, file_kind=a.kind, known_patients=known,
                                existing_assessments=existing, today=TODAY)
        n = len(check_recorded(f"synthetic:{centre}:{rec.file_name}", a.frames, ctx))
        out.append((rec.file_name, n))
        p = a.frames.get("patient")
        if p is not None and len(p):
            cols = ["centre_id", "patient_id", "birth_date", "diagnosis_date", "ifx_start_date"]
            known = pd.concat([known, p[cols]], ignore_index=True) if len(known) else p[cols]
        s = a.frames.get("assessment")
        if s is not None and len(s):
            cols = ["centre_id", "patient_id", "colonoscopy_date", "infusion_date"]
            existing = pd.concat([existing, s[cols]], ignore_index=True)
    return out


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("setwise-synth")
    cohort = generate_cohort(36, seed=11)
    profiles = builtin_profiles()
    return cohort, profiles, write_exports(cohort, profiles, out, error_rate=0.5, seed=11, kinds=list(ERROR_KINDS))


@pytest.mark.parametrize("centre", ["smc", "sch", "knuh"])
def test_synthetic_error_kinds_agree(centre, synthetic):
    cohort, profiles, manifest = synthetic
    files = manifest.files[manifest.files["centre_id"] == centre]
    assert len(files)
    results = _compare_centre(files, profiles[centre], centre)
    # both sides found the injected rule errors of this centre (the comparison above is exact)
    inj = manifest.injected[(manifest.injected["kind"].isin(list(RULE_KINDS)))
                            & manifest.injected["file"].isin(list(files["file"]))]
    with_findings = {name for name, n in results if n}
    for rec in inj.itertuples():
        assert rec.file.split("/")[-1] in with_findings, f"{rec.kind} in {rec.file}: no finding on either side"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tmp_path_factory.mktemp("setwise-corpus"), Sources.build(tmp_path_factory.mktemp("clean"), n_patients=360,
                                                                    seed=5)


def _corpus_agrees(corpus, every: int) -> tuple[int, int]:
    """Compare every ``every``-th loadable case: (cases compared, cases with findings)."""
    folder, sources = corpus
    profiles = builtin_profiles()
    counters = {"smc": 1, "sch": 1, "knuh": 1}
    known_knuh = adapt_file(_write(folder, "knuh", "knuh_baseline.csv", sources.knuh_baseline), profiles["knuh"],
                            KEY).frames["patient"][["centre_id", "patient_id"]]
    compared, with_findings, loadable = 0, 0, 0
    for case in CASES:
        slot = counters[case.centre]
        counters[case.centre] += 1
        if not case.loaded:
            continue
        loadable += 1
        if (loadable - 1) % every:
            continue
        path = _write(folder, case.centre, case.file_name, case.build(sources, slot))
        a = adapt_file(path, profiles[case.centre], KEY)
        ctx = ValidationContext(centre_id=case.centre, file_name=case.file_name, file_kind=a.kind, today=TODAY,
                                known_patients=known_knuh if case.centre == "knuh" else
                                ValidationContext(case.centre).known_patients)
        n = len(check_recorded(f"corpus:{case.name}", a.frames, ctx))
        compared += 1
        with_findings += bool(n)
    return compared, with_findings


def test_reliability_corpus_sample_agrees(corpus):
    """Every 8th loadable case (fast); the whole corpus is the slow variant below."""
    compared, _ = _corpus_agrees(corpus, 8)
    assert compared >= 4


@pytest.mark.slow
def test_reliability_corpus_agrees(corpus):
    compared, with_findings = _corpus_agrees(corpus, 1)
    assert compared >= 20 and with_findings >= 1


def _write(folder, centre: str, name: str, data: bytes):
    path = folder / centre / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
