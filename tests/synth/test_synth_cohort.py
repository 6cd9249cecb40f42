"""The generator: seeded, Table-1-like, keeps the study's associations, includes ineligible patients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schema.dictionary import entity_columns
from schema.models import entity_model
from synth import generate_cohort


@pytest.fixture(scope="module")
def big():
    return generate_cohort(20000, ("smc", "sch", "knuh"), seed=2024)


def test_same_seed_same_cohort_other_seed_differs():
    a, b, c = generate_cohort(300, seed=1), generate_cohort(300, seed=1), generate_cohort(300, seed=2)
    for entity in a.frames:
        pd.testing.assert_frame_equal(a.frames[entity], b.frames[entity])
    assert not a.elisa["trough_ug_ml"].equals(c.elisa["trough_ug_ml"])
    assert a.seed == 1


def test_truth_frames_follow_the_dictionary(big):
    for entity, df in big.frames.items():
        assert list(df.columns[: len(entity_columns(entity))]) == entity_columns(entity)
        check = df[entity_columns(entity)].assign(source_line=1)
        entity_model(entity).validate(check, lazy=True)
    assert big.patients["patient_id"].is_unique


def test_table1_like_distributions(big):
    p, a, e, lab = big.patients, big.assessments, big.elisa, big.labs
    age_dx = (p["diagnosis_date"] - p["birth_date"]).dt.days / 365.25
    delay = (p["ifx_start_date"] - p["diagnosis_date"]).dt.days / 365.25
    assert abs((p["sex"] == "M").mean() - 0.70) < 0.02
    assert abs(age_dx.median() - 14.8) < 0.4
    assert abs((p["paris_location"] == "L3").mean() - 0.867) < 0.02
    assert abs((p["paris_behaviour"] == "B1").mean() - 0.80) < 0.02
    assert abs(delay.median() - 0.1) < 0.1 and abs((delay < 1).mean() - 0.76) < 0.07
    mh = a["ses_cd_total"] == 0
    assert abs(mh.mean() - 0.49) < 0.04
    assert abs((a["ses_cd_total"] < 3).mean() - 0.60) < 0.05
    assert abs((a["pcdai"] < 10).mean() - 0.90) < 0.04
    assert abs(e["trough_ug_ml"].median() - 3.89) < 0.4
    assert abs((e["ati_status"] == "positive").mean() - 0.076) < 0.015
    assert abs(a["concomitant_aza"].mean() - 0.905) < 0.015
    first = lab.merge(a[["patient_id", "infusion_date"]], on="patient_id")
    first = first[(first["sample_date"] <= first["infusion_date"])
                  & (first["infusion_date"] - first["sample_date"]).dt.days.le(1)]
    med = first.groupby("analyte")["value"].median()
    assert abs(med["albumin_g_dl"] - 4.5) <= 0.1
    assert abs(med["wbc_per_ul"] - 6010) < 400
    assert abs(med["crp_mg_dl"] - 0.04) <= 0.02
    crp = first[first["analyte"] == "crp_mg_dl"]["value"]
    assert abs((crp < 0.3).mean() - 0.83) < 0.05


def test_study_associations_hold(big):
    a, e, p = big.assessments, big.elisa, big.patients
    mh = (a["ses_cd_total"] == 0).to_numpy()
    trough = e["trough_ug_ml"].to_numpy()
    assert np.median(trough[mh]) - np.median(trough[~mh]) > 0.8   # MH 4.5 vs 3.3 in the paper
    ati = (e["ati_status"] == "positive").to_numpy()
    assert np.median(trough[ati]) < 1.5 < np.median(trough[~ati])
    late = ((p["ifx_start_date"] - p["diagnosis_date"]).dt.days / 365.25 >= 1).to_numpy()
    assert mh[late].mean() < mh[~late].mean() - 0.05
    b1 = (p["paris_behaviour"] == "B1").to_numpy()
    assert mh[b1].mean() > mh[~b1].mean() + 0.1


def test_ineligible_patients_are_built_to_fail(big):
    p, a = big.patients, big.assessments.set_index("patient_id")
    ex = p.set_index("patient_id")["truth_exclusion"]
    assert set(ex.dropna()) == {"ibd_u", "perianal_fistula_indication", "ifx_duration", "age_at_ifx_start"}
    pi = p.set_index("patient_id")
    ibd_u = ex == "ibd_u"
    assert (pi.loc[ibd_u, "diagnosis_type"] == "IBD-U").all() and (pi.loc[~ibd_u, "diagnosis_type"] == "CD").all()
    short = ex == "ifx_duration"
    dur = a["colonoscopy_date"] - pi["ifx_start_date"]
    assert (dur[short].dt.days < 365).all() and (dur[ex.isna()].dt.days >= 366).all()
    adult = pi["ifx_start_date"] >= pi["birth_date"] + pd.DateOffset(years=18)
    assert adult[ex == "age_at_ifx_start"].all() and not adult[ex.isna()].any()
    assert (a["colonoscopy_date"] == a["infusion_date"]).all()


def test_small_cohort_still_has_each_exclusion():
    c = generate_cohort(60, seed=3)
    assert c.patients["truth_exclusion"].notna().sum() >= 4


def test_timing_conventions(big):
    e, a = big.elisa.set_index("patient_id"), big.assessments.set_index("patient_id")
    assert (e["trough_sample_datetime"].dt.normalize() == a["infusion_date"]).all()
    minutes = e["trough_sample_datetime"].dt.hour * 60 + e["trough_sample_datetime"].dt.minute
    # 30-90 min before an infusion started between 09:00 and 14:00
    assert minutes.min() >= 9 * 60 - 90 and minutes.max() <= 14 * 60 - 30


def test_large_cohort_is_generated():
    # generation speed is measured in benchmarks/, not asserted here
    c = generate_cohort(100_000, seed=9)
    assert len(c.patients) == 100_000
    assert c.patients["patient_id"].is_unique
