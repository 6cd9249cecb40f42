"""Hand-built harmonised rows for tests (canonical units, dictionary dtypes)."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pandas as pd

from schema.dictionary import entity_columns
from schema.models import PANDAS_DTYPES
from schema.dictionary import BY_ENTITY

D = pd.Timestamp


def patient(pid="P1", centre="c1", **kw) -> dict:
    row = dict(centre_id=centre, patient_id=pid, sex="M", birth_date=D("2002-03-01"),
               diagnosis_date=D("2015-06-01"), diagnosis_type="CD", paris_age="A1b", paris_location="L3",
               paris_upper="none", paris_behaviour="B1", paris_perianal=False, paris_growth="G0",
               family_history_ibd=False, ifx_start_date=D("2015-07-01"), ifx_indication="luminal",
               anti_tnf_naive=True)
    row.update(kw)
    return row


def assessment(pid="P1", centre="c1", **kw) -> dict:
    row = dict(centre_id=centre, patient_id=pid, colonoscopy_date=D("2016-09-01"), infusion_date=D("2016-09-01"),
               n_infusions=9, dose_intensification=False, concomitant_aza=True, corticosteroids=False,
               gi_surgery=False, pcdai=5.0, ses_cd_total=0)
    row.update(kw)
    return row


def elisa(pid="P1", centre="c1", **kw) -> dict:
    row = dict(centre_id=centre, patient_id=pid, trough_sample_datetime=D("2016-09-01 09:30"),
               assay_name="Shikari Q-INFLIXI", trough_ug_ml=4.2, trough_censor="=", lloq_ug_ml=0.3,
               uloq_ug_ml=16.0, ati_status="negative")
    row.update(kw)
    return row


def lab(pid="P1", analyte="crp_mg_dl", value=0.1, sample_date="2016-09-01", centre="c1", **kw) -> dict:
    row = dict(centre_id=centre, patient_id=pid, sample_date=D(sample_date), analyte=analyte, value=value)
    row.update(kw)
    return row


def frame(entity: str, rows: list[dict], start_line: int = 2) -> pd.DataFrame:
    cols = entity_columns(entity)
    df = pd.DataFrame(rows).reindex(columns=cols)
    for v in BY_ENTITY[entity]:
        df[v.name] = df[v.name].astype(PANDAS_DTYPES[v.dtype])
    df["source_line"] = pd.Series(range(start_line, start_line + len(df)), dtype="int64")
    df["warnings"] = pd.Series([None] * len(df), dtype="str")
    return df


def accepted_result(frames: dict[str, pd.DataFrame], rejected: pd.DataFrame | None = None,
                    issues: pd.DataFrame | None = None, file_error=None) -> SimpleNamespace:
    """A stand-in for validators.ValidationResult with the same fields (loader tests only)."""
    lines = set()
    for df in frames.values():
        lines.update(df["source_line"].tolist())
    n_rej = 0 if rejected is None else rejected["source_line"].nunique()
    return SimpleNamespace(
        accepted=frames,
        rejected=rejected if rejected is not None else pd.DataFrame(
            columns=["entity", "source_line", "centre_id", "patient_id", "record_json", "reasons"]),
        issues=issues,
        file_error=file_error,
        rows_read=len(lines) + n_rej,
        rows_loaded=len(lines),
        rows_warned=0,
        rows_rejected=n_rej,
    )


def file_meta(name="f.csv", centre="c1", checksum="abc", **kw):
    from warehouse.load import FileMeta

    return FileMeta(centre_id=centre, file_name=name, checksum_sha256=checksum, size_bytes=10,
                    received_at=dt.datetime(2026, 1, 1, 12, 0), code_version="test", **kw)


def rejected_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{**r, "record_json": json.dumps(r.get("record", {}))} for r in rows]).drop(
        columns=["record"], errors="ignore")
