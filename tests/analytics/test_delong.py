"""DeLong variance, CI and tests: pROC golden values and a slow direct formula (double loops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from analytics.delong import delong_auc, delong_placements, delong_test, delong_test_paired, delong_test_unpaired
from base.errors import AnalysisError

DATA = Path(__file__).parent / "data"
TOL = dict(rtol=0, atol=1e-9)


def psi(a, b):
    return 1.0 if a > b else 0.5 if a == b else 0.0


def slow_delong(x1, y, x2=None):
    """DeLong 1988 by explicit double loops: placements, S10/S01 (co)variances."""
    y = np.asarray(y, bool)
    markers = [np.asarray(x1, float)] + ([np.asarray(x2, float)] if x2 is not None else [])
    m, n = int(y.sum()), int((~y).sum())
    v10s, v01s, aucs = [], [], []
    for x in markers:
        cases, ctrls = x[y], x[~y]
        v10 = np.array([sum(psi(c, d) for d in ctrls) / n for c in cases])
        v01 = np.array([sum(psi(c, d) for c in cases) / m for d in ctrls])
        v10s.append(v10); v01s.append(v01); aucs.append(v10.mean())
    k = len(markers)
    S = np.zeros((k, k))
    for r in range(k):
        for s in range(k):
            s10 = sum((v10s[r][i] - aucs[r]) * (v10s[s][i] - aucs[s]) for i in range(m)) / (m - 1)
            s01 = sum((v01s[r][j] - aucs[r]) * (v01s[s][j] - aucs[s]) for j in range(n)) / (n - 1)
            S[r, s] = s10 / m + s01 / n
    return aucs, S, v10s, v01s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.booleans()), min_size=4, max_size=30).filter(
    lambda v: sum(b for *_, b in v) >= 2 and sum(not b for *_, b in v) >= 2))
def test_matches_slow_direct_formula(rows):
    x1 = np.array([a for a, _, _ in rows], float)
    x2 = np.array([b for _, b, _ in rows], float)
    y = np.array([c for *_, c in rows])
    aucs, S, v10s, v01s = slow_delong(x1, y, x2)
    d = delong_auc(x1, y)
    assert_allclose(d.auc, aucs[0], atol=1e-12)
    assert_allclose(d.variance, S[0, 0], atol=1e-12)
    v10, v01, a = delong_placements(x1, y)
    assert_allclose(v10, v10s[0], atol=1e-12); assert_allclose(v01, v01s[0], atol=1e-12)
    var_diff = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    t = delong_test_paired(x1, x2, y)
    assert_allclose(t.se**2, var_diff, atol=1e-12)
    if var_diff > 1e-12:
        z = (aucs[0] - aucs[1]) / np.sqrt(var_diff)
        assert_allclose(t.z, z, atol=1e-9)
        assert_allclose(t.p_value, 2 * stats.norm.sf(abs(z)), atol=1e-9)


def test_p_value_against_half():
    x = [0.1, 0.4, 0.35, 0.8, 0.5, 0.9, 0.7, 0.2]
    y = [0, 0, 1, 1, 0, 1, 1, 0]
    d = delong_auc(x, y)
    z = (d.auc - 0.5) / d.se
    assert_allclose(d.z, z); assert_allclose(d.p_value, 2 * stats.norm.sf(abs(z)))
    assert_allclose([d.ci_low, d.ci_high], [d.auc - 1.959963984540054 * d.se, min(1, d.auc + 1.959963984540054 * d.se)])


def test_paired_matches_proc_sim():
    d = pd.read_csv(DATA / "roc_sim.csv")
    t = delong_test_paired(d.trough_ug_ml, d.albumin_g_l, d.mh)
    # roc.test(roc(d$mh, d$trough_ug_ml, levels=c(0,1), direction="<"),
    #          roc(d$mh, d$albumin_g_l, levels=c(0,1), direction="<"), method="delong", paired=TRUE)
    assert_allclose([t.z, t.p_value], [-1.20318827432997, 0.228903471391792], **TOL)
    # auc(r2); var(r2); cov(r, r2, method="delong")
    assert_allclose(t.auc2, 0.681939739704047, **TOL)
    v1 = delong_auc(d.trough_ug_ml, d.mh).variance
    v2 = delong_auc(d.albumin_g_l, d.mh).variance
    assert_allclose(v2, 0.00185868235642334, **TOL)
    assert_allclose((v1 + v2 - t.se**2) / 2, 0.000513958254607666, **TOL)


def test_paired_matches_proc_asah():
    a = pd.read_csv(DATA / "aSAH.csv")
    t = delong_test(a.s100b, a.outcome, a.ndka, paired=True)
    # roc.test(roc(a$outcome, a$s100b), roc(a$outcome, a$ndka), method="delong", paired=TRUE)
    #   Z = 1.39077002573558, p = 0.164295175223054, conf.int -0.0488706064228094 0.287691744634191
    assert_allclose([t.z, t.p_value], [1.39077002573558, 0.164295175223054], **TOL)
    assert_allclose([t.ci_low, t.ci_high], [-0.0488706064228094, 0.287691744634191], **TOL)


def test_unpaired_matches_proc():
    d = pd.read_csv(DATA / "roc_sim.csv")
    A, B = d[d.centre == "A"], d[d.centre == "B"]
    t = delong_test_unpaired(A.trough_ug_ml, A.mh, B.trough_ug_ml, B.mh)
    # roc.test(rA, rB, method="delong", paired=FALSE): D = 0.284722299495756, p = 0.776535524635092
    assert_allclose([t.auc1, t.auc2], [0.595238095238095, 0.560714285714286], **TOL)
    assert_allclose([t.z, t.p_value], [0.284722299495756, 0.776535524635092], **TOL)
    a = pd.read_csv(DATA / "aSAH.csv")
    m = a.gender == "Male"
    t = delong_test(a.s100b[m], a.outcome[m], a.s100b[~m], a.outcome[~m], paired=False)
    # roc.test(rM, rF, method="delong", paired=FALSE): D 0.501880774326713, df 106.462550028932, p 0.616787759258242
    assert_allclose([t.z, t.df, t.p_value], [0.501880774326713, 106.462550028932, 0.616787759258242], **TOL)
    assert not t.paired and np.isnan(t.correlation)


def test_errors():
    with pytest.raises(AnalysisError):
        delong_auc([1, 2, 3], [0, 1, 1])
    with pytest.raises(ValueError, match="conf_level"):
        delong_auc([1, 2, 3, 4], [0, 1, 0, 1], conf_level=95)
    with pytest.raises(ValueError, match="outcome2"):
        delong_test([1, 2, 3, 4], [0, 1, 0, 1], [1, 2, 3, 4], paired=False)
