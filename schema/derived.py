"""Derived outcomes and eligibility, defined once, exactly as the paper defines them.

Each definition is a DuckDB SQL expression over the columns of ``analysis.cohort_all`` (patient,
assessment, matched ELISA and lab values).  The curated views (:mod:`schema.views`) are built from
these expressions; tests evaluate the same expressions on hand-built frames, so there is one
definition and it is the one analysts query.

Conventions
-----------
* Durations in years are ``days / 365.25`` (reported, continuous).  Thresholds on age and IFX
  duration use calendar arithmetic (``date + INTERVAL 18 YEAR``) so a patient is "< 18 at
  diagnosis" exactly when the diagnosis precedes the 18th birthday.
* CRP is compared in canonical mg/dL: biochemical remission is ``crp_mg_dl < 0.3``.
* A below-LLOQ trough ranks below every quantified value (it is analysed as LLOQ/2, and the
  censoring flag is kept); an above-ULOQ trough is analysed at the ULOQ.
"""

from __future__ import annotations

from dataclasses import dataclass

# Labs are taken from the sample drawn on the colonoscopy/infusion day or, failing that, the most
# recent sample at most LAB_WINDOW_DAYS before the infusion (the paper: "the day before or on the
# same day as ileocolonoscopy and IFX administration"; a week allows for weekend admissions).
LAB_WINDOW_DAYS = 7


@dataclass(frozen=True)
class Derived:
    """A derived variable: its SQL, dtype, description and display label/unit (publications)."""

    name: str
    sql: str
    dtype: str
    description: str
    label: str = ""
    unit: str | None = None


def _years(a: str, b: str) -> str:
    return f"(date_diff('day', {a}, {b}) / 365.25)"


DERIVED: tuple[Derived, ...] = (
    Derived("age_at_diagnosis_years", _years("birth_date", "diagnosis_date"), "float",
            "Age at diagnosis, years.", label="Age at diagnosis", unit="years"),
    Derived("age_at_ifx_start_years", _years("birth_date", "ifx_start_date"), "float",
            "Age at the first IFX infusion, years.", label="Age at IFX start", unit="years"),
    Derived("age_at_colonoscopy_years", _years("birth_date", "colonoscopy_date"), "float",
            "Age at the follow-up ileocolonoscopy, years.", label="Age at follow-up ileocolonoscopy", unit="years"),
    Derived("disease_duration_years", _years("diagnosis_date", "colonoscopy_date"), "float",
            "Disease duration at the follow-up ileocolonoscopy, years.", label="Disease duration", unit="years"),
    Derived("diagnosis_to_ifx_years", _years("diagnosis_date", "ifx_start_date"), "float",
            "Duration from diagnosis to IFX start, years.", label="Duration from diagnosis to IFX", unit="years"),
    Derived("ifx_within_1y", "(ifx_start_date < diagnosis_date + INTERVAL 1 YEAR)", "bool",
            "IFX started within 1 year of diagnosis.", label="IFX initiation within 1 year of diagnosis"),
    Derived("ifx_duration_years", _years("ifx_start_date", "colonoscopy_date"), "float",
            "IFX treatment duration before the follow-up ileocolonoscopy, years.", label="IFX treatment duration", unit="years"),
    Derived("mucosal_healing", "(ses_cd_total = 0)", "bool", "Mucosal healing: SES-CD = 0.", label="Mucosal healing (SES-CD = 0)"),
    Derived("partial_mucosal_healing", "(ses_cd_total < 3)", "bool", "Partial mucosal healing: SES-CD < 3.", label="Partial mucosal healing (SES-CD < 3)"),
    Derived("clinical_remission", "(pcdai < 10)", "bool", "Clinical remission: PCDAI < 10.", label="Clinical remission (PCDAI < 10)"),
    Derived("biochemical_remission", "(crp_mg_dl < 0.3)", "bool", "Biochemical remission: CRP < 0.3 mg/dL.", label="Biochemical remission (CRP < 0.3 mg/dL)"),
    Derived("any_colonic_involvement", "(paris_location IN ('L2', 'L3'))", "bool",
            "Any colonic involvement (L2 or L3).", label="Any colonic involvement"),
    Derived("any_ileal_involvement", "(paris_location IN ('L1', 'L3'))", "bool",
            "Any terminal ileum involvement (L1 or L3).", label="Any TI involvement"),
    Derived("upper_gi_involvement", "(paris_upper <> 'none')", "bool", "Upper GI involvement (L4a/L4b).", label="Upper GI tract involvement"),
    Derived("b1_behaviour", "(paris_behaviour = 'B1')", "bool", "Non-stricturing, non-penetrating (B1).", label="B1 disease behaviour"),
    Derived("growth_failure", "(paris_growth = 'G1')", "bool", "Linear growth failure (G1).", label="Linear growth failure"),
    Derived("ati_positive", "(ati_status = 'positive')", "bool", "Antibodies to IFX present.", label="ATI positive"),
    Derived("trough_analysis_ug_ml",
            "(CASE trough_censor WHEN '<' THEN lloq_ug_ml / 2 WHEN '>' THEN coalesce(uloq_ug_ml, trough_ug_ml)"
            " ELSE trough_ug_ml END)",
            "float",
            "Trough used in analyses: the value; LLOQ/2 when below LLOQ; the ULOQ when above it.", label="IFX trough level", unit="ug/mL"),
)

# Eligibility, written once: each criterion is the condition a patient meets to be included, with the
# reason recorded when not.  The warehouse excludes a patient for whom it is not TRUE (missing data
# needed to decide counts as failing: :data:`EXCLUSIONS`); validation warns early, with the same
# condition, when it is FALSE (:mod:`validators.setwise.cohort`).  "18 years" is the 18th birthday
# ``birth_date + INTERVAL 18 YEAR`` (a 29 February birth turns 18 on 28 February).


@dataclass(frozen=True)
class Criterion:
    """An inclusion criterion: ``include`` is a DuckDB condition over the cohort columns."""

    name: str
    include: str
    reason: str

    @property
    def excluded(self) -> str:
        """TRUE when the patient fails the criterion or the data to decide it is missing."""
        return f"NOT coalesce({self.include}, false)"


EIGHTEENTH_BIRTHDAY = "(birth_date + INTERVAL 18 YEAR)"
ONE_YEAR_OF_IFX = "(ifx_start_date + INTERVAL 1 YEAR)"

CRITERIA: tuple[Criterion, ...] = (
    Criterion("ibd_u", "diagnosis_type = 'CD'", "diagnosis is not Crohn's disease (IBD-U)"),
    Criterion("perianal_fistula_indication", "ifx_indication = 'luminal'", "IFX given for refractory perianal fistula"),
    Criterion("age_at_diagnosis", f"diagnosis_date < {EIGHTEENTH_BIRTHDAY}", "aged 18 or over at diagnosis"),
    Criterion("age_at_ifx_start", f"ifx_start_date < {EIGHTEENTH_BIRTHDAY}",
              "aged 18 or over at the first IFX infusion"),
    Criterion("ifx_duration", f"colonoscopy_date >= {ONE_YEAR_OF_IFX}",
              "IFX for less than 1 year at the colonoscopy"),
    Criterion("colonoscopy_not_on_infusion_day", "colonoscopy_date = infusion_date", "colonoscopy not on the infusion day"),
    Criterion("no_trough", "trough_ug_ml IS NOT NULL", "no IFX trough sample on the infusion day"),
)
CRITERION = {c.name: c for c in CRITERIA}

#: (name, SQL TRUE when the patient is excluded, reason) per criterion.
EXCLUSIONS: tuple[tuple[str, str, str], ...] = tuple((c.name, c.excluded, c.reason) for c in CRITERIA)


def eligibility_sql() -> tuple[str, str]:
    """SQL for (eligible boolean, '; '-joined exclusion reasons) over the cohort columns."""
    fails = [f"({expr})" for _, expr, _ in EXCLUSIONS]
    eligible = "NOT (" + " OR ".join(fails) + ")"
    reasons = "concat_ws('; ', " + ", ".join(
        "CASE WHEN {} THEN '{}' END".format(f, reason.replace("'", "''"))
        for f, (_, _, reason) in zip(fails, EXCLUSIONS)
    ) + ")"
    return eligible, reasons


__all__ = ["CRITERIA", "CRITERION", "Criterion", "EIGHTEENTH_BIRTHDAY", "ONE_YEAR_OF_IFX", "Derived", "DERIVED", "EXCLUSIONS", "LAB_WINDOW_DAYS", "eligibility_sql"]
