"""Each cross-field/cross-record rule on hand-built edge cases (passing and failing rows), through
``validate_file``: the set-wise rules (``validators.setwise.rule_findings``) and the decision."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.validators.factory import CENTRE, ctx, make_frames, set_cell
from validators import RULES, validate_file
import duckdb

from schema.relations import frames_to_tables
from validators.setwise import QUERIES, rule_findings

T = pd.Timestamp


def lines_for(result, rule):
    return sorted(set(result.issues.loc[result.issues["rule"] == rule, "source_line"].astype(int)))


def run(frames, **kw):
    return validate_file(frames, None, ctx(**kw))


def test_clean_frames_have_no_issue():
    r = run(make_frames(20))
    assert r.issues.empty
    assert (r.rows_read, r.rows_loaded, r.rows_warned, r.rows_rejected) == (20, 20, 0, 0)


def test_every_rule_query_is_registered():
    for name in QUERIES:
        assert name in RULES, name


def test_the_18th_birthday_of_a_29_february_birth_is_28_february():
    """``birth_date + INTERVAL 18 YEAR`` (schema.derived, the warehouse's eligibility): 29 February 2004
    turns 18 on 28 February 2022, so a diagnosis that day is at 18, the day before under 18."""
    f = make_frames(3)
    for line, dx in ((2, "2022-02-28"), (3, "2022-02-27")):
        f = set_cell(f, "patient", line, "birth_date", T("2004-02-29"))
        f = set_cell(f, "patient", line, "diagnosis_date", T(dx))
        f = set_cell(f, "patient", line, "ifx_start_date", T(dx))
    r = run(f)
    adult = r.issues[r.issues["rule"] == "age_18_or_over"]
    assert list(adult["source_line"]) == [2]
    assert adult["expected"].iloc[0] == "before the 18th birthday 2022-02-28"


def test_colonoscopy_not_on_infusion_day_is_a_warning_with_cohort_message():
    f = make_frames(3)
    colo = f["assessment"].loc[0, "colonoscopy_date"]
    f = set_cell(f, "assessment", 2, "infusion_date", colo + pd.Timedelta(days=2))
    r = run(f)
    iss = r.issues[r.issues["rule"] == "colonoscopy_not_on_infusion_day"]
    assert list(iss["source_line"]) == [2] and set(iss["severity"]) == {"warning"}
    assert iss["message"].iloc[0].startswith("will be excluded from the analysis cohort")
    assert r.rows_rejected == 0 and r.rows_warned == 1


def test_trough_after_infusion_same_line_and_cross_file():
    f = make_frames(3)
    f = set_cell(f, "elisa", 3, "trough_sample_datetime", f["assessment"].loc[1, "infusion_date"] + pd.Timedelta(days=1, hours=9))
    r = run(f)
    assert lines_for(r, "trough_after_infusion") == [3]
    # ELISA file alone: the infusion comes from the warehouse's existing assessments
    base = make_frames(2)
    el = base["elisa"].copy()
    el.loc[1, "trough_sample_datetime"] = base["assessment"].loc[1, "colonoscopy_date"] + pd.Timedelta(days=2)
    known = base["patient"][["centre_id", "patient_id"]]
    existing = base["assessment"][["centre_id", "patient_id", "colonoscopy_date"]]
    r = validate_file({"elisa": el}, None, ctx(known_patients=known, existing_assessments=existing))
    assert lines_for(r, "trough_after_infusion") == [3]
    assert r.rows_rejected == 1


def test_age_18_or_over_at_diagnosis_and_at_ifx_are_warnings():
    f = make_frames(4)
    # line 2: 18th birthday exactly on diagnosis day -> flagged; line 3: day before -> fine
    f = set_cell(f, "patient", 2, "birth_date", T("2000-01-10"))
    f = set_cell(f, "patient", 2, "diagnosis_date", T("2018-01-10"))
    f = set_cell(f, "patient", 2, "ifx_start_date", T("2018-02-10"))
    f = set_cell(f, "patient", 3, "birth_date", T("2000-01-10"))
    f = set_cell(f, "patient", 3, "diagnosis_date", T("2018-01-09"))
    f = set_cell(f, "patient", 3, "ifx_start_date", T("2018-01-09"))
    # line 4: under 18 at diagnosis, 18 at first IFX
    f = set_cell(f, "patient", 4, "birth_date", T("2000-06-01"))
    f = set_cell(f, "patient", 4, "diagnosis_date", T("2017-06-01"))
    f = set_cell(f, "patient", 4, "ifx_start_date", T("2018-06-01"))
    for line in (2, 3, 4):
        f = set_cell(f, "assessment", line, "colonoscopy_date", T("2020-01-01"))
        f = set_cell(f, "assessment", line, "infusion_date", T("2020-01-01"))
        f = set_cell(f, "elisa", line, "trough_sample_datetime", T("2020-01-01 08:00"))
    r = run(f)
    iss = r.issues[r.issues["rule"] == "age_18_or_over"]
    assert sorted(iss["source_line"]) == [2, 4]
    assert set(iss["severity"]) == {"warning"}
    assert set(iss["column_name"]) == {"diagnosis_date", "ifx_start_date"}
    assert r.rows_rejected == 0


def test_ifx_under_1_year_is_a_warning():
    f = make_frames(3)
    ifx = f["patient"].loc[0, "ifx_start_date"]
    f = set_cell(f, "assessment", 2, "colonoscopy_date", ifx + pd.Timedelta(days=300))
    f = set_cell(f, "assessment", 2, "infusion_date", ifx + pd.Timedelta(days=300))
    f = set_cell(f, "elisa", 2, "trough_sample_datetime", ifx + pd.Timedelta(days=300))
    r = run(f)
    assert lines_for(r, "ifx_under_1_year") == [2]
    assert r.rows_rejected == 0 and r.rows_warned == 1


def test_date_order():
    f = make_frames(4)
    f = set_cell(f, "patient", 2, "diagnosis_date", f["patient"].loc[0, "birth_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "patient", 3, "ifx_start_date", f["patient"].loc[1, "diagnosis_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "assessment", 4, "colonoscopy_date", f["patient"].loc[2, "ifx_start_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "assessment", 4, "infusion_date", f["patient"].loc[2, "ifx_start_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "elisa", 4, "trough_sample_datetime", f["patient"].loc[2, "ifx_start_date"] - pd.Timedelta(days=5))
    r = run(f)
    assert lines_for(r, "date_order") == [2, 3, 4]
    assert r.rows_rejected == 3


def test_ses_cd_sum_mismatch_full_and_partial_segments():
    f = make_frames(5)
    f = set_cell(f, "assessment", 2, "ses_cd_total", 4)          # all five given, sum is 3
    f = set_cell(f, "assessment", 3, "ses_cd_rectum", pd.NA)     # partial, total 3 >= sum 3: fine
    f = set_cell(f, "assessment", 4, "ses_cd_rectum", pd.NA)
    f = set_cell(f, "assessment", 4, "ses_cd_total", 2)          # partial, total < sum of given
    for c in ("ses_cd_ileum", "ses_cd_right_colon", "ses_cd_transverse_colon", "ses_cd_left_colon", "ses_cd_rectum"):
        f = set_cell(f, "assessment", 5, c, pd.NA)                # no segments: nothing to check
    r = run(f)
    assert lines_for(r, "ses_cd_sum_mismatch") == [2, 4]


def test_ati_titre_inconsistent():
    f = make_frames(5)
    f = set_cell(f, "elisa", 2, "ati_status", "positive")                  # titre 2 < cutoff 5
    f = set_cell(f, "elisa", 3, "ati_titre_ng_ml", 50.0)                   # negative with 50 >= 5
    f = set_cell(f, "elisa", 4, "ati_status", "positive")
    f = set_cell(f, "elisa", 4, "ati_titre_ng_ml", 50.0)                   # consistent positive
    f = set_cell(f, "elisa", 5, "ati_cutoff_ng_ml", float("nan"))          # negative, no cut-off: fine
    r = run(f)
    assert lines_for(r, "ati_titre_inconsistent") == [2, 3]


def test_censored_trough_inconsistent():
    f = make_frames(6)
    f = set_cell(f, "elisa", 2, "trough_censor", "<")                      # 4.2 is not the LLOQ 0.3
    f = set_cell(f, "elisa", 3, "trough_censor", "<")
    f = set_cell(f, "elisa", 3, "trough_ug_ml", 0.3)                       # fine
    f = set_cell(f, "elisa", 4, "trough_ug_ml", 0.1)                       # quantified below LLOQ
    f = set_cell(f, "elisa", 5, "trough_censor", ">")
    f = set_cell(f, "elisa", 5, "trough_ug_ml", 45.0)                      # fine: the ULOQ
    f = set_cell(f, "elisa", 6, "trough_ug_ml", 60.0)                      # quantified above ULOQ
    r = run(f)
    assert lines_for(r, "censored_trough_inconsistent") == [2, 4, 6]


def test_second_assessment_in_file_and_against_warehouse():
    f = make_frames(3)
    # a wide line repeating patient 1 with a later colonoscopy
    extra = {k: v[v["source_line"] == 2].copy() for k, v in f.items()}
    later = f["assessment"].loc[0, "colonoscopy_date"] + pd.Timedelta(days=120)
    extra["assessment"]["colonoscopy_date"] = later
    extra["assessment"]["infusion_date"] = later
    extra["elisa"]["trough_sample_datetime"] = later
    extra["lab"]["sample_date"] = later
    for v in extra.values():
        v["source_line"] = 9
    f2 = {k: pd.concat([f[k], extra[k]], ignore_index=True) for k in f}
    r = run(f2)
    assert lines_for(r, "second_assessment") == [9]
    assert r.rows_rejected == 1 and r.rows_loaded == 3
    # the warehouse already holds an assessment with another date: the new one is a second
    visits = {"assessment": f["assessment"].iloc[[0]].copy()}
    existing = visits["assessment"][["centre_id", "patient_id"]].assign(colonoscopy_date=T("2015-01-01"))
    known = f["patient"][["centre_id", "patient_id"]]
    r = validate_file(visits, None, ctx(known_patients=known, existing_assessments=existing))
    assert lines_for(r, "second_assessment") == [2]
    # ... but the same key is a correction (it supersedes), not a second
    existing = visits["assessment"][["centre_id", "patient_id", "colonoscopy_date"]]
    r = validate_file(visits, None, ctx(known_patients=known, existing_assessments=existing))
    assert "second_assessment" not in set(r.issues["rule"])


def test_orphan_record_uses_file_and_warehouse_baseline():
    f = make_frames(3)
    visits = {"assessment": f["assessment"], "elisa": f["elisa"], "lab": f["lab"]}
    r = validate_file(visits, None, ctx())
    assert lines_for(r, "orphan_record") == [2, 3, 4]
    known = f["patient"][["centre_id", "patient_id"]].iloc[[0, 1]]
    r = validate_file(visits, None, ctx(known_patients=known))
    assert lines_for(r, "orphan_record") == [4]
    # a baseline of another centre does not count
    other = known.assign(centre_id="knuh")
    r = validate_file(visits, None, ctx(known_patients=other))
    assert lines_for(r, "orphan_record") == [2, 3, 4]


def test_duplicate_row_and_duplicate_key():
    f = make_frames(3)
    rep = {k: v[v["source_line"] == 3].assign(source_line=7) for k, v in f.items()}     # exact repeat of line 3
    conflict = {k: v[v["source_line"] == 4].assign(source_line=8) for k, v in f.items()}
    conflict["elisa"] = conflict["elisa"].assign(trough_ug_ml=9.9)                      # same keys, new value
    f2 = {k: pd.concat([f[k], rep[k], conflict[k]], ignore_index=True) for k in f}
    r = run(f2)
    assert lines_for(r, "duplicate_row") == [7]
    assert lines_for(r, "duplicate_key") == [8]
    assert r.issues.loc[r.issues["rule"] == "duplicate_row", "message"].iloc[0] == "line repeats line 3"
    assert r.rows_rejected == 2 and r.rows_loaded == 3


def test_patient_in_other_centre():
    f = make_frames(3)
    other = pd.DataFrame({"centre_id": ["knuh"], "patient_id": [f["patient"].loc[1, "patient_id"]]})
    r = run(f, other_centre_patients=other)
    iss = r.issues[r.issues["rule"] == "patient_in_other_centre"]
    assert list(iss["source_line"]) == [3]          # once per line
    assert "knuh" in iss["message"].iloc[0]


def test_lab_values_negative_is_error_implausible_is_warning():
    f = make_frames(3)
    lab = f["lab"].copy()
    lab.loc[(lab["source_line"] == 2) & (lab["analyte"] == "crp_mg_dl"), "value"] = -0.5
    lab.loc[(lab["source_line"] == 3) & (lab["analyte"] == "crp_mg_dl"), "value"] = 600.0   # 60 mg/L: still no
    f["lab"] = lab
    r = run(f)
    rng = r.issues[r.issues["rule"] == "range"]
    assert list(rng["source_line"]) == [2] and rng["severity"].iloc[0] == "error"
    imp = r.issues[r.issues["rule"] == "lab_value_implausible"]
    assert list(imp["source_line"]) == [3] and imp["severity"].iloc[0] == "warning"
    assert imp["expected"].iloc[0] == "0 to 50 mg/dL"
    assert r.rows_rejected == 1 and r.rows_warned == 1


def test_rules_give_no_finding_on_empty_tables():
    con = duckdb.connect()
    frames_to_tables(con, {})
    rule_findings(con, ctx())
    assert con.execute("SELECT count(*) FROM findings").fetchall() == [(0,)]
    assert CENTRE
