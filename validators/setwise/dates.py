"""Date rules: the order of a patient's dates, and the trough drawn before its infusion.

Each rule is its registry entry (what it checks, severity, fix) and one set-wise query over the
contract's tables (``patient``, ``assessment``, ``elisa``) and the context (``ctx_known``,
``ctx_assess``) selecting :data:`validators.setwise.sql.FINDING_FIELDS`.
"""

from __future__ import annotations

from validators.registry import Rule, register
from validators.setwise.sql import finding, lit, show, ymd

#: A visit's trough sample in a file of its own is matched to the patient's infusion nearest to it,
#: this many days either way (this file's visits or the warehouse's); on a wide line it is the line's.
TROUGH_MATCH_DAYS = 14

#: Birth, diagnosis and IFX start per patient: this file's baseline (earliest line) first, then the
#: warehouse's (``ctx_known``), so visits sent in a file of their own are checked too.
PATIENT_DATES = """
    SELECT patient_id, birth_date, diagnosis_date, ifx_start_date FROM (
        SELECT patient_id, birth_date, diagnosis_date, ifx_start_date, 0 AS prio, source_line AS ord, rowid AS r
        FROM patient WHERE patient_id IS NOT NULL
        UNION ALL
        SELECT patient_id, birth_date, diagnosis_date, ifx_start_date, 1, 0, 0 FROM ctx_known)
    QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY prio, ord, r) = 1"""

DATE_ORDER = register(Rule(
    "date_order", "error", "rule",
    "Dates are out of order: birth <= diagnosis <= first IFX <= colonoscopy is required.",
    "Check the birth, diagnosis, IFX start and colonoscopy dates against the source record.",
    ("patient", "assessment")))

_BEFORE_BIRTH = lit("on or after the birth date ") + " || " + ymd("p.birth_date")
_BEFORE_DX = lit("on or after the diagnosis date ") + " || " + ymd("p.diagnosis_date")
DATE_ORDER_SQL = f"""
    SELECT {finding("patient", "p", "diagnosis_date", lit("diagnosis date is before the birth date"), _BEFORE_BIRTH)}
    FROM patient p WHERE p.birth_date > p.diagnosis_date
    UNION ALL
    SELECT {finding("patient", "p", "ifx_start_date", lit("first IFX infusion is before the diagnosis date"),
                    _BEFORE_DX)}
    FROM patient p WHERE p.diagnosis_date > p.ifx_start_date
    UNION ALL
    SELECT {finding("patient", "p", "ifx_start_date", lit("first IFX infusion is before the birth date"),
                    _BEFORE_BIRTH)}
    FROM patient p WHERE p.birth_date > p.ifx_start_date
        AND NOT coalesce(p.birth_date > p.diagnosis_date, false) AND NOT coalesce(p.diagnosis_date > p.ifx_start_date, false)
    UNION ALL
    SELECT {finding("assessment", "a", "colonoscopy_date", lit("colonoscopy is before the first IFX infusion"),
                    lit("on or after the IFX start ") + " || " + ymd("d.ifx_start_date"))}
    FROM assessment a JOIN ({PATIENT_DATES}) d ON d.patient_id = a.patient_id
    WHERE a.colonoscopy_date < d.ifx_start_date
    UNION ALL
    SELECT {finding("assessment", "a", "colonoscopy_date", lit("colonoscopy is before the diagnosis date"),
                    lit("on or after the diagnosis date ") + " || " + ymd("d.diagnosis_date"))}
    FROM assessment a JOIN ({PATIENT_DATES}) d ON d.patient_id = a.patient_id
    WHERE a.colonoscopy_date < d.diagnosis_date AND NOT coalesce(a.colonoscopy_date < d.ifx_start_date, false)"""

TROUGH_AFTER_INFUSION = register(Rule(
    "trough_after_infusion", "error", "rule",
    "The trough sample was drawn after the infusion it belongs to (it must be drawn immediately before the "
    "infusion).",
    "Check the sample date/time; a sample drawn after the infusion is not a trough level.", ("elisa",)))

# The infusion is the assessment on the sample's own line (wide files: its first assessment);
# otherwise the patient's known infusion nearest the sample's day within TROUGH_MATCH_DAYS (a tie
# goes to the earlier infusion).  An assessment without an infusion date counts on its colonoscopy day.
TROUGH_AFTER_INFUSION_SQL = f"""
    WITH e AS (SELECT el.rowid AS _r, el.patient_id, CAST(el.trough_sample_datetime AS DATE) AS _day, o.inf AS _line_inf
               FROM elisa el LEFT JOIN (
                   SELECT source_line, coalesce(infusion_date, colonoscopy_date) AS inf FROM assessment
                   WHERE source_line IS NOT NULL QUALIFY row_number() OVER (PARTITION BY source_line ORDER BY rowid) = 1
               ) o ON o.source_line = el.source_line
               WHERE el.trough_sample_datetime IS NOT NULL),
    known AS (SELECT patient_id, coalesce(infusion_date, colonoscopy_date) AS inf FROM assessment
              UNION SELECT patient_id, coalesce(infusion_date, colonoscopy_date) FROM ctx_assess),
    near AS (SELECT e._r, k.inf FROM e JOIN known k ON k.patient_id = e.patient_id
             WHERE e._line_inf IS NULL AND k.inf IS NOT NULL AND abs(date_diff('day', k.inf, e._day)) <= {TROUGH_MATCH_DAYS}
             QUALIFY row_number() OVER (PARTITION BY e._r ORDER BY abs(date_diff('day', k.inf, e._day)), k.inf) = 1),
    bad AS (SELECT e._r, coalesce(e._line_inf, n.inf) AS _inf FROM e LEFT JOIN near n ON n._r = e._r
            WHERE e._day > coalesce(e._line_inf, n.inf))
    SELECT {finding("elisa", "m", "trough_sample_datetime",
                    lit("trough sample drawn after the infusion of ") + " || " + ymd("b._inf"),
                    lit("on the infusion day ") + " || " + ymd("b._inf") + " || " + lit(", before the infusion"),
                    value=show("elisa", "trough_sample_datetime", "m"))}
    FROM elisa m JOIN bad b ON b._r = m.rowid"""

QUERIES: dict[str, str] = {DATE_ORDER.name: DATE_ORDER_SQL, TROUGH_AFTER_INFUSION.name: TROUGH_AFTER_INFUSION_SQL}

__all__ = ["PATIENT_DATES", "QUERIES", "TROUGH_MATCH_DAYS"]
