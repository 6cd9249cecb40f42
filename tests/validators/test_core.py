"""validate_file: lazy pandera, severities, counts in source lines, wide all-or-nothing, policy, reviews."""

from __future__ import annotations

import json
import time

import pandas as pd

from tests.validators.factory import ctx, make_frames, set_cell
from validators import ISSUE_COLUMNS, REJECTED_COLUMNS, validate_file


def test_lazy_pandera_collects_every_failure_with_its_source_line():
    f = make_frames(6)
    f = set_cell(f, "assessment", 2, "ses_cd_total", 57)              # range
    f = set_cell(f, "assessment", 3, "pcdai", 101.0)                  # range
    f = set_cell(f, "patient", 4, "paris_behaviour", "B4")            # allowed_codes
    f = set_cell(f, "patient", 5, "sex", pd.NA)                       # required
    f = set_cell(f, "elisa", 6, "trough_ug_ml", -1.0)                 # range (trough >= 0)
    f = set_cell(f, "patient", 7, "birth_date", pd.Timestamp("2027-01-01"))  # not_future (today = 2026-11-01)
    r = validate_file(f, None, ctx())
    got = set(zip(r.issues["source_line"].astype(int), r.issues["rule"], r.issues["column_name"]))
    for expected in [(2, "range", "ses_cd_total"), (3, "range", "pcdai"), (4, "allowed_codes", "paris_behaviour"),
                     (5, "required", "sex"), (6, "range", "trough_ug_ml"), (7, "not_future", "birth_date")]:
        assert expected in got
    assert r.rows_rejected == 6 and r.rows_loaded == 0
    assert list(r.issues.columns) == ISSUE_COLUMNS
    codes = r.issues[r.issues["rule"] == "allowed_codes"].iloc[0]
    assert codes["value"] == "B4" and codes["expected"] == "one of B1, B2, B3, B2B3"


def test_error_rejects_the_whole_wide_line_with_reasons_and_record():
    f = set_cell(make_frames(3), "elisa", 3, "ati_status", "maybe")
    r = validate_file(f, None, ctx())
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 1)
    rej = r.rejected
    assert list(rej.columns) == REJECTED_COLUMNS
    assert set(rej["source_line"]) == {3}
    assert sorted(rej["entity"].unique()) == ["assessment", "elisa", "lab", "patient"]
    assert set(rej.loc[rej["entity"] == "elisa", "reasons"]) == {"allowed_codes"}
    assert set(rej.loc[rej["entity"] == "patient", "reasons"]) == {"elisa.allowed_codes"}
    rec = json.loads(rej.loc[rej["entity"] == "elisa", "record_json"].iloc[0])
    assert rec["ati_status"] == "maybe" and rec["source_line"] == 3
    for ent, df in r.accepted.items():
        assert 3 not in set(df["source_line"]), ent
    assert len(r.accepted["lab"]) == 2 * 6


def test_warning_loads_the_row_with_a_flag():
    f = make_frames(2)
    colo = f["assessment"].loc[0, "colonoscopy_date"]
    f = set_cell(f, "assessment", 2, "infusion_date", colo + pd.Timedelta(days=1))
    r = validate_file(f, None, ctx())
    assert (r.rows_loaded, r.rows_warned, r.rows_rejected) == (2, 1, 0)
    a = r.accepted["assessment"].set_index("source_line")
    assert json.loads(a.loc[2, "warnings"]) == ["colonoscopy_not_on_infusion_day"]
    assert pd.isna(a.loc[3, "warnings"])
    assert r.status == "loaded"


def test_cell_issues_from_the_adapter_are_row_errors_without_duplicate_required():
    f = set_cell(make_frames(3), "patient", 2, "paris_location", pd.NA)
    ci = pd.DataFrame([{"source_line": 2, "entity": "patient", "patient_id": "P000000", "column_name": "paris_location",
                        "source_column": "Location", "value": "ileal??", "rule": "unknown_code", "severity": "error",
                        "message": "unknown code", "expected": "L1, L2, L3", "fix": None}])
    r = validate_file(f, ci, ctx())
    assert r.rows_rejected == 1
    rules = r.issues.loc[r.issues["source_line"] == 2, "rule"].tolist()
    assert rules == ["unknown_code"]
    assert "Location" in r.issues["message"].iloc[0]
    assert r.issues["fix"].iloc[0]


def test_policy_threshold_rejects_the_file():
    f = make_frames(4)
    f = set_cell(f, "assessment", 2, "pcdai", 150.0)
    f = set_cell(f, "assessment", 3, "pcdai", 150.0)
    ok = validate_file(f, None, ctx(max_error_fraction=0.5))
    assert ok.file_error is None and ok.rows_rejected == 2
    r = validate_file(f, None, ctx(max_error_fraction=0.25))
    assert r.file_error is not None and r.file_error.code == "too_many_errors"
    assert r.status == "rejected"
    assert (r.rows_loaded, r.rows_rejected) == (0, 4)
    assert all(len(df) == 0 for df in r.accepted.values())
    assert (r.issues["severity"] == "file_error").sum() == 1
    assert (r.issues["rule"] == "range").sum() == 2  # the row problems stay listed for the report


def test_file_errors_missing_column_and_wrong_centre():
    f = make_frames(2)
    f["patient"] = f["patient"].drop(columns=["diagnosis_date"])
    r = validate_file(f, None, ctx())
    assert r.file_error.code == "missing_column" and "patient.diagnosis_date" in r.file_error.message
    assert r.issues["severity"].tolist() == ["file_error"]
    r = validate_file(make_frames(2, centre="knuh"), None, ctx())
    assert r.file_error.code == "wrong_centre" and "knuh" in r.file_error.message
    assert r.rows_loaded == 0 and r.rows_rejected == 2


def test_a_confirmation_hides_exactly_the_finding_it_confirms():
    f = make_frames(3)
    lab = f["lab"].copy()
    crp = (lab["source_line"] == 2) & (lab["analyte"] == "crp_mg_dl")
    lab.loc[crp, "value"] = 600.0                  # implausible in mg/dL, and in mg/L (60 mg/dL)
    f["lab"] = lab
    r = validate_file(f, None, ctx())
    assert r.rows_warned == 1
    w = r.warnings.iloc[0]
    # the finding names the analyte column, the record (sample date and analyte) and the value as typed
    assert (w["column_name"], w["value"]) == ("crp_mg_dl", "600")
    assert w["record"] == lab.loc[crp, "sample_date"].iloc[0].strftime("%Y-%m-%d") + " crp_mg_dl"
    confirmed = r.warnings[["entity", "patient_id", "record", "rule", "column_name", "value"]].assign(centre_id="smc")
    r2 = validate_file(f, None, ctx(reviews=confirmed))
    assert r2.rows_warned == 0 and r2.issues.empty and r2.warnings_suppressed == 1
    assert r2.confirmed[["patient_id", "rule", "value"]].values.tolist() == [[w["patient_id"], w["rule"], "600"]]
    assert r2.accepted["lab"]["warnings"].isna().all()
    # another value, another analyte of the same patient, another centre: reported as usual
    lab2 = lab.copy()
    lab2.loc[crp, "value"] = 601.0
    lab2.loc[(lab2["source_line"] == 2) & (lab2["analyte"] == "esr_mm_h"), "value"] = 160.0
    r3 = validate_file({**f, "lab": lab2}, None, ctx(reviews=confirmed))
    assert sorted(r3.warnings["column_name"]) == ["crp_mg_dl", "esr_mm_h"] and r3.warnings_suppressed == 0
    r4 = validate_file(f, None, ctx(reviews=confirmed.assign(centre_id="knuh")))
    assert r4.rows_warned == 1


def test_dtype_coercion_failures_are_reported():
    f = make_frames(2)
    p = f["patient"].copy()
    p["birth_date"] = p["birth_date"].dt.strftime("%Y-%m-%d").astype("object")
    p.loc[0, "birth_date"] = "not a date"
    f["patient"] = p
    r = validate_file(f, None, ctx())
    d = r.issues[r.issues["rule"] == "dtype"]
    assert list(d["source_line"]) == [2] and d["value"].iloc[0] == "not a date"


def test_does_not_mutate_its_input():
    f = make_frames(3)
    before = {k: v.copy() for k, v in f.items()}
    validate_file(set_cell(f, "assessment", 2, "pcdai", 500.0), None, ctx())
    for k in f:
        pd.testing.assert_frame_equal(f[k], before[k])


def test_100k_lines_with_5_percent_bad(big_result):
    r, _ = big_result
    assert r.rows_read == 100_000
    assert r.rows_rejected == 5000 and r.rows_loaded == 95_000
    assert set(r.errors["rule"]) == {"range", "ses_cd_sum_mismatch"}
