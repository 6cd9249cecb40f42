"""The report's number formats and the paper's table layouts (expected strings written from the paper)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics.render.formats import clinical_round, format_count, format_cutoff, format_p, format_pct, format_sig
from analytics.render.layouts import table1_layout, table2_layout, table3_layout, table4_layout
from analytics.render.supplements import generic_layout
from schema.labels import label


def test_numbers_are_formatted_by_what_they_are():
    assert format_p(0.0004) == "<0.001" and format_p(0.04) == "0.040" and format_p(float("nan")) == ""
    assert format_count(7320.0) == "7320"  # counts and W are not "7320.000"
    assert format_sig(-0.000309, 3) == "-0.000309"  # beta is not "-0.000"
    assert format_sig(3.52436, 3) == "3.52" and format_sig(11.701, 3) == "11.7" and format_sig(0.529, 3) == "0.529"
    assert format_cutoff(306.0) == "306" and format_cutoff(3.5) == "3.5" and format_cutoff(3.26) == "3.26"
    assert format_pct(0.7576) == "75.8"
    assert clinical_round(1.21013, "years") == "1.2" and clinical_round(4.02, "µg/mL") == "4.0"
    assert clinical_round(4509.85, "/µL") == "4500"


def test_labels_come_from_the_data_dictionary():
    assert label("crp_mg_dl") == "CRP, mg/dL"
    assert label("trough_analysis_ug_ml") == "IFX trough level, µg/mL"
    assert label("diagnosis_to_ifx_years") == "Duration from diagnosis to IFX, years"
    assert label("wbc_per_ul") == "WBC, /µL"


def _t4_row(source, cutoff, sens, lo, hi):
    r = {"source": source, "cutoff": cutoff, "tp": 33, "fp": 16, "tn": 38, "fn": 18}
    for m in ("sensitivity", "specificity", "ppv", "npv"):
        r |= {m: sens, f"{m}_ci_low": lo, f"{m}_ci_high": hi}
    return r


def test_table4_percentages_with_ci_in_the_cell_and_cutoffs_marked():
    t = pd.DataFrame([_t4_row("fixed", 3.0, .8, .66, .9), _t4_row("youden+target_specificity", 4.2, .647, .501, .776)])
    d = table4_layout(t, target_specificity=0.8)
    assert d.columns[:2] == ["IFX trough cut-off, µg/mL", "Sensitivity, % (95% CI)"]
    assert d.rows[0][0] == "≥3" and d.rows[1][0] == "≥4.2 ab"
    assert d.rows[1][1] == "64.7 (50.1–77.6)"  # the example
    assert d.rows[1][5] == "33/16/38/18"
    assert any("Youden" in n for n in d.footnotes) and any("≥ 80%" in n for n in d.footnotes)


def test_table3_clinically_rounded_label_with_exact_value_in_a_note():
    t3 = pd.DataFrame({"term": ["b1_behaviour", "diagnosis_to_ifx_years >= 1.21013"], "odds_ratio": [3.312, 0.149],
                       "ci_low": [0.973, 0.0401], "ci_high": [11.273, 0.553], "p_value": [0.055, 0.003],
                       "method": ["ml", "ml"]})
    cuts = pd.DataFrame({"term": ["diagnosis_to_ifx_years"], "cutoff": [1.210130047912389]})
    d = table3_layout(t3, cuts)
    assert d.rows[0] == ["B1 disease behaviour (yes vs no)", "3.31 (0.973–11.3)", "0.055"]
    assert d.rows[1][0] == "Duration from diagnosis to IFX ≥1.2 years"
    assert any("observed value 1.21013 years" in n for n in d.footnotes)


def test_table2_univariate_and_adjusted_side_by_side_and_firth_labelled():
    uni = pd.DataFrame({"term": ["b1_behaviour", "diagnosis_to_ifx_years", "ati_positive"],
                        "column": ["b1_behaviour", "diagnosis_to_ifx_years", "ati_positive"], "n": [105, 105, 105],
                        "odds_ratio": [3.874, 0.585, 0.0312], "ci_low": [1.299, 0.386, 0.0016],
                        "ci_high": [11.547, 0.888, 0.61], "p_value": [0.015, 0.012, 0.02],
                        "status": ["ok", "ok", "complete_separation"], "method": ["ml", "ml", "firth"]})
    model = pd.DataFrame({"column": ["b1_behaviour"], "odds_ratio": [3.524], "ci_low": [1.061], "ci_high": [11.701],
                          "p_value": [0.04], "method": ["ml"]})
    d = table2_layout(uni, model)
    assert d.columns == ["Variable", "n", "Univariate OR (95% CI)", "p", "Adjusted OR (95% CI)", "p"]
    assert d.rows[0] == ["B1 disease behaviour (yes vs no)", "105", "3.87 (1.30–11.5)", "0.015",
                         "3.52 (1.06–11.7)", "0.040"]
    assert d.rows[1][4] == ""  # not selected
    assert d.rows[2][2].endswith(" F") and any(n.startswith("F: Firth") for n in d.footnotes)


def test_table1_group_n_in_the_header_and_test_with_p():
    t1 = pd.DataFrame([
        {"variable": "n", "label": "Patients", "level": "", "kind": "count", "summary": "n", "n": 105,
         "overall": "105", "mucosal_healing=False": "54", "mucosal_healing=True": "51", "test": "",
         "statistic": math.nan, "p_value": math.nan},
        {"variable": "male", "label": "Male sex", "level": "", "kind": "binary", "summary": "n (%)", "n": 105,
         "overall": "74 (70.5)", "mucosal_healing=False": "38 (70.4)", "mucosal_healing=True": "36 (70.6)",
         "test": "chi-square", "statistic": 0.0005, "p_value": 0.98},
        {"variable": "age", "label": "Age at diagnosis, years", "level": "", "kind": "continuous",
         "summary": "median [IQR]", "n": 105, "overall": "14.8 [13.0–16.0]", "mucosal_healing=False": "",
         "mucosal_healing=True": "15.0 [13.1–16.2]", "test": "wilcoxon", "statistic": 1320.5, "p_value": 0.4567}])
    d = table1_layout(t1)
    assert d.columns == ["Characteristic", "All (n = 105)", "No MH (n = 54)", "MH (n = 51)", "Test", "Statistic", "p"]
    assert d.rows[0] == ["Male sex, n (%)", "74 (70.5)", "38 (70.4)", "36 (70.6)", "χ²", "χ² = 0.00", "0.980"]
    assert d.rows[1][2] == "–" and d.rows[1][5] == "W = 1320.5"


def test_masked_cells_show_why():
    t = pd.DataFrame({"centre": ["all", "knuh"], "n": [30, pd.NA], "n_positive": [20, pd.NA], "auc": [0.7, math.nan],
                      "p_value": [0.01, math.nan], "suppressed": ["", "n:suppressed;n_positive:suppressed;auc:derived;"
                                                                  "p_value:derived"]})
    d = generic_layout(t, k=5)
    assert d.rows[1] == ["knuh", "‡", "‡", "†", "†"]
    assert len(d.footnotes) == 2 and "k = 5" in d.footnotes[0] and "count below 5" in d.footnotes[0]


def test_table1_values_carry_what_table1_rounds():
    from analytics.descriptive import Variable, table1
    from analytics.descriptive_values import table1_values

    d = pd.DataFrame({"age": [10.04, 12.5, 13.26, 15.0, None, 9.9], "male": [True, False, True, True, None, False],
                      "loc": ["L1", "L3", "L3", "L2", "L3", None], "mh": [True, True, False, False, True, False]})
    vs = [Variable("age", "Age", digits=1), Variable("male", "Male", "binary"),
          Variable("loc", "Location", "categorical", levels=("L1", "L2", "L3"))]
    v = table1_values(d, vs, by="mh").set_index(["variable", "level", "group"])
    t = table1(d, vs, by="mh").set_index(["variable", "level"])
    age = v.loc[("age", "", "all")]
    assert age["n"] == 5 and age["median"] == 12.5 and t.at[("age", ""), "overall"].startswith("12.5 [")
    assert v.loc[("age", "", "True"), "mean"] == pytest.approx((10.04 + 12.5) / 2)
    male = v.loc[("male", "", "all")]
    assert (male["count"], male["n"]) == (3, 5) and male["percent"] == 60.0 and t.at[("male", ""), "overall"] == "3 (60.0)"
    assert v.loc[("loc", "L3", "False"), "count"] == 1 and v.loc[("loc", "L3", "False"), "n"] == 2
