"""analysis.cohort reproduces Table-1 style summaries of a synthetic study, checked against the
generator's ground truth computed independently here with pandas."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingestion import run_pass
from centres.privacy import pseudonymise
from synth import generate_cohort, write_exports
from tests.lake import read_lake

KEY = "cohort-truth-key-0123456789"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from centres import builtin_profiles

    mp = pytest.MonkeyPatch()
    mp.setenv("TDM_PSEUDONYM_KEY", KEY)
    home = tmp_path_factory.mktemp("truth") / "home"
    profiles = builtin_profiles()
    cohort = generate_cohort(240, tuple(profiles), 21)
    write_exports(cohort, profiles, home / "inbox", error_rate=0.0, seed=21)
    run_pass(str(home), stable_seconds=0)
    con = read_lake(home)
    got = con.execute("SELECT * FROM analysis.cohort").df()
    every = con.execute("SELECT patient_id, centre_id, eligible FROM analysis.cohort_all").df()
    con.close()
    mp.undo()
    return cohort, got, every


def _truth_table(cohort) -> pd.DataFrame:
    """The analysis cohort from the ground truth, with the paper's definitions re-implemented."""
    p, a, e, labs = cohort.patients, cohort.assessments, cohort.elisa, cohort.labs
    t = p.merge(a, on=["centre_id", "patient_id"]).merge(e, on=["centre_id", "patient_id"], how="left")
    t = t[t["truth_exclusion"].isna()].copy()
    t["patient_id"] = pseudonymise(t["patient_id"], KEY.encode())
    # labs: same day as the infusion, else the latest within 7 days before it
    lab = labs.merge(a[["centre_id", "patient_id", "infusion_date"]], on=["centre_id", "patient_id"])
    lab = lab[(lab["sample_date"] <= lab["infusion_date"])
              & (lab["sample_date"] >= lab["infusion_date"] - pd.Timedelta(days=7))]
    lab = lab.sort_values("sample_date").groupby(["centre_id", "patient_id", "analyte"]).tail(1)
    crp = lab[lab["analyte"] == "crp_mg_dl"][["centre_id", "patient_id", "value"]]
    crp = crp.assign(patient_id=pseudonymise(crp["patient_id"], KEY.encode())).rename(columns={"value": "crp"})
    t = t.merge(crp, on=["centre_id", "patient_id"], how="left")
    years = lambda a_, b_: (t[b_] - t[a_]).dt.days / 365.25  # noqa: E731
    t["age_dx"] = years("birth_date", "diagnosis_date")
    t["dx_to_ifx"] = years("diagnosis_date", "ifx_start_date")
    t["trough_a"] = np.where(t["trough_censor"] == "<", t["lloq_ug_ml"] / 2, t["trough_ug_ml"])
    return t


def test_cohort_membership_matches_the_truth(study):
    cohort, got, every = study
    truth = _truth_table(cohort)
    assert set(zip(got.centre_id, got.patient_id)) == set(zip(truth.centre_id, truth.patient_id))
    excluded = cohort.patients["truth_exclusion"].notna().sum()
    assert (~every["eligible"]).sum() == excluded


def test_table1_summaries_match_the_truth(study):
    cohort, got, _ = study
    t = _truth_table(cohort)
    assert len(got) == len(t)
    assert (got["sex"] == "M").sum() == (t["sex"] == "M").sum()
    assert got["age_at_diagnosis_years"].median() == pytest.approx(t["age_dx"].median(), abs=1e-9)
    assert got["diagnosis_to_ifx_years"].quantile([.25, .5, .75]).tolist() == pytest.approx(
        t["dx_to_ifx"].quantile([.25, .5, .75]).tolist(), abs=1e-9)
    assert got["mucosal_healing"].sum() == (t["ses_cd_total"] == 0).sum()
    assert got["partial_mucosal_healing"].sum() == (t["ses_cd_total"] < 3).sum()
    assert got["clinical_remission"].sum() == (t["pcdai"] < 10).sum()
    assert got["biochemical_remission"].sum() == (t["crp"] < 0.3).sum()
    assert got["crp_mg_dl"].median() == pytest.approx(t["crp"].median(), rel=1e-12)
    assert got["trough_analysis_ug_ml"].median() == pytest.approx(t["trough_a"].median(), rel=1e-12)
    assert got["ati_positive"].sum() == (t["ati_status"] == "positive").sum()
    for col in ("paris_location", "paris_behaviour", "paris_upper"):
        assert got[col].value_counts().to_dict() == t[col].value_counts().to_dict(), col
