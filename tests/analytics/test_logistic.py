"""Logistic fits, Wald CIs and score tests against R golden values.

Golden values: R 4.x, ``tests/analytics/data/golden.R`` (run once; the R calls are quoted beside each
value).  ``glm(..., control = glm.control(epsilon = 1e-14, maxit = 100))``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.design import detect_separation
from analytics.logistic import (
    fit_logistic,
    score_statistic,
    score_test,
    univariate_logistic,
)
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"
REL = 1e-6


@pytest.fixture(scope="module")
def small():
    return pd.read_csv(DATA / "logistic_small.csv")


def test_multivariable_fit_matches_r_glm(small):
    # glm(y ~ x1 + x2 + x3 + g, family = binomial, data = d)   (g a factor, reference "a")
    fit = fit_logistic(small, "y", ["x1", "x2", "x3", "g"])
    assert fit.status == "ok" and fit.converged
    assert fit.n == 88 and fit.n_dropped == 2  # nobs(f) = 88 (two missing x3)
    c = fit.coefficients.set_index("column")
    golden = {  # summary(f)$coefficients: Estimate, Std. Error, Pr(>|z|)
        "Intercept": (-0.624787231100100, 0.722181198955784, 0.386962417009582837),
        "x1": (0.466887982990120, 0.148620303691153, 0.001680952409567783),
        "x2": (-2.286638946669400, 0.631506562584090, 0.000293549729135616),
        "x3": (-0.234462976868691, 0.273101648667474, 0.390605897983467953),
        "g[b]": (-0.774472514047548, 0.630034533208226, 0.218976562119774176),
        "g[c]": (0.134282178134604, 0.728556100465772, 0.853768112514729505),
    }
    for col, (b, se, p) in golden.items():
        assert c.loc[col, "beta"] == pytest.approx(b, rel=REL)
        assert c.loc[col, "se"] == pytest.approx(se, rel=REL)
        assert c.loc[col, "p_value"] == pytest.approx(p, rel=REL)
    ci = {  # exp(confint.default(f))
        "x1": (1.1919582470464201, 2.134384736654992),
        "x2": (0.0294703953986256, 0.350319799786958),
        "g[c]": (0.2742647112554805, 4.769425682999499),
    }
    for col, (lo, hi) in ci.items():
        assert c.loc[col, "ci_low"] == pytest.approx(lo, rel=REL)
        assert c.loc[col, "ci_high"] == pytest.approx(hi, rel=REL)
    assert fit.log_likelihood == pytest.approx(-46.8216882279691, rel=1e-9)  # logLik(f)
    # joint Wald for the factor g: t(b) %*% solve(V) %*% b on 2 df
    g = fit.term_tests.set_index("term").loc["g"]
    assert g["df"] == 2
    assert g["wald_chi2"] == pytest.approx(2.50018875132362, rel=REL)
    assert g["p_value"] == pytest.approx(0.28647775905625, rel=REL)


def test_univariate_table_matches_r(small):
    # f1 <- glm(y ~ x1, family = binomial, data = d)
    # R's vcov() uses the IRLS weights of the *penultimate* iteration (f1 stops after 4): its SE
    # 0.118318714323221 is 1e-7 off the information at the MLE.  Refitting from the MLE,
    # f2 <- glm(y ~ x1, binomial, d, start = coef(f1)), gives the SE at the MLE, which we report:
    # summary(f2)$coefficients: SE 0.118318726861228, Pr(>|z|) 0.00219847758214401.
    t = univariate_logistic(small, "y", ["x1", "x3"]).set_index("term")
    r = t.loc["x1"]
    assert r["odds_ratio"] == pytest.approx(math.exp(0.362294469844638), rel=REL)
    assert r["se"] == pytest.approx(0.118318726861228, rel=1e-9)
    assert r["p_value"] == pytest.approx(0.00219847758214401, rel=1e-8)
    # exp(confint.default(f1)) agrees to 1e-6 all the same
    assert r["ci_low"] == pytest.approx(1.139277228300334, rel=REL)
    assert r["ci_high"] == pytest.approx(1.811571840555037, rel=REL)
    assert r["n"] == 90 and t.loc["x3", "n"] == 88  # each model on its own complete cases
    assert list(t.columns) == ["column", "n", "n_events", "beta", "se", "odds_ratio", "ci_low", "ci_high",
                               "wald_chi2", "p_value", "status", "note"]


def test_score_test_matches_r_add1_rao(small):
    # dc <- na.omit(d); add1(glm(y ~ x1, binomial, dc), ~ . + x2 + x3 + g, test = "Rao")
    s = score_test(small, "y", ["x1"], ["x2", "x3", "g"]).set_index("term")
    assert s.loc["x2", "statistic"] == pytest.approx(14.425687520699, rel=1e-8)
    assert s.loc["x3", "statistic"] == pytest.approx(0.750233390275, rel=1e-8)
    assert s.loc["g", "statistic"] == pytest.approx(1.498384805205, rel=1e-8)
    assert s.loc["g", "df"] == 2
    assert s.loc["x3", "p_value"] == pytest.approx(0.3864023, abs=1e-7)
    # add1(glm(y ~ 1, binomial, dc), ~ . + x1 + x2 + x3 + g, test = "Rao")
    s0 = score_test(small, "y", [], ["x1", "x2", "x3", "g"]).set_index("term")
    assert s0.loc["x1", "statistic"] == pytest.approx(9.012307637009, rel=1e-8)
    assert s0.loc["x2", "statistic"] == pytest.approx(12.947126436782, rel=1e-8)
    assert s0.loc["g", "statistic"] == pytest.approx(1.180952380952, rel=1e-8)


def test_score_statistic_by_hand_for_intercept_only():
    # Intercept-only restricted model: the score test of one binary x equals the uncorrected Pearson
    # chi-square of the 2x2 table times (n-1)/n ... by hand: S = U^2 / (I_xx - I_x0^2 / I_00).
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    y = (rng.random(50) < 0.4).astype(float)
    p = y.mean()
    U = np.sum(x * (y - p))
    w = p * (1 - p)
    info_xx = w * np.sum(x * x) - (w * np.sum(x)) ** 2 / (w * len(x))
    stat, df, _ = score_statistic(np.ones((50, 1)), x, y)
    assert df == 1
    assert stat == pytest.approx(U * U / info_xx, rel=1e-10)


def test_complete_separation_is_reported_not_a_huge_or():
    df = pd.DataFrame({"y": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    assert detect_separation(np.column_stack([np.ones(8), df.x]), df.y.to_numpy()) == "complete"
    fit = fit_logistic(df, "y", ["x"])
    assert fit.status == "complete_separation"
    assert not fit.estimable
    assert fit.coefficients[["odds_ratio", "ci_low", "ci_high", "p_value"]].isna().all().all()
    assert "separation" in fit.note


def test_quasi_complete_separation_is_reported():
    # x = 1 -> always y = 1; x = 0 -> mixed
    df = pd.DataFrame({"y": [0, 1, 0, 1, 0, 1, 1, 1, 1], "x": [0, 0, 0, 0, 0, 1, 1, 1, 1]})
    assert detect_separation(np.column_stack([np.ones(9), df.x]), df.y.to_numpy()) == "quasi-complete"
    t = univariate_logistic(df, "y", ["x"])
    assert t.loc[0, "status"] == "quasi_complete_separation"
    assert math.isnan(t.loc[0, "odds_ratio"])


def test_no_separation_on_overlapping_data(small):
    from analytics.design import build_design

    d = build_design(small, "y", ["x1", "x2", "x3", "g"])
    assert detect_separation(d.X, d.y) is None


def test_one_class_outcome_raises_analysis_error_and_univariate_reports_it():
    df = pd.DataFrame({"y": [1, 1, 1, 1], "x": [1.0, 2, 3, 4]})
    with pytest.raises(AnalysisError) as ei:
        fit_logistic(df, "y", ["x"])
    assert ei.value.code == "one_class_outcome"
    t = univariate_logistic(df, "y", ["x"])
    assert t.loc[0, "status"] == "not_estimable"


def test_collinear_design_is_singular_not_a_crash():
    df = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0], "a": [1.0, 2, 3, 4, 5, 6]})
    df["b"] = 2 * df["a"]
    fit = fit_logistic(df, "y", ["a", "b"])
    assert fit.status == "singular"


def test_bad_arguments_name_valid_values(small):
    with pytest.raises(ValueError, match="valid columns"):
        fit_logistic(small, "y", ["nope"])
    with pytest.raises(ValueError, match="alpha"):
        fit_logistic(small, "y", ["x1"], alpha=2)
    with pytest.raises(AnalysisError):
        fit_logistic(small.assign(y=small.y + 3), "y", ["x1"])


def test_boolean_and_text_outcomes_are_accepted(small):
    a = fit_logistic(small.assign(y=small.y.astype(bool)), "y", ["x1"]).coefficients
    b = fit_logistic(small.assign(y=np.where(small.y == 1, "yes", "no")), "y", ["x1"]).coefficients
    assert np.allclose(a.beta, b.beta)
