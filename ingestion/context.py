"""The validation context of one file, read from a live warehouse connection.

Ingestion reads it inside the writer's transaction, under the lock, right before the file's checks:
what every earlier commit wrote (another centre's patients included) is seen, so centres validated
in parallel get the outcome of a sequential run whatever the interleaving.  A dry run reads it from
a read-only lake connection instead.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from warehouse.queries import confirmed_findings
from warehouse.value_counts import study_medians
from validators import ValidationContext
from validators.units import FILE_CHECKED


def load_context(con: duckdb.DuckDBPyConnection | None, centre_id: str, file_name: str, file_kind: str | None,
                 max_error_fraction: float, today: dt.date | None = None) -> ValidationContext:
    """What the warehouse on ``con`` knows that one file's rules need (empty without a warehouse)."""
    frames: dict[str, pd.DataFrame] = {}
    if con is not None:
        # with their dates, so visits sent without their baseline still get the date-order rules
        frames["known_patients"] = con.execute(
            "SELECT centre_id, patient_id, birth_date, diagnosis_date, ifx_start_date FROM core.patients "
            "WHERE is_current AND centre_id = ?", [centre_id]).df()
        frames["other_centre_patients"] = other_centre_patients(con, centre_id)
        frames["existing_assessments"] = con.execute(
            "SELECT centre_id, patient_id, colonoscopy_date, infusion_date FROM core.assessments "
            "WHERE is_current AND centre_id = ?", [centre_id]).df()
        frames["reviews"] = confirmed_findings(con, centre_id)
        frames["unit_reference"] = unit_reference(con)
    return ValidationContext(centre_id=centre_id, file_name=file_name, file_kind=file_kind or "",
                             max_error_fraction=max_error_fraction, today=today or dt.date.today(), **frames)


def other_centre_patients(con: duckdb.DuckDBPyConnection, centre_id: str) -> pd.DataFrame:
    """``centre_id, patient_id`` of every current patient of the other centres (``patient_in_other_centre``)."""
    return con.execute("SELECT DISTINCT centre_id, patient_id FROM core.patients WHERE is_current AND centre_id <> ?",
                       [centre_id]).df()


def unit_reference(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The study's current median and count of each variable checked for a whole-file unit mix-up
    (exact, from the writer's per-value counts: :mod:`warehouse.value_counts`)."""
    return study_medians(con, [c for _, c in FILE_CHECKED])


def quarantined_patients(con: duckdb.DuckDBPyConnection | None, centre_id: str) -> list[str]:
    """Patients with quarantined rows of this centre (all a resubmission diff can match)."""
    if con is None:
        return []
    rows = con.execute("SELECT DISTINCT patient_id FROM quarantine.rows WHERE centre_id = ? AND patient_id IS NOT NULL",
                       [centre_id]).fetchall()
    return [r[0] for r in rows]


__all__ = ["load_context", "other_centre_patients", "quarantined_patients", "unit_reference"]
