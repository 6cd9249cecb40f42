"""Small-cell suppression: primary, derived, complementary (within and across rows)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.centres import roc_by_centre
from analytics.suppression import suppress_roc_table, suppress_small_cells

DATA = Path(__file__).parent / "data"


def test_primary_and_derived():
    t = pd.DataFrame({"centre": ["A", "B"], "tp": [12, 3], "fn": [8, 10], "sensitivity": [0.6, 3 / 13],
                      "sensitivity_ci_low": [0.4, 0.05], "sensitivity_ci_high": [0.8, 0.5]})
    s = suppress_small_cells(t, ["tp", "fn"], derived={"sensitivity": ["tp", "fn"]})
    assert s.loc[0].drop("suppressed").tolist() == t.loc[0].tolist()
    assert pd.isna(s.at[1, "tp"]) and pd.isna(s.at[1, "sensitivity"]) and pd.isna(s.at[1, "sensitivity_ci_high"])
    assert s.at[1, "fn"] == 10 and s.at[1, "suppressed"] == "tp,sensitivity,sensitivity_ci_low,sensitivity_ci_high"
    assert t.at[1, "tp"] == 3  # input untouched


def test_complementary_within_row_and_k():
    t = pd.DataFrame({"n_positive": [20], "tp": [17], "fn": [3]})
    s = suppress_small_cells(t, ["tp", "fn"], totals={"n_positive": ["tp", "fn"]})
    assert pd.isna(s.at[0, "fn"]) and pd.isna(s.at[0, "tp"]) and s.at[0, "n_positive"] == 20
    s = suppress_small_cells(t, ["tp", "fn"], k=3, totals={"n_positive": ["tp", "fn"]})
    assert s.at[0, "suppressed"] == ""
    z = suppress_small_cells(pd.DataFrame({"tp": [0]}), ["tp"])
    assert pd.isna(z.at[0, "tp"])
    z = suppress_small_cells(pd.DataFrame({"tp": [0]}), ["tp"], mask_zero=False)
    assert z.at[0, "tp"] == 0
    with pytest.raises(ValueError, match="k must"):
        suppress_small_cells(t, ["tp"], k=0)


def test_across_rows_with_overall_row():
    t = pd.DataFrame({"centre": ["all", "A", "B", "C"], "n": [30, 3, 12, 15]})
    s = suppress_small_cells(t, ["n"], total_row=("centre", "all"))
    assert s.at[0, "n"] == 30  # overall never masked
    assert pd.isna(s.at[1, "n"]) and pd.isna(s.at[2, "n"]) and s.at[3, "n"] == 15  # B masked as complement


def test_roc_by_centre_table_no_small_count_left():
    d = pd.read_csv(DATA / "roc_sim.csv")
    t = roc_by_centre(d.trough_ug_ml, d.mh, d.centre)
    s = suppress_roc_table(t, k=5)
    counts = [c for c in s.columns if c.endswith(("_tp", "_fp", "_tn", "_fn")) or c in ("n", "n_positive", "n_negative")]
    body = s[s.centre != "all"]
    for c in counts:
        v = body[c].dropna()
        assert (v >= 5).all(), c
    # a masked cell's partner in the same total is masked too
    for p in ("youden_", "target_specificity_"):
        for a, b in ((p + "tp", p + "fn"), (p + "fp", p + "tn")):
            assert (body[a].isna() == body[b].isna()).all()
        assert (body[p + "sensitivity"].isna() == body[p + "tp"].isna()).all()
    assert s[s.centre == "all"].suppressed.iloc[0] == ""


def test_band_rate_table_implied_negatives():
    from analytics.bands import rate_by_bins

    t = rate_by_bins([1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3], [1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0], [2]).assign(centre="A")
    s = suppress_roc_table(t)
    # interval <2: 5 with, 1 without the outcome -> the 1 is implied by n - n_positive: mask n_positive and rate
    assert pd.isna(s.at[0, "n_positive"]) and pd.isna(s.at[0, "rate"]) and pd.isna(s.at[0, "ci_low"])
    assert s.at[0, "n"] == 6 and "n_negative" not in s.columns
    assert list(s.columns[:-1]) == list(t.columns)


def test_loco_table_own_counts_detected():
    from analytics.centres import leave_one_centre_out

    d = pd.read_csv(DATA / "roc_sim.csv")
    t = leave_one_centre_out(d.trough_ug_ml, d.mh, d.centre)
    s = suppress_roc_table(t, prefixes=("",))  # "own_" detected automatically
    for c in ("tp", "fp", "tn", "fn", "own_tp", "own_fp", "own_tn", "own_fn"):
        v = s[c].dropna()
        assert (v >= 5).all(), c
    assert (s.own_sensitivity.isna() == s.own_tp.isna()).all()
    assert (s.sensitivity_ci_low.isna() == s.tp.isna()).all()
