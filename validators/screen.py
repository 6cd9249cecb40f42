"""A conservative SQL screen of every validation rule, for the columnar path (``tdm/columnar``).

For each rule of :data:`validators.rules.ROW_RULES` and each dictionary check of
:mod:`schema.models`, one query counting the rows that *might* break it, over the harmonised tables
``patient``, ``assessment``, ``elisa``, ``lab`` (one file) and the context tables ``ctx_known``,
``ctx_other``, ``ctx_assess`` (the warehouse, as :class:`validators.ValidationContext` holds it).

A screen may flag more than its rule (e.g. any patient on two lines of one file, any ELISA whose
infusion is not on its own line), never less: a file with any count above zero goes to the
reference validation (:func:`validators.validate_file`), which writes the exact findings.  A file
the screen passes has, by construction, no error and no warning, so it loads whole.  Keep each
screen next to its rule's meaning when a rule changes (tests/columnar checks every generated error
kind is caught here, and that every rule has a screen).
"""

from __future__ import annotations

from schema.dictionary import ENTITIES
from validators.units import screen_sql

# Patients on more than one line of a wide file: a second assessment, a repeated line or key, or a
# baseline written twice - the screen of three rules.
_ON_TWO_LINES = "SELECT count(*) FROM (SELECT patient_id FROM patient GROUP BY patient_id HAVING count(*) > 1)"

# rule name -> query counting the rows that might break it
SCREENS: dict[str, str] = {
    # birth <= diagnosis <= first IFX; first IFX <= colonoscopy (this file's patient row, else the
    # warehouse's: a visit whose patient is in neither is flagged here too)
    "date_order": """
        SELECT count(*) FROM patient p WHERE p.birth_date > p.diagnosis_date OR p.diagnosis_date > p.ifx_start_date
            OR p.birth_date > p.ifx_start_date
        UNION ALL
        SELECT count(*) FROM assessment a LEFT JOIN patient p USING (patient_id)
        WHERE p.patient_id IS NULL OR a.colonoscopy_date < p.ifx_start_date OR a.colonoscopy_date < p.diagnosis_date""",
    # the trough's day after the infusion on its own line; an ELISA without an infusion day on its
    # line (matched to another infusion by the rule) is flagged
    "trough_after_infusion": """
        SELECT count(*) FROM elisa e LEFT JOIN assessment a USING (source_line)
        WHERE e.trough_sample_datetime IS NOT NULL AND (
            coalesce(a.infusion_date, a.colonoscopy_date) IS NULL
            OR CAST(e.trough_sample_datetime AS DATE) > coalesce(a.infusion_date, a.colonoscopy_date))""",
    "ses_cd_sum_mismatch": """
        SELECT count(*) FROM (
            SELECT ses_cd_total AS total,
                (ses_cd_ileum IS NOT NULL)::INT + (ses_cd_right_colon IS NOT NULL)::INT
                + (ses_cd_transverse_colon IS NOT NULL)::INT + (ses_cd_left_colon IS NOT NULL)::INT
                + (ses_cd_rectum IS NOT NULL)::INT AS n,
                coalesce(ses_cd_ileum, 0) + coalesce(ses_cd_right_colon, 0) + coalesce(ses_cd_transverse_colon, 0)
                + coalesce(ses_cd_left_colon, 0) + coalesce(ses_cd_rectum, 0) AS s
            FROM assessment)
        WHERE total IS NOT NULL AND ((n = 5 AND total <> s) OR (n BETWEEN 1 AND 4 AND total < s))""",
    "ati_titre_inconsistent": """
        SELECT count(*) FROM elisa WHERE ati_titre_ng_ml IS NOT NULL AND (
            (ati_status = 'positive' AND ((ati_cutoff_ng_ml IS NOT NULL AND ati_titre_ng_ml < ati_cutoff_ng_ml)
                                          OR (ati_cutoff_ng_ml IS NULL AND ati_titre_ng_ml <= 0)))
            OR (ati_status = 'negative' AND ati_cutoff_ng_ml IS NOT NULL AND ati_titre_ng_ml >= ati_cutoff_ng_ml))""",
    # '<' carries the LLOQ, '>' the ULOQ, '=' within [LLOQ, ULOQ] (the rule's tolerance, halved here)
    "censored_trough_inconsistent": """
        SELECT count(*) FROM elisa WHERE trough_ug_ml IS NOT NULL AND (
            (trough_censor = '<' AND lloq_ug_ml IS NOT NULL
                AND abs(trough_ug_ml - lloq_ug_ml) > 0.5e-6 + 0.5e-6 * abs(lloq_ug_ml))
            OR (trough_censor = '>' AND uloq_ug_ml IS NOT NULL
                AND abs(trough_ug_ml - uloq_ug_ml) > 0.5e-6 + 0.5e-6 * abs(uloq_ug_ml))
            OR (trough_censor = '=' AND lloq_ug_ml IS NOT NULL AND trough_ug_ml < lloq_ug_ml)
            OR (trough_censor = '=' AND uloq_ug_ml IS NOT NULL AND trough_ug_ml > uloq_ug_ml)
            OR trough_censor NOT IN ('<', '>', '='))""",
    # a patient on two lines of the file (second assessment, repeated line, repeated key, or a
    # baseline written twice), or a visit on a day other than the warehouse's for this patient
    "second_assessment": _ON_TWO_LINES + """
        UNION ALL
        SELECT count(*) FROM assessment a
        WHERE EXISTS (SELECT 1 FROM ctx_assess c WHERE c.patient_id = a.patient_id)
            AND NOT EXISTS (SELECT 1 FROM ctx_assess c WHERE c.patient_id = a.patient_id
                            AND CAST(c.colonoscopy_date AS DATE) = a.colonoscopy_date)""",
    "duplicate_row": _ON_TWO_LINES,
    "duplicate_key": _ON_TWO_LINES + """
        UNION ALL
        SELECT count(*) FROM (SELECT source_line, analyte FROM lab GROUP BY ALL HAVING count(*) > 1)""",
    # every visit, ELISA and lab row has its patient on the same line in a wide file; any row whose
    # patient is in neither this file nor the centre's warehouse is flagged
    "orphan_record": """
        SELECT count(*) FROM (SELECT patient_id FROM assessment UNION ALL SELECT patient_id FROM elisa
                              UNION ALL SELECT patient_id FROM lab) r
        WHERE r.patient_id IS NOT NULL AND r.patient_id NOT IN (SELECT patient_id FROM patient WHERE patient_id IS NOT NULL)
            AND r.patient_id NOT IN (SELECT patient_id FROM ctx_known WHERE patient_id IS NOT NULL)""",
    "patient_in_other_centre": """
        SELECT count(*) FROM patient WHERE patient_id IN (SELECT patient_id FROM ctx_other)""",
    "range": "SELECT count(*) FROM lab WHERE value < 0",
    "colonoscopy_not_on_infusion_day": """
        SELECT count(*) FROM assessment WHERE colonoscopy_date <> infusion_date""",
    # 18 years from the birth date, one day early (a leap-day birth's anniversary either way)
    "age_18_or_over": """
        SELECT count(*) FROM patient
        WHERE diagnosis_date >= birth_date + INTERVAL 18 YEAR - INTERVAL 1 DAY
            OR ifx_start_date >= birth_date + INTERVAL 18 YEAR - INTERVAL 1 DAY""",
    "ifx_under_1_year": """
        SELECT count(*) FROM assessment a JOIN patient p USING (patient_id)
        WHERE a.colonoscopy_date >= p.ifx_start_date
            AND a.colonoscopy_date < p.ifx_start_date + INTERVAL 1 YEAR + INTERVAL 1 DAY""",
}


def schema_screen(today_literal: str) -> str:
    """One query counting rows that break any dictionary check (required, codes, range, future
    dates, the lab analyte and its plausible range) over all four entities."""
    from tdm.columnar.sql import column_checks

    parts = []
    for entity, e in ENTITIES.items():
        conds = column_checks(entity, entity, today_literal)
        parts.append(f"SELECT count(*) FROM {entity} WHERE {' OR '.join(conds) if conds else 'false'}")
    return "\nUNION ALL\n".join(parts)


def screen_query(today_literal: str) -> str:
    """One query: rule name -> rows that might break it (a row per rule), the file-level unit check
    (``unit_profile_suspect``, against ``ctx_units``) included."""
    parts = [f"SELECT 'schema' AS rule, (SELECT sum(n) FROM ({schema_screen(today_literal)}) t(n)) AS n",
             f"SELECT 'unit_profile_suspect' AS rule, ({screen_sql()}) AS n"]
    for rule, q in SCREENS.items():
        parts.append(f"SELECT {rule!r} AS rule, (SELECT sum(n) FROM ({q}) t(n)) AS n")
    return "\nUNION ALL\n".join(parts)


__all__ = ["SCREENS", "schema_screen", "screen_query"]
