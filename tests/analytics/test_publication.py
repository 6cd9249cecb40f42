"""The publication end to end on a synthetic cohort loaded through the real loader."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.factories import accepted_result, assessment, elisa, file_meta, frame, lab, patient

D = pd.Timestamp


def synthetic_cohort(n: int, seed: int, centres=("c1", "c2", "c3"), *, one_class: bool = False) -> dict:
    """Deterministic harmonised frames per centre: MH depends on trough and diagnosis-to-IFX time."""
    rng = np.random.default_rng(seed)
    out = {c: {"patient": [], "assessment": [], "elisa": [], "lab": []} for c in centres}
    for i in range(n):
        c = centres[i % len(centres)]
        pid = f"P{i:04d}"
        dx = D("2014-01-01") + pd.Timedelta(days=int(rng.integers(0, 400)))
        delay = int(rng.choice([30, 60, 90, 200, 500, 800], p=[.3, .2, .15, .15, .1, .1]))
        ifx = dx + pd.Timedelta(days=delay)
        colo = ifx + pd.Timedelta(days=int(rng.integers(370, 520)))
        trough = float(np.round(rng.lognormal(1.3, 0.5), 2))
        b1 = rng.random() < 0.8
        eta = -2.4 + 0.55 * trough - 0.9 * (delay > 365) + 0.6 * b1
        mh = rng.random() < 1 / (1 + np.exp(-eta))
        if one_class:
            mh = True
        ses = 0 if mh else int(rng.integers(1, 12))
        crp = float(np.round(rng.lognormal(-2.5, 1.0), 3))
        out[c]["patient"].append(patient(pid, c, sex="M" if rng.random() < 0.7 else "F",
                                         birth_date=dx - pd.Timedelta(days=int(rng.integers(9 * 365, 16 * 365))),
                                         diagnosis_date=dx, ifx_start_date=ifx,
                                         paris_location=str(rng.choice(["L1", "L2", "L3"], p=[.1, .1, .8])),
                                         paris_behaviour="B1" if b1 else str(rng.choice(["B2", "B3"])),
                                         paris_perianal=bool(rng.random() < 0.6),
                                         paris_growth="G1" if rng.random() < 0.15 else "G0"))
        out[c]["assessment"].append(assessment(pid, c, colonoscopy_date=colo, infusion_date=colo,
                                               ses_cd_total=ses, pcdai=float(rng.choice([0, 5, 10, 15], p=[.5, .3, .1, .1])),
                                               dose_intensification=bool(rng.random() < 0.1),
                                               concomitant_aza=bool(rng.random() < 0.9)))
        out[c]["elisa"].append(elisa(pid, c, trough_sample_datetime=colo + pd.Timedelta(hours=9),
                                     trough_ug_ml=trough, ati_status="positive" if trough < 1.5 and rng.random() < .5
                                     else "negative"))
        for analyte, val in (("crp_mg_dl", crp), ("wbc_per_ul", float(rng.normal(6000, 1500))),
                             ("albumin_g_dl", float(np.round(rng.normal(4.4, 0.3), 1))),
                             ("tgn6_pmol_8e8_rbc", float(rng.normal(250, 90)))):
            out[c]["lab"].append(lab(pid, analyte, val, sample_date=str(colo.date()), centre=c))
    return out


def load_cohort(settings, cohorts: dict) -> None:
    from warehouse.lake import open_writer
    from warehouse.load import load_file, reserve_file_id

    with open_writer(settings.lake, home=settings.home) as con:
        for c, ents in cohorts.items():
            frames = {e: frame(e, rows) for e, rows in ents.items() if rows}
            load_file(con, reserve_file_id(con), file_meta(name=f"{c}.csv", centre=c, checksum=f"sum-{c}"),
                      accepted_result(frames))


PARAMS = {"seed": 11, "bootstrap_resamples": 50}


@pytest.fixture
def published(warehouse):
    load_cohort(warehouse, synthetic_cohort(150, 5))
    from publication import build_publication

    return warehouse, build_publication(warehouse, parameters=PARAMS)


def test_publication_writes_folder_and_tables(published):
    settings, s = published
    assert s.publication_id.startswith("pub-") and s.n_patients == 150
    assert s.seed == 11
    assert sorted(s.data_snapshot) == ["sum-c1", "sum-c2", "sum-c3"]
    for name in ("table1", "table2_univariate", "table2_stepwise_steps", "table2_stepwise_model",
                 "table3_final_model", "roc_summary", "table4_cutoffs", "mh_by_quartile", "mh_by_band",
                 "bootstrap_cutoffs", "roc_by_centre", "leave_one_centre_out", "correlation_trough_6tgn"):
        assert name in s.tables, (name, s.skipped)
        assert (s.folder / f"{name}.csv").exists()
    for f in ("figure1_trough_by_outcome", "figure2_mh_rate", "figure3_roc"):
        assert (s.folder / f"{f}.png").read_bytes()[:4] == b"\x89PNG"
    html = s.report_path.read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    assert "Table 4" in html
    assert s.cutoff_table is not None and len(s.cutoff_table)
    # the trough is selected by the stepwise model and dichotomised in Table 3
    steps = pd.read_csv(s.folder / "table2_stepwise_steps.csv")
    assert "trough_analysis_ug_ml" in set(steps.term)
    t3 = pd.read_csv(s.folder / "table3_final_model.csv")
    assert any(t.startswith("trough_analysis_ug_ml >= ") for t in t3.term)

    from warehouse.lake import open_reader

    con = open_reader(settings.lake)
    try:
        pub = con.execute("SELECT publication_id, seed, n_patients, data_snapshot, parameters, folder "
                          "FROM published.publications").fetchall()
        assert len(pub) == 1 and pub[0][0] == s.publication_id and pub[0][1] == 11
        assert json.loads(pub[0][3]) == ["sum-c1", "sum-c2", "sum-c3"]
        assert json.loads(pub[0][4])["bootstrap_resamples"] == 50
        n_rows = con.execute("SELECT count(*) FROM published.tables WHERE table_name = 'table4_cutoffs'").fetchone()[0]
        assert n_rows == len(s.cutoff_table)
        # full precision in the JSON rows
        auc = con.execute("SELECT row_json FROM published.tables WHERE table_name = 'roc_summary' "
                          "ORDER BY row_number LIMIT 1").fetchone()[0]
        csv_auc = pd.read_csv(s.folder / "roc_summary.csv").auc.iloc[0]
        assert json.loads(auc)["auc"] == pytest.approx(csv_auc, rel=1e-15)
        typed = con.execute("SELECT cutoff, sensitivity FROM analysis.published_cutoff_table ORDER BY cutoff").df()
        assert len(typed) == len(s.cutoff_table)
    finally:
        con.close()


def test_second_publication_reports_drift_and_latest_cutoffs(published):
    settings, s1 = published
    from publication import build_publication, latest_table

    s2 = build_publication(settings, parameters=PARAMS)
    assert s2.publication_id != s1.publication_id
    assert "drift" in s2.tables
    drift = pd.read_csv(s2.folder / "drift.csv")
    assert (drift.previous_publication_id == s1.publication_id).all()
    assert np.allclose(drift.change.dropna(), 0)
    pid, cut = latest_table(settings, "table4_cutoffs")
    assert pid == s2.publication_id and len(cut) == len(s2.cutoff_table)


def test_one_class_cohort_publishes_what_it_can(warehouse):
    load_cohort(warehouse, synthetic_cohort(12, 3, one_class=True))
    from publication import build_publication

    s = build_publication(warehouse, parameters={"seed": 1, "bootstrap_resamples": 10})
    assert s.n_patients == 12
    assert "table1" in s.tables
    reasons = {x["analysis"] for x in s.skipped}
    assert "roc_mucosal_healing" in reasons and "table4_cutoffs" in reasons
    assert (s.folder / "not_computed.csv").exists()
    assert "Not computed" in s.report_path.read_text()


def test_empty_cohort_does_not_crash(warehouse):
    from publication import build_publication

    s = build_publication(warehouse, parameters={"seed": 1})
    assert s.n_patients == 0 and s.tables == ()
    assert s.skipped[0]["analysis"] == "all"


def test_unknown_parameter_is_rejected(warehouse):
    from publication import PublicationParameters

    with pytest.raises(ValueError, match="valid"):
        PublicationParameters.from_mapping({"sead": 1})


def test_cli_logistic_json(tmp_path):
    from tdm.cli import main

    csv = tmp_path / "d.csv"
    pd.read_csv(__import__("pathlib").Path(__file__).parent / "data" / "remission.csv").to_csv(csv, index=False)
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["logistic", str(csv), "--outcome", "remiss", "--covariates", "cell,smear,infil,li,blast,temp",
                   "--stepwise", "--slentry", "0.3", "--slstay", "0.35", "--json"])
    assert rc == 0
    out = json.loads(buf.getvalue())
    assert [s["term"] for s in out["steps"]] == ["li", "temp", "cell"]
    coef = {c["column"]: c for c in out["model"]["coefficients"]}
    assert coef["li"]["beta"] == pytest.approx(3.86710032908393, rel=1e-6)
    assert out["n"] == 27
    assert math.isfinite(coef["li"]["ci_low"])
