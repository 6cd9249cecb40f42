"""Pearson/Spearman against R cor.test."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.correlation import correlation

X = [1.2, 3.4, 2.2, 5.1, 4.4, 6.0, 2.9]
Y = [10, 31, 25, 40, 38, 70, 20]


def test_pearson_matches_r():
    # cor.test(x, y): t = 5.55796861193, p = 0.00259282398122821, r = 0.927733457343199,
    # 95% CI 0.579618154389415 0.989494144695701
    r = correlation(X, Y).iloc[0]
    assert r.r == pytest.approx(0.927733457343199, rel=1e-12)
    assert r.statistic == pytest.approx(5.55796861193000602, rel=1e-10)
    assert r.p_value == pytest.approx(0.00259282398122821, rel=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.579618154389415, 0.989494144695701), rel=1e-9)
    assert r.n == 7 and r.df == 5


def test_spearman_t_approximation_matches_r_exact_false():
    # cor.test(x, y, method = "spearman", exact = FALSE): rho = 0.964285714285714, p = 0.000454149169194183
    r = correlation(X, Y, method="spearman").iloc[0]
    assert r.r == pytest.approx(0.964285714285714, rel=1e-12)
    assert r.p_value == pytest.approx(0.000454149169194183, rel=1e-9)
    assert math.isnan(r.ci_low)


def test_groups_data_with_ties_matches_r():
    g = pd.read_csv(Path(__file__).parent / "data" / "groups_small.csv")
    # cor.test(g$cont, g$other): r = -0.00435285053669271, p = 0.978733335804
    p = correlation(g.cont, g.other).iloc[0]
    assert p.r == pytest.approx(-0.00435285053669271, rel=1e-9)
    assert p.p_value == pytest.approx(0.978733335804, rel=1e-9)
    # cor.test(..., method = "spearman", exact = FALSE): rho = 0.00554121067462885, p = 0.972929290028
    s = correlation(g.cont, g.other, method="spearman").iloc[0]
    assert s.r == pytest.approx(0.00554121067462885, rel=1e-9)
    assert s.p_value == pytest.approx(0.972929290028, rel=1e-9)


def test_missing_pairs_dropped_and_degenerate():
    r = correlation([1, 2, np.nan, 4, 5], [2, 1, 3, np.nan, 6]).iloc[0]
    assert r.n == 3
    assert math.isnan(correlation([1, 1, 1], [1, 2, 3]).iloc[0].r)
    with pytest.raises(ValueError, match="pearson, spearman"):
        correlation(X, Y, method="kendall")
