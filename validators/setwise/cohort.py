"""Early warnings that a record will be excluded from the analysis cohort (never a rejection).

Eligibility is decided in the warehouse by :data:`schema.derived.CRITERIA`; these rules evaluate the
very same conditions (imported, not rewritten) on the file, and warn when one is FALSE with the
data to decide it present.
"""

from __future__ import annotations

from schema.derived import CRITERION, EIGHTEENTH_BIRTHDAY, ONE_YEAR_OF_IFX
from validators.registry import Rule, register
from validators.setwise.dates import PATIENT_DATES
from validators.setwise.sql import finding, lit, ymd

_COHORT = "will be excluded from the analysis cohort"
_PREFIX = lit(_COHORT + ": ")

COLONOSCOPY_NOT_ON_INFUSION_DAY = register(Rule(
    "colonoscopy_not_on_infusion_day", "warning", "rule",
    f"The colonoscopy was not on the IFX infusion day: {_COHORT}.",
    "If the dates are wrong, correct them; otherwise no action (the record is kept).", ("assessment",)))
AGE_18_OR_OVER = register(Rule(
    "age_18_or_over", "warning", "rule",
    f"Aged 18 or over at diagnosis or at the first IFX infusion: {_COHORT}.",
    "If the birth, diagnosis or IFX start date is wrong, correct it; otherwise no action.", ("patient",)))
IFX_UNDER_1_YEAR = register(Rule(
    "ifx_under_1_year", "warning", "rule",
    f"IFX for less than 1 year at the colonoscopy: {_COHORT}.",
    "If the IFX start or colonoscopy date is wrong, correct it; otherwise no action.", ("assessment",)))


def _fails(criterion: str) -> str:
    """TRUE when the criterion is FALSE (NULL, so no warning, when its data is missing)."""
    return f"NOT ({CRITERION[criterion].include})"


_AT_DX = _fails("age_at_diagnosis")
_ADULT = lit("before the 18th birthday ") + " || " + ymd(EIGHTEENTH_BIRTHDAY)

QUERIES: dict[str, str] = {
    COLONOSCOPY_NOT_ON_INFUSION_DAY.name: f"""
        SELECT {finding("assessment", "a", "infusion_date",
                        _PREFIX + " || 'colonoscopy (' || " + ymd("a.colonoscopy_date") + " || ') not on the infusion day'",
                        lit("the colonoscopy date ") + " || " + ymd("a.colonoscopy_date"))}
        FROM assessment a WHERE {_fails("colonoscopy_not_on_infusion_day")}""",
    AGE_18_OR_OVER.name: f"""
        SELECT {finding("patient", "p", "diagnosis_date", _PREFIX + " || 'aged 18 or over at diagnosis'", _ADULT)}
        FROM patient p WHERE {_AT_DX}
        UNION ALL
        SELECT {finding("patient", "p", "ifx_start_date", _PREFIX + " || 'aged 18 or over at the first IFX infusion'",
                        _ADULT)}
        FROM patient p WHERE {_fails("age_at_ifx_start")} AND NOT coalesce({_AT_DX}, false)""",
    IFX_UNDER_1_YEAR.name: f"""
        SELECT {finding("assessment", "a", "colonoscopy_date",
                        _PREFIX + " || 'IFX for less than 1 year at the colonoscopy (IFX start ' || "
                        + ymd("d.ifx_start_date") + " || ')'",
                        lit("on or after ") + " || " + ymd(ONE_YEAR_OF_IFX))}
        FROM assessment a JOIN ({PATIENT_DATES}) d ON d.patient_id = a.patient_id
        WHERE a.colonoscopy_date >= d.ifx_start_date AND {_fails("ifx_duration")}""",
}

__all__ = ["QUERIES"]
