"""The set-wise SQL rules (validators/setwise) against the pandas rules' recorded findings, scenario by scenario.

Each scenario is built like tests/validators/test_rules.py builds its edge cases (harmonised frames
+ a ValidationContext); the SQL rules must give exactly the findings the pandas rules gave (rule,
severity, line, entity, patient, record, column, value, message, expected, fix; recorded in
``expected_setwise.json`` before the pandas rules were deleted), and find something where the
scenario has an error.  Deliberate differences are tested on their own below (each one a fix, named
in docs/ONE_PATH.md).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from schema.relations import frames_to_tables
from tests.validators.factory import ctx, make_frames, set_cell
from tests.validators.setwise_diff import check_recorded, normalised, sql_findings
from validators.registry import RULES
from validators.setwise import QUERIES, rule_findings

T = pd.Timestamp


def _append_line(f, line_from: int, line_to: int, **changes):
    """A copy of every record of ``line_from`` as line ``line_to`` (``changes``: entity -> {col: value})."""
    extra = {k: v[v["source_line"] == line_from].assign(source_line=line_to) for k, v in f.items()}
    for ent, cols in changes.items():
        extra[ent] = extra[ent].assign(**cols)
    return {k: pd.concat([f[k], extra[k]], ignore_index=True) for k in f}


def _s_date_order():
    f = make_frames(5)
    f = set_cell(f, "patient", 2, "diagnosis_date", f["patient"].loc[0, "birth_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "patient", 3, "ifx_start_date", f["patient"].loc[1, "diagnosis_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "patient", 5, "ifx_start_date", f["patient"].loc[3, "birth_date"] - pd.Timedelta(days=5))
    f = set_cell(f, "patient", 5, "diagnosis_date", f["patient"].loc[3, "birth_date"] - pd.Timedelta(days=9))
    d = f["patient"].loc[2, "ifx_start_date"] - pd.Timedelta(days=5)
    for ent, col in (("assessment", "colonoscopy_date"), ("assessment", "infusion_date"),
                     ("elisa", "trough_sample_datetime")):
        f = set_cell(f, ent, 4, col, d)
    return f, ctx()


def _s_visits_against_warehouse_dates():
    f = make_frames(3)
    known = f["patient"][["centre_id", "patient_id", "birth_date", "diagnosis_date", "ifx_start_date"]]
    visits = {"assessment": f["assessment"].copy()}
    for col in ("colonoscopy_date", "infusion_date"):
        visits = set_cell(visits, "assessment", 3, col, known["ifx_start_date"].iloc[1] - pd.Timedelta(days=3))
        visits = set_cell(visits, "assessment", 4, col, known["ifx_start_date"].iloc[2] + pd.Timedelta(days=30))
    return visits, ctx(known_patients=known)


def _s_trough():
    f = make_frames(4)
    f = set_cell(f, "elisa", 3, "trough_sample_datetime", f["assessment"].loc[1, "infusion_date"] + pd.Timedelta(days=1, hours=9))
    f = set_cell(f, "assessment", 4, "infusion_date", pd.NaT)     # the line's infusion is its colonoscopy day
    f = set_cell(f, "elisa", 4, "trough_sample_datetime", f["assessment"].loc[2, "colonoscopy_date"] + pd.Timedelta(days=2))
    return f, ctx()


def _s_trough_elisa_file():
    base = make_frames(4)
    el = base["elisa"].copy()
    colo = base["assessment"]["colonoscopy_date"]
    el.loc[1, "trough_sample_datetime"] = colo.iloc[1] + pd.Timedelta(days=2, hours=8)  # after: flagged
    el.loc[2, "trough_sample_datetime"] = colo.iloc[2] + pd.Timedelta(days=14, hours=1)  # 14 days: still matched
    el.loc[3, "trough_sample_datetime"] = colo.iloc[3] + pd.Timedelta(days=15, hours=8)  # too far: not matched
    known = base["patient"][["centre_id", "patient_id"]]
    existing = base["assessment"][["centre_id", "patient_id", "colonoscopy_date", "infusion_date"]]
    return {"elisa": el}, ctx(known_patients=known, existing_assessments=existing)


def _s_values():
    f = make_frames(12)
    f = set_cell(f, "assessment", 2, "ses_cd_total", 4)
    f = set_cell(f, "assessment", 4, "ses_cd_rectum", pd.NA)
    f = set_cell(f, "assessment", 4, "ses_cd_total", 2)
    f = set_cell(f, "elisa", 5, "ati_status", "positive")
    f = set_cell(f, "elisa", 6, "ati_titre_ng_ml", 50.0)
    f = set_cell(f, "elisa", 7, "ati_status", "positive")
    f = set_cell(f, "elisa", 7, "ati_cutoff_ng_ml", float("nan"))
    f = set_cell(f, "elisa", 7, "ati_titre_ng_ml", 0.0)
    f = set_cell(f, "elisa", 8, "trough_censor", "<")
    f = set_cell(f, "elisa", 9, "trough_ug_ml", 0.1)
    f = set_cell(f, "elisa", 10, "trough_censor", ">")
    f = set_cell(f, "elisa", 11, "trough_ug_ml", 60.0)
    f = set_cell(f, "elisa", 12, "trough_censor", "<")
    f = set_cell(f, "elisa", 12, "trough_ug_ml", 0.3 + 5e-7)                   # within the tolerance: fine
    lab = f["lab"].copy()
    lab.loc[(lab["source_line"] == 3) & (lab["analyte"] == "crp_mg_dl"), "value"] = -0.5
    lab.loc[(lab["source_line"] == 3) & (lab["analyte"] == "wbc_per_ul"), "value"] = -7000.0
    return {**f, "lab": lab}, ctx()


def _s_second_assessment():
    f = make_frames(3)
    later = f["assessment"].loc[0, "colonoscopy_date"] + pd.Timedelta(days=120)
    f = _append_line(f, 2, 9, assessment={"colonoscopy_date": later, "infusion_date": later},
                     elisa={"trough_sample_datetime": later}, lab={"sample_date": later})
    return f, ctx()


def _s_second_assessment_warehouse():
    f = make_frames(3)
    visits = {"assessment": f["assessment"]}
    known = f["patient"][["centre_id", "patient_id"]]
    existing = f["assessment"][["centre_id", "patient_id", "colonoscopy_date"]].copy()
    existing.loc[0, "colonoscopy_date"] = T("2015-01-01")            # another day: line 2 is a second
    return visits, ctx(known_patients=known, existing_assessments=existing)


def _s_orphans():
    f = make_frames(3)
    visits = {"assessment": f["assessment"], "elisa": f["elisa"], "lab": f["lab"]}
    known = pd.concat([f["patient"][["centre_id", "patient_id"]].iloc[[0]],
                       f["patient"][["centre_id", "patient_id"]].iloc[[1]].assign(centre_id="knuh")])
    return visits, ctx(known_patients=known)


def _s_duplicates():
    f = make_frames(4)
    f = _append_line(f, 3, 7)                                              # exact repeat of line 3
    f = _append_line(f, 4, 8, elisa={"trough_ug_ml": 9.9})                 # same keys, new value
    f = _append_line(f, 5, 10)                                             # repeat of line 5 ...
    f = _append_line(f, 5, 11, lab={"value": lambda d: d["value"] * 1.01})  # ... and a conflicting one
    base = {"patient": pd.concat([f["patient"], f["patient"].iloc[[0]].assign(source_line=12)], ignore_index=True)}
    return {**f, **base}, ctx()


def _s_baseline_file_duplicates():
    p = make_frames(3)["patient"]
    p2 = pd.concat([p, p.iloc[[1]].assign(source_line=5), p.iloc[[2]].assign(source_line=6, sex="M")],
                   ignore_index=True)
    return {"patient": p2}, ctx()


def _s_other_centre():
    f = make_frames(3)
    other = pd.DataFrame({"centre_id": ["knuh", "sch", "smc"],
                          "patient_id": [f["patient"].loc[1, "patient_id"], f["patient"].loc[1, "patient_id"],
                                         f["patient"].loc[2, "patient_id"]]})
    return f, ctx(other_centre_patients=other)


def _s_cohort_warnings():
    f = make_frames(6)
    colo = f["assessment"].loc[0, "colonoscopy_date"]
    f = set_cell(f, "assessment", 2, "infusion_date", colo + pd.Timedelta(days=2))
    for line, (b, dx, ifx) in {3: ("2000-01-10", "2018-01-10", "2018-02-10"), 4: ("2000-01-10", "2018-01-09", "2018-01-09"),
                              5: ("2000-06-01", "2017-06-01", "2018-06-01"), 6: ("2004-02-29", "2022-02-28", "2022-03-01")}.items():
        f = set_cell(f, "patient", line, "birth_date", T(b))
        f = set_cell(f, "patient", line, "diagnosis_date", T(dx))
        f = set_cell(f, "patient", line, "ifx_start_date", T(ifx))
        for ent, col in (("assessment", "colonoscopy_date"), ("assessment", "infusion_date"),
                         ("elisa", "trough_sample_datetime")):
            f = set_cell(f, ent, line, col, T("2023-01-01"))
    ifx = f["patient"].loc[0, "ifx_start_date"]
    f = set_cell(f, "assessment", 2, "colonoscopy_date", ifx + pd.Timedelta(days=300))
    return f, ctx()


def _s_unit_mixups():
    f = make_frames(9)
    lab = f["lab"].copy()
    for line, analyte, value in ((2, "albumin_g_dl", 38.0), (3, "albumin_g_dl", 0.42), (4, "wbc_per_ul", 7.0),
                                 (5, "haematocrit_pct", 0.38), (6, "crp_mg_dl", 80.0), (7, "crp_mg_dl", 600.0),
                                 (8, "platelets_10e3_ul", 257000.0)):
        lab.loc[(lab["source_line"] == line) & (lab["analyte"] == analyte), "value"] = value
    f = set_cell({**f, "lab": lab}, "elisa", 9, "trough_ug_ml", 4200.0)
    f = set_cell(f, "elisa", 9, "lloq_ug_ml", 300.0)
    return f, ctx()


def _s_whole_column_in_another_unit():
    f = make_frames(8)
    lab = f["lab"].copy()
    lab.loc[lab["analyte"] == "albumin_g_dl", "value"] = 40.0 + lab["source_line"] % 3        # g/L throughout
    ref = pd.DataFrame({"variable": ["trough_ug_ml"], "median": [4.2], "n": [100]})
    f = {**f, "lab": lab}
    el = f["elisa"].assign(trough_ug_ml=f["elisa"]["trough_ug_ml"] * 1000, lloq_ug_ml=300.0, uloq_ug_ml=45000.0)
    return {**f, "elisa": el}, ctx(unit_reference=ref)


SCENARIOS = {
    "unit_mixups": (_s_unit_mixups, {"unit_mixup", "censored_trough_inconsistent"}),
    "whole_column_in_another_unit": (_s_whole_column_in_another_unit, {"unit_mixup", "unit_profile_suspect"}),
    "date_order": (_s_date_order, {"date_order"}),
    "visits_against_warehouse_dates": (_s_visits_against_warehouse_dates, {"date_order", "ifx_under_1_year"}),
    "trough_same_line": (_s_trough, {"trough_after_infusion"}),
    "trough_elisa_file": (_s_trough_elisa_file, {"trough_after_infusion"}),
    "values": (_s_values, {"ses_cd_sum_mismatch", "ati_titre_inconsistent", "censored_trough_inconsistent", "range"}),
    "second_assessment": (_s_second_assessment, {"second_assessment"}),
    "second_assessment_warehouse": (_s_second_assessment_warehouse, {"second_assessment"}),
    "orphans": (_s_orphans, {"orphan_record"}),
    "duplicates": (_s_duplicates, {"duplicate_row", "duplicate_key"}),
    "baseline_file_duplicates": (_s_baseline_file_duplicates, {"duplicate_row", "duplicate_key"}),
    "other_centre": (_s_other_centre, {"patient_in_other_centre"}),
    "cohort_warnings": (_s_cohort_warnings, {"colonoscopy_not_on_infusion_day", "age_18_or_over", "ifx_under_1_year"}),
    "clean": (lambda: (make_frames(20), ctx()), set()),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sql_rules_match_the_pandas_rules(name):
    build, expect = SCENARIOS[name]
    frames, c = build()
    found = set(check_recorded(f"scenario:{name}", frames, c)["rule"])
    assert found == expect, f"{name}: expected the scenario's rules {sorted(expect)}, found {sorted(found)}"


def test_every_rule_has_a_scenario_and_a_registry_entry():
    covered = set().union(*(rules for _, rules in SCENARIOS.values()))
    assert covered == set(QUERIES) | {"unit_profile_suspect"}
    assert set(QUERIES) <= set(RULES)


def test_rules_see_the_whole_file():
    """A repeat and a second assessment 100,000 lines apart are found (no chunking)."""
    f = make_frames(3)
    later = f["assessment"].loc[0, "colonoscopy_date"] + pd.Timedelta(days=90)
    f = _append_line(f, 2, 100_002, assessment={"colonoscopy_date": later, "infusion_date": later},
                     elisa={"trough_sample_datetime": later}, lab={"sample_date": later})
    f = _append_line(f, 3, 100_003)
    got = sql_findings(f, ctx())
    assert set(zip(got["rule"], got["source_line"])) == {("second_assessment", 100_002), ("duplicate_row", 100_003)}


def test_findings_are_inserted_into_an_existing_findings_table_with_the_contract_columns():
    con = duckdb.connect()
    frames_to_tables(con, normalised(_s_values()[0]))
    con.execute("CREATE TEMP TABLE findings AS SELECT 1::BIGINT AS source_line, 'patient' AS entity, NULL::VARCHAR AS "
                "patient_id, NULL::VARCHAR AS record, 'x' AS column_name, NULL::VARCHAR AS source_column, NULL::VARCHAR "
                "AS value, 'not_a_number' AS rule, 'error' AS severity, 'm' AS message, NULL::VARCHAR AS expected, "
                "'f' AS fix")
    rule_findings(con, ctx())
    rows = con.execute("SELECT rule, count(*) FROM findings GROUP BY rule ORDER BY rule").fetchall()
    assert ("not_a_number", 1) in rows and ("ses_cd_sum_mismatch", 2) in rows
    sev = dict(con.execute("SELECT DISTINCT rule, severity FROM findings").fetchall())
    assert all(sev[r] == RULES[r].severity for r in sev)


def test_a_sample_time_always_shows_its_time_as_the_record_label_does():
    """The one formatting difference from the pandas rules: they formatted a column's flagged values
    together (the day alone when every one was midnight); the SQL rules write a date-time as
    ``YYYY-MM-DD HH:MM`` always, the record label's spelling (a fix: the value and the record of a
    finding read the same)."""
    base = make_frames(3)
    el = base["elisa"].copy()
    colo = base["assessment"]["colonoscopy_date"]
    el.loc[0, "trough_sample_datetime"] = colo.iloc[0] + pd.Timedelta(days=1)             # midnight
    known = base["patient"][["centre_id", "patient_id"]]
    existing = base["assessment"][["centre_id", "patient_id", "colonoscopy_date", "infusion_date"]]
    c = ctx(known_patients=known, existing_assessments=existing)
    s = sql_findings({"elisa": el}, c)
    day = (colo.iloc[0] + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    assert s["value"].tolist() == [day + " 00:00"] == s["record"].tolist()
    assert s["rule"].tolist() == ["trough_after_infusion"]
