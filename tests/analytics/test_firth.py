"""Firth's penalised logistic regression against R brglm2, an independent R profile, Heinze & Schemper
(2002) and two laws (Haldane's 0.5 correction for a 2 x 2 table; Firth -> ML in large samples).

Golden values: ``tests/analytics/data/golden_i18a.R`` (R 4.x, brglm2 0.9), written to
``tests/analytics/data/i18a/firth_*.csv``:
``glm(HG ~ NV + PI + EH, binomial, endometrial, method = "brglmFit", type = "AS_mean")`` for the
estimates and SEs; the profile penalised-likelihood CIs and tests by the script's own BFGS + uniroot
implementation of logistf's definition (logistf is not packaged in Debian).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.firth import METHOD_LABEL, fit_firth, univariate_firth
from analytics.logistic import fit_logistic
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def endometrial():
    return pd.read_csv(DATA / "endometrial.csv")


def _golden(name):
    g = pd.read_csv(DATA / "i18a" / name)
    g["column"] = g["column"].replace({"(Intercept)": "Intercept", "gb": "g[b]", "gc": "g[c]"})
    return g.set_index("column")


def test_separated_endometrial_matches_brglm2_and_profile(endometrial):
    fit = fit_firth(endometrial, "HG", ["NV", "PI", "EH"])
    assert fit.separation == "quasi-complete"          # NV = 1 only with HG = 1: no ML estimate
    assert fit_logistic(endometrial, "HG", ["NV", "PI", "EH"]).status == "quasi_complete_separation"
    assert fit.converged and fit.n == 79 and fit.n_events == 30
    c = fit.coefficients.set_index("column")
    g = _golden("firth_endometrial.csv")
    for col in g.index:
        # summary(brglmFit AS_mean): Estimate, Std. Error
        assert c.loc[col, "beta"] == pytest.approx(g.loc[col, "beta"], rel=1e-8)
        assert c.loc[col, "se"] == pytest.approx(g.loc[col, "se"], rel=1e-8)
        # profile penalised likelihood (R: optim BFGS + uniroot, tol 1e-12)
        assert math.log(c.loc[col, "ci_low"]) == pytest.approx(g.loc[col, "ci_low"], abs=1e-6)
        assert math.log(c.loc[col, "ci_high"]) == pytest.approx(g.loc[col, "ci_high"], abs=1e-6)
        assert c.loc[col, "chi2"] == pytest.approx(g.loc[col, "chi2"], rel=1e-6)
        assert c.loc[col, "p_value"] == pytest.approx(g.loc[col, "p_value"], rel=1e-5)
    # brglm2 summary printed: NV 2.92927 (SE 1.55076); Heinze & Schemper (2002), log-ORs with
    # 95% profile penalised-likelihood CIs: NV 2.93 (0.61 to 7.85); PI -0.03 (-0.12, 0.04); EH -2.60 (-4.36, -1.23)
    assert c.loc["NV", "beta"] == pytest.approx(2.92927, abs=5e-6)
    assert math.log(c.loc["NV", "ci_low"]) == pytest.approx(0.61, abs=0.005)
    assert math.log(c.loc["NV", "ci_high"]) == pytest.approx(7.85, abs=0.005)
    assert math.log(c.loc["EH", "ci_low"]) == pytest.approx(-4.36, abs=0.01)
    assert math.log(c.loc["EH", "ci_high"]) == pytest.approx(-1.23, abs=0.005)
    assert (c["method"] == "firth").all() and "Firth" in fit.method_label and "Firth" in fit.note


def test_regular_data_with_factor_matches_brglm2(tmp_path):
    d = pd.read_csv(DATA / "logistic_small.csv")
    fit = fit_firth(d, "y", ["x1", "x2", "x3", "g"])
    assert fit.separation is None and fit.n == 88
    c = fit.coefficients.set_index("column")
    g = _golden("firth_logistic_small.csv")
    assert list(c.index) == ["Intercept", "x1", "x2", "x3", "g[b]", "g[c]"]
    for col in g.index:
        assert c.loc[col, "beta"] == pytest.approx(g.loc[col, "beta"], rel=1e-8)
        assert c.loc[col, "se"] == pytest.approx(g.loc[col, "se"], rel=1e-8)
        assert math.log(c.loc[col, "ci_low"]) == pytest.approx(g.loc[col, "ci_low"], abs=1e-6)
        assert math.log(c.loc[col, "ci_high"]) == pytest.approx(g.loc[col, "ci_high"], abs=1e-6)
        assert c.loc[col, "p_value"] == pytest.approx(g.loc[col, "p_value"], rel=1e-5, abs=1e-12)
    # joint penalised LR test of the factor g (gb = gc = 0, 2 df): R profile_dev(c(gb, gc), 0)
    gt = pd.read_csv(DATA / "i18a" / "firth_term_g.csv").iloc[0]
    tt = fit.term_tests.set_index("term")
    assert tt.loc["g", "df"] == 2 and tt.loc["g", "chi2"] == pytest.approx(gt.chi2, rel=1e-6)
    assert tt.loc["g", "p_value"] == pytest.approx(gt.p_value, rel=1e-6)
    assert tt.loc["x1", "chi2"] == c.loc["x1", "chi2"] and list(tt.index) == ["x1", "x2", "x3", "g"]


def test_complete_separation_has_finite_profile_limits():
    # y = 0 for x = 1..5, 1 for x = 6..10: ML diverges, Firth and its profile CI are finite
    d = pd.DataFrame({"x": range(1, 11), "y": [0] * 5 + [1] * 5})
    fit = fit_firth(d, "y", ["x"])
    assert fit.separation == "complete"
    c = fit.coefficients.set_index("column")
    g = _golden("firth_complete.csv")
    for col in g.index:
        assert c.loc[col, "beta"] == pytest.approx(g.loc[col, "beta"], rel=1e-8)
        assert math.log(c.loc[col, "ci_low"]) == pytest.approx(g.loc[col, "ci_low"], abs=1e-6)
        assert math.log(c.loc[col, "ci_high"]) == pytest.approx(g.loc[col, "ci_high"], abs=1e-6)
        assert c.loc[col, "p_value"] == pytest.approx(g.loc[col, "p_value"], rel=1e-5)


@pytest.mark.parametrize("a,b,c_,d", [(7, 0, 3, 9), (5, 4, 0, 6), (12, 3, 4, 10)])
def test_two_by_two_equals_haldane_corrected_log_odds_ratio(a, b, c_, d):
    # For a saturated 2 x 2 model, Firth's estimate is the log OR with 0.5 added to every cell
    # (Firth 1993; Heinze & Schemper 2002, section 2): an exact law, zero cells included.
    x = [1] * (a + b) + [0] * (c_ + d)
    y = [1] * a + [0] * b + [1] * c_ + [0] * d
    fit = fit_firth(pd.DataFrame({"x": x, "y": y}), "y", ["x"])
    haldane = math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c_ + 0.5)))
    assert fit.coefficients.set_index("column").loc["x", "beta"] == pytest.approx(haldane, rel=1e-9)
    assert fit.separation == ("quasi-complete" if 0 in (a, b, c_, d) else None)


def test_large_non_separated_sample_approaches_ml():
    # Firth's bias correction is O(1/n): ten times the patients, about a tenth of the gap to ML,
    # and on 20,000 patients a gap of a few percent of one SE.
    rng = np.random.default_rng(7)
    x = rng.normal(size=20_000)
    z = rng.binomial(1, 0.4, size=20_000)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-0.5 + 0.8 * x - 0.6 * z))))
    df = pd.DataFrame({"x": x, "z": z, "y": y})
    gaps = {}
    for n in (2_000, 20_000):
        f = fit_firth(df[:n], "y", ["x", "z"]).coefficients.set_index("column")
        m = fit_logistic(df[:n], "y", ["x", "z"]).coefficients.set_index("column")
        gaps[n] = (f.beta - m.beta).abs()
        assert (gaps[n] < 0.05 * m.se).all()
        assert abs(f.loc["x", "beta"]) < abs(m.loc["x", "beta"])  # shrinks towards 0
    assert (gaps[20_000] < gaps[2_000] / 4).all()
    assert f.loc["x", "ci_low"] == pytest.approx(m.loc["x", "ci_low"], rel=5e-3)  # profile ~ Wald here


def test_univariate_uses_firth_only_where_ml_fails(endometrial):
    t = univariate_firth(endometrial, "HG", ["NV", "PI", "EH"]).set_index("term")
    assert t.loc["NV", "method"] == "firth" and t.loc["NV", "status"] == "quasi_complete_separation"
    assert np.isfinite(t.loc["NV", "odds_ratio"]) and np.isnan(t.loc["NV", "wald_chi2"])
    assert t.loc["NV", "odds_ratio"] == pytest.approx(
        fit_firth(endometrial, "HG", ["NV"]).coefficients.set_index("column").loc["NV", "odds_ratio"])
    ml = fit_logistic(endometrial, "HG", ["EH"]).coefficients.set_index("column")
    assert t.loc["EH", "method"] == "ml" and t.loc["EH", "odds_ratio"] == ml.loc["EH", "odds_ratio"]
    assert list(t.index) == ["NV", "PI", "EH"]
    every = univariate_firth(endometrial, "HG", ["NV", "EH"], when="always")
    assert (every["method"] == "firth").all()
    with pytest.raises(ValueError, match="when must be one of"):
        univariate_firth(endometrial, "HG", ["NV"], when="sometimes")
    assert "Firth" in METHOD_LABEL


def test_bad_input_is_a_clear_error(endometrial):
    with pytest.raises(AnalysisError) as e:
        fit_firth(endometrial.assign(HG=1), "HG", ["NV"])
    assert e.value.code == "one_class_outcome"
    with pytest.raises(AnalysisError) as e:
        fit_firth(endometrial.assign(NV2=endometrial.NV * 2), "HG", ["NV", "NV2"])
    assert e.value.code == "singular_design"
    with pytest.raises(ValueError, match="unknown column"):
        fit_firth(endometrial, "HG", ["nope"])
    with pytest.raises(ValueError, match="alpha"):
        fit_firth(endometrial, "HG", ["NV"], alpha=2)
