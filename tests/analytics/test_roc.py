"""ROC curve, AUC, Youden and target cut-offs: R pROC golden values and independent computations.

Golden values: R 4.x, pROC 1.18.0, on the CSVs in ``tests/analytics/data`` (``roc_sim.csv`` from
``make_roc_sim.py``; ``aSAH.csv`` exported from ``pROC::aSAH``, outcome 1 = "Poor").
R never runs in the tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from analytics.cutoffs import DEFAULT_CUTOFFS
from analytics.roc import CURVE_COLUMNS, auc_score, roc_analysis, roc_curve
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"
TOL = dict(rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(DATA / "roc_sim.csv")


@pytest.fixture(scope="module")
def asah():
    return pd.read_csv(DATA / "aSAH.csv")


# --- golden values from pROC -------------------------------------------------------------------

def test_sim_auc_delong_ci_matches_proc(sim):
    r = roc_analysis(sim.trough_ug_ml, sim.mh)
    # r <- roc(d$mh, d$trough_ug_ml, levels=c(0,1), direction="<"); auc(r); ci.auc(r, method="delong")
    assert_allclose(r.auc, 0.61606346942414, **TOL)
    assert_allclose([r.ci_low, r.ci_high], [0.524826093662887, 0.707300845185392], **TOL)
    # var(r, method="delong")
    assert_allclose(r.se**2, 0.00216695248455008, **TOL)
    assert (r.n, r.n_positive, r.n_negative, r.n_dropped) == (150, 71, 79, 0)


def test_sim_youden_matches_proc(sim):
    r = roc_analysis(sim.trough_ug_ml, sim.mh)
    # coords(r, "best", best.method="youden", ret=c("threshold","sensitivity","specificity","ppv","npv",
    #        "tp","fp","tn","fn")) -> threshold 5.5 (midpoint 5.3|5.6), sens 0.380281690140845,
    #        spec 0.860759493670886, ppv 0.710526315789474, npv 0.607142857142857, 27 11 68 44
    y = r.youden
    assert y.cutoff == 5.6  # the observed value just above pROC's midpoint 5.5
    assert (y.tp, y.fp, y.tn, y.fn) == (27, 11, 68, 44)
    assert_allclose([y.sensitivity, y.specificity, y.ppv, y.npv],
                    [0.380281690140845, 0.860759493670886, 0.710526315789474, 0.607142857142857], **TOL)
    assert r.youden_ties == (5.6,)
    # coords(r, "all"): 70 thresholds = 69 distinct values + Inf
    assert len(r.curve) == 70
    assert tuple(r.curve.columns) == CURVE_COLUMNS


def test_sim_target_specificity_matches_proc(sim):
    r = roc_analysis(sim.trough_ug_ml, sim.mh, target_specificity=0.8)
    # all <- coords(r, "all"); all[all$specificity >= 0.8, ][1, ] -> threshold 5.05,
    #        sens 0.380281690140845, spec 0.810126582278481
    t = r.target_specificity
    assert t.cutoff == 5.1
    assert_allclose([t.sensitivity, t.specificity], [0.380281690140845, 0.810126582278481], **TOL)


def test_asah_s100b_matches_proc(asah):
    r = roc_analysis(asah.s100b, asah.outcome)
    # roc(aSAH$outcome, aSAH$s100b): AUC 0.7314, 95% CI 0.6301-0.8326 (DeLong)
    assert_allclose(r.auc, 0.731368563685637, **TOL)
    assert_allclose([r.ci_low, r.ci_high], [0.630118211761623, 0.832618915609651], **TOL)
    # coords(s, "best", best.method="youden") -> threshold 0.205, sens 0.634146341463415,
    #        spec 0.805555555555556, ppv 0.65, npv 0.794520547945205
    assert r.youden.cutoff == 0.22
    assert_allclose([r.youden.sensitivity, r.youden.specificity, r.youden.ppv, r.youden.npv],
                    [0.634146341463415, 0.805555555555556, 0.65, 0.794520547945205], **TOL)


@pytest.mark.parametrize(
    "col, auc, lo, hi",
    [
        # ci.auc(roc(a$outcome, a$ndka, levels=c(0,1), direction="<"))
        ("ndka", 0.611957994579946, 0.501244999271703, 0.722670989888189),
        # ci.auc(roc(a$outcome, a$wfns, levels=c(0,1), direction="<"))  (ordinal: heavy ties)
        ("wfns", 0.823678861788618, 0.748534887819453, 0.898822835757783),
    ],
)
def test_asah_other_markers_match_proc(asah, col, auc, lo, hi):
    r = roc_analysis(asah[col], asah.outcome)
    assert_allclose([r.auc, r.ci_low, r.ci_high], [auc, lo, hi], **TOL)


def test_asah_wfns_youden_matches_proc(asah):
    # coords(w, "best", best.method="youden") -> threshold 3.5, sens 0.634146341463415, spec 0.833333333333333
    r = roc_analysis(asah.wfns, asah.outcome)
    assert r.youden.cutoff == 4.0
    assert_allclose([r.youden.sensitivity, r.youden.specificity], [0.634146341463415, 0.833333333333333], **TOL)


def test_ci_truncated_to_unit_interval():
    # perfect separation: AUC 1, SE 0 -> CI [1, 1]; pROC truncates ci to [0, 1] the same way
    r = roc_analysis([1, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 1])
    assert r.auc == 1.0 and r.ci_high == 1.0 and r.ci_low == 1.0
    assert np.isnan(r.p_value)
    r = roc_analysis([1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 1, 0, 1, 1, 1])
    assert r.ci_high <= 1.0


# --- independent computations ------------------------------------------------------------------

def brute_force_curve(x, y):
    """Confusion table at every observed value and +inf, by explicit comparison."""
    rows = []
    for c in list(np.unique(x)) + [np.inf]:
        pred = x >= c
        tp = int(np.sum(pred & y)); fp = int(np.sum(pred & ~y))
        rows.append((c, tp, fp, int(np.sum(~pred & ~y)), int(np.sum(~pred & y))))
    return pd.DataFrame(rows, columns=["cutoff", "tp", "fp", "tn", "fn"])


def brute_force_auc(x, y):
    xs, ys = x[y], x[~y]
    s = 0.0
    for a in xs:
        for b in ys:
            s += 1.0 if a > b else 0.5 if a == b else 0.0
    return s / (len(xs) * len(ys))


def test_curve_equals_brute_force(sim):
    x = sim.trough_ug_ml.to_numpy(); y = sim.mh.to_numpy().astype(bool)
    got = roc_curve(x, y)
    exp = brute_force_curve(x, y)
    pd.testing.assert_frame_equal(got[["cutoff", "tp", "fp", "tn", "fn"]], exp, check_dtype=False)
    assert_allclose(got.sensitivity, exp.tp / y.sum())
    assert_allclose(got.specificity, exp.tn / (~y).sum())


def test_youden_and_targets_equal_brute_force(sim):
    x = sim.trough_ug_ml.to_numpy(); y = sim.mh.to_numpy().astype(bool)
    bf = brute_force_curve(x, y).iloc[:-1]  # observed values only
    sens = bf.tp / y.sum(); spec = bf.tn / (~y).sum()
    j = sens + spec - 1
    for ts, te in [(0.8, 0.8), (0.5, 0.3), (0.95, 0.95)]:
        r = roc_analysis(x, y, target_specificity=ts, target_sensitivity=te)
        assert r.youden.cutoff == bf.cutoff[np.isclose(j, j.max(), atol=1e-12)].min()
        assert r.target_specificity.cutoff == bf.cutoff[spec >= ts].min()
        assert r.target_sensitivity.cutoff == bf.cutoff[sens >= te].max()


def test_youden_ties_all_reported_and_lowest_chosen():
    # J = 0.5 at cut-offs 2 (sens 1, spec .5) and 4 (sens .5, spec 1)
    x = [1, 2, 3, 4]
    y = [0, 1, 0, 1]
    r = roc_analysis(x, y)
    assert r.youden_ties == (2.0, 4.0)
    assert r.youden.cutoff == 2.0 and r.youden.sensitivity == 1.0


def test_ties_never_split():
    x = np.array([1, 1, 1, 2, 2, 3])
    y = np.array([0, 1, 0, 1, 0, 1])
    c = roc_curve(x, y)
    assert c.cutoff.tolist() == [1, 2, 3, np.inf]
    assert c.tp.tolist() == [3, 2, 1, 0] and c.fp.tolist() == [3, 1, 0, 0]
    assert_allclose(auc_score(x, y), brute_force_auc(x, y.astype(bool)))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=2, max_size=40).filter(
        lambda v: 0 < sum(b for _, b in v) < len(v)
    )
)
def test_auc_is_mann_whitney(pairs):
    x = np.array([a for a, _ in pairs], dtype=float) / 4
    y = np.array([b for _, b in pairs])
    u = stats.mannwhitneyu(x[y], x[~y], alternative="two-sided").statistic
    a = auc_score(x, y)
    assert_allclose(a, u / (y.sum() * (~y).sum()), atol=1e-12)
    assert_allclose(a, brute_force_auc(x, y), atol=1e-12)
    # AUC is the trapezoidal area under the empirical curve
    c = roc_curve(x, y)
    fpr = 1 - c.specificity.to_numpy()[::-1]; tpr = c.sensitivity.to_numpy()[::-1]
    assert_allclose(a, np.trapezoid(tpr, fpr), atol=1e-12)


def test_sklearn_cross_check(sim):
    skm = pytest.importorskip("sklearn.metrics")
    x = sim.trough_ug_ml.to_numpy(); y = sim.mh.to_numpy().astype(bool)
    assert_allclose(auc_score(x, y), skm.roc_auc_score(y, x), atol=1e-12)
    fpr, tpr, thr = skm.roc_curve(y, x, drop_intermediate=False)  # thr descending, first = inf
    c = roc_curve(x, y).iloc[::-1].reset_index(drop=True)
    assert_allclose(c.cutoff, thr)
    assert_allclose(1 - c.specificity, fpr); assert_allclose(c.sensitivity, tpr)


# --- inputs ------------------------------------------------------------------------------------

def test_missing_dropped_and_counted():
    x = [1.0, np.nan, 3.0, 4.0, 5.0, 2.0]
    y = [0, 1, None, 1, 1, 0]
    r = roc_analysis(x, pd.array(y, dtype="boolean"))
    assert (r.n, r.n_dropped, r.n_positive, r.n_negative) == (4, 2, 2, 2)


@pytest.mark.parametrize("y", [["yes", "no", "Yes", "NO"], ["true", "false", "T", "f"], [1.0, 0.0, 1, 0],
                               [True, False, True, False]])
def test_outcome_spellings(y):
    r = roc_analysis([5, 1, 4, 2], y)
    assert r.auc == 1.0


def test_errors():
    with pytest.raises(AnalysisError, match="one|at least"):
        roc_analysis([1, 2, 3], [1, 1, 1])
    with pytest.raises(AnalysisError) as e:
        roc_analysis([1, 2, 3, 4], [0, 1, 2, 1])
    assert e.value.code == "outcome_not_binary"
    with pytest.raises(AnalysisError) as e:
        roc_analysis(["a", "2", "3", "4"], [0, 1, 0, 1])
    assert e.value.code == "marker_not_numeric"
    with pytest.raises(AnalysisError):
        roc_analysis([1, 2], [0, 1])  # DeLong needs 2 per class
    with pytest.raises(ValueError, match="ci_method"):
        roc_analysis([1, 2, 3, 4], [0, 1, 0, 1], ci_method="exact")
    with pytest.raises(ValueError, match="target_specificity"):
        roc_analysis([1, 2, 3, 4], [0, 1, 0, 1], target_specificity=80)


def test_unreachable_target_is_none():
    r = roc_analysis([1, 2, 3, 3], [0, 1, 0, 1], target_specificity=1.0)
    assert r.target_specificity is None  # a control shares the top value


def test_result_helpers(sim):
    r = roc_analysis(sim.trough_ug_ml, sim.mh, target_sensitivity=0.8, marker_name="trough", outcome_name="mh")
    f = r.to_frame()
    assert f.loc[0, "auc"] == r.auc and f.loc[0, "youden_cutoff"] == 5.6
    d = r.to_dict()
    assert d["youden"]["cutoff"] == 5.6 and len(d["curve"]["cutoff"]) == 70
    assert set(r.cutoffs_frame().source) == {"youden", "target_specificity", "target_sensitivity"}
    assert DEFAULT_CUTOFFS == (3.0, 3.5, 4.5, 5.0, 5.3, 6.0, 8.5)


def test_youden_matches_cutpointr_observed_value_convention(sim, asah):
    # cutpointr 1.1.2 reports observed values with rule ">=", like us:
    # cutpointr(d, trough_ug_ml, mh, method=maximize_metric, metric=youden, direction=">=",
    #           pos_class=1, neg_class=0, break_ties=c)$optimal_cutpoint -> 5.6 (sens 0.3802817, spec 0.8607595)
    assert roc_analysis(sim.trough_ug_ml, sim.mh).youden.cutoff == 5.6
    # same call on aSAH: wfns -> 4, s100b -> 0.22
    assert roc_analysis(asah.wfns, asah.outcome).youden.cutoff == 4.0
    assert roc_analysis(asah.s100b, asah.outcome).youden.cutoff == 0.22


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.booleans()), min_size=4, max_size=40).filter(
        lambda v: sum(b for _, b in v) >= 2 and sum(not b for _, b in v) >= 2
    ),
    st.sampled_from([0.5, 0.8, 1.0]),
)
def test_curve_and_cutoffs_equal_brute_force_property(pairs, target):
    x = np.array([a for a, _ in pairs], dtype=float) / 2
    y = np.array([b for _, b in pairs])
    bf = brute_force_curve(x, y)
    got = roc_curve(x, y)
    assert got[["tp", "fp", "tn", "fn"]].to_numpy().tolist() == bf[["tp", "fp", "tn", "fn"]].to_numpy().tolist()
    obs = bf.iloc[:-1]
    sens = obs.tp / y.sum(); spec = obs.tn / (~y).sum()
    r = roc_analysis(x, y, target_specificity=target, target_sensitivity=target)
    j = obs.tp * (~y).sum() - obs.fp * y.sum()
    assert list(r.youden_ties) == obs.cutoff[j == j.max()].tolist()
    ok = obs.cutoff[spec >= target]
    assert (r.target_specificity is None) == ok.empty
    if not ok.empty:
        assert r.target_specificity.cutoff == ok.min()
    assert r.target_sensitivity.cutoff == obs.cutoff[sens >= target].max()  # lowest value always has sens 1
