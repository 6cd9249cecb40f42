"""Cut-off drift between publications."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.drift import cutoff_drift


def test_drift_against_previous_ci():
    h = pd.DataFrame({"publication_id": ["p1", "p2", "p3", "p4"],
                      "created_at": ["2026-01-01", "2026-03-01", "2026-02-01", "2026-04-01"],
                      "cutoff": [4.2, 5.0, 4.5, 5.1], "ci_low": [3.8, 4.4, np.nan, 4.6],
                      "ci_high": [4.8, 5.6, np.nan, 5.5]})
    out = cutoff_drift(h)
    assert out.publication_id.tolist() == ["p1", "p3", "p2", "p4"]
    assert out.previous_publication_id.tolist()[1:] == ["p1", "p3", "p2"]
    np.testing.assert_allclose(out.change.iloc[1:], [0.3, 0.5, 0.1])
    assert pd.isna(out.outside_previous_ci.iloc[0]) and out.outside_previous_ci.iloc[1] == False  # noqa: E712
    assert pd.isna(out.outside_previous_ci.iloc[2])  # p3 had no CI
    assert out.outside_previous_ci.iloc[3] == False and out.ci_overlap.iloc[3] == True  # noqa: E712
    h2 = h.assign(cutoff=[4.2, 6.0, 4.5, 3.0])
    out2 = cutoff_drift(h2)
    assert out2.set_index("publication_id").loc["p4", "outside_previous_ci"] == True  # noqa: E712
    assert out2.set_index("publication_id").loc["p2", "relative_change"] == pytest.approx(1.5 / 4.5)
    assert len(h) == 4 and "change" not in h.columns  # input untouched


def test_drift_by_series_and_errors():
    h = pd.DataFrame({"publication_id": [1, 2, 3, 4], "created_at": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01", "2026-02-01"]),
                      "outcome": ["mh", "cr", "mh", "cr"], "cutoff": [4.0, 3.0, 5.0, 3.1],
                      "ci_low": [3.5, 2.5, 4.5, 2.8], "ci_high": [4.5, 3.5, 5.5, 3.4]})
    out = cutoff_drift(h, group_by="outcome")
    mh = out[out.outcome == "mh"]
    assert mh.previous_cutoff.tolist()[1] == 4.0 and bool(mh.outside_previous_ci.iloc[1])
    cr = out[out.outcome == "cr"]
    assert not bool(cr.outside_previous_ci.iloc[1])
    with pytest.raises(ValueError, match="required columns"):
        cutoff_drift(h.drop(columns="ci_low"))
    with pytest.raises(ValueError, match="group_by"):
        cutoff_drift(h, group_by="nope")
