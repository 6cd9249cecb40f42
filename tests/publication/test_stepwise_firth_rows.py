"""Table 2's Firth refit uses the same rows as the stepwise ML fit it replaces (SAS: one set of observations)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics import firth, stepwise
from publication import compute
from publication.context import Context
from publication.study import PRIMARY_OUTCOME, PublicationParameters


def test_firth_refit_is_on_the_selection_rows():
    rng = np.random.default_rng(7)
    x1 = rng.normal(0, 1, 80)
    x2 = rng.normal(0, 1, 80)
    x2[:25] = np.nan                       # a candidate that is not selected, missing on 25 rows
    df = pd.DataFrame({PRIMARY_OUTCOME: (x1 > 0).astype(int), "x1": x1, "x2": x2})   # x1 separates
    res = stepwise.stepwise_logistic(df, PRIMARY_OUTCOME, ["x1", "x2"])
    assert res.selected == ("x1",) and res.final.status == "complete_separation" and res.final.n == 55
    ctx = Context(df=df, params=PublicationParameters(), seed=1, created_at=dt.datetime(2026, 1, 1),
                  previous_cutoffs=None, state={"stepwise": res})
    table = compute.table2_stepwise_model(ctx)
    on_selection_rows = firth.fit_firth(df.dropna(subset=["x1", "x2"]), PRIMARY_OUTCOME, ["x1"])
    on_all_rows = firth.fit_firth(df, PRIMARY_OUTCOME, ["x1"])
    assert on_all_rows.n == 80 and on_selection_rows.n == 55
    beta = table.set_index("term").loc["x1", "beta"]
    assert beta == on_selection_rows.coefficients.set_index("term").loc["x1", "beta"]
    assert beta != on_all_rows.coefficients.set_index("term").loc["x1", "beta"]
