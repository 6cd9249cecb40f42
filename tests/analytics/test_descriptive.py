"""Descriptive statistics and group comparisons against R (tests/analytics/data/golden.R)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.descriptive import Variable, compare_continuous_by, describe, table1
from analytics.group_tests import (
    chi_square,
    compare_categorical,
    fisher_exact,
    small_expected,
    t_test_pooled,
    wilcoxon_rank_sum,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def g():
    return pd.read_csv(DATA / "groups_small.csv")


def test_quartiles_sas_definition_5_equal_r_type_2(g):
    d = describe(g.cont).iloc[0]
    # quantile(g$cont, c(.25, .5, .75), type = 2) -> 3.05 3.65 4.50
    assert (d.q1, d["median"], d.q3) == pytest.approx((3.05, 3.65, 4.50), abs=1e-12)
    # type = 7 (R default) -> 3.075 3.650 4.500
    d7 = describe(g.cont, quantile_method="linear").iloc[0]
    assert d7.q1 == pytest.approx(3.075, abs=1e-12)
    assert d.n == 40 and d.n_missing == 0
    assert d.sd == pytest.approx(np.std(g.cont, ddof=1))


def test_wilcoxon_normal_approximation_with_continuity_correction(g):
    # wilcox.test(cont ~ grp, data = g, exact = FALSE, correct = TRUE): W = 167.5, p = 0.414186253013215
    r = wilcoxon_rank_sum(g.cont[g.grp == 0], g.cont[g.grp == 1]).iloc[0]
    assert r.statistic == 167.5
    assert r.p_value == pytest.approx(0.414186253013215, rel=1e-9)
    assert r.p_value == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(abs(r.z))), rel=1e-9)


def test_wilcoxon_exact(g):
    # wilcox.test(other ~ grp, data = g, exact = TRUE): W = 121, p = 0.0365210721008
    r = wilcoxon_rank_sum(g.other[g.grp == 0], g.other[g.grp == 1], exact=True).iloc[0]
    assert r.statistic == 121
    assert r.p_value == pytest.approx(0.0365210721008, rel=1e-9)


def test_student_pooled_t_test(g):
    # t.test(cont ~ grp, data = g, var.equal = TRUE)
    r = t_test_pooled(g.cont[g.grp == 0], g.cont[g.grp == 1]).iloc[0]
    assert r.statistic == pytest.approx(-0.6560179928105, rel=1e-9)
    assert r.df == 38
    assert r.p_value == pytest.approx(0.515765326281, rel=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.11639505139765, 0.56993040493300), rel=1e-9)
    assert r.mean_x == pytest.approx(3.60454545454545, rel=1e-12)


def test_chi_square_uncorrected_and_fisher_2x2(g):
    tab = pd.crosstab(g.grp, g.cat).to_numpy()  # [[19, 3], [14, 4]]
    # chisq.test(tab, correct = FALSE): X-squared = 0.5054877782151, p = 0.477098713575
    c = chi_square(tab).iloc[0]
    assert c.statistic == pytest.approx(0.5054877782151, rel=1e-9)
    assert c.p_value == pytest.approx(0.477098713575, rel=1e-9)
    assert c.min_expected == pytest.approx(3.15)
    # fisher.test(tab): p = 0.679833679834
    assert fisher_exact(tab).iloc[0].p_value == pytest.approx(0.679833679834, rel=1e-9)
    # expected 3.15 and 3.85 < 5 -> Fisher is chosen automatically
    assert small_expected(tab)
    auto = compare_categorical(g.cat, g.grp).iloc[0]
    assert auto.test == "fisher" and auto.p_value == pytest.approx(0.679833679834, rel=1e-9)


def test_fisher_r_by_c():
    t = np.array([[8, 2, 1], [2, 5, 4]])
    # fisher.test(matrix(c(8,2,1,2,5,4), nrow = 2, byrow = TRUE)): p = 0.0616813527030237
    assert fisher_exact(t).iloc[0].p_value == pytest.approx(0.0616813527030237, rel=1e-9)
    # chisq.test(..., correct = FALSE): 6.68571428571429, p = 0.0353358537739546
    c = chi_square(t).iloc[0]
    assert c.statistic == pytest.approx(6.68571428571429, rel=1e-9) and c.df == 2
    assert c.p_value == pytest.approx(0.0353358537739546, rel=1e-9)


def test_chi_square_chosen_when_expected_counts_large():
    rng = np.random.default_rng(0)
    x = rng.random(200) < 0.5
    grp = rng.random(200) < 0.5
    r = compare_categorical(x, grp).iloc[0]
    assert r.test == "chi-square"


def test_table1_layout_and_tests(g):
    vars_ = [
        Variable("cont", "Continuous", "continuous", "median"),
        Variable("other", "Other", "continuous", "mean"),
        Variable("cat", "Cat yes", "binary"),
        Variable("cat3", "Behaviour", "categorical"),
    ]
    d = g.assign(cat=g.cat == "yes")
    t = table1(d, vars_, by="grp")
    assert list(t.columns) == ["variable", "label", "level", "kind", "summary", "n", "overall", "grp=0", "grp=1",
                               "test", "statistic", "p_value"]
    cont = t[t.variable == "cont"].iloc[0]
    assert re.fullmatch(r"3\.[67] \[3\.[01]–4\.5\]", cont.overall)  # 3.65 [3.05–4.50] at 1 decimal
    assert cont.test == "wilcoxon" and cont.p_value == pytest.approx(0.414186253013215, rel=1e-9)
    other = t[t.variable == "other"].iloc[0]
    assert other.test == "t-test (pooled)" and "±" in other.overall
    cat = t[t.variable == "cat"].iloc[0]
    assert cat.overall == "7 (17.5)" and cat["grp=0"] == "3 (13.6)" and cat["grp=1"] == "4 (22.2)"
    assert cat.test == "fisher"
    b = t[t.variable == "cat3"]
    assert list(b.level) == ["", "B1", "B2", "B3"]
    assert b.iloc[0].test == "fisher" and b.iloc[0].p_value == pytest.approx(1.0)  # fisher.test(tab3): p = 1
    assert b.iloc[1].overall == "27 (67.5)"


def test_table1_overall_only_and_missing_values():
    d = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "b": [True, False, None, True]})
    t = table1(d, [Variable("x"), Variable("b", kind="binary")])
    assert t.loc[0, "n"] == 3 and t.loc[1, "overall"] == "2 (66.7)"
    assert t.test.eq("").all()


def test_table1_rejects_bad_specs(g):
    with pytest.raises(ValueError, match="kind must be one of"):
        Variable("x", kind="ordinal")
    with pytest.raises(ValueError, match="unknown column"):
        table1(g, [Variable("nope")])


def test_compare_continuous_by(g):
    d = g.assign(flag=g.grp == 1)
    r = compare_continuous_by(d, "cont", ["flag"]).iloc[0]
    assert r.n_true == 18 and r.n_false == 22
    assert r.p_value == pytest.approx(0.414186253013215, rel=1e-9)


def test_degenerate_inputs_do_not_crash():
    assert math.isnan(wilcoxon_rank_sum([], [1, 2]).iloc[0].p_value)
    assert math.isnan(t_test_pooled([1.0], []).iloc[0].p_value)
    assert math.isnan(chi_square([[3, 0], [0, 0]]).iloc[0].p_value)
