"""Hand-built clean harmonised frames (wide layout: every entity row of a patient on one line)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from schema.dictionary import entity_columns
from schema.models import PANDAS_DTYPES
from schema.dictionary import BY_ENTITY
from validators import ValidationContext

CENTRE = "smc"
TODAY = dt.date(2026, 11, 1)
LAB_VALUES = {"wbc_per_ul": 7000.0, "haematocrit_pct": 38.0, "platelets_10e3_ul": 300.0, "albumin_g_dl": 4.0,
              "esr_mm_h": 15.0, "crp_mg_dl": 0.2}


def _typed(entity: str, data: dict) -> pd.DataFrame:
    df = pd.DataFrame(data)
    for v in BY_ENTITY[entity]:
        df[v.name] = df[v.name].astype(PANDAS_DTYPES[v.dtype])
    df["source_line"] = df["source_line"].astype("int64")
    return df[entity_columns(entity) + ["source_line"]]


def make_frames(n: int = 5, centre: str = CENTRE, first_line: int = 2, labs: bool = True) -> dict[str, pd.DataFrame]:
    i = np.arange(n)
    lines = i + first_line
    pid = pd.Series([f"P{k:06d}" for k in i])
    birth = pd.Series(pd.to_datetime("2005-03-15") + pd.to_timedelta(i % 300, unit="D"))
    dx = birth + pd.Timedelta(days=365 * 10)
    ifx = dx + pd.Timedelta(days=60)
    colo = ifx + pd.Timedelta(days=500)
    patient = _typed("patient", {
        "centre_id": centre, "patient_id": pid, "sex": np.where(i % 2, "M", "F"), "birth_date": birth,
        "diagnosis_date": dx, "diagnosis_type": "CD", "paris_age": "A1b", "paris_location": "L3",
        "paris_upper": "none", "paris_behaviour": "B1", "paris_perianal": False, "paris_growth": "G0",
        "family_history_ibd": False, "ifx_start_date": ifx, "ifx_indication": "luminal", "anti_tnf_naive": True,
        "source_line": lines})
    seg = {"ses_cd_ileum": 2, "ses_cd_right_colon": 1, "ses_cd_transverse_colon": 0, "ses_cd_left_colon": 0,
           "ses_cd_rectum": 0}
    assessment = _typed("assessment", {
        "centre_id": centre, "patient_id": pid, "colonoscopy_date": colo, "infusion_date": colo,
        "n_infusions": 10, "dose_intensification": False, "concomitant_aza": True, "corticosteroids": False,
        "gi_surgery": False, "pcdai": 7.5, "ses_cd_total": 3, **seg, "source_line": lines})
    elisa = _typed("elisa", {
        "centre_id": centre, "patient_id": pid, "trough_sample_datetime": colo + pd.Timedelta(hours=8, minutes=30),
        "assay_name": "Shikari Q-INFLIXI", "trough_ug_ml": 4.2, "trough_censor": "=", "lloq_ug_ml": 0.3,
        "uloq_ug_ml": 45.0, "ati_status": "negative", "ati_titre_ng_ml": 2.0, "ati_cutoff_ng_ml": 5.0,
        "source_line": lines})
    frames = {"patient": patient, "assessment": assessment, "elisa": elisa}
    if labs:
        rows = []
        for a, val in LAB_VALUES.items():
            rows.append(pd.DataFrame({"centre_id": centre, "patient_id": pid, "sample_date": colo, "analyte": a,
                                      "value": val, "source_line": lines}))
        lab = pd.concat(rows, ignore_index=True).sort_values(["source_line", "analyte"], kind="stable")
        frames["lab"] = _typed("lab", lab.reset_index(drop=True))
    return frames


def ctx(**kw) -> ValidationContext:
    kw.setdefault("centre_id", CENTRE)
    kw.setdefault("file_name", "export.csv")
    kw.setdefault("today", TODAY)
    return ValidationContext(**kw)


def set_cell(frames, entity, line, column, value):
    """Return copies of frames with ``entity.column`` set to ``value`` on source line ``line``."""
    out = {k: v.copy() for k, v in frames.items()}
    df = out[entity]
    m = df["source_line"] == line
    df.loc[m, column] = value
    return out
