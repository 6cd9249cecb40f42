"""Cut-off drift between two publications, checked against the two publications' stored tables.

The warehouse is initialised, a cohort is loaded through the real loader and published; a new
centre whose troughs sit higher is loaded (the cohort changes) and a second publication is built.
The second publication's ``drift`` rows are recomputed here directly from the ``roc_summary`` and
``bootstrap_cutoffs`` rows both publications stored in ``published.tables``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.analytics.test_publication import load_cohort, synthetic_cohort
from tests.homes import demo_settings

PARAMS = {"seed": 11, "bootstrap_resamples": 100}
OUTCOMES = ("clinical_remission", "biochemical_remission", "partial_mucosal_healing", "mucosal_healing")


def shifted_centre(n: int, seed: int, centre: str, factor: float) -> dict:
    """A centre whose measured troughs are ``factor`` times those its outcomes were drawn from."""
    c = synthetic_cohort(n, seed, centres=(centre,))
    for row in c[centre]["elisa"]:
        row["trough_ug_ml"] = float(min(15.9, round(row["trough_ug_ml"] * factor, 2)))
    return c


def stored(settings, publication_id: str, table: str) -> list[dict]:
    from warehouse.lake import open_reader

    con = open_reader(settings.lake)
    try:
        rows = con.execute("SELECT row_json FROM published.tables WHERE publication_id = ? AND table_name = ? "
                           "ORDER BY row_number", [publication_id, table]).fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


def _num(v) -> float:
    if v is None:
        return math.nan
    return float(v)  # "inf" strings too


@pytest.fixture(scope="module")
def two_publications(tmp_path_factory):
    """Built once for the module (~10 s): every test here only reads the two publications."""
    from publication import build_publication
    from warehouse.init import init_warehouse

    with pytest.MonkeyPatch.context() as mp:       # the ``settings`` fixture's home, for the build
        warehouse = demo_settings(tmp_path_factory.mktemp("drift") / "home", mp)
        init_warehouse(warehouse)
        load_cohort(warehouse, synthetic_cohort(150, 5))
        s1 = build_publication(warehouse, parameters=PARAMS)
        load_cohort(warehouse, shifted_centre(240, 9, "c4", 1.8))
        s2 = build_publication(warehouse, parameters=PARAMS)
    return warehouse, s1, s2


def test_first_publication_records_why_there_is_no_drift(two_publications):
    settings, s1, _ = two_publications
    assert "drift" not in s1.tables
    reasons = [x["reason"] for x in s1.skipped if x["analysis"] == "drift"]
    assert reasons and "no previous publication" in reasons[0]
    assert stored(settings, s1.publication_id, "drift") == []
    not_computed = stored(settings, s1.publication_id, "not_computed")
    assert any(r["analysis"] == "drift" for r in not_computed)


def test_drift_rows_equal_an_independent_computation_from_the_stored_tables(two_publications):
    settings, s1, s2 = two_publications
    assert s2.n_patients > s1.n_patients and "drift" in s2.tables, s2.skipped
    roc1 = {r["outcome"]: r for r in stored(settings, s1.publication_id, "roc_summary")}
    roc2 = {r["outcome"]: r for r in stored(settings, s2.publication_id, "roc_summary")}
    boot1 = {(r["outcome"], r["method"]): r for r in stored(settings, s1.publication_id, "bootstrap_cutoffs")}
    boot2 = {(r["outcome"], r["method"]): r for r in stored(settings, s2.publication_id, "bootstrap_cutoffs")}
    assert set(boot1) == set(boot2) == {(o, m) for o in OUTCOMES for m in ("youden", "target_specificity")}
    drift = stored(settings, s2.publication_id, "drift")
    assert [(r["outcome"], r["method"]) for r in drift] == [(o, m) for o in OUTCOMES
                                                            for m in ("youden", "target_specificity")]
    n_outside = 0
    for r in drift:
        o, m = r["outcome"], r["method"]
        prev, cur = _num(roc1[o][f"{m}_cutoff"]), _num(roc2[o][f"{m}_cutoff"])
        assert r["previous_publication_id"] == s1.publication_id
        assert _num(r["previous_cutoff"]) == prev and _num(r["cutoff"]) == cur
        assert _num(r["change"]) == pytest.approx(cur - prev, abs=1e-12)
        assert _num(r["relative_change"]) == pytest.approx((cur - prev) / prev, abs=1e-12)
        assert r["previous_n"] == roc1[o]["n"] and r["n"] == roc2[o]["n"] > roc1[o]["n"]
        assert _num(r["previous_auc"]) == roc1[o]["auc"] and _num(r["auc"]) == roc2[o]["auc"]
        # every outcome is bootstrapped: compare with the previous publication's 95% CI
        lo, hi = boot1[o, m]["cutoff_ci_low"], boot1[o, m]["cutoff_ci_high"]
        assert (r["previous_ci_low"], r["previous_ci_high"]) == (lo, hi)
        assert (r["ci_low"], r["ci_high"]) == (boot2[o, m]["cutoff_ci_low"], boot2[o, m]["cutoff_ci_high"])
        assert r["outside_previous_ci"] is (not (lo <= cur <= hi))
        n_outside += r["outside_previous_ci"]
        new_lo, new_hi = boot2[o, m]["cutoff_ci_low"], boot2[o, m]["cutoff_ci_high"]
        assert r["ci_overlap"] is (new_lo <= hi and lo <= new_hi)
    # the shifted centre moves the MH cut-off out of the first publication's CI (a real detection)
    assert n_outside >= 1
    # the CSV in the publication folder says the same
    csv = pd.read_csv(s2.folder / "drift.csv")
    assert len(csv) == len(drift)
    assert csv.outside_previous_ci.isna().sum() == sum(r["outside_previous_ci"] is None for r in drift)


def test_missing_previous_ci_and_changed_target_give_na(two_publications):
    """Pure: a previous publication without a bootstrap (CI unknown) and one with another target."""
    from analytics.drift import cutoff_history, publication_drift

    settings, s1, s2 = two_publications
    roc1 = pd.DataFrame(stored(settings, s1.publication_id, "roc_summary"))
    roc2 = pd.DataFrame(stored(settings, s2.publication_id, "roc_summary"))
    boot2 = pd.DataFrame(stored(settings, s2.publication_id, "bootstrap_cutoffs"))
    previous = cutoff_history(roc1, None, publication_id="p1", created_at="2026-01-01T00:00:00+00:00",
                              target_specificity=0.9)
    current = cutoff_history(roc2, boot2, publication_id="now", created_at="2026-02-01", target_specificity=0.8)
    d = publication_drift(previous, current)
    assert len(d) == 8
    youden = d[d.method == "youden"]
    assert (youden.previous_publication_id == "p1").all()
    assert youden.outside_previous_ci.isna().all() and youden.previous_ci_low.isna().all()
    np.testing.assert_allclose(youden.change, youden.cutoff - youden.previous_cutoff)
    # a different target specificity is another series: nothing to compare with
    target = d[d.method == "target_specificity"]
    assert target.previous_publication_id.isna().all() and target.change.isna().all()
    assert target.outside_previous_ci.isna().all()
    assert not youden.ci_low.isna().any()  # the current CIs (every outcome) are still reported


def test_a_bootstrap_table_without_outcome_column_is_the_primary_outcomes(two_publications):
    """Publications made before every outcome was bootstrapped stored MH's rows without ``outcome``."""
    from analytics.drift import cutoff_history

    settings, s1, _ = two_publications
    roc1 = pd.DataFrame(stored(settings, s1.publication_id, "roc_summary"))
    boot1 = pd.DataFrame(stored(settings, s1.publication_id, "bootstrap_cutoffs"))
    legacy = boot1[boot1.outcome == "mucosal_healing"].drop(columns="outcome")
    h = cutoff_history(roc1, legacy, publication_id="p1", created_at="2026-01-01", target_specificity=0.8,
                       bootstrap_outcome="mucosal_healing")
    assert h.loc[h.outcome == "mucosal_healing", "ci_low"].notna().all()
    assert h.loc[h.outcome != "mucosal_healing", "ci_low"].isna().all()
