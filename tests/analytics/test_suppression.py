"""Publication-wide small-cell suppression: the rules on hand-built and real per-centre tables.

The adversarial test (every masked value attacked from everything a publication contains) is
``tests/publication/test_suppression_adversarial.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.centres import leave_one_centre_out, roc_by_centre
from analytics.suppression import parse_suppressed, suppress_publication

DATA = Path(__file__).parent / "data"


def _roc(rows):
    cols = ["centre", "n", "n_positive", "n_negative", "auc", "auc_ci_low", "auc_ci_high", "p_value", "youden_cutoff",
            "youden_tp", "youden_fp", "youden_tn", "youden_fn", "youden_sensitivity", "youden_specificity"]
    return pd.DataFrame(rows, columns=cols)


ALL = ["all", 60, 30, 30, .7, .6, .8, .01, 4.0, 20, 9, 21, 10, 20 / 30, .7]
A = ["A", 24, 12, 12, .7, .5, .9, .02, 4.0, 8, 6, 6, 4, 8 / 12, .5]     # fn = 4 < 5
B = ["B", 21, 10, 11, .6, .4, .8, .3, 3.5, 7, 5, 6, 3, .7, 6 / 11]      # fn = 3 < 5
C = ["C", 15, 8, 7, .8, .6, 1., .04, 4.5, 5, 2, 5, 3, 5 / 8, 5 / 7]    # fp = 2 < 5


def test_small_cell_masks_every_confusion_count_of_its_centre_not_its_margins():
    t = _roc([ALL, A, ["B2", 36, 18, 18, .7, .5, .9, .02, 4.0, 12, 5, 13, 6, 12 / 18, 13 / 18]])
    out = suppress_publication({"roc_by_centre": t}, centre_tables=["roc_by_centre"], k=5)["roc_by_centre"]
    a = parse_suppressed(out.at[1, "suppressed"])
    assert {a[c] for c in ("youden_tp", "youden_fp", "youden_tn", "youden_fn")} == {"suppressed"}
    assert a["youden_sensitivity"] == "derived" and a["youden_specificity"] == "derived"
    assert out.at[1, "n_positive"] == 12 and "auc" not in a  # margins fine: AUC and n stay
    # the cells are also published study-wide at 4.0 (every centre has 4.0): a second centre hides its cells
    b2 = parse_suppressed(out.at[2, "suppressed"])
    assert b2["youden_tp"] == "suppressed" and "n" not in b2
    assert out.at[0, "suppressed"] == ""  # the study-wide row is never masked
    assert t.at[1, "youden_fn"] == 4  # input untouched


def test_small_margin_closes_the_centre_and_a_second_centre():
    """The issue: sch's masked n_negative was 22 - 5 - 13 from the all row."""
    allrow = ["all", 22 + 40, 0, 0, .7, .6, .8, .01, 4.0, 0, 0, 0, 0, .5, .5]
    t = _roc([allrow, ["big", 40, 20, 20, .7, .6, .8, .01, 4.0, 10, 5, 15, 10, .5, .75],
              ["sch", 22, 18, 4, .7, .5, .9, .2, 3.0, 9, 1, 3, 9, .5, .75],
              ["mid", 30, 15, 15, .6, .4, .8, .3, 3.8, 9, 6, 9, 6, .6, .6]])
    out = suppress_publication({"roc_by_centre": t}, centre_tables=["roc_by_centre"], k=5)["roc_by_centre"]
    sch, mid, big = (parse_suppressed(out.set_index("centre").at[c, "suppressed"]) for c in ("sch", "mid", "big"))
    assert sch["n_negative"] == sch["n"] == sch["n_positive"] == "suppressed"  # one mark: which is small is not said
    assert {"auc", "p_value", "auc_ci_low", "youden_cutoff"} <= set(sch)  # derived from the tiny class
    assert mid["n"] == "suppressed" and mid["n_negative"] == "suppressed"  # smallest other centre closes
    assert "n" not in big
    masked_n = out.loc[out.centre != "all", "n"].isna().sum()
    assert masked_n == 2  # so 62 - 40 leaves two unknowns


def test_same_count_in_two_tables_is_masked_in_both():
    d = pd.read_csv(DATA / "roc_sim.csv")
    tables = {"roc_by_centre": roc_by_centre(d.trough_ug_ml, d.mh, d.centre),
              "leave_one_centre_out": leave_one_centre_out(d.trough_ug_ml, d.mh, d.centre)}
    out = suppress_publication(tables, centre_tables=list(tables), k=8)
    rbc = out["roc_by_centre"].set_index("centre")
    loco = out["leave_one_centre_out"].set_index("centre")
    for c in loco.index:
        for m in ("n", "n_positive", "n_negative"):
            assert pd.isna(rbc.at[c, m]) == pd.isna(loco.at[c, m]), (c, m)
        # own_* are the centre's counts at its own Youden cut-off: the same cells as youden_*
        for x in ("tp", "fp", "tn", "fn"):
            assert pd.isna(rbc.at[c, f"youden_{x}"]) == pd.isna(loco.at[c, f"own_{x}"]), (c, x)
    body = out["roc_by_centre"][out["roc_by_centre"].centre != "all"]
    for col in ("n", "n_positive", "n_negative", "youden_tp", "youden_fn"):
        v = body[col].dropna()
        assert (v >= 8).all(), col


def test_bad_arguments():
    t = _roc([ALL, A])
    with pytest.raises(ValueError, match="k must"):
        suppress_publication({"roc_by_centre": t}, centre_tables=["roc_by_centre"], k=0)
    with pytest.raises(ValueError, match="no suppression rule"):
        suppress_publication({"other": t}, centre_tables=["other"], k=5)
    # tables that are not centre-level pass through untouched
    out = suppress_publication({"roc_by_centre": t, "x": t}, centre_tables=["roc_by_centre"], k=5)
    assert out["x"] is t


def test_parse_suppressed():
    assert parse_suppressed("n:suppressed;auc:derived") == {"n": "suppressed", "auc": "derived"}
    assert parse_suppressed("") == {}
