"""Adversarial test of the publication's small-cell suppression.

A publication is built end to end from centres of very different sizes (one with 14 patients);
the attacker of :mod:`tests.publication.adversary` reads every CSV table of the publication folder
and tries to pin every masked per-centre count by integer programming.  The test fails if any
masked value is determined by what was published.  Two controls show the attack is real: the
attacker's model reproduces every published count from the true data, and it does recover masked
cells from a publication that masks only the small cells themselves (no complementary suppression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.centres import leave_one_centre_out, roc_by_centre
from analytics.suppression import CELLS, CENTRE_TABLE_GROUPS, MARGINS
from tests.analytics.test_publication import load_cohort, synthetic_cohort
from tests.publication.adversary import Atoms, attack, published_cells

K = 5
MARKER, Y = "trough_analysis_ug_ml", "mucosal_healing"


@pytest.fixture(scope="module")
def publication(tmp_path_factory):
    from base.config import load_settings
    from publication import build_publication, read_inputs
    from publication.study import prepare_cohort
    from warehouse.init import init_warehouse

    settings = load_settings(tmp_path_factory.mktemp("adversary") / "home", mode="demo")
    settings.ensure_dirs()
    init_warehouse(settings)
    cohorts = synthetic_cohort(120, 5, centres=("c1", "c2", "c3"))
    cohorts.update(synthetic_cohort(14, 8, centres=("knuh",)))
    cohorts.update(synthetic_cohort(9, 21, centres=("sch",)))
    load_cohort(settings, cohorts)
    s = build_publication(settings, parameters={"seed": 1, "bootstrap_resamples": 20, "suppression_k": K})
    published = {p.stem: pd.read_csv(p, keep_default_na=True, dtype={"centre": str}) for p in s.folder.glob("*.csv")}
    cohort = prepare_cohort(read_inputs(settings).cohort)
    return s, published, cohort


def _truth(cohort):
    return {"roc_by_centre": roc_by_centre(cohort[MARKER], cohort[Y].astype("boolean"), cohort["centre_id"]),
            "leave_one_centre_out": leave_one_centre_out(cohort[MARKER], cohort[Y].astype("boolean"),
                                                         cohort["centre_id"])}


def _atoms(cohort, published, truth):
    thr = [published["table4_cutoffs"]["cutoff"], published["mh_by_band"]["lower"],
           published["mh_by_quartile"]["upper"].iloc[:-1]]
    for name, groups in CENTRE_TABLE_GROUPS.items():
        thr += [truth[name][c] for c in groups.values()]  # tables without groups add no threshold
    atoms = Atoms(sorted(cohort["centre_id"].unique()), pd.concat(thr).to_numpy(float))
    return atoms, atoms.truth(cohort["centre_id"], cohort[MARKER], cohort[Y])


def test_the_attackers_model_reproduces_every_published_count(publication):
    _, published, cohort = publication
    truth = _truth(cohort)
    atoms, x = _atoms(cohort, published, truth)
    cells = published_cells(atoms, published, truth, K)
    known = [c for c in cells if c.value is not None]
    assert len(known) > 50
    for c in known:
        assert c.coef @ x == c.value, (c.table, c.centre, c.column)
    masked = [c for c in cells if c.value is None]
    assert {c.reason for c in masked} == {"suppressed"}  # one mark: it says nothing about the value
    assert any(c.coef @ x < K for c in masked) and any(c.coef @ x >= K for c in masked)


def test_no_masked_count_can_be_recovered(publication):
    _, published, cohort = publication
    truth = _truth(cohort)
    atoms, _ = _atoms(cohort, published, truth)
    cells = published_cells(atoms, published, truth, K)
    results = attack(atoms, cells, K)
    assert len(results) >= 10
    recovered = [(c.table, c.centre, c.column, lo) for c, lo, hi in results if hi - lo < 0.5]
    assert not recovered, f"masked values recovered from the publication: {recovered}"


def test_the_attack_recovers_cells_when_only_small_cells_are_masked(publication):
    """Control: primary suppression alone, marked "<k", is undone (the issue's 22 - 5 - 13 = 4)."""
    _, published, cohort = publication
    truth = _truth(cohort)
    naive = dict(published)
    for name, groups in CENTRE_TABLE_GROUPS.items():
        if name not in truth:
            continue
        t = truth[name].copy()
        counts = [c for c in t.columns if c in MARGINS or any(c == p + x for p in groups for x in CELLS)]
        body = (t["centre"] != "all").to_numpy()
        marks = []
        for i in range(len(t)):
            small = [c for c in counts if body[i] and pd.notna(t.at[i, c]) and t.at[i, c] < K]
            marks.append(";".join(f"{c}:small" for c in small))
            for c in small:
                t.at[i, c] = np.nan
        naive[name] = t.assign(suppressed=marks)
    atoms, _ = _atoms(cohort, naive, truth)
    results = attack(atoms, published_cells(atoms, naive, truth, K), K)
    assert any(hi - lo < 0.5 for _, lo, hi in results)


def test_masked_cells_say_why_and_derived_statistics_follow(publication):
    _, published, _ = publication
    from analytics.suppression import parse_suppressed

    rbc = published["roc_by_centre"]
    for r in rbc.to_dict("records"):
        masked = parse_suppressed(r["suppressed"] if isinstance(r["suppressed"], str) else "")
        for col, reason in masked.items():
            assert pd.isna(r[col]) and reason in ("suppressed", "derived")
        if "auc" in masked:  # the issue: p stayed visible while its AUC was masked
            assert {"p_value", "auc_ci_low", "auc_ci_high"} <= set(masked)
        if "n_positive" in masked or "n_negative" in masked:
            assert "auc" in masked and "youden_cutoff" in masked
    # knuh (14 patients) has a small class: the same counts are masked in both centre tables
    loco = published["leave_one_centre_out"].set_index("centre")
    for r in rbc[rbc.centre != "all"].to_dict("records"):
        for m in MARGINS:
            assert pd.isna(r[m]) == pd.isna(loco.at[r["centre"], m]), (r["centre"], m)


@pytest.mark.parametrize("seed,sizes", [
    (4, (50, 50, 11)),  # the case that found the leak through marks disclosing bounds
    pytest.param(1, (60, 40, 12, 7), marks=pytest.mark.slow), pytest.param(2, (35, 30, 9), marks=pytest.mark.slow),
    pytest.param(3, (80, 25, 20, 6, 6), marks=pytest.mark.slow)])
def test_no_recovery_on_random_multicentre_cohorts(seed, sizes):
    """The same attack on the centre tables and the study-wide tables computed in memory (pure)."""
    from analytics.bands import rate_by_bands, rate_by_quantile
    from analytics.cutoffs import cutoff_table
    from analytics.suppression import suppress_publication

    rng = np.random.default_rng(seed)
    centre = np.repeat([f"c{i}" for i in range(len(sizes))], sizes)
    x = np.round(rng.lognormal(1.3, 0.5, centre.size), 1)
    y = rng.random(centre.size) < 1 / (1 + np.exp(-(-2.4 + 0.55 * x)))
    cohort = pd.DataFrame({"centre_id": centre, MARKER: x, Y: y})
    truth = _truth(cohort)
    published = suppress_publication(truth, centre_tables=list(truth), k=K)
    published |= {"table4_cutoffs": cutoff_table(x, y), "mh_by_band": rate_by_bands(x, y),
                  "mh_by_quartile": rate_by_quantile(x, y)}
    atoms, xtrue = _atoms(cohort, published, truth)
    cells = published_cells(atoms, published, truth, K)
    assert all(c.coef @ xtrue == c.value for c in cells if c.value is not None)
    results = attack(atoms, cells, K)
    assert results, "nothing was masked: the case tests nothing"
    recovered = [(c.table, c.centre, c.column, lo) for c, lo, hi in results if hi - lo < 0.5]
    assert not recovered, recovered
