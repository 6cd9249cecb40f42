"""Random-effects meta-analysis against R metafor 3.8.1 and laws.

Golden values: ``tests/analytics/data/golden_i18a.R`` -> ``i18a/meta.csv``:
``rma(yi, vi, data = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg),
method = "DL" | "REML", control = list(threshold = 1e-14))`` with ``predict(res)`` (and
``pi.type = "riley"``); per-centre AUCs of ``roc_sim.csv`` with pROC ``var(roc, method = "delong")``
pooled by ``rma(auc, variance, method = "DL" | "REML")``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.meta import centre_auc_meta, random_effects
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"
GOLD = pd.read_csv(DATA / "i18a" / "meta.csv")


def _gold(case, method, pi_type="default"):
    return GOLD[(GOLD.case == case) & (GOLD.method == method) & (GOLD.pi_type == pi_type)].iloc[0]


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_bcg_matches_metafor(method):
    bcg = pd.read_csv(DATA / "i18a" / "bcg.csv")
    res = random_effects(bcg.yi, bcg.vi, method=method)
    g = _gold("bcg", method)
    # metafor: DL tau2 = 0.3088, REML tau2 = 0.3132, mu = -0.7141 / -0.7145 (Viechtbauer 2010)
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                         ("z", "z"), ("p_value", "p_value"), ("tau2", "tau2"), ("q", "q"),
                         ("q_p_value", "q_p_value"), ("i2_percent", "i2"), ("h2", "h2"),
                         ("pi_low", "pi_low"), ("pi_high", "pi_high")):
        assert getattr(res, ours) == pytest.approx(g[theirs], rel=1e-9), ours
    assert res.k == 13 and res.q_df == 12 and res.pi_method == "z"
    assert res.studies.weight_percent.sum() == pytest.approx(100)


def test_t_prediction_interval_matches_metafor_riley():
    bcg = pd.read_csv(DATA / "i18a" / "bcg.csv")
    res = random_effects(bcg.yi, bcg.vi, method="REML", pi_method="t")
    g = _gold("bcg", "REML", "riley")  # predict(res, pi.type = "riley"): t on k - 2 df
    assert res.pi_low == pytest.approx(g.pi_low, rel=1e-9) and res.pi_high == pytest.approx(g.pi_high, rel=1e-9)


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_centre_aucs_match_proc_and_metafor(method):
    r = pd.read_csv(DATA / "roc_sim.csv")
    res = centre_auc_meta(r.trough_ug_ml, r.mh, r.centre, method=method)
    auc = pd.read_csv(DATA / "i18a" / "centre_auc.csv")  # pROC auc(), var(method = "delong")
    s = res.studies.set_index("study")
    for row in auc.itertuples():
        assert s.loc[row.centre, "estimate"] == pytest.approx(row.auc, rel=1e-12)
        assert s.loc[row.centre, "variance"] == pytest.approx(row.variance, rel=1e-9)
    g = _gold("roc_sim_centres", method)
    for f in ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "q_p_value", "pi_low", "pi_high"):
        assert getattr(res, f) == pytest.approx(g[f], rel=1e-9, abs=1e-15), f
    # Q = 1.11 <= df = 2, so tau2 = 0: the pooled AUC is the fixed-effect (inverse-variance) mean
    assert res.tau2 == 0 and res.i2_percent == 0
    w = 1 / auc.variance
    assert res.estimate == pytest.approx(float((w * auc.auc).sum() / w.sum()), rel=1e-12)
    assert res.null_value == 0.5 and res.z == pytest.approx((res.estimate - 0.5) / res.se)
    assert list(s.index) == ["A", "B", "C"] and s.included.all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 2)), min_size=2, max_size=12))
def test_dl_tau2_is_zero_exactly_when_q_at_most_df(studies):
    y, v = np.array(studies).T
    res = random_effects(y, v, method="DL")
    if res.q <= res.q_df:
        assert res.tau2 == 0
    else:
        assert res.tau2 > 0
        # DL moment equation: (Q - df) / (sum w - sum w^2 / sum w)
        w = 1 / v
        assert res.tau2 == pytest.approx((res.q - res.q_df) / (w.sum() - (w**2).sum() / w.sum()), rel=1e-9)


def _reml_loglik(t2, y, v):
    """Restricted log-likelihood written out (Viechtbauer 2005, eq. 7), up to a constant."""
    w = 1 / (v + t2)
    mu = (w * y).sum() / w.sum()
    return -0.5 * (np.log(v + t2).sum() + np.log(w.sum()) + (w * (y - mu) ** 2).sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 2)), min_size=3, max_size=10))
def test_reml_tau2_maximises_the_restricted_likelihood(studies):
    # brute force: the REML log-likelihood on a fine grid never beats the estimate
    y, v = np.array(studies).T
    res = random_effects(y, v, method="REML")
    grid = np.linspace(0, 4 * (res.tau2 + np.var(y) + 0.1), 801)
    best = max(_reml_loglik(t, y, v) for t in grid)
    assert _reml_loglik(res.tau2, y, v) >= best - 1e-9


def test_reml_finds_the_inner_maximum_when_zero_is_only_a_local_one():
    # found by the property test above: the score is negative at tau2 = 0 (a local maximum) but the
    # restricted likelihood is higher inside.  metafor: rma(y, v, method = "REML",
    # control = list(threshold = 1e-14))$tau2 = 0.454838974273075, b = 0.2103116, logLik -15.49264
    y = np.array([0, 0, 0, 0, 0, 0, 2, 2, 3, -2.25])
    v = np.array([1, 1, 1, 1, 0.5, 0.015625, 1, 2, 2, 0.875])
    res = random_effects(y, v, method="REML")
    assert res.tau2 == pytest.approx(0.454838974273075, rel=1e-9)
    assert res.estimate == pytest.approx(0.2103116, abs=5e-8)
    assert _reml_loglik(res.tau2, y, v) > _reml_loglik(0.0, y, v)


def test_separated_or_small_centres_are_listed_not_pooled():
    r = pd.read_csv(DATA / "roc_sim.csv")
    # centre D: perfectly separated (DeLong variance 0); centre E: one patient with MH only
    extra = pd.DataFrame({"trough_ug_ml": [1, 2, 3, 9, 10, 11, 5.0], "mh": [0, 0, 0, 1, 1, 1, 1],
                          "centre": ["D"] * 6 + ["E"]})
    d = pd.concat([r[["trough_ug_ml", "mh", "centre"]], extra], ignore_index=True)
    res = centre_auc_meta(d.trough_ug_ml, d.mh, d.centre)
    s = res.studies.set_index("study")
    assert res.k == 3 and not s.loc["D", "included"] and not s.loc["E", "included"]
    assert "variance 0" in s.loc["D", "note"] and "fewer than 2" in s.loc["E", "note"]
    assert s.loc["D", "estimate"] == 1.0 and np.isnan(s.loc["D", "weight_percent"])
    with pytest.raises(AnalysisError) as e:
        two = d[d.centre.isin(["A", "D", "E"])]
        centre_auc_meta(two.trough_ug_ml, two.mh, two.centre)
    assert e.value.code == "too_few_centres"
    with pytest.raises(AnalysisError) as e:  # nothing left after dropping missing values
        centre_auc_meta([np.nan, 1.0], [1, np.nan], ["A", "B"])
    assert e.value.code == "too_few_centres" and "0 of 0" in e.value.message


def test_pooled_auc_intervals_stay_within_0_and_1():
    # heterogeneous centres (AUC 1.0, 0.57, 0.94, 0.44): on the AUC scale mu + 1.96 sqrt(se^2 + tau^2) > 1
    rng = np.random.default_rng(3)
    parts = []
    for c, shift in (("A", 3.0), ("B", 0.2), ("C", 2.5), ("D", 0.5)):
        y = rng.integers(0, 2, 30)
        parts.append(pd.DataFrame({"x": rng.normal(0, 1, 30) + shift * y, "y": y, "centre": c}))
    d = pd.concat(parts, ignore_index=True)
    res = centre_auc_meta(d.x, d.y, d.centre)
    use = res.studies[res.studies.included]
    raw = random_effects(use.estimate, use.variance, method="REML", null_value=0.5)
    assert raw.pi_high > 1 and raw.pi_low > 0                      # the untruncated interval leaves [0, 1]
    assert res.pi_high == 1.0 and res.pi_low == raw.pi_low and res.estimate == raw.estimate
    assert 0 <= res.ci_low <= res.ci_high <= 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="method must be one of"):
        random_effects([0.1, 0.2], [0.01, 0.02], method="HS")
    with pytest.raises(ValueError, match="at least 2 studies"):
        random_effects([0.1], [0.01])
    with pytest.raises(ValueError, match="variance"):
        random_effects([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(ValueError, match="pi_method"):
        random_effects([0.1, 0.2], [0.01, 0.02], pi_method="normal")
