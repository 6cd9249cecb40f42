"""Honest failure: only AnalysisError becomes "not computed"; anything else fails the run and publishes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from base.errors import AnalysisError
from publication.plan import Analysis
from publication.run import run_analyses
from publication.study import PublicationParameters
from tests.analytics.test_publication import load_cohort, synthetic_cohort

PARAMS = PublicationParameters(seed=1, bootstrap_resamples=10)


def _cohort(n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"centre_id": ["a", "b"] * (n // 2), "trough_analysis_ug_ml": rng.uniform(0, 10, n),
                         "mucosal_healing": rng.random(n) < .5})


def _table(_ctx):
    return pd.DataFrame({"x": [1.0]})


def _too_few(_ctx):
    raise AnalysisError("only 3 patients with the outcome", column="mucosal_healing", code="too_few_events")


def test_analysis_error_becomes_not_computed_with_its_reason_and_the_rest_is_published():
    plan = (Analysis("first", "First", _table), Analysis("too_few", "Too few", _too_few),
            Analysis("needs_column", "Needs", _table, needs=("ses_cd_total",)),
            Analysis("after_too_few", "After", _table, after=("too_few",)),
            Analysis("last", "Last", _table, "a note"))
    b = run_analyses(_cohort(), PARAMS, plan=plan)
    assert list(b.tables) == ["first", "last"] and b.notes == {"last": "a note"}
    reasons = {s["analysis"]: s["reason"] for s in b.skipped}
    assert reasons == {"too_few": "only 3 patients with the outcome (column 'mucosal_healing')",
                       "needs_column": "column(s) ses_cd_total not in the analysis cohort",
                       "after_too_few": "needs too_few, which could not be computed"}


@pytest.mark.parametrize("bug", [ZeroDivisionError("division by zero"), KeyError("youden_cutoff"),
                                 ValueError("conf_level must be strictly between 0 and 1")])
def test_any_other_exception_fails_the_run(bug):
    def broken(_ctx):
        raise bug

    plan = (Analysis("first", "First", _table), Analysis("broken", "Broken", broken),
            Analysis("last", "Last", _table))
    with pytest.raises(type(bug)):
        run_analyses(_cohort(), PARAMS, plan=plan)


def _nothing_published(settings):
    from warehouse.lake import open_reader

    con = open_reader(settings.lake)
    try:
        n_pub = con.execute("SELECT count(*) FROM published.publications").fetchone()[0]
        n_rows = con.execute("SELECT count(*) FROM published.tables").fetchone()[0]
    finally:
        con.close()
    leftovers = list(settings.published.iterdir()) if settings.published.exists() else []
    return n_pub == 0 and n_rows == 0 and leftovers == []


@pytest.mark.parametrize("where", ["analysis", "figure"])
def test_a_bug_publishes_nothing_half_done(warehouse, monkeypatch, where):
    from publication import build_publication

    load_cohort(warehouse, synthetic_cohort(60, 5))

    def boom(*_a, **_k):
        raise TypeError("unsupported operand type(s) for -: 'str' and 'float'")

    if where == "analysis":  # a bug inside Table 4's statistics, after Tables 1-3 were computed
        monkeypatch.setattr("analytics.cutoffs.cutoff_table", boom)
    else:  # a bug while drawing Figure 2, after every analysis ran
        monkeypatch.setattr("analytics.render.figure_rate_bars", boom)
    with pytest.raises(TypeError, match="unsupported operand"):
        build_publication(warehouse, parameters={"seed": 1, "bootstrap_resamples": 10})
    assert _nothing_published(warehouse)
    monkeypatch.undo()
    s = build_publication(warehouse, parameters={"seed": 1, "bootstrap_resamples": 10})  # and then it works
    assert "table4_cutoffs" in s.tables and (s.folder / "figure2_mh_rate.png").exists()
