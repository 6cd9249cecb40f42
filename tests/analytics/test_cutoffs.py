"""Cut-off metrics and Table 4: proportion and likelihood-ratio CIs, pROC coords golden values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analytics.cutoffs import (
    DEFAULT_CUTOFFS,
    METRIC_COLUMNS,
    cutoff_metrics,
    cutoff_table,
    likelihood_ratios,
    proportion_ci,
)

DATA = Path(__file__).parent / "data"
TOL = dict(rtol=0, atol=1e-9)


def test_clopper_pearson_and_wilson_match_r_and_scipy():
    # binom.test(17, 23)$conf.int
    assert_allclose(proportion_ci(17, 23), [0.515948029597562, 0.897713866084642], **TOL)
    # prop.test(17, 23, correct=FALSE)$conf.int
    assert_allclose(proportion_ci(17, 23, method="wilson"), [0.535299951625746, 0.874513839550137], **TOL)
    for k, n in [(0, 10), (10, 10), (3, 7), (1, 1), (50, 105)]:
        for method, sp in (("clopper-pearson", "exact"), ("wilson", "wilson")):
            ci = stats.binomtest(k, n).proportion_ci(0.95, method=sp)
            assert_allclose(proportion_ci(k, n, method=method), [ci.low, ci.high], atol=1e-12)
    lo, hi = proportion_ci([1, 0], [0, 0])
    assert np.isnan(lo).all() and np.isnan(hi).all()
    with pytest.raises(ValueError, match="clopper-pearson"):
        proportion_ci(1, 2, method="exact")


def test_likelihood_ratio_log_method():
    tp, fp, tn, fn = 27, 11, 68, 44
    lr = likelihood_ratios(tp, fp, tn, fn)
    sens, spec = tp / 71, tn / 79
    lrp, lrn = sens / (1 - spec), (1 - sens) / spec
    se_p = np.sqrt((1 - sens) / tp + spec / fp)  # Simel 1991
    se_n = np.sqrt(sens / fn + (1 - spec) / tn)
    z = stats.norm.ppf(0.975)
    assert_allclose(lr["lr_positive"], lrp); assert_allclose(lr["lr_negative"], lrn)
    assert_allclose([lr["lr_positive_ci_low"], lr["lr_positive_ci_high"]], np.exp(np.log(lrp) + np.array([-z, z]) * se_p))
    assert_allclose([lr["lr_negative_ci_low"], lr["lr_negative_ci_high"]], np.exp(np.log(lrn) + np.array([-z, z]) * se_n))
    assert lr["lr_note"][0] == ""


def test_zero_cells_never_crash():
    lr = likelihood_ratios([5, 0, 0], [0, 4, 0], [10, 6, 10], [5, 10, 10])
    assert lr["lr_positive"][0] == np.inf and np.isnan(lr["lr_positive_ci_low"][0])
    assert lr["lr_positive"][1] == 0 and np.isnan(lr["lr_positive_ci_high"][1])
    assert np.isnan(lr["lr_positive"][2])
    assert "FP=0" in lr["lr_note"][0] and "TP=0" in lr["lr_note"][1] and "TP=FP=0" in lr["lr_note"][2]
    m = cutoff_metrics([1, 2, 3, 4], [0, 0, 1, 1], 3)
    assert m.specificity == 1 and m.lr_positive == np.inf and "FP=0" in m.lr_note and "FN=0" in m.lr_note
    m = cutoff_metrics([1, 2, 3, 4], [0, 0, 1, 1], 10)  # nobody positive: PPV undefined
    assert m.tp == 0 and m.fp == 0 and np.isnan(m.ppv) and np.isnan(m.ppv_ci_low)


def test_table_matches_proc_coords():
    d = pd.read_csv(DATA / "roc_sim.csv")
    t = cutoff_table(d.trough_ug_ml, d.mh)
    fixed = t[t.source.str.contains("fixed")]
    # coords(r, x=c(3,3.5,4.5,5,5.3,6,8.5), input="threshold", ret=c("sensitivity","specificity","tp","fp"))
    # (at an input threshold pROC, like us, counts marker >= threshold as test-positive)
    assert fixed.cutoff.tolist() == list(DEFAULT_CUTOFFS)
    assert fixed.tp.tolist() == [50, 41, 32, 29, 27, 22, 8]
    assert fixed.fp.tolist() == [46, 39, 22, 16, 12, 9, 2]
    assert_allclose(fixed.sensitivity, [0.704225352112676, 0.577464788732394, 0.450704225352113, 0.408450704225352,
                                        0.380281690140845, 0.309859154929577, 0.112676056338028], **TOL)
    assert_allclose(fixed.specificity, [0.417721518987342, 0.506329113924051, 0.721518987341772, 0.797468354430380,
                                        0.848101265822785, 0.886075949367089, 0.974683544303797], **TOL)
    assert set(t.source) >= {"youden", "target_specificity"}
    assert list(t.columns) == ["source", *METRIC_COLUMNS]
    # brute force every row
    x, y = d.trough_ug_ml.to_numpy(), d.mh.to_numpy().astype(bool)
    for row in t.itertuples():
        pred = x >= row.cutoff
        assert (row.tp, row.fp, row.tn, row.fn) == (np.sum(pred & y), np.sum(pred & ~y), np.sum(~pred & ~y), np.sum(~pred & y))
        lo, hi = stats.binomtest(row.tp, row.tp + row.fn).proportion_ci(0.95, "exact")
        assert_allclose([row.sensitivity_ci_low, row.sensitivity_ci_high], [lo, hi], atol=1e-12)


def test_table_coinciding_sources_merge_and_options():
    x = [1, 2, 3, 4, 5, 6]
    y = [0, 0, 0, 1, 1, 1]
    t = cutoff_table(x, y, cutoffs=[4, 2], target_specificity=0.8, target_sensitivity=0.9)
    assert t.cutoff.tolist() == [2.0, 4.0]
    assert t.source.tolist() == ["fixed", "fixed+youden+target_specificity+target_sensitivity"]
    t = cutoff_table(x, y, cutoffs=[3.5], include_optimal=False, ci_method="wilson")
    assert t.source.tolist() == ["fixed"] and (t.ci_method == "wilson").all()
    with pytest.raises(ValueError, match="finite"):
        cutoff_table(x, y, cutoffs=[np.nan])
