"""Unit mix-ups (issue 17, defect 2): per value ("looks like g/L: 38 g/L = 3.8 g/dL") and per column."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.validators.factory import ctx, make_frames
from validators import validate_file
from schema.relations import frames_to_tables
from validators.setwise.units import stats_sql
from validators.units import CHECKED_CANDIDATES, FILE_CHECKED, STATS_COLUMNS, decide_column_mixups

# study reference: medians of the canonical-unit values (make_frames writes CRP 0.2 mg/dL, albumin 4 g/dL)
REF = pd.DataFrame({"variable": ["crp_mg_dl", "albumin_g_dl", "trough_ug_ml"], "median": [0.25, 4.1, 4.0],
                    "n": [200, 200, 200]})


def column_mixups(frames, reference):
    """The whole-file check as ingestion runs it: statistics in SQL, then the decision."""
    con = duckdb.connect()
    try:
        frames_to_tables(con, frames)
        return decide_column_mixups(con.execute(stats_sql()).df(), reference)
    finally:
        con.close()


def _labs(frames, **by_line):
    lab = frames["lab"].copy()
    for key, v in by_line.items():
        analyte, line = key.rsplit("_", 1)
        lab.loc[(lab["source_line"] == int(line)) & (lab["analyte"] == analyte), "value"] = v
    return {**frames, "lab": lab}


@pytest.mark.parametrize("analyte, value, message", [
    # the conversions by hand: 38 g/L / 10 = 3.8 g/dL; 80 mg/L / 10 = 8 mg/dL; 0.41 x 100 = 41 %;
    # 257000 /uL / 1000 = 257 10^3/uL; 3.82 10^3/uL x 1000 = 3820 /uL
    ("albumin_g_dl", 38.0, "looks like g/L: 38 g/L = 3.8 g/dL"),
    ("crp_mg_dl", 80.0, "looks like mg/L: 80 mg/L = 8 mg/dL"),
    ("haematocrit_pct", 0.41, "looks like a fraction: 0.41 = 41 %"),
    ("platelets_10e3_ul", 257000.0, "looks like /uL: 257000 /uL = 257 10^3/uL"),
    ("wbc_per_ul", 3.82, "looks like 10^3/uL: 3.82 10^3/uL = 3820 /uL"),
])
def test_a_value_plausible_only_in_another_unit_is_an_error_that_says_so(analyte, value, message):
    r = validate_file(_labs(make_frames(3), **{f"{analyte}_3": value}), None, ctx())
    (f,) = r.issues[r.issues["rule"] == "unit_mixup"].itertuples()
    assert (f.source_line, f.column_name, f.value, f.severity, f.message) == (3, analyte, f"{value:g}", "error", message)
    assert r.rows_rejected == 1 and not (r.issues["rule"] == "lab_value_implausible").any()


def test_a_trough_in_ng_ml_says_so():
    f = make_frames(3)
    el = f["elisa"].copy()
    el.loc[el["source_line"] == 2, "trough_ug_ml"] = 3680.0
    r = validate_file({**f, "elisa": el}, None, ctx())
    mix = r.issues[r.issues["rule"] == "unit_mixup"]
    assert mix["message"].tolist() == ["looks like ng/mL: 3680 ng/mL = 3.68 ug/mL"]      # 3680 / 1000
    assert not (r.issues["rule"] == "range").any()


def test_a_value_in_the_canonical_unit_typed_into_a_column_of_the_other_unit_says_so():
    # albumin 4.2 (g/dL) in a g/L column is read as 0.42 g/dL: 0.42 x 10 = 4.2 is plausible
    r = validate_file(_labs(make_frames(3), albumin_g_dl_2=0.42), None, ctx())
    assert r.issues["message"].tolist() == [
        "looks like a g/dL value written in a g/L column: 0.42 g/dL is 10 times too small; 4.2 g/dL is plausible"]


def test_an_implausible_value_no_conversion_explains_stays_a_warning():
    r = validate_file(_labs(make_frames(3), albumin_g_dl_2=9.0), None, ctx())   # 0.9 g/dL or 900: no
    assert r.issues["rule"].tolist() == ["lab_value_implausible"] and r.rows_rejected == 0


def test_a_whole_column_at_a_factor_ten_from_the_study_rejects_the_file():
    f = make_frames(8)
    lab = f["lab"].copy()
    crp = lab["analyte"] == "crp_mg_dl"
    lab.loc[crp, "value"] = [1.2, 2.0, 3.1, 0.9, 12.0, 2.4, 1.8, 2.2]       # mg/L written: every value in range
    ok = validate_file({**f, "lab": lab}, None, ctx())
    assert ok.file_error is None and ok.issues.empty                        # what loaded silently before
    r = validate_file({**f, "lab": lab}, None, ctx(unit_reference=REF))
    assert r.file_error.code == "unit_profile_suspect" and r.rows_loaded == 0
    # file median 2.1 / study median 0.25 = 8.4: within a factor 2 of 10
    assert "crp_mg_dl: the values of this file (median 2.1) are about 8 times the study's (median 0.25 mg/dL)" \
        in r.file_error.message and "look written in mg/L, not mg/dL" in r.file_error.message


def test_column_check_needs_a_standard_factor_enough_values_and_a_reference():
    f = make_frames(8)
    lab = f["lab"].copy()
    crp = lab["analyte"] == "crp_mg_dl"
    lab.loc[crp, "value"] = 0.75                    # 3 times the study: an inflamed cohort, not a unit
    assert column_mixups({**f, "lab": lab}, REF) == []
    lab.loc[crp, "value"] = 2.5
    assert column_mixups({**f, "lab": lab}, REF.assign(n=5)) == []        # too small a reference
    assert column_mixups({**make_frames(3), "lab": lab[lab["source_line"] < 5]}, REF) == []    # 3 values


def test_without_a_reference_mostly_impossible_values_that_convert_reject_the_file():
    f = make_frames(6)
    lab = f["lab"].copy()
    alb = lab["analyte"] == "albumin_g_dl"
    lab.loc[alb, "value"] = [38.0, 41.0, 35.0, 44.0, 40.0, 39.0]
    (m,) = column_mixups({**f, "lab": lab}, None)
    assert (m.column, m.source_unit, m.reference_median) == ("albumin_g_dl", "g/L", None)
    assert "most values of this file (median 39.5) are impossible in g/dL and plausible in g/L" in m.message


def test_the_file_statistics_in_sql_are_those_computed_by_hand():
    """``stats_sql``: per checked column and confusion, the number of values, their median (numpy's),
    the share outside the plausible range and the share inside it once converted."""
    crp = np.array([0.1, 2.0, 25.0, 80.0, 0.3, 600.0, 4.0, 5.5, 0.25])
    f = make_frames(9)
    lab = f["lab"].copy()
    lab.loc[lab["analyte"] == "crp_mg_dl", "value"] = crp
    con = duckdb.connect()
    try:
        frames_to_tables(con, {**f, "lab": lab})
        sql = con.execute(stats_sql()).df()
    finally:
        con.close()
    assert list(sql.columns) == STATS_COLUMNS and len(sql) == len(CHECKED_CANDIDATES)
    rows = sql[sql["column"] == "crp_mg_dl"]
    assert len(rows)
    for r in rows.itertuples():
        _, _, k, source, factor, lo, hi = next(c for c in CHECKED_CANDIDATES if c[1] == "crp_mg_dl" and c[2] == r.k)
        assert (r.source, r.factor, r.n) == (source, factor, 9)
        assert r.median == pytest.approx(np.median(crp))
        assert r.outside == pytest.approx(np.mean((crp < lo) | (crp > hi)))
        assert r.inside == pytest.approx(np.mean((crp * factor >= lo) & (crp * factor <= hi)))
    assert ("lab", "crp_mg_dl") in FILE_CHECKED and ("elisa", "trough_ug_ml") in FILE_CHECKED


@pytest.mark.parametrize("crp", [[0.3, 2.0, 2.0, 0.1, 7.25, 2.0], [0.123456789, 1e-07], [5.0], [],
                                 [-74397983.60821457, -34853576.472114034, 16266698.25686868, 54192110.266707525]])
def test_the_file_median_is_duckdbs_median_bit_for_bit(crp):
    """``stats_sql`` reads the median off counted values (DuckDB's ``median`` holds every value outside
    the memory limit): an even number of values with ties, two, one, none, and a pair whose midpoint
    ``lo + (hi - lo) / 2`` would round differently all give DuckDB's own ``median`` exactly."""
    f = make_frames(max(len(crp), 1))
    lab = f["lab"][f["lab"]["analyte"] != "crp_mg_dl"]
    rows = f["lab"][f["lab"]["analyte"] == "crp_mg_dl"].head(len(crp)).assign(value=crp)
    con = duckdb.connect()
    try:
        frames_to_tables(con, {**f, "lab": pd.concat([lab, rows], ignore_index=True)})
        stats = con.execute(stats_sql()).df()
        want = con.execute("SELECT median(value), count(value) FROM lab WHERE analyte = 'crp_mg_dl'").fetchone()
    finally:
        con.close()
    row = stats[stats["column"] == "crp_mg_dl"].iloc[0]
    assert int(row["n"]) == want[1] == len(crp)
    assert (pd.isna(row["median"]) and want[0] is None) or float(row["median"]) == want[0]
    if crp:
        assert float(row["median"]) == pytest.approx(float(np.median(crp)))
