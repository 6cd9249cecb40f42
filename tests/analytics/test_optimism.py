"""Out-of-bag performance of the re-chosen Youden cut-off against R cutpointr 1.1.2 and brute force.

cutpointr draws its resamples with R's ``sample()``, which numpy cannot reproduce; so
``tests/analytics/data/golden_i18a.R`` runs
``set.seed(20261201); cutpointr(r, trough_ug_ml, mh, pos_class = 1, neg_class = 0, direction = ">=",
method = maximize_metric, metric = youden, break_ties = min, boot_runs = 200, boot_stratify = FALSE | TRUE)``
and, after the same ``set.seed``, re-draws cutpointr's indices (one ``sample()`` per run, as its
``simple_boot`` does) into ``i18a/cutpointr_indices_*.csv``.  Fed those resamples, every run must
equal cutpointr's ``boot`` table (``i18a/cutpointr_boot_*.csv``) and the summary must equal
``summary(cp)$boot`` (``i18a/cutpointr_summary_*.csv``).  The seeded numpy path is checked by
re-analysing every resample from scratch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.optimism import RUN_COLUMNS, SUMMARY_COLUMNS, oob_cutoff_performance
from analytics.roc import roc_analysis

DATA = Path(__file__).parent / "data"
SIM = pd.read_csv(DATA / "roc_sim.csv")


@pytest.mark.parametrize("tag", ["simple", "stratified"])
def test_same_resamples_give_cutpointrs_boot_runs(tag):
    idx = pd.read_csv(DATA / "i18a" / f"cutpointr_indices_{tag}.csv").to_numpy()
    res = oob_cutoff_performance(SIM.trough_ug_ml, SIM.mh, resamples=idx)
    cp = pd.read_csv(DATA / "i18a" / f"cutpointr_boot_{tag}.csv")
    assert len(res.runs) == len(cp) == 200 and res.seed is None and res.stratified is None
    for col in cp.columns:  # cutoff, sensitivity_b/oob, specificity_b/oob, youden_oob
        np.testing.assert_allclose(res.runs[col], cp[col], rtol=0, atol=1e-12, err_msg=col)
    # summary(cp)$boot: Min., 5%, 1st Qu., Median, Mean, 3rd Qu., 95%, Max., SD, NAs
    want = pd.read_csv(DATA / "i18a" / f"cutpointr_summary_{tag}.csv").set_index("Variable")
    got = res.summary().set_index("quantity")
    assert list(got.reset_index().columns) == SUMMARY_COLUMNS
    for ours, theirs in (("cutoff", "optimal_cutpoint"), ("sensitivity_b", "sensitivity_b"),
                         ("specificity_b", "specificity_b"), ("youden_b", "youden_b"),
                         ("sensitivity_oob", "sensitivity_oob"), ("specificity_oob", "specificity_oob"),
                         ("youden_oob", "youden_oob")):
        np.testing.assert_allclose(got.loc[ours].drop("n_na").to_numpy(float),
                                   want.loc[theirs].drop("NAs").to_numpy(float), rtol=1e-12, err_msg=ours)
    assert res.sensitivity_oob == pytest.approx(want.loc["sensitivity_oob", "Mean"], rel=1e-12)


def test_apparent_values_are_the_in_sample_youden_optimum():
    # cutpointr on the full data: optimal_cutpoint 5.6, sensitivity 0.380282, specificity 0.860759
    res = oob_cutoff_performance(SIM.trough_ug_ml, SIM.mh, n_resamples=50, seed=3)
    y = roc_analysis(SIM.trough_ug_ml, SIM.mh).youden
    assert res.cutoff == y.cutoff == 5.6
    assert res.sensitivity == pytest.approx(0.38028169014084506, rel=1e-15) == y.sensitivity
    assert res.specificity == pytest.approx(0.86075949367088611, rel=1e-15)
    assert res.sensitivity_corrected == pytest.approx(res.sensitivity - res.sensitivity_optimism)


def _brute_force(x, y, draws):
    """Every resample from scratch with plain loops over candidate cut-offs."""
    out = []
    for d in draws:
        xb, yb = x[d], y[d]
        oob = np.setdiff1d(np.arange(x.size), d)
        xo, yo = x[oob], y[oob]
        best, cut = -np.inf, None
        for c in np.unique(xb):  # ascending: the first maximum is the lowest tied cut-off
            j = (xb[yb] >= c).mean() + (xb[~yb] < c).mean() - 1
            if j > best + 1e-12:
                best, cut = j, c
        out.append([cut, (xb[yb] >= cut).mean(), (xb[~yb] < cut).mean(), (xo[yo] >= cut).mean(),
                    (xo[~yo] < cut).mean()])
    return np.array(out)


@pytest.mark.parametrize("stratified", [False, True])
def test_seeded_draws_re_analysed_from_scratch(stratified):
    x = SIM.trough_ug_ml.to_numpy()
    y = SIM.mh.to_numpy() == 1
    res = oob_cutoff_performance(x, y, n_resamples=120, seed=11, stratified=stratified)
    again = oob_cutoff_performance(x, y, n_resamples=120, seed=11, stratified=stratified)
    pd.testing.assert_frame_equal(res.runs, again.runs)  # the seed reproduces the result
    assert res.seed == 11 and res.stratified is stratified
    rng = np.random.default_rng(11)  # the documented draw: one integers() call per batch
    if stratified:
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        draws = np.hstack([pos[rng.integers(0, pos.size, (120, pos.size))],
                           neg[rng.integers(0, neg.size, (120, neg.size))]])
        m = pos.size
        assert np.allclose(res.runs.sensitivity_b * m, np.round(res.runs.sensitivity_b * m))  # m fixed
    else:
        draws = rng.integers(0, x.size, (120, x.size))
    want = _brute_force(x, y, draws)
    got = res.runs[["cutoff", "sensitivity_b", "specificity_b", "sensitivity_oob", "specificity_oob"]].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert list(res.runs.columns) == RUN_COLUMNS


def test_an_uninformative_marker_is_optimistic_in_bag():
    # noise marker: the in-bag optimum has J >= 0 by construction (the lowest cut-off gives 0) and
    # clearly above 0 on average; out of bag it has no optimism left (its true J is 0; out-of-bag
    # estimates of a noise cut-off are, if anything, pessimistic: the out-of-bag patients are
    # the complement of those the cut-off was tuned to)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=300), rng.integers(0, 2, 300)
    res = oob_cutoff_performance(x, y, n_resamples=400, seed=9)
    assert res.runs.youden_b.min() >= 0 and res.runs.youden_b.mean() > 0.03
    assert res.runs.youden_oob.mean() < 0.01
    assert res.sensitivity_optimism + res.specificity_optimism > 0.1
    f = res.to_frame()
    assert list(f.quantity) == ["sensitivity", "specificity"] and (f.seed == 9).all()


def test_target_specificity_rule_and_bad_arguments():
    res = oob_cutoff_performance(SIM.trough_ug_ml, SIM.mh, method="target_specificity", target_specificity=0.8,
                                 n_resamples=100, seed=2)
    assert res.cutoff == roc_analysis(SIM.trough_ug_ml, SIM.mh, target_specificity=0.8).target_specificity.cutoff
    assert (res.runs.specificity_b >= 0.8 - 1e-12).all()
    with pytest.raises(ValueError, match="method must be one of"):
        oob_cutoff_performance(SIM.trough_ug_ml, SIM.mh, method="max")
    with pytest.raises(ValueError, match="shape"):
        oob_cutoff_performance(SIM.trough_ug_ml, SIM.mh, resamples=np.zeros((3, 4), dtype=int))
    with pytest.raises(ValueError, match="n_resamples"):
        oob_cutoff_performance(SIM.trough_ug_ml, SIM.mh, n_resamples=0)
