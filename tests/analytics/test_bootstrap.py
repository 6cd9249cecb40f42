"""Stratified bootstrap of the cut-off: reproducible, equal to a per-resample brute force, fast."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analytics.bootstrap import bootstrap_cutoff
from analytics.roc import roc_analysis

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def sim():
    d = pd.read_csv(DATA / "roc_sim.csv")
    return d.trough_ug_ml.to_numpy(), d.mh.to_numpy().astype(bool)


@pytest.mark.parametrize("method", ["youden", "target_specificity"])
def test_each_resample_equals_brute_force(sim, method):
    x, y = sim
    B = 25
    b = bootstrap_cutoff(x, y, method=method, n_resamples=B, seed=11)
    # regenerate the same stratified resamples (one batch: cases then controls)
    rng = np.random.default_rng(11)
    xc, xn = x[y], x[~y]
    ic = rng.integers(0, xc.size, size=(B, xc.size))
    inn = rng.integers(0, xn.size, size=(B, xn.size))
    for r in range(B):
        xs = np.concatenate([xc[ic[r]], xn[inn[r]]])
        ys = np.r_[np.ones(xc.size, bool), np.zeros(xn.size, bool)]
        res = roc_analysis(xs, ys, target_specificity=0.8)
        m = res.youden if method == "youden" else res.target_specificity
        row = b.distribution.iloc[r]
        assert row.cutoff == m.cutoff
        assert_allclose([row.sensitivity, row.specificity, row.auc], [m.sensitivity, m.specificity, res.auc], atol=1e-12)


def test_seed_recorded_and_reproducible(sim):
    x, y = sim
    a = bootstrap_cutoff(x, y, n_resamples=200, seed=5)
    b = bootstrap_cutoff(x, y, n_resamples=200, seed=5, batch_cells=5_000)  # smaller batches: other draws, same seed
    assert a.seed == 5 and a.n_resamples == 200
    c = bootstrap_cutoff(x, y, n_resamples=200, seed=5)
    pd.testing.assert_frame_equal(a.distribution, c.distribution)
    assert b.seed == 5
    d = bootstrap_cutoff(x, y, n_resamples=20)
    assert isinstance(d.seed, int)  # drawn and recorded
    e = bootstrap_cutoff(x, y, n_resamples=20, seed=d.seed)
    pd.testing.assert_frame_equal(d.distribution, e.distribution)


def test_estimates_and_ci(sim):
    x, y = sim
    b = bootstrap_cutoff(x, y, n_resamples=300, seed=1)
    r = roc_analysis(x, y)
    assert b.cutoff == r.youden.cutoff and b.auc == r.auc
    assert b.n_positive == y.sum() and b.n_negative == (~y).sum()
    for q in ("cutoff", "sensitivity", "specificity", "auc"):
        v = b.distribution[q]
        assert_allclose([getattr(b, f"{q}_ci_low"), getattr(b, f"{q}_ci_high")], np.quantile(v, [0.025, 0.975]))
    f = b.to_frame()
    assert f.quantity.tolist() == ["cutoff", "sensitivity", "specificity", "auc"]
    assert {"estimate", "ci_low", "ci_high", "se", "seed"} <= set(f.columns)


def test_unreachable_target_counts_failures():
    x = np.array([1, 2, 3, 3, 3, 4])
    y = np.array([0, 1, 0, 1, 0, 1], bool)
    b = bootstrap_cutoff(x, y, method="target_specificity", target_specificity=1.0, n_resamples=50, seed=2)
    assert b.n_failed > 0 and b.n_failed == b.distribution.cutoff.isna().sum()


def test_bad_arguments(sim):
    x, y = sim
    with pytest.raises(ValueError, match="youden"):
        bootstrap_cutoff(x, y, method="closest")
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_cutoff(x, y, n_resamples=0)
