"""Every error kind the synthetic generator can inject is caught by a named rule, and a clean cohort
yields no error at all.  Files are processed the way the ingestion pass does it: baseline (or wide)
files first, then visits, ELISA and labs, each validated against what was accepted before."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

synth = pytest.importorskip("synth", reason="synth (the synthetic generator) is not available")

from centres import adapt_file, builtin_profiles  # noqa: E402
from validators import RULES, ValidationContext, validate_file  # noqa: E402

KEY = b"validator-test-key-0123456789abcdef"
KIND_ORDER = {"wide": 0, "baseline": 0, "visit": 1, "elisa": 2, "labs_long": 3}

#: generator error kind -> the rule that must flag its (file, line)
KIND_TO_RULE = {
    "unit_mixup": "unit_mixup",
    "code_typo": "unknown_code",
    "swapped_dates": "date_order",
    "missing_required": "required",
    "duplicate_row": "duplicate_row",
    "out_of_range_lab": "lab_value_implausible",
    "orphan_visit": "orphan_record",
    "trough_after_infusion": "trough_after_infusion",
    "negative_trough": "range",
}


def test_every_error_kind_is_mapped_to_a_registered_rule():
    assert set(KIND_TO_RULE) == set(synth.ERROR_KINDS), "map every generator error kind to a rule"
    assert set(KIND_TO_RULE.values()) <= set(RULES)


def _validate_centre(manifest, profiles, centre):
    """Validate a centre's files in ingestion order; returns {file path: ValidationResult}."""
    files = manifest.files[manifest.files["centre_id"] == centre].copy()
    files["_o"] = files["kind"].map(KIND_ORDER).fillna(9)
    known = pd.DataFrame({"centre_id": pd.Series(dtype="str"), "patient_id": pd.Series(dtype="str")})
    existing = pd.DataFrame({"centre_id": pd.Series(dtype="str"), "patient_id": pd.Series(dtype="str"),
                             "colonoscopy_date": pd.Series(dtype="datetime64[us]"),
                             "infusion_date": pd.Series(dtype="datetime64[us]")})
    out = {}
    for rec in files.sort_values("_o", kind="stable").itertuples():
        a = adapt_file(rec.file, profiles[centre], KEY)
        ctx = ValidationContext(centre_id=centre, file_name=rec.file_name, file_kind=a.kind, known_patients=known,
                                existing_assessments=existing, today=dt.date(2026, 11, 1))
        r = validate_file(a.frames, a.cell_issues, ctx)
        out[rec.file_name] = r
        p = r.accepted["patient"]
        if len(p):
            known = pd.concat([known, p[["centre_id", "patient_id"]]], ignore_index=True)
        s = r.accepted["assessment"]
        if len(s):
            existing = pd.concat([existing, s[["centre_id", "patient_id", "colonoscopy_date", "infusion_date"]]],
                                 ignore_index=True)
    return out


@pytest.fixture(scope="module")
def injected_run(tmp_path_factory):
    """One cohort with every error kind injected, validated once (keeps the suite fast)."""
    out = tmp_path_factory.mktemp("synth-errors")
    cohort = synth.generate_cohort(36, seed=11)
    profiles = builtin_profiles()
    manifest = synth.write_exports(cohort, profiles, out, error_rate=0.5, seed=11)
    results = {}
    for centre in cohort.centres:
        results.update(_validate_centre(manifest, profiles, centre))
    return manifest, results


@pytest.mark.parametrize("kind", sorted(KIND_TO_RULE))
def test_injected_error_kind_is_caught(kind, injected_run):
    manifest, results = injected_run
    inj = manifest.injected[manifest.injected["kind"] == kind]
    assert len(inj), f"the generator injected no {kind}"
    rule = KIND_TO_RULE[kind]
    missed = []
    for rec in inj.itertuples():
        iss = results[rec.file.split("/")[-1]].issues
        hit = iss[(iss["rule"] == rule) & (iss["source_line"] == rec.source_line)]
        if hit.empty:
            missed.append((rec.file.split("/")[-1], rec.source_line, rec.entity, rec.column,
                           sorted(set(iss.loc[iss["source_line"] == rec.source_line, "rule"]))))
    assert not missed, f"{kind}: not flagged by {rule}: {missed}"


def test_clean_cohort_has_no_error(tmp_path):
    cohort = synth.generate_cohort(40, seed=5)
    profiles = builtin_profiles()
    manifest = synth.write_exports(cohort, profiles, tmp_path, error_rate=0.0, seed=5)
    assert manifest.injected.empty
    for centre in cohort.centres:
        for path, r in _validate_centre(manifest, profiles, centre).items():
            errors = r.issues[r.issues["severity"] != "warning"]
            assert errors.empty, f"{path}: false errors\n{errors.head(20).to_string()}"
            assert r.rows_rejected == 0 and r.file_error is None
