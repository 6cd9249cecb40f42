"""Outcome rate by quartile and by 2 ug/mL bands (Figure 2), against explicit counting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analytics.bands import rate_by_bands, rate_by_bins, rate_by_quantile

DATA = Path(__file__).parent / "data"


def test_bands_default_2_ug_ml():
    d = pd.read_csv(DATA / "roc_sim.csv")
    t = rate_by_bands(d.trough_ug_ml, d.mh)
    assert t.interval.tolist() == ["<2", "2-<4", "4-<6", "6-<8", ">=8"]
    x, y = d.trough_ug_ml.to_numpy(), d.mh.to_numpy()
    for row in t.itertuples():
        inb = (x >= row.lower) & (x < row.upper)
        assert row.n == inb.sum() and row.n_positive == y[inb].sum()
    assert t.n.sum() == len(d)
    # >=8 band = the test-positives at cut-off 8
    assert t.n.iloc[-1] == (x >= 8).sum()


def test_quartiles_type7_and_left_closed():
    d = pd.read_csv(DATA / "roc_sim.csv")
    t = rate_by_quantile(d.trough_ug_ml, d.mh)
    x, y = d.trough_ug_ml.to_numpy(), d.mh.to_numpy()
    q = np.quantile(x, [0.25, 0.5, 0.75])  # R quantile(x, type = 7)
    edges = np.r_[-np.inf, q, np.inf]
    for i, row in enumerate(t.itertuples()):
        inb = (x >= edges[i]) & (x < edges[i + 1])
        assert row.n == inb.sum() and row.n_positive == y[inb].sum()
    assert t.quantile_group.tolist() == [1, 2, 3, 4] and t.n.sum() == len(d)
    assert_allclose(t.rate, t.n_positive / t.n)


def test_ties_at_boundaries_empty_group_kept():
    x = [1, 1, 1, 1, 1, 1, 2, 3]
    y = [0, 1, 0, 1, 0, 1, 1, 1]
    t = rate_by_quantile(x, y)
    assert t.n.sum() == 8 and len(t) == 4
    assert (t.n == 0).any() and t.rate[t.n == 0].isna().all()


def test_bins_errors_and_labels():
    with pytest.raises(ValueError, match="increasing"):
        rate_by_bins([1, 2], [0, 1], [3, 2])
    with pytest.raises(ValueError, match="labels"):
        rate_by_bins([1, 2], [0, 1], [1.5], labels=["a"])
    t = rate_by_bins([1, 2, 3], [0, 1, 1], [2], labels=["low", "high"], ci_method="wilson")
    assert t.interval.tolist() == ["low", "high"] and t.n.tolist() == [1, 2]
