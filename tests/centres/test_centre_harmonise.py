"""Stages 1-2 of the one path on hand-built exports: codes, composite Paris labels, troughs, units,
decimals, typed empty tables and purity (``read_raw`` + ``harmonise_raw`` on an in-memory DuckDB)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from schema.dictionary import entity_columns
from schema.relations import FINDINGS_TABLE, tables_to_frames
from centres import adapt_file
from centres.profile import parse_profile
from centres.raw import RAW_TABLE, read_raw
from centres.sql_harmonise import harmonise_raw
from centres.privacy import pseudonymise

KEY = b"harmonise-test-key-0123456789abcd"


@dataclass
class Harmonised:
    frames: dict[str, pd.DataFrame]
    findings: pd.DataFrame
    raw_before: pd.DataFrame
    raw_after: pd.DataFrame


def harmonise_rows(folder: Path, rows: list[dict], spec, profile) -> Harmonised:
    """Write ``rows`` as a CSV export (UTF-8, comma) and run stages 1-2 on it."""
    path = folder / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    con = duckdb.connect()
    try:
        raw = read_raw(con, path, spec, path.name)
        before = con.execute(f"SELECT * FROM {RAW_TABLE} ORDER BY source_line").df()
        harmonise_raw(con, raw, spec, profile, KEY)
        after = con.execute(f"SELECT * FROM {RAW_TABLE} ORDER BY source_line").df()
        return Harmonised(tables_to_frames(con), con.execute(f"SELECT * FROM {FINDINGS_TABLE}").df(), before, after)
    finally:
        con.close()


@pytest.fixture(scope="module")
def sch(profiles):
    return profiles["sch"]


def test_composite_and_local_codes(sch, tmp_path):
    spec = sch.files[0]
    cells = ["L3+L4a", "L3 L4b", "ileocolonic", "colonic+L4a+L4b", "l1", "L3 L4ab"]
    behaviour = ["B2/B3", "b1", "stricturing", "B3", "B2 B3", "inflammatory"]
    rows = [{"연구번호": f"CW{i}", "Location": loc, "Behav": b} for i, (loc, b) in enumerate(zip(cells, behaviour))]
    spec_lite = spec.model_copy(update={"unknown_columns": "ignore", "columns": [
        c for c in spec.columns if c.source in ("연구번호", "Location", "Behav")]})
    h = harmonise_rows(tmp_path, rows, spec_lite, sch)
    p = h.frames["patient"]
    assert p["paris_location"].tolist() == ["L3", "L3", "L3", "L2", "L1", "L3"]
    assert p["paris_upper"].tolist() == ["L4a", "L4b", "none", "L4ab", "none", "L4ab"]
    assert p["paris_behaviour"].tolist() == ["B2B3", "B1", "B2", "B3", "B2B3", "B1"]
    assert h.findings.empty
    assert list(p.columns) == entity_columns("patient") + ["source_line"]
    assert p["source_line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert (p["centre_id"] == "sch").all()
    assert p["patient_id"].tolist() == pseudonymise(pd.Series([r["연구번호"] for r in rows]), KEY).tolist()


def test_units_troughs_and_purity(sch, tmp_path):
    spec = sch.files[0]
    cols = ("연구번호", "IFX TL", "채혈시간", "CRP (mg/L)", "Alb (g/L)", "Hct", "WBC (10^3/uL)", "Lab date")
    spec_lite = spec.model_copy(update={"columns": [c for c in spec.columns if c.source in cols]})
    rows = [
        {"연구번호": "A", "IFX TL": "<0.4", "채혈시간": "02/03/2015 09:10", "CRP (mg/L)": "3", "Alb (g/L)": "45",
         "Hct": "0.417", "WBC (10^3/uL)": "6.01", "Lab date": "01/03/2015"},
        {"연구번호": "B", "IFX TL": ">16", "채혈시간": "2015-03-02 10:00:00", "CRP (mg/L)": "", "Alb (g/L)": "",
         "Hct": "", "WBC (10^3/uL)": "", "Lab date": ""},
        {"연구번호": "C", "IFX TL": " 3.25 ", "채혈시간": "", "CRP (mg/L)": "", "Alb (g/L)": "", "Hct": "",
         "WBC (10^3/uL)": "", "Lab date": ""},
    ]
    h = harmonise_rows(tmp_path, rows, spec_lite, sch)
    pd.testing.assert_frame_equal(h.raw_after, h.raw_before)  # the raw cells are untouched
    assert h.raw_before["c1"].tolist() == ["<0.4", ">16", " 3.25 "]
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
    a = adapt_file(p, profile, KEY)
    assert a.frames["lab"]["value"].tolist() == [0.45, 0.03]
    assert a.cell_issues.empty


def test_empty_wide_cells_give_typed_empty_frames(profiles, tmp_path):
    smc = profiles["smc"]
    row = {x.source: "" for x in smc.files[0].all_columns()}
    row["patient_id"] = "S1"
    h = harmonise_rows(tmp_path, [row], smc.files[0], smc)
    assert len(h.frames["patient"]) == 1
    for entity in ("assessment", "elisa", "lab"):
        assert h.frames[entity].empty
        assert list(h.frames[entity].columns) == entity_columns(entity) + ["source_line"]
