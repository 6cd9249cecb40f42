"""The study's configuration: marker, outcomes, the variables of Tables 1 and 2, the parameters.

Labels are not written here: they come from the data dictionary (:mod:`schema.labels`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from analytics.descriptive import Variable
from schema.labels import label

MARKER = "trough_analysis_ug_ml"
PRIMARY_OUTCOME = "mucosal_healing"
ROC_OUTCOMES = ("clinical_remission", "biochemical_remission", "partial_mucosal_healing", "mucosal_healing")
FIGURE1_OUTCOMES = ("clinical_remission", "biochemical_remission", "mucosal_healing", "ati_positive")
#: Outcomes the trough is compared between (Figure 1 and the text).
TROUGH_COMPARISONS = (*ROC_OUTCOMES, "ati_positive", "concomitant_aza")
CORRELATE = "tgn6_pmol_8e8_rbc"

#: Table 2 candidates, in the paper's order.
TABLE2_CANDIDATES: tuple[str, ...] = (
    "male", "age_at_diagnosis_years", "any_colonic_involvement", "any_ileal_involvement", "upper_gi_involvement",
    "b1_behaviour", "paris_perianal", "growth_failure", "diagnosis_to_ifx_years", "ifx_duration_years",
    "dose_intensification", "concomitant_aza", "wbc_per_ul", "haematocrit_pct", "platelets_10e3_ul",
    "albumin_g_dl", "esr_mm_h", "crp_mg_dl", MARKER, "ati_positive",
)


def _v(name: str, kind: str = "continuous", **kw) -> Variable:
    return Variable(name, label(name), kind, **kw)


def table1_variables() -> list[Variable]:
    """Table 1 rows in the paper's order; ``digits`` is the precision the paper prints."""
    return [
        _v("male", "binary"),
        _v("age_at_diagnosis_years", digits=1),
        _v("paris_location", "categorical", levels=("L1", "L2", "L3")),
        _v("paris_upper", "categorical", levels=("none", "L4a", "L4b", "L4ab")),
        _v("paris_behaviour", "categorical", levels=("B1", "B2", "B3", "B2B3")),
        _v("paris_perianal", "binary"),
        _v("growth_failure", "binary"),
        _v("family_history_ibd", "binary"),
        _v("disease_duration_years", digits=1),
        _v("diagnosis_to_ifx_years", digits=1),
        _v("ifx_within_1y", "binary"),
        _v("ifx_duration_years", digits=1),
        _v("n_infusions", digits=1),
        _v("anti_tnf_naive", "binary"),
        _v("dose_intensification", "binary"),
        _v("concomitant_aza", "binary"),
        _v("corticosteroids", "binary"),
        _v("gi_surgery", "binary"),
        _v("pcdai", digits=1),
        _v("wbc_per_ul", digits=0),
        _v("haematocrit_pct", digits=1),
        _v("platelets_10e3_ul", summary="mean", digits=1),
        _v("albumin_g_dl", digits=1),
        _v("esr_mm_h", digits=0),
        _v("crp_mg_dl", digits=2),
        _v("tgn6_pmol_8e8_rbc", summary="mean", digits=1),
        _v(MARKER, digits=2),
        _v("ati_positive", "binary"),
        _v("ses_cd_total", digits=0, test="none"),
        _v("clinical_remission", "binary"),
        _v("biochemical_remission", "binary"),
        _v("mucosal_healing", "binary", test="none"),
    ]


@dataclass(frozen=True)
class PublicationParameters:
    """Analysis parameters, recorded with the publication.

    ``seed`` None draws one (recorded).  ``stepwise_screen``: candidates enter the stepwise
    selection when their univariate p < this (the paper's procedure); None offers all of them.
    ``suppression_k``: per-centre counts below it are masked (:mod:`analytics.suppression`).
    """

    seed: int | None = None
    target_specificity: float = 0.8
    slentry: float = 0.05
    slstay: float = 0.05
    stepwise_screen: float | None = 0.05
    bootstrap_resamples: int = 2000
    band_width: float = 2.0
    suppression_k: int = 5
    conf_level: float = 0.95

    @classmethod
    def from_mapping(cls, values: dict | None) -> PublicationParameters:
        values = dict(values or {})
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - valid)
        if unknown:
            raise ValueError(f"unknown publication parameter(s) {unknown}; valid: {sorted(valid)}")
        p = cls(**values)
        if not (0 < p.target_specificity <= 1):
            raise ValueError(f"target_specificity must be in (0, 1], got {p.target_specificity!r}")
        if p.bootstrap_resamples < 0:
            raise ValueError("bootstrap_resamples must be >= 0")
        if not (isinstance(p.suppression_k, int) and p.suppression_k >= 1):
            raise ValueError(f"suppression_k must be a positive integer, got {p.suppression_k!r}")
        return p


def prepare_cohort(cohort: pd.DataFrame) -> pd.DataFrame:
    """Analysis columns on top of ``analysis.cohort``: ``male``; nullable booleans."""
    df = cohort.copy()
    if "sex" in df.columns:
        df["male"] = (df["sex"] == "M").astype("boolean")
        df.loc[df["sex"].isna(), "male"] = pd.NA
    for c in df.columns:
        s = df[c]
        if s.dtype == object and s.notna().any() and s.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():
            df[c] = s.astype("boolean")
        elif pd.api.types.is_bool_dtype(s.dtype):
            df[c] = s.astype("boolean")
    return df


#: How the report names each parameter (and how it prints its value).
PARAMETER_LABELS: dict[str, str] = {
    "seed": "Random seed (bootstrap)",
    "target_specificity": "Target specificity of the second cut-off",
    "slentry": "Stepwise entry level (score chi-square, SLENTRY)",
    "slstay": "Stepwise stay level (Wald chi-square, SLSTAY)",
    "stepwise_screen": "Univariate screen before stepwise selection (p <)",
    "bootstrap_resamples": "Bootstrap resamples",
    "band_width": "Trough band width, µg/mL (Figure 2B)",
    "suppression_k": "Small-cell suppression: per-centre counts masked below",
    "conf_level": "Confidence level",
}
