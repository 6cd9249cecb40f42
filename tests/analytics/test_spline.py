"""Concentration-response spline against R rms/Hmisc and glm, and the therapeutic window by brute force.

Golden values: ``tests/analytics/data/golden_i18a.R`` (R 4.x, rms 6.5.0, Hmisc 4.8.0):
``rcspline.eval(x, nk = k, knots.only = TRUE)`` (``i18a/rcs_knots.csv``; three cases: 150 troughs,
the first 80 (n < 100 rule), and 12 tied at the bottom (fractied rule)), the basis
``rcspline.eval(grid, knots, inclx = TRUE)`` (``i18a/rcs_basis_4.csv``) and
``predict(glm(mh ~ rcs(trough_ug_ml, knots), binomial), grid, type = "link", se.fit = TRUE)``
(``i18a/rcs_curve.csv``, refitted from its own MLE so vcov is at the MLE).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.optimize import brentq

from analytics.spline import concentration_response, rcs_basis, rcs_knots
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"
SIM = pd.read_csv(DATA / "roc_sim.csv")
X = SIM.trough_ug_ml.to_numpy()


def test_default_knots_match_rcspline_eval():
    cases = {"roc_sim": X, "first80": X[:80], "tied_bottom": np.r_[np.full(12, 0.5), X[12:]]}
    gold = pd.read_csv(DATA / "i18a" / "rcs_knots.csv")
    assert len(gold.groupby(["case", "nk"])) == 11
    for (case, nk), g in gold.groupby(["case", "nk"]):
        # write.csv keeps 15 significant digits: R's knot 3.9999999999999987 is stored as 4
        np.testing.assert_allclose(rcs_knots(cases[case], nk), g.knot, rtol=1e-14, err_msg=f"{case} {nk}")
    # to the bit: quantile(x[x > 1.1], c(.05, .5, .95)) printed with digits = 17 is 1.6, 3.9999999999999987, 9.13
    assert rcs_knots(X, 4)[2] == 3.9999999999999987
    # Harrell's table, n >= 100 and no heavy ties: 5 knots at the .05 .275 .5 .725 .95 quantiles
    u = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(rcs_knots(u, 5), [0.05, 0.275, 0.5, 0.725, 0.95], atol=1e-12)
    np.testing.assert_allclose(rcs_knots(u, 3), [0.1, 0.5, 0.9], atol=1e-12)


def test_basis_matches_rcspline_eval_and_is_linear_beyond_the_outer_knots():
    gold = pd.read_csv(DATA / "i18a" / "rcs_basis_4.csv")
    k = rcs_knots(X, 4)
    np.testing.assert_allclose(rcs_basis(gold.trough_ug_ml, k), gold.iloc[:, 1:].to_numpy(), rtol=1e-12, atol=1e-14)
    far = np.array([20.0, 30.0, 40.0])  # second differences vanish: linear tail (restricted)
    b = rcs_basis(far, k)
    np.testing.assert_allclose(b[2] - 2 * b[1] + b[0], 0, atol=1e-9)
    np.testing.assert_array_equal(rcs_basis(np.array([k[0] - 1, k[0]]), k)[:, 1:], 0)


@pytest.mark.parametrize("nk", [3, 4, 5])
def test_curve_and_pointwise_ci_match_glm_predict(nk):
    gold = pd.read_csv(DATA / "i18a" / "rcs_curve.csv").query("nk == @nk")
    res = concentration_response(SIM.trough_ug_ml, SIM.mh, n_knots=nk, grid=gold.trough_ug_ml, n_resamples=0)
    c = res.curve
    np.testing.assert_allclose(c.eta, gold.eta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c.se, gold.se, rtol=1e-8)
    for col in ("probability", "ci_low", "ci_high"):
        np.testing.assert_allclose(c[col], gold[col], rtol=1e-8)
    assert res.n_knots == nk and len(res.coefficients) == nk
    # the spline model is a glm: its fitted value for patient 1 is glm's fitted(f)[1]
    first = concentration_response(SIM.trough_ug_ml, SIM.mh, n_knots=nk, grid=[X[0]], n_resamples=0)
    assert first.curve.probability[0] == pytest.approx(gold.fitted_first.iloc[0], rel=1e-9)


def _p(res, x):
    b = np.column_stack([np.ones(np.size(x)), rcs_basis(np.atleast_1d(x), res.knots)])
    return 1 / (1 + np.exp(-(b @ res.coefficients.beta.to_numpy())))


def test_window_is_where_the_curve_crosses_the_target():
    res = concentration_response(SIM.trough_ug_ml, SIM.mh, n_knots=4, n_resamples=0, target=0.8)
    root = brentq(lambda v: _p(res, v)[0] - 0.8, 5, X.max(), xtol=1e-12)
    assert res.window_low == pytest.approx(root, abs=1e-4)  # grid of 2,001 points, logit interpolation
    assert res.window_high == X.max() and len(res.windows) == 1  # rises to the end of the data
    assert np.all(_p(res, np.linspace(res.window_low + 1e-3, X.max(), 50)) >= 0.8)
    never = concentration_response(SIM.trough_ug_ml, SIM.mh, n_knots=4, n_resamples=0, target=0.999)
    assert np.isnan(never.window_low) and never.windows.empty


def test_bootstrap_resamples_refitted_from_scratch():
    rng = np.random.default_rng(4)
    draws = rng.integers(0, X.size, size=(25, X.size))
    res = concentration_response(SIM.trough_ug_ml, SIM.mh, n_knots=4, resamples=draws, target=0.7)
    knots = res.knots
    design = sm.add_constant(rcs_basis(X, knots))
    for d, got in zip(draws, res.distribution):
        fit = sm.GLM(SIM.mh.to_numpy()[d], design[d], family=sm.families.Binomial()).fit(tol=1e-12)
        f = lambda v: 1 / (1 + np.exp(-(np.r_[1.0, rcs_basis(np.array([v]), knots)[0]] @ fit.params))) - 0.7  # noqa: E731
        grid = np.linspace(X.min(), X.max(), 2001)
        vals = 1 / (1 + np.exp(-(sm.add_constant(rcs_basis(grid, knots)) @ fit.params))) - 0.7
        if not (vals >= 0).any():
            assert got == np.inf
            continue
        i = int(np.argmax(vals >= 0))
        want = grid[0] if i == 0 else brentq(f, grid[i - 1], grid[i], xtol=1e-12)
        assert got == pytest.approx(want, abs=1e-4)
    assert res.seed is None and res.n_resamples == 25
    fin = res.distribution[np.isfinite(res.distribution)]
    assert res.window_low_ci_low == pytest.approx(np.quantile(fin, 0.025)) or res.n_not_reached > 0


def test_seed_is_recorded_and_reproduces():
    a = concentration_response(SIM.trough_ug_ml, SIM.mh, n_resamples=200, seed=8)
    b = concentration_response(SIM.trough_ug_ml, SIM.mh, n_resamples=200, seed=8)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert a.seed == 8 and a.window_low_ci_low < a.window_low < a.window_low_ci_high
    assert a.n_failed + a.n_not_reached < 60
    row = a.window_frame()
    assert row.loc[0, "seed"] == 8 and row.loc[0, "knots"] == "1.1, 1.6, 4, 9.13"
    assert concentration_response(SIM.trough_ug_ml, SIM.mh, n_resamples=5).seed is not None


def test_recovers_a_known_window_on_a_large_sample():
    # truth: logit p = -4 + 0.8 x, so p = 0.8 at x = (4 + log 4) / 0.8 = 6.733
    rng = np.random.default_rng(12)
    x = rng.uniform(0, 14, 8_000)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-4 + 0.8 * x))))
    res = concentration_response(x, y, n_knots=4, n_resamples=100, seed=1)
    truth = (4 + np.log(4)) / 0.8
    assert res.window_low == pytest.approx(truth, abs=0.15)
    # the bootstrap spread is of the right size: truth within 4 SE (a 95% CI misses 1 time in 20)
    assert 0.01 < res.window_low_se < 0.2 and abs(res.window_low - truth) < 4 * res.window_low_se
    assert res.window_low_ci_low < res.window_low < res.window_low_ci_high


def test_errors_are_clear():
    with pytest.raises(AnalysisError) as e:
        concentration_response([1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 1, 1, 1, 1], n_resamples=0)
    assert e.value.code == "spline_not_estimable"  # complete separation at 4.5
    with pytest.raises(AnalysisError) as e:
        concentration_response([1, 1, 1, 2, 2, 2, 2, 2], [0, 1, 0, 1, 0, 1, 1, 0], n_resamples=0)
    assert e.value.code == "spline_knots"
    with pytest.raises(AnalysisError) as e:
        concentration_response(X, np.ones_like(X), n_resamples=0)
    assert e.value.code == "one_class_only"
    with pytest.raises(ValueError, match="target"):
        concentration_response(X, SIM.mh, target=80)
    with pytest.raises(ValueError, match="n_knots"):
        rcs_knots(X, 2)
