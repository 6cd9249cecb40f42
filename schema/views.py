"""Curated, documented views for analysts (schema ``analysis``).

Views are *repeatable*: they are dropped and recreated from this module after every
``alembic upgrade`` (``tdm init`` does both), so they always match the tables and the derived
definitions in :mod:`schema.derived`.  Migrations that alter tables call :func:`drop_views` first.
"""

from __future__ import annotations

from dataclasses import dataclass

from schema.derived import DERIVED, LAB_WINDOW_DAYS, eligibility_sql
from schema.dictionary import ANALYTES, ASSESSMENT, ELISA, PATIENT


@dataclass(frozen=True)
class View:
    name: str
    description: str
    sql: str


def _cols(vars_, alias: str, skip=("centre_id", "patient_id")) -> str:
    return ", ".join(f"{alias}.{v.name}" for v in vars_ if v.name not in skip)


def _lab_pivot() -> str:
    # One row per assessment with each analyte picked by the documented rule: the sample on the
    # infusion day, else the latest within LAB_WINDOW_DAYS before it.  Ties on the same day:
    # the row from the most recent file, then the last line.
    picks = ",\n       ".join(
        f"max(value) FILTER (WHERE analyte = '{a}') AS {a}" for a in ANALYTES
    )
    dates = ",\n       ".join(
        f"max(sample_date) FILTER (WHERE analyte = '{a}') AS {a}_date" for a in ANALYTES
    )
    return f"""
WITH candidates AS (
  SELECT a.centre_id, a.patient_id, a.colonoscopy_date, l.analyte, l.value, l.sample_date,
         row_number() OVER (
           PARTITION BY a.centre_id, a.patient_id, a.colonoscopy_date, l.analyte
           ORDER BY l.sample_date DESC, l.file_id DESC, l.source_line DESC) AS rn
  FROM core.assessments a
  JOIN core.lab_results l
    ON l.centre_id = a.centre_id AND l.patient_id = a.patient_id AND l.is_current
   AND l.sample_date <= a.infusion_date
   AND l.sample_date >= a.infusion_date - INTERVAL {LAB_WINDOW_DAYS} DAY
  WHERE a.is_current
)
SELECT centre_id, patient_id, colonoscopy_date,
       {picks},
       {dates}
FROM candidates WHERE rn = 1
GROUP BY centre_id, patient_id, colonoscopy_date"""


def _elisa_match() -> str:
    # The trough sample drawn on the infusion day (immediately before the infusion); if a centre
    # sent several for that day, the latest sample time.
    return """
SELECT * EXCLUDE (rn) FROM (
  SELECT a.centre_id, a.patient_id, a.colonoscopy_date, e.* EXCLUDE (centre_id, patient_id),
         row_number() OVER (PARTITION BY a.centre_id, a.patient_id, a.colonoscopy_date
                            ORDER BY e.trough_sample_datetime DESC, e.file_id DESC) AS rn
  FROM core.assessments a
  JOIN core.elisa_results e
    ON e.centre_id = a.centre_id AND e.patient_id = a.patient_id AND e.is_current
   AND CAST(e.trough_sample_datetime AS DATE) = a.infusion_date
  WHERE a.is_current
) WHERE rn = 1"""


def cohort_all_sql() -> str:
    derived = ",\n       ".join(f"{d.sql} AS {d.name}" for d in DERIVED)
    eligible, reasons = eligibility_sql()
    analytes = ", ".join(f"lp.{a}, lp.{a}_date" for a in ANALYTES)
    base = f"""
SELECT p.centre_id, p.patient_id,
       {_cols(PATIENT, 'p')},
       {_cols(ASSESSMENT, 'a')},
       {_cols(ELISA, 'e')},
       {analytes},
       p.file_id AS patient_file_id, a.file_id AS assessment_file_id, e.file_id AS elisa_file_id
FROM core.patients p
JOIN core.assessments a ON a.centre_id = p.centre_id AND a.patient_id = p.patient_id AND a.is_current
LEFT JOIN ({_elisa_match()}) e
  ON e.centre_id = a.centre_id AND e.patient_id = a.patient_id AND e.colonoscopy_date = a.colonoscopy_date
LEFT JOIN ({_lab_pivot()}) lp
  ON lp.centre_id = a.centre_id AND lp.patient_id = a.patient_id AND lp.colonoscopy_date = a.colonoscopy_date
WHERE p.is_current"""
    return f"""
SELECT *, {eligible} AS eligible, nullif({reasons}, '') AS exclusion_reasons
FROM (SELECT *, {derived} FROM ({base}))"""


def _with_ci(name: str) -> tuple[tuple[str, str], ...]:
    return ((name, "DOUBLE"), (f"{name}_ci_low", "DOUBLE"), (f"{name}_ci_high", "DOUBLE"))


def _published_typed(table_name: str, columns) -> str:
    # Typed view over the JSON rows of one published table (rows written by publication).
    cols = ",\n       ".join(
        f"TRY_CAST(json_extract_string(t.row_json, '$.{c}') AS {typ}) AS {c}" for c, typ in columns)
    return f"""SELECT t.publication_id, p.created_at, t.row_number,
       {cols}
FROM published.tables t JOIN published.publications p USING (publication_id)
WHERE t.table_name = '{table_name}'
ORDER BY p.created_at DESC, t.publication_id DESC, t.row_number"""


VIEWS: tuple[View, ...] = (
    View("analysis.cohort_all",
         "Every patient with a follow-up assessment: patient, assessment, matched trough and labs "
         "(canonical units), derived outcomes, eligibility and exclusion reasons.",
         cohort_all_sql()),
    View("analysis.cohort",
         "The analysis cohort: eligible patients only, one row per patient at the follow-up "
         "colonoscopy (first assessment if a patient has several).",
         """SELECT * EXCLUDE (rn) FROM (
  SELECT *, row_number() OVER (PARTITION BY centre_id, patient_id ORDER BY colonoscopy_date) AS rn
  FROM analysis.cohort_all WHERE eligible) WHERE rn = 1"""),
    View("analysis.eligibility",
         "Eligibility per patient and assessment, with the reasons for exclusion.",
         "SELECT centre_id, patient_id, colonoscopy_date, eligible, exclusion_reasons FROM analysis.cohort_all"),
    View("analysis.labs", "Current laboratory results in canonical units, with their source file and line.",
         "SELECT * FROM core.lab_results WHERE is_current"),
    View("analysis.troughs", "Current ELISA trough and ATI results with censoring, with source file and line.",
         "SELECT * FROM core.elisa_results WHERE is_current"),
    View("analysis.files", "Files received, newest first.",
         "SELECT * FROM ingest.files ORDER BY received_at DESC, file_id DESC"),
    View("analysis.quarantine", "Rejected rows with their file, line and reasons.",
         "SELECT q.*, f.file_name FROM quarantine.rows q JOIN ingest.files f USING (file_id)"),
    View("analysis.issues", "Validation findings with their file name.",
         "SELECT i.*, f.centre_id, f.file_name FROM ingest.issues i JOIN ingest.files f USING (file_id)"),
    View("analysis.published_cutoff_table",
         "Table 4 of every publication (IFX trough cut-offs for mucosal healing), typed; newest first.",
         _published_typed("table4_cutoffs", (
             ("source", "VARCHAR"), ("cutoff", "DOUBLE"), ("tp", "INTEGER"), ("fp", "INTEGER"), ("tn", "INTEGER"),
             ("fn", "INTEGER"), *_with_ci("sensitivity"), *_with_ci("specificity"), *_with_ci("ppv"),
             *_with_ci("npv"), ("youden_j", "DOUBLE")))),
    View("analysis.published_roc_summary",
         "ROC of the IFX trough for each outcome in every publication (AUC, DeLong CI, cut-offs), typed.",
         _published_typed("roc_summary", (
             ("outcome", "VARCHAR"), ("n", "INTEGER"), ("n_positive", "INTEGER"), ("n_negative", "INTEGER"),
             ("auc", "DOUBLE"), ("ci_low", "DOUBLE"), ("ci_high", "DOUBLE"), ("p_value", "DOUBLE"),
             ("youden_cutoff", "DOUBLE"), ("youden_sensitivity", "DOUBLE"), ("youden_specificity", "DOUBLE"),
             ("target_specificity_cutoff", "DOUBLE"), ("target_specificity_sensitivity", "DOUBLE"),
             ("target_specificity_specificity", "DOUBLE")))),
)


def create_views_sql() -> list[str]:
    return [f"CREATE OR REPLACE VIEW {v.name} AS {v.sql}" for v in VIEWS]


def drop_views_sql() -> list[str]:
    return [f"DROP VIEW IF EXISTS {v.name}" for v in reversed(VIEWS)]


__all__ = ["View", "VIEWS", "create_views_sql", "drop_views_sql", "cohort_all_sql"]
