"""Derived outcomes and eligibility on hand-built edge cases, through the real views."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from warehouse.lake import open_writer
from warehouse.load import load_file, reserve_file_id
from tests.factories import D, accepted_result, assessment, elisa, file_meta, frame, lab, patient
from tests.lake import read_lake


def _load(settings, patients, assessments, elisas=(), labs=()):
    frames = {"patient": frame("patient", list(patients)), "assessment": frame("assessment", list(assessments))}
    if elisas:
        frames["elisa"] = frame("elisa", list(elisas))
    if labs:
        frames["lab"] = frame("lab", list(labs))
    with open_writer(settings.lake, home=settings.home) as con:
        load_file(con, reserve_file_id(con), file_meta(), accepted_result(frames))


def _cohort(settings) -> pd.DataFrame:
    con = read_lake(settings)
    try:
        return con.execute("SELECT * FROM analysis.cohort_all ORDER BY patient_id").df().set_index("patient_id")
    finally:
        con.close()


@pytest.mark.parametrize(
    "ses_cd, pcdai, crp, mh, partial, clinical, biochem",
    [
        (0, 9.9, 0.29, True, True, True, True),
        (2, 10.0, 0.30, False, True, False, False),
        (3, 0.0, 0.3 / 1, False, False, True, False),
        (1, 10.1, 3 / 10, False, True, False, False),  # CRP 3 mg/L converted by division: exactly 0.3
    ],
)
def test_outcome_thresholds(warehouse, ses_cd, pcdai, crp, mh, partial, clinical, biochem):
    _load(warehouse, [patient("P1")], [assessment("P1", ses_cd_total=ses_cd, pcdai=pcdai)],
          [elisa("P1")], [lab("P1", "crp_mg_dl", crp)])
    row = _cohort(warehouse).loc["P1"]
    assert row["mucosal_healing"] == mh
    assert row["partial_mucosal_healing"] == partial
    assert row["clinical_remission"] == clinical
    assert row["biochemical_remission"] == biochem


def test_censored_troughs_rank_below_and_above_quantified_values(warehouse):
    _load(
        warehouse,
        [patient("P1"), patient("P2"), patient("P3")],
        [assessment("P1"), assessment("P2"), assessment("P3")],
        [elisa("P1", trough_ug_ml=0.3, trough_censor="<", lloq_ug_ml=0.3),
         elisa("P2", trough_ug_ml=16.0, trough_censor=">", uloq_ug_ml=16.0),
         elisa("P3", trough_ug_ml=0.35)],
    )
    c = _cohort(warehouse)
    assert c.loc["P1", "trough_ug_ml"] == 0.3 and c.loc["P1", "trough_censor"] == "<"
    assert c.loc["P1", "trough_analysis_ug_ml"] == pytest.approx(0.15)
    assert c.loc["P1", "trough_analysis_ug_ml"] < c.loc["P3", "trough_analysis_ug_ml"]
    assert c.loc["P2", "trough_analysis_ug_ml"] == 16.0


def test_eligibility_reasons(warehouse):
    patients = [
        patient("OK"),
        patient("IBDU", diagnosis_type="IBD-U"),
        patient("FIST", ifx_indication="perianal_fistula"),
        # 18th birthday on 2015-06-01: diagnosed that day -> 18 at diagnosis (excluded)
        patient("AGE18", birth_date=D("1997-06-01"), diagnosis_date=D("2015-06-01"), ifx_start_date=D("2015-06-15")),
        # diagnosed one day before the 18th birthday, IFX after it -> excluded for age at IFX only
        patient("IFX18", birth_date=D("1997-06-02"), diagnosis_date=D("2015-06-01"), ifx_start_date=D("2015-06-15")),
        patient("SHORT", ifx_start_date=D("2015-09-02")),  # colonoscopy 2016-09-01: one day short of a year
        patient("EXACT1Y", ifx_start_date=D("2015-09-01")),
        patient("NOTSAMEDAY"),
        patient("NOTROUGH"),
    ]
    assessments = [assessment(p["patient_id"]) for p in patients]
    assessments[7]["infusion_date"] = D("2016-09-02")
    elisas = [elisa(p["patient_id"]) for p in patients if p["patient_id"] not in ("NOTROUGH", "NOTSAMEDAY")]
    _load(warehouse, patients, assessments, elisas)
    c = _cohort(warehouse)
    assert bool(c.loc["OK", "eligible"]) and pd.isna(c.loc["OK", "exclusion_reasons"])
    assert bool(c.loc["EXACT1Y", "eligible"])
    expect = {
        "IBDU": "IBD-U", "FIST": "perianal fistula", "AGE18": "18 or over at diagnosis",
        "IFX18": "18 or over at the first IFX", "SHORT": "less than 1 year", "NOTSAMEDAY": "not on the infusion day",
        "NOTROUGH": "no IFX trough",
    }
    for pid, reason in expect.items():
        assert not bool(c.loc[pid, "eligible"]), pid
        assert reason in c.loc[pid, "exclusion_reasons"], (pid, c.loc[pid, "exclusion_reasons"])
    assert "18 or over at diagnosis" not in c.loc["IFX18", "exclusion_reasons"]
    con = read_lake(warehouse)
    assert set(con.execute("SELECT patient_id FROM analysis.cohort").df()["patient_id"]) == {"OK", "EXACT1Y"}
    con.close()


def test_lab_pick_rule_same_day_else_latest_within_window(warehouse):
    labs = [
        lab("P1", "crp_mg_dl", 0.9, "2016-08-31"), lab("P1", "crp_mg_dl", 0.1, "2016-09-01"),  # same day wins
        lab("P2", "crp_mg_dl", 0.7, "2016-08-20"), lab("P2", "crp_mg_dl", 0.5, "2016-08-29"),  # latest in window
        lab("P3", "crp_mg_dl", 0.5, "2016-08-20"),                                              # outside 7 days
        lab("P4", "crp_mg_dl", 0.5, "2016-09-02"),                                              # after infusion
    ]
    pids = ["P1", "P2", "P3", "P4"]
    _load(warehouse, [patient(p) for p in pids], [assessment(p) for p in pids], [elisa(p) for p in pids], labs)
    c = _cohort(warehouse)
    assert c.loc["P1", "crp_mg_dl"] == 0.1
    assert c.loc["P2", "crp_mg_dl"] == 0.5
    assert pd.isna(c.loc["P3", "crp_mg_dl"]) and pd.isna(c.loc["P4", "crp_mg_dl"])


def test_durations_in_years(warehouse):
    _load(warehouse, [patient("P1", birth_date=D("2000-01-01"), diagnosis_date=D("2014-01-01"),
                              ifx_start_date=D("2015-01-01"))],
          [assessment("P1", colonoscopy_date=D("2016-09-01"), infusion_date=D("2016-09-01"))], [elisa("P1")])
    r = _cohort(warehouse).loc["P1"]
    assert r["age_at_diagnosis_years"] == pytest.approx(5114 / 365.25)
    assert r["diagnosis_to_ifx_years"] == pytest.approx(365 / 365.25)
    assert not r["ifx_within_1y"]  # 365 days in a non-leap span == exactly one calendar year
    assert r["ifx_duration_years"] == pytest.approx(609 / 365.25)
