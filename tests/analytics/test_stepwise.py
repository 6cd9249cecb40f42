"""SAS PROC LOGISTIC SELECTION=STEPWISE semantics.

Textbook check: SAS/STAT User's Guide, PROC LOGISTIC Example "Stepwise Logistic Regression and
Predicted Values" (Lee 1974 cancer remission data, SLENTRY=0.3 SLSTAY=0.35): li, temp and cell
enter in that order with score chi-squares 7.9311, 1.2591, 1.4701 and the final estimates are
Intercept 67.6339, cell 9.6521, li 3.8671, temp -82.0738.  The score statistics are also R's
``add1(glm(...), test = "Rao")`` (tests/analytics/data/golden.R).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.stepwise import dichotomised_model, stepwise_logistic

DATA = Path(__file__).parent / "data"
CANDIDATES = ["cell", "smear", "infil", "li", "blast", "temp"]


@pytest.fixture(scope="module")
def remission():
    return pd.read_csv(DATA / "remission.csv")


def test_sas_remission_example(remission):
    res = stepwise_logistic(remission, "remiss", CANDIDATES, slentry=0.3, slstay=0.35)
    assert list(res.steps.term) == ["li", "temp", "cell"]
    assert list(res.steps.action) == ["entered"] * 3
    # add1(glm(remiss ~ 1), test="Rao"): li 7.931096211431; (~li) temp 1.2590598690888;
    # (~li+temp) cell 1.4700760939313
    assert res.steps.statistic.tolist() == pytest.approx([7.931096211431, 1.2590598690888, 1.4700760939313],
                                                         rel=1e-8)
    assert res.steps.p_value.iloc[0] == pytest.approx(0.0048592, abs=1e-7)
    assert res.stop_reason == "no_term_meets_slentry"
    assert res.selected == ("li", "temp", "cell")
    c = res.final.coefficients.set_index("column")["beta"]
    # summary(glm(remiss ~ li + temp + cell)); SAS: 67.6339, 3.8671, -82.0738, 9.6521
    assert c["Intercept"] == pytest.approx(67.63390612811074, rel=1e-6)
    assert c["li"] == pytest.approx(3.86710032908393, rel=1e-6)
    assert c["temp"] == pytest.approx(-82.07377427954042, rel=1e-6)
    assert c["cell"] == pytest.approx(9.65215222462207, rel=1e-6)
    assert res.n == 27
    # every eligible effect's entry test is recorded (SAS "Analysis of Effects Eligible for Entry")
    first = res.details[(res.details.step == 1) & (res.details.phase == "entry")].set_index("term")
    assert first.loc["blast", "statistic"] == pytest.approx(3.525809242856, rel=1e-8)
    assert len(first) == 6


def test_default_levels_select_only_li(remission):
    res = stepwise_logistic(remission, "remiss", CANDIDATES)
    assert res.selected == ("li",)
    assert res.slentry == 0.05 and res.slstay == 0.05


def test_removal_by_wald_after_entry():
    # z1 = x2 + x3 + noise enters first (best marginal score); once x3 and x2 are in, z1 adds
    # nothing and is removed by its Wald test.  Seed fixed.
    rng = np.random.default_rng(0)
    n = 400
    x2 = rng.normal(size=n)
    x3 = rng.normal(size=n)
    z1 = x2 + x3 + rng.normal(scale=0.6, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x2 + x3)))).astype(int)
    df = pd.DataFrame({"y": y, "z1": z1, "x2": x2, "x3": x3})
    res = stepwise_logistic(df, "y", ["z1", "x2", "x3"], slentry=0.05, slstay=0.05)
    actions = list(zip(res.steps.action, res.steps.term))
    assert actions == [("entered", "z1"), ("entered", "x3"), ("entered", "x2"), ("removed", "z1")]
    assert res.selected == ("x3", "x2")
    assert res.stop_reason == "no_term_meets_slentry"
    removed = res.steps.iloc[3]
    assert removed.test == "wald" and removed.p_value > 0.05 and removed.n_terms == 2
    # the removal p equals the Wald p of z1 in the model z1 + x3 + x2
    from analytics.logistic import fit_logistic

    fit = fit_logistic(df, "y", ["z1", "x3", "x2"])
    assert fit.term_tests.set_index("term").loc["z1", "p_value"] == pytest.approx(removed.p_value, rel=1e-9)


def test_complete_cases_over_all_candidates_and_n_reported(remission):
    d = remission.copy()
    d.loc[0, "blast"] = np.nan
    res = stepwise_logistic(d, "remiss", CANDIDATES)
    assert res.n == 26 and res.n_dropped == 1
    assert res.final.n == 26


def test_separation_stops_selection_and_is_reported():
    df = pd.DataFrame({"y": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1] * 2,
                       "sep": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1] * 2,
                       "noise": np.arange(20) % 3})
    res = stepwise_logistic(df, "y", ["sep", "noise"])
    assert res.selected[0] == "sep"
    assert res.stop_reason == "model_not_estimable"
    assert res.final.status == "complete_separation"
    assert res.final.coefficients.odds_ratio.isna().all()
    assert any("separation" in m for m in res.messages)


def test_validation():
    df = pd.DataFrame({"y": [0, 1, 0, 1], "a": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match="slentry"):
        stepwise_logistic(df, "y", ["a"], slentry=0)
    with pytest.raises(ValueError, match="include"):
        stepwise_logistic(df, "y", ["a"], include=["b"])


def test_max_step(remission):
    res = stepwise_logistic(remission, "remiss", CANDIDATES, slentry=0.3, slstay=0.35, max_step=2)
    assert len(res.steps) == 2 and res.stop_reason == "max_step"


def test_dichotomised_model(remission):
    fit, terms = dichotomised_model(remission, "remiss", ["li", "temp"], {"li": 1.0, "temp": 0.99})
    assert fit.terms == ("li >= 1", "temp >= 0.99")
    assert terms.dichotomised.all()
    x = (remission.li >= 1.0).astype(int)
    from analytics.logistic import fit_logistic

    ref = fit_logistic(remission.assign(li_hi=x, temp_hi=(remission.temp >= 0.99).astype(int)),
                       "remiss", ["li_hi", "temp_hi"])
    assert np.allclose(fit.coefficients.beta, ref.coefficients.beta)
    with pytest.raises(ValueError, match="need a cut-off"):
        dichotomised_model(remission, "remiss", ["li"], {})
