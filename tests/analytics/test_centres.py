"""Per-centre ROC, leave-one-centre-out cut-offs, between-centre DeLong comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analytics.centres import compare_centre_aucs, leave_one_centre_out, roc_by_centre
from analytics.roc import roc_analysis
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"
TOL = dict(rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def d():
    return pd.read_csv(DATA / "roc_sim.csv")


def test_roc_by_centre_matches_single_analyses(d):
    t = roc_by_centre(d.trough_ug_ml, d.mh, d.centre)
    assert t.centre.tolist() == ["all", "A", "B", "C"]
    # ci.auc(rA) with rA <- roc(mh, trough) in centre A: 0.443863668191077 0.595238095238095 0.746612522285114
    a = t.set_index("centre").loc["A"]
    assert_allclose([a.auc_ci_low, a.auc, a.auc_ci_high], [0.443863668191077, 0.595238095238095, 0.746612522285114], **TOL)
    for c in ["A", "B", "C"]:
        g = d[d.centre == c]
        r = roc_analysis(g.trough_ug_ml, g.mh)
        row = t.set_index("centre").loc[c]
        assert row.youden_cutoff == r.youden.cutoff and row.target_specificity_cutoff == r.target_specificity.cutoff
        assert row.youden_tp == r.youden.tp and row.auc == r.auc


def test_small_centre_not_estimable(d):
    centre = d.centre.copy()
    centre.iloc[0] = "Z"  # one patient
    t = roc_by_centre(d.trough_ug_ml, d.mh, centre)
    z = t.set_index("centre").loc["Z"]
    assert z.n == 1 and np.isnan(z.auc) and "not estimable" in z.note


def test_leave_one_centre_out(d):
    t = leave_one_centre_out(d.trough_ug_ml, d.mh, d.centre)
    assert t.centre.tolist() == ["A", "B", "C"]
    for row in t.itertuples():
        rest = d[d.centre != row.centre]
        held = d[d.centre == row.centre]
        c = roc_analysis(rest.trough_ug_ml, rest.mh).youden.cutoff
        assert row.cutoff_without == c
        pred = held.trough_ug_ml >= c
        assert row.tp == (pred & (held.mh == 1)).sum() and row.fp == (pred & (held.mh == 0)).sum()
        assert row.cutoff_own == roc_analysis(held.trough_ug_ml, held.mh).youden.cutoff
    assert (t.cutoff_all == roc_analysis(d.trough_ug_ml, d.mh).youden.cutoff).all()
    ts = leave_one_centre_out(d.trough_ug_ml, d.mh, d.centre, method="target_specificity")
    assert (ts.method == "target_specificity").all()
    with pytest.raises(AnalysisError):
        leave_one_centre_out(d.trough_ug_ml, d.mh, ["A"] * len(d))


def test_compare_centres_matches_proc(d):
    t = compare_centre_aucs(d.trough_ug_ml, d.mh, d.centre)
    ab = t[(t.centre1 == "A") & (t.centre2 == "B")].iloc[0]
    # roc.test(rA, rB, method="delong", paired=FALSE): D = 0.284722299495756, p = 0.776535524635092
    assert_allclose([ab.z, ab.p_value], [0.284722299495756, 0.776535524635092], **TOL)
    assert len(t) == 3 and (t.p_value_holm >= t.p_value).all()
