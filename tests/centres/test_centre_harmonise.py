"""The pure mapping on hand-built frames: codes, composite Paris labels, troughs, decimals, purity."""

from __future__ import annotations

import pandas as pd
import pytest

from schema.dictionary import entity_columns
from tdm.centres.harmonise import harmonise
from tdm.centres.profile import parse_profile
from tdm.privacy import pseudonymise

KEY = b"harmonise-test-key-0123456789abcd"


def _raw(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows).astype("str")
    df["source_line"] = range(2, 2 + len(df))
    return df


@pytest.fixture(scope="module")
def sch(profiles):
    return profiles["sch"]


def test_composite_and_local_codes(sch):
    spec = sch.files[0]
    cells = ["L3+L4a", "L3 L4b", "ileocolonic", "colonic+L4a+L4b", "l1", "L3 L4ab"]
    behaviour = ["B2/B3", "b1", "stricturing", "B3", "B2 B3", "inflammatory"]
    raw = _raw([{"연구번호": f"CW{i}", "Location": loc, "Behav": b} for i, (loc, b) in enumerate(zip(cells, behaviour))])
    spec_lite = spec.model_copy(update={"unknown_columns": "ignore", "columns": [
        c for c in spec.columns if c.source in ("연구번호", "Location", "Behav")]})
    h = harmonise(raw, spec_lite, sch, KEY)
    p = h.frames["patient"]
    assert p["paris_location"].tolist() == ["L3", "L3", "L3", "L2", "L1", "L3"]
    assert p["paris_upper"].tolist() == ["L4a", "L4b", "none", "L4ab", "none", "L4ab"]
    assert p["paris_behaviour"].tolist() == ["B2B3", "B1", "B2", "B3", "B2B3", "B1"]
    assert h.cell_issues.empty
    assert list(p.columns) == entity_columns("patient") + ["source_line"]
    assert (p["centre_id"] == "sch").all()
    assert p["patient_id"].tolist() == pseudonymise(raw["연구번호"], KEY).tolist()


def test_units_troughs_and_purity(sch):
    spec = sch.files[0]
    cols = ("연구번호", "IFX TL", "채혈시간", "CRP (mg/L)", "Alb (g/L)", "Hct", "WBC (10^3/uL)", "Lab date")
    spec_lite = spec.model_copy(update={"columns": [c for c in spec.columns if c.source in cols]})
    raw = _raw([
        {"연구번호": "A", "IFX TL": "<0.4", "채혈시간": "02/03/2015 09:10", "CRP (mg/L)": "3", "Alb (g/L)": "45",
         "Hct": "0.417", "WBC (10^3/uL)": "6.01", "Lab date": "01/03/2015"},
        {"연구번호": "B", "IFX TL": ">16", "채혈시간": "2015-03-02 10:00:00", "CRP (mg/L)": "", "Alb (g/L)": "",
         "Hct": "", "WBC (10^3/uL)": "", "Lab date": ""},
        {"연구번호": "C", "IFX TL": " 3.25 ", "채혈시간": "", "CRP (mg/L)": "", "Alb (g/L)": "", "Hct": "",
         "WBC (10^3/uL)": "", "Lab date": ""},
    ])
    before = raw.copy()
    h = harmonise(raw, spec_lite, sch, KEY)
    pd.testing.assert_frame_equal(raw, before)  # input untouched
    e = h.frames["elisa"]
    assert e["trough_ug_ml"].tolist() == [0.4, 16.0, 3.25]
    assert e["trough_censor"].tolist() == ["<", ">", "="]
    assert e["lloq_ug_ml"].tolist() == [0.4] * 3 and (e["assay_name"] == sch.constants["assay_name"]).all()
    assert e["trough_sample_datetime"].iloc[0] == pd.Timestamp("2015-03-02 09:10")
    assert e["trough_sample_datetime"].iloc[1] == pd.Timestamp("2015-03-02 10:00")  # ISO fallback
    lab = h.frames["lab"].set_index("analyte")
    assert lab.loc["crp_mg_dl", "value"] == 0.3
    assert lab.loc["albumin_g_dl", "value"] == 4.5
    assert lab.loc["haematocrit_pct", "value"] == pytest.approx(41.7)
    assert lab.loc["wbc_per_ul", "value"] == pytest.approx(6010)
    assert (lab["sample_date"] == pd.Timestamp("2015-03-01")).all()
    assert str(h.frames["lab"]["sample_date"].dtype) == "datetime64[us]"
    assert h.frames["assessment"].empty  # no assessment cells on these rows


def test_decimal_comma_and_semicolon_csv(tmp_path):
    profile = parse_profile({
        "centre_id": "eur", "name": "x", "date_formats": ["%d.%m.%Y"],
        "files": [{"name": "labs", "kind": "labs_long", "patterns": ["*.csv"],
                   "csv": {"delimiter": ";", "decimal": ",", "encoding": "latin-1"},
                   "analyte_units": {"crp_mg_dl": "mg/L"},
                   "columns": {"Pat": "patient_id", "Test": {"to": "analyte", "codes": {"CRP": "crp_mg_dl"}},
                               "Datum": "sample_date", "Wert": "value"}}]})
    p = tmp_path / "labs.csv"
    p.write_bytes("Pat;Test;Datum;Wert\n1;CRP;02.03.2015;4,5\n2;CRP;03.03.2015;<0,3\n".encode("latin-1"))
    from tdm.centres import adapt_file

    a = adapt_file(p, profile, KEY)
    assert a.frames["lab"]["value"].tolist() == [0.45, 0.03]
    assert a.cell_issues.empty


def test_empty_wide_cells_give_typed_empty_frames(profiles):
    smc = profiles["smc"]
    raw = _raw([{c: "" for c in smc.files[0].all_columns() and [x.source for x in smc.files[0].all_columns()]}])
    raw.loc[0, "patient_id"] = "S1"
    h = harmonise(raw, smc.files[0], smc, KEY)
    assert len(h.frames["patient"]) == 1
    for entity in ("assessment", "elisa", "lab"):
        assert h.frames[entity].empty
        assert list(h.frames[entity].columns) == entity_columns(entity) + ["source_line"]
