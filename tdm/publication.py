"""Build a versioned publication of the study's analyses from the read snapshot.

``build_publication(settings, parameters=...)``:

1. reads ``analysis.cohort`` and the checksums of the files its rows came from (the *data
   snapshot*) from the read-only snapshot, plus the earlier publications' cut-offs and bootstrap
   CIs (:func:`cutoff_history`, for the drift table);
2. runs the analyses (:func:`run_analyses`, pure: frames in, frames out; an analysis that cannot
   be computed on this cohort is recorded in ``skipped`` with the reason, never a crash), including
   the cut-off drift versus the earlier publications (:func:`publication_drift`);
3. renders the figures and the self-contained HTML report (:mod:`analytics.render`);
4. writes ``<home>/published/<publication_id>/`` (one CSV per table, PNG figures, report.html,
   publication.json) and, in ONE transaction on the warehouse, one ``published.publications``
   row and every table row into ``published.tables``; then publishes the read snapshot.

Plain function: the Prefect flow (``flows/analyse.py``) only wraps it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from tdm.config import Settings
from tdm.runtime import step_done

MARKER = "trough_analysis_ug_ml"
PRIMARY_OUTCOME = "mucosal_healing"
ROC_OUTCOMES = ("clinical_remission", "biochemical_remission", "partial_mucosal_healing", "mucosal_healing")
FIGURE1_OUTCOMES = ("clinical_remission", "biochemical_remission", "mucosal_healing", "ati_positive")

#: Table 2 candidates (paper order): column -> label.
TABLE2_CANDIDATES: dict[str, str] = {
    "male": "Sex (male vs female)",
    "age_at_diagnosis_years": "Age at diagnosis, years",
    "any_colonic_involvement": "Any colonic involvement",
    "any_ileal_involvement": "Any TI involvement",
    "upper_gi_involvement": "Upper GI tract involvement",
    "b1_behaviour": "B1 disease behaviour",
    "paris_perianal": "Perianal modifiers",
    "growth_failure": "Linear growth failure",
    "diagnosis_to_ifx_years": "Duration from diagnosis to IFX, years",
    "ifx_duration_years": "Duration of IFX treatment, years",
    "dose_intensification": "Dose intensification",
    "concomitant_aza": "Concomitant AZA",
    "wbc_per_ul": "WBC, /µL",
    "haematocrit_pct": "Haematocrit, %",
    "platelets_10e3_ul": "Platelet count, 10^3/µL",
    "albumin_g_dl": "Albumin, g/dL",
    "esr_mm_h": "ESR, mm/h",
    "crp_mg_dl": "CRP, mg/dL",
    "trough_analysis_ug_ml": "IFX trough level, µg/mL",
    "ati_positive": "ATI",
}


@dataclass(frozen=True)
class PublicationParameters:
    """Analysis parameters, recorded with the publication.

    ``seed`` None draws one (recorded).  ``stepwise_screen``: candidates enter the stepwise
    selection when their univariate p < this (the paper's procedure); None offers all of them.
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
        return p


@dataclass(frozen=True)
class AnalysisBundle:
    """Everything :func:`run_analyses` computed: tables (name -> frame), figure inputs, skips."""

    tables: dict[str, pd.DataFrame]
    titles: dict[str, str]
    notes: dict[str, str]
    skipped: tuple[dict, ...]
    figure_data: dict
    seed: int
    n_patients: int


@dataclass(frozen=True)
class PublicationSummary:
    """What a publication produced (immutable)."""

    publication_id: str
    created_at: dt.datetime
    folder: Path
    report_path: Path
    n_patients: int
    seed: int
    code_version: str
    data_snapshot: tuple[str, ...]
    parameters: dict
    tables: tuple[str, ...]
    figures: tuple[str, ...]
    skipped: tuple[dict, ...]
    cutoff_table: pd.DataFrame | None = field(default=None, repr=False)


# --------------------------------------------------------------------------------------------
# pure analysis
# --------------------------------------------------------------------------------------------
def _table1_variables():
    from analytics.descriptive import Variable as V

    return [
        V("male", "Male sex", "binary"),
        V("age_at_diagnosis_years", "Age at diagnosis, years", digits=1),
        V("paris_location", "Lower GI tract involvement (Paris)", "categorical", levels=("L1", "L2", "L3")),
        V("paris_upper", "Upper GI tract involvement (Paris)", "categorical", levels=("none", "L4a", "L4b", "L4ab")),
        V("paris_behaviour", "Disease behaviour (Paris)", "categorical", levels=("B1", "B2", "B3", "B2B3")),
        V("paris_perianal", "Perianal modifier", "binary"),
        V("growth_failure", "Linear growth failure", "binary"),
        V("family_history_ibd", "Family history of IBD", "binary"),
        V("disease_duration_years", "Disease duration, years", digits=1),
        V("diagnosis_to_ifx_years", "Duration from diagnosis to IFX, years", digits=1),
        V("ifx_within_1y", "IFX within 1 year of diagnosis", "binary"),
        V("ifx_duration_years", "IFX treatment duration, years", digits=1),
        V("n_infusions", "Number of IFX infusions", digits=1),
        V("anti_tnf_naive", "Anti-TNF naive", "binary"),
        V("dose_intensification", "Dose intensification", "binary"),
        V("concomitant_aza", "Concomitant AZA", "binary"),
        V("corticosteroids", "Corticosteroids during IFX", "binary"),
        V("gi_surgery", "CD-related GI surgery", "binary"),
        V("pcdai", "PCDAI", digits=1),
        V("wbc_per_ul", "WBC, /µL", digits=0),
        V("haematocrit_pct", "Haematocrit, %", digits=1),
        V("platelets_10e3_ul", "Platelet count, 10^3/µL", summary="mean", digits=1),
        V("albumin_g_dl", "Albumin, g/dL", digits=1),
        V("esr_mm_h", "ESR, mm/h", digits=0),
        V("crp_mg_dl", "CRP, mg/dL", digits=2),
        V("tgn6_pmol_8e8_rbc", "6-TGN, pmol/8x10^8 RBC", summary="mean", digits=1),
        V("trough_analysis_ug_ml", "IFX trough level, µg/mL", digits=2),
        V("ati_positive", "ATI positive", "binary"),
        V("ses_cd_total", "SES-CD", digits=0, test="none"),
        V("clinical_remission", "Clinical remission (PCDAI < 10)", "binary"),
        V("biochemical_remission", "Biochemical remission (CRP < 0.3 mg/dL)", "binary"),
        V("mucosal_healing", "Mucosal healing (SES-CD = 0)", "binary", test="none"),
    ]


def prepare_cohort(cohort: pd.DataFrame) -> pd.DataFrame:
    """Analysis columns on top of ``analysis.cohort``: ``male``; nullable booleans."""
    df = cohort.copy()
    if "sex" in df.columns:
        df["male"] = (df["sex"] == "M").astype("boolean")
        df.loc[df["sex"].isna(), "male"] = pd.NA
    for c in df.columns:
        s = df[c]
        if s.dtype == object and s.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all() and s.notna().any():
            df[c] = s.astype("boolean")
        elif pd.api.types.is_bool_dtype(s.dtype):
            df[c] = s.astype("boolean")
    return df


def _youden_dichotomy(x: pd.Series, y: pd.Series, direction: int, conf_level: float) -> dict:
    """Youden cut-off of ``x`` for ``y`` in the direction of association, as ``x >= c``."""
    from analytics.roc import roc_analysis

    ok = x.notna() & y.notna()
    xv = x[ok].astype(float)
    yv = y[ok].astype(bool)
    if direction >= 0:
        r = roc_analysis(xv, yv, target_specificity=None, conf_level=conf_level)
        c = float(r.youden.cutoff)
        rule = "x >= c predicts the outcome"
    else:
        # low values predict the outcome: Youden on -x gives "-x >= t" i.e. "x <= -t"; the
        # complement "x > -t" is written "x >= c" with c the smallest observed value above -t.
        r = roc_analysis(-xv, yv, target_specificity=None, conf_level=conf_level)
        t = -float(r.youden.cutoff)
        above = np.sort(xv[xv > t].unique())
        c = float(above[0]) if len(above) else math.nan
        rule = f"x <= {t:g} predicts the outcome; dichotomised as x >= c (the next observed value)"
    return {"cutoff": c, "auc": r.auc, "auc_ci_low": r.ci_low, "auc_ci_high": r.ci_high,
            "sensitivity": r.youden.sensitivity, "specificity": r.youden.specificity, "rule": rule}


#: The cut-off methods whose drift is reported (``roc_summary`` column prefixes, ``bootstrap_cutoffs.method``).
DRIFT_METHODS = ("youden", "target_specificity")
#: Placeholder id of the publication being built (its id depends on the analyses' results).
CURRENT_PUBLICATION = "(this publication)"
CUTOFF_HISTORY_COLUMNS = ("publication_id", "created_at", "outcome", "method", "target_specificity", "cutoff",
                          "ci_low", "ci_high", "n", "auc")


def _naive_utc(t) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def cutoff_history(roc_summary: pd.DataFrame, bootstrap_cutoffs: pd.DataFrame | None, *, publication_id: str,
                   created_at, target_specificity: float | None) -> pd.DataFrame:
    """One publication's cut-offs as drift-history rows (pure).

    Parameters
    ----------
    roc_summary : the publication's ``roc_summary`` table (``outcome``, ``n``, ``auc``,
        ``youden_cutoff``, ``target_specificity_cutoff``).
    bootstrap_cutoffs : its ``bootstrap_cutoffs`` table (``method``, ``cutoff_ci_low``,
        ``cutoff_ci_high``; bootstrapped for :data:`PRIMARY_OUTCOME` only) or None.
    publication_id, created_at : the publication (``created_at`` is stored as naive UTC).
    target_specificity : the publication's target specificity (part of the series key of the
        target-specificity cut-off: cut-offs for different targets are not compared).

    Returns
    -------
    DataFrame
        One row per outcome and method (:data:`DRIFT_METHODS`): ``publication_id, created_at,
        outcome, method, target_specificity`` (NaN for Youden), ``cutoff, ci_low, ci_high``
        (the bootstrap CI; NaN when none was published), ``n, auc``.
    """
    ci: dict[str, tuple[float, float]] = {}
    if bootstrap_cutoffs is not None and len(bootstrap_cutoffs) and "method" in bootstrap_cutoffs.columns:
        for r in bootstrap_cutoffs.to_dict("records"):
            ci[str(r["method"])] = (r.get("cutoff_ci_low"), r.get("cutoff_ci_high"))
    rows = []
    for r in roc_summary.to_dict("records"):
        for m in DRIFT_METHODS:
            lo, hi = ci.get(m, (None, None)) if r.get("outcome") == PRIMARY_OUTCOME else (None, None)
            rows.append({"publication_id": publication_id, "created_at": _naive_utc(created_at),
                         "outcome": r.get("outcome"), "method": m,
                         "target_specificity": (math.nan if m == "youden" or target_specificity is None
                                                else float(target_specificity)),
                         "cutoff": r.get(f"{m}_cutoff"), "ci_low": lo, "ci_high": hi,
                         "n": r.get("n"), "auc": r.get("auc")})
    out = pd.DataFrame(rows, columns=list(CUTOFF_HISTORY_COLUMNS))
    for c in ("target_specificity", "cutoff", "ci_low", "ci_high", "auc"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("Int64")
    return out


def publication_drift(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The current publication's cut-offs against the previous publications' (pure).

    ``previous`` and ``current`` are :func:`cutoff_history` rows; the series are outcome x method
    x target specificity, and :func:`analytics.drift.cutoff_drift` orders each by ``created_at``.
    A series absent from every earlier publication has NaN ``previous_*`` and ``<NA>`` flags.

    Returns
    -------
    DataFrame
        One row per current outcome and method: ``outcome, method, target_specificity,
        previous_publication_id, previous_created_at, previous_cutoff, previous_ci_low,
        previous_ci_high, cutoff, ci_low, ci_high, change, relative_change, outside_previous_ci,
        ci_overlap, previous_n, n, previous_auc, auc``.
    """
    from analytics.drift import cutoff_drift

    cur_ids = set(current["publication_id"])
    history = pd.concat([previous[~previous["publication_id"].isin(cur_ids)], current], ignore_index=True)
    keys = ["outcome", "method", "target_specificity"]
    d = cutoff_drift(history, group_by=keys)
    prev_info = history[["publication_id", *keys, "created_at", "n", "auc"]].rename(
        columns={"publication_id": "previous_publication_id", "created_at": "previous_created_at",
                 "n": "previous_n", "auc": "previous_auc"})
    d = d.merge(prev_info, on=["previous_publication_id", *keys], how="left")
    d = d[d["publication_id"].isin(cur_ids)]
    order = {(o, m): i for i, (o, m) in enumerate(zip(current["outcome"], current["method"]))}
    d = d.assign(_o=[order.get((o, m), len(order)) for o, m in zip(d["outcome"], d["method"])])
    d = d.sort_values("_o", kind="stable")
    cols = ["outcome", "method", "target_specificity", "previous_publication_id", "previous_created_at",
            "previous_cutoff", "previous_ci_low", "previous_ci_high", "cutoff", "ci_low", "ci_high", "change",
            "relative_change", "outside_previous_ci", "ci_overlap", "previous_n", "n", "previous_auc", "auc"]
    return d[cols].reset_index(drop=True)


def run_analyses(cohort: pd.DataFrame, params: PublicationParameters, *,
                 previous_cutoffs: pd.DataFrame | None = None,
                 created_at: dt.datetime | None = None) -> AnalysisBundle:
    """Every analysis of the publication on one cohort frame (no I/O).

    ``previous_cutoffs``: the cut-off history of earlier publications (:func:`cutoff_history`
    rows, as :func:`read_inputs` returns them) for the ``drift`` table; ``created_at``: this
    publication's time (UTC; default now), which orders it after them.

    Analyses that cannot be computed (too few patients, one outcome class, separation, a missing
    column) are listed in ``skipped`` with the reason; the rest are still returned.
    """
    from analytics import descriptive, logistic, stepwise
    from analytics.correlation import correlation

    df = prepare_cohort(cohort)
    created_at = created_at or dt.datetime.now(dt.timezone.utc)
    seed = params.seed if params.seed is not None else secrets.randbelow(2**31 - 1)
    tables: dict[str, pd.DataFrame] = {}
    titles: dict[str, str] = {}
    notes: dict[str, str] = {}
    skipped: list[dict] = []
    fig: dict = {}

    def attempt(name: str, title: str, fn: Callable[[], pd.DataFrame | None], note: str = "") -> None:
        started = time.perf_counter()
        try:
            out = fn()
        except Exception as exc:  # an analysis that cannot run is reported, never fatal
            msg = getattr(exc, "message", None) or str(exc)
            skipped.append({"analysis": name, "reason": f"{type(exc).__name__}: {msg}"})
            step_done(name, "not computed", time.perf_counter() - started)
            return
        if out is not None:
            tables[name] = out.reset_index(drop=True)
            titles[name] = title
            if note:
                notes[name] = note
        step_done(name, "done", time.perf_counter() - started)

    n = len(df)
    if n == 0:
        skipped.append({"analysis": "all", "reason": "the analysis cohort is empty"})
        return AnalysisBundle(tables, titles, notes, tuple(skipped), fig, seed, 0)

    y_name = PRIMARY_OUTCOME
    conf = params.conf_level

    # Table 1 ----------------------------------------------------------------------------------
    t1_vars = [v for v in _table1_variables() if v.name in df.columns]
    attempt("table1", "Table 1. Characteristics, overall and by mucosal healing",
            lambda: descriptive.table1(df, t1_vars, by=y_name),
            "n (%), median [IQR] (SAS quartile definition 5) or mean ± SD. Wilcoxon rank-sum (normal "
            "approximation, continuity correction) / Student's pooled t-test; chi-square without Yates' "
            "correction, Fisher's exact test when expected counts are small (Cochran's rule).")

    # trough by outcome (Figure 1) -------------------------------------------------------------
    outs = [o for o in (*ROC_OUTCOMES, "ati_positive", "concomitant_aza") if o in df.columns]
    attempt("trough_by_outcome", "IFX trough level by outcome (Figure 1)",
            lambda: descriptive.compare_continuous_by(df, MARKER, outs),
            "Wilcoxon rank-sum test, normal approximation with continuity correction; W is that of the 'true' group.")
    if "trough_by_outcome" in tables:
        fig["figure1_p"] = dict(zip(tables["trough_by_outcome"].outcome, tables["trough_by_outcome"].p_value))

    # correlation -----------------------------------------------------------------------------
    def _corr():
        rows = [correlation(df[MARKER], df["tgn6_pmol_8e8_rbc"], method=m) for m in ("pearson", "spearman")]
        out = pd.concat(rows, ignore_index=True)
        out.insert(0, "x", MARKER)
        out.insert(1, "y", "tgn6_pmol_8e8_rbc")
        return out

    attempt("correlation_trough_6tgn", "Correlation of IFX trough level with 6-TGN", _corr,
            "Pairwise complete cases; p from the t distribution on n - 2 df; Fisher-z CI for Pearson.")

    # Table 2: univariate ---------------------------------------------------------------------
    cands = [c for c in TABLE2_CANDIDATES if c in df.columns]

    def _uni():
        t = logistic.univariate_logistic(df, y_name, cands, alpha=1 - conf)
        t.insert(1, "label", t.term.map(TABLE2_CANDIDATES))
        return t

    attempt("table2_univariate", "Table 2 (left). Univariate logistic regression for mucosal healing", _uni,
            "OR = exp(beta); Wald 95% CI exp(beta ± 1.96 SE); Wald chi-square p. Each model on its own complete "
            "cases. Separated / non-converged models are flagged in 'status' and their OR is left empty.")

    # Table 2: stepwise -----------------------------------------------------------------------
    step_res = None
    if "table2_univariate" in tables:
        uni = tables["table2_univariate"]
        if params.stepwise_screen is None:
            screened = cands
        else:
            screened = list(uni.loc[(uni.status == "ok") & (uni.p_value < params.stepwise_screen), "term"].unique())
        if not screened:
            skipped.append({"analysis": "table2_stepwise", "reason": "no candidate passed the univariate screen "
                            f"(p < {params.stepwise_screen})"})
        else:
            try:
                step_res = stepwise.stepwise_logistic(df, y_name, screened, slentry=params.slentry,
                                                      slstay=params.slstay, alpha=1 - conf)
            except Exception as exc:
                skipped.append({"analysis": "table2_stepwise",
                                "reason": f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"})
    if step_res is not None:
        st = step_res.steps.copy()
        tables["table2_stepwise_steps"] = st
        titles["table2_stepwise_steps"] = "Stepwise selection steps (SAS PROC LOGISTIC semantics)"
        notes["table2_stepwise_steps"] = (
            f"Candidates: {', '.join(step_res.candidates)}. SLENTRY={params.slentry} (score chi-square), "
            f"SLSTAY={params.slstay} (Wald chi-square). n={step_res.n} complete cases ({step_res.n_events} events). "
            f"Stopped: {step_res.stop_reason}. {' '.join(step_res.messages)}")
        if step_res.final is not None and step_res.selected:
            coef = step_res.final.coefficients
            coef = coef[coef.term != "Intercept"].copy()
            coef.insert(1, "label", coef.term.map(TABLE2_CANDIDATES))
            coef["status"] = step_res.final.status
            tables["table2_stepwise_model"] = coef
            titles["table2_stepwise_model"] = "Table 2 (right). Multivariable model after stepwise selection"
            notes["table2_stepwise_model"] = (f"Adjusted ORs with Wald 95% CIs; n={step_res.final.n}. "
                                              + step_res.final.note)
        else:
            skipped.append({"analysis": "table2_stepwise_model", "reason": "no variable was selected"})

    # Table 3: final dichotomised model -------------------------------------------------------
    if step_res is not None and step_res.final is not None and step_res.selected:
        def _final():
            cut_rows, cutoffs = [], {}
            betas = step_res.final.coefficients.set_index("column")["beta"]
            for t in step_res.selected:
                if stepwise.is_continuous(df[t]):
                    direction = 1 if betas.get(t, 0.0) >= 0 else -1
                    d = _youden_dichotomy(df[t], df[y_name], direction, conf)
                    if math.isnan(d["cutoff"]):
                        raise ValueError(f"no cut-off could be derived for {t}")
                    cutoffs[t] = d["cutoff"]
                    cut_rows.append({"term": t, "direction": "higher" if direction > 0 else "lower", **d})
            fit, terms = stepwise.dichotomised_model(df, y_name, list(step_res.selected), cutoffs, alpha=1 - conf)
            coef = fit.coefficients[fit.coefficients.term != "Intercept"].copy()
            coef["status"] = fit.status
            coef["note"] = fit.note
            tables["table3_cutoffs"] = pd.DataFrame(cut_rows, columns=["term", "direction", "cutoff", "auc",
                                                                       "auc_ci_low", "auc_ci_high", "sensitivity",
                                                                       "specificity", "rule"])
            titles["table3_cutoffs"] = "ROC (Youden) cut-offs used to dichotomise the selected continuous variables"
            return coef

        attempt("table3_final_model", "Table 3. Final multivariable model with dichotomised variables", _final,
                "Continuous variables selected by the stepwise model are dichotomised at their ROC Youden cut-off "
                "('>= c') and refitted with the selected dichotomous variables.")

    # ROC, four outcomes (Figure 3) -----------------------------------------------------------
    from analytics.roc import roc_analysis

    roc_rows, curves, summaries = [], {}, {}
    for o in ROC_OUTCOMES:
        if o not in df.columns:
            skipped.append({"analysis": f"roc_{o}", "reason": f"column {o} not in the cohort"})
            continue
        try:
            r = roc_analysis(df[MARKER], df[o].astype("boolean"), target_specificity=params.target_specificity,
                             conf_level=conf, marker_name=MARKER, outcome_name=o)
        except Exception as exc:
            skipped.append({"analysis": f"roc_{o}", "reason": f"{type(exc).__name__}: "
                            f"{getattr(exc, 'message', None) or exc}"})
            continue
        row = r.to_frame()
        roc_rows.append(row)
        curves[o] = r.curve
        summaries[o] = row.iloc[0].to_dict()
    if roc_rows:
        tables["roc_summary"] = pd.concat(roc_rows, ignore_index=True)
        titles["roc_summary"] = "ROC analysis of the IFX trough level for each outcome"
        notes["roc_summary"] = (f"AUC with DeLong 95% CI; Youden-optimal cut-off and the lowest cut-off with "
                                f"specificity >= {params.target_specificity:g}; a patient tests positive when "
                                "trough >= cut-off.")
        fig["roc_curves"] = curves
        fig["roc_summaries"] = summaries

    # Table 4 ---------------------------------------------------------------------------------
    def _t4():
        from analytics.cutoffs import cutoff_table

        return cutoff_table(df[MARKER], df[y_name].astype("boolean"), target_specificity=params.target_specificity,
                            conf_level=conf)

    attempt("table4_cutoffs", "Table 4. IFX trough cut-offs for mucosal healing", _t4,
            "Sensitivity, specificity, PPV, NPV of trough >= cut-off with Clopper-Pearson 95% CIs.")

    # Figure 2 ----------------------------------------------------------------------------------
    def _q():
        from analytics.bands import rate_by_quantile

        return rate_by_quantile(df[MARKER], df[y_name].astype("boolean"), 4, conf_level=conf)

    def _b():
        from analytics.bands import rate_by_bands

        return rate_by_bands(df[MARKER], df[y_name].astype("boolean"), params.band_width, conf_level=conf)

    attempt("mh_by_quartile", "Mucosal healing rate by trough quartile (Figure 2A)", _q)
    attempt("mh_by_band", f"Mucosal healing rate by {params.band_width:g} µg/mL trough band (Figure 2B)", _b)

    # bootstrap -------------------------------------------------------------------------------
    def _boot():
        from analytics.bootstrap import bootstrap_cutoff

        rows = []
        for method in ("youden", "target_specificity"):
            b = bootstrap_cutoff(df[MARKER], df[y_name].astype("boolean"), method=method,
                                 target_specificity=params.target_specificity,
                                 n_resamples=params.bootstrap_resamples, seed=seed, conf_level=conf)
            rows.append({k: getattr(b, k) for k in b.__dataclass_fields__ if k != "distribution"})
        return pd.DataFrame(rows)

    if params.bootstrap_resamples > 0:
        attempt("bootstrap_cutoffs", "Bootstrap CIs of the MH cut-offs", _boot,
                f"Stratified bootstrap, {params.bootstrap_resamples} resamples, seed {seed}.")

    # centres ---------------------------------------------------------------------------------
    def _centres():
        from analytics.centres import roc_by_centre
        from analytics.suppression import suppress_roc_table

        t = roc_by_centre(df[MARKER], df[y_name].astype("boolean"), df["centre_id"],
                          target_specificity=params.target_specificity, conf_level=conf)
        return suppress_roc_table(t, k=params.suppression_k, prefixes=("youden_", "target_specificity_"))

    def _loco():
        from analytics.centres import leave_one_centre_out
        from analytics.suppression import suppress_roc_table

        t = leave_one_centre_out(df[MARKER], df[y_name].astype("boolean"), df["centre_id"],
                                 target_specificity=params.target_specificity, conf_level=conf)
        return suppress_roc_table(t, k=params.suppression_k, prefixes=("",))

    supp = f"Counts < {params.suppression_k} (and values derived from them) are suppressed."
    attempt("roc_by_centre", "ROC of the trough for mucosal healing by centre", _centres, supp)
    attempt("leave_one_centre_out", "Leave-one-centre-out validation of the Youden cut-off", _loco, supp)

    # drift -----------------------------------------------------------------------------------
    if "roc_summary" in tables:
        if previous_cutoffs is None or not len(previous_cutoffs):
            skipped.append({"analysis": "drift",
                            "reason": "no previous publication with ROC cut-offs to compare with"})
        else:
            def _drift():
                current = cutoff_history(tables["roc_summary"], tables.get("bootstrap_cutoffs"),
                                         publication_id=CURRENT_PUBLICATION, created_at=created_at,
                                         target_specificity=params.target_specificity)
                return publication_drift(previous_cutoffs, current)

            attempt("drift", "Cut-off drift since the previous publication", _drift,
                    "Youden and target-specificity cut-offs of the trough per outcome versus the previous "
                    "publication that published them; 'outside_previous_ci': the cut-off lies outside that "
                    "publication's stratified-bootstrap CI (bootstrapped for mucosal healing only; empty when "
                    "no CI was published).")

    if "mh_by_quartile" in tables or "mh_by_band" in tables:
        fig["quartiles"] = tables.get("mh_by_quartile")
        fig["bands"] = tables.get("mh_by_band")
    return AnalysisBundle(tables, titles, notes, tuple(skipped), fig, int(seed), n)


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------
def _jsonable(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return v.isoformat()
    return v if isinstance(v, (int, str)) else str(v)


def table_json_rows(df: pd.DataFrame) -> list[str]:
    """One JSON object per row, full float precision (NaN -> null, inf -> "inf")."""
    cols = [str(c) for c in df.columns]
    return [json.dumps(dict(zip(cols, (_jsonable(v) for v in r))), ensure_ascii=False)
            for r in df.itertuples(index=False, name=None)]


_SNAPSHOT_SQL = """
WITH ids AS (
  SELECT patient_file_id AS fid FROM analysis.cohort
  UNION SELECT assessment_file_id FROM analysis.cohort
  UNION SELECT elisa_file_id FROM analysis.cohort
  UNION SELECT l.file_id FROM core.lab_results l
        JOIN analysis.cohort c ON c.centre_id = l.centre_id AND c.patient_id = l.patient_id
        WHERE l.is_current
)
SELECT DISTINCT f.checksum_sha256 FROM ingest.files f JOIN ids ON f.file_id = ids.fid ORDER BY 1"""


def read_inputs(settings: Settings) -> tuple[pd.DataFrame, list[str], pd.DataFrame | None]:
    """Cohort, data-snapshot checksums and the earlier publications' cut-off history (read snapshot).

    The history is :func:`cutoff_history` rows built from every earlier publication's stored
    ``roc_summary`` and ``bootstrap_cutoffs`` rows and its recorded target specificity; None when
    nothing has been published yet, empty when no publication had an ROC summary.
    """
    from tdm.warehouse.connection import open_reader

    con = open_reader(settings.snapshot)
    try:
        cohort = con.execute("SELECT * FROM analysis.cohort ORDER BY centre_id, patient_id").df()
        checksums = [r[0] for r in con.execute(_SNAPSHOT_SQL).fetchall()]
        pubs = con.execute("SELECT publication_id, created_at, parameters FROM published.publications "
                           "ORDER BY created_at, publication_id").fetchall()
        rows = con.execute("SELECT publication_id, table_name, row_json FROM published.tables WHERE table_name IN "
                           "('roc_summary', 'bootstrap_cutoffs') ORDER BY publication_id, table_name, "
                           "row_number").fetchall()
    finally:
        con.close()
    if not pubs:
        return cohort, checksums, None
    by_pub: dict[tuple[str, str], list[dict]] = {}
    for pid, name, js in rows:
        by_pub.setdefault((pid, name), []).append(json.loads(js))
    parts = []
    for pid, created, params_json in pubs:
        roc = by_pub.get((pid, "roc_summary"))
        if not roc:
            continue
        boot = by_pub.get((pid, "bootstrap_cutoffs"))
        target = (json.loads(params_json) if params_json else {}).get(
            "target_specificity", PublicationParameters.target_specificity)
        parts.append(cutoff_history(pd.DataFrame(roc), pd.DataFrame(boot) if boot else None, publication_id=pid,
                                    created_at=created, target_specificity=target))
    history = (pd.concat(parts, ignore_index=True) if parts
               else pd.DataFrame(columns=list(CUTOFF_HISTORY_COLUMNS)))
    return cohort, checksums, history


def render_outputs(bundle: AnalysisBundle, meta: dict) -> tuple[dict[str, bytes], str]:
    """Figures (name -> PNG) and the HTML report for a bundle."""
    from analytics import render

    figures: dict[str, bytes] = {}
    skipped = list(bundle.skipped)
    fd = bundle.figure_data
    try:
        if len(bundle.tables.get("trough_by_outcome", [])):
            figures["figure1_trough_by_outcome"] = render.figure_trough_boxplots(
                bundle.figure_data.get("cohort"), MARKER, [o for o in FIGURE1_OUTCOMES
                                                          if o in bundle.figure_data.get("cohort", {})],
                fd.get("figure1_p"))
    except Exception as exc:
        skipped.append({"analysis": "figure1", "reason": f"{type(exc).__name__}: {exc}"})
    try:
        if fd.get("quartiles") is not None or fd.get("bands") is not None:
            figures["figure2_mh_rate"] = render.figure_rate_bars(fd.get("quartiles"), fd.get("bands"))
    except Exception as exc:
        skipped.append({"analysis": "figure2", "reason": f"{type(exc).__name__}: {exc}"})
    try:
        if fd.get("roc_curves"):
            figures["figure3_roc"] = render.figure_roc_curves(fd["roc_curves"], fd["roc_summaries"])
    except Exception as exc:
        skipped.append({"analysis": "figure3", "reason": f"{type(exc).__name__}: {exc}"})
    sections = [{"name": k, "title": bundle.titles.get(k, k), "note": bundle.notes.get(k, ""), "table": v}
                for k, v in bundle.tables.items()]
    html = render.render_report(title="IFX trough levels and mucosal healing: analysis publication", meta=meta,
                                sections=sections, figures=figures, skipped=skipped)
    return figures, html


def build_publication(settings: Settings, *, parameters: dict | PublicationParameters | None = None,
                      now: dt.datetime | None = None) -> PublicationSummary:
    """Run the analyses on the current snapshot and write a new, versioned publication.

    Parameters
    ----------
    settings : the TDM home.
    parameters : :class:`PublicationParameters` or a dict of its fields (unknown keys raise
        ValueError naming the valid ones).
    now : creation time (UTC; for tests).

    Returns
    -------
    PublicationSummary
    """
    from tdm.version import code_version
    from tdm.warehouse.connection import open_writer, publish_snapshot

    params = parameters if isinstance(parameters, PublicationParameters) else \
        PublicationParameters.from_mapping(parameters)
    cohort, checksums, history = read_inputs(settings)
    created = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    bundle = run_analyses(cohort, params, previous_cutoffs=history, created_at=created)
    bundle.figure_data["cohort"] = prepare_cohort(cohort)
    version = code_version()
    params_json = {**asdict(params), "seed": bundle.seed}
    digest = hashlib.sha256(json.dumps([checksums, params_json, version, created.isoformat()],
                                       sort_keys=True).encode()).hexdigest()[:8]
    pub_id = f"pub-{created.strftime('%Y%m%dT%H%M%SZ')}-{digest}"
    folder = settings.published / pub_id
    meta = {"publication": pub_id, "created (UTC)": created.strftime("%Y-%m-%d %H:%M:%S"),
            "code version": version, "patients": bundle.n_patients,
            "source files": f"{len(checksums)} (checksums in publication.json)", "seed": bundle.seed,
            "parameters": json.dumps(params_json, sort_keys=True)}
    figures, html = render_outputs(bundle, meta)

    settings.published.mkdir(parents=True, exist_ok=True)
    tmp = settings.published / f".tmp-{pub_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, t in bundle.tables.items():
        t.to_csv(tmp / f"{name}.csv", index=False)
    if bundle.skipped:
        pd.DataFrame(list(bundle.skipped)).to_csv(tmp / "not_computed.csv", index=False)
    for name, png in figures.items():
        (tmp / f"{name}.png").write_bytes(png)
    (tmp / "report.html").write_text(html, encoding="utf-8")
    (tmp / "publication.json").write_text(json.dumps({
        "publication_id": pub_id, "created_at": created.isoformat(), "code_version": version,
        "data_snapshot": checksums, "parameters": params_json, "seed": bundle.seed,
        "n_patients": bundle.n_patients, "tables": list(bundle.tables), "figures": list(figures),
        "not_computed": list(bundle.skipped)}, indent=2), encoding="utf-8")

    rows = []
    for name, t in bundle.tables.items():
        for i, js in enumerate(table_json_rows(t), start=1):
            rows.append((pub_id, name, i, js))
    for i, s in enumerate(bundle.skipped, start=1):
        rows.append((pub_id, "not_computed", i, json.dumps(s, ensure_ascii=False)))
    rows_df = pd.DataFrame(rows, columns=["publication_id", "table_name", "row_number", "row_json"])
    rows_df["row_number"] = rows_df["row_number"].astype("int32")

    try:
        with open_writer(settings.warehouse) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    "INSERT INTO published.publications (publication_id, created_at, code_version, data_snapshot, "
                    "parameters, seed, n_patients, folder) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [pub_id, created.replace(tzinfo=None), version, json.dumps(checksums),
                     json.dumps(params_json, sort_keys=True), bundle.seed, bundle.n_patients, str(folder)])
                con.register("_pub_rows", rows_df)
                con.execute("INSERT INTO published.tables (publication_id, table_name, row_number, row_json) "
                            "SELECT publication_id, table_name, row_number, row_json FROM _pub_rows")
                con.unregister("_pub_rows")
                tmp.rename(folder)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                if folder.exists() and not tmp.exists():
                    folder.rename(tmp)
                raise
            publish_snapshot(con, settings.warehouse, settings.snapshot)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    return PublicationSummary(
        publication_id=pub_id, created_at=created, folder=folder, report_path=folder / "report.html",
        n_patients=bundle.n_patients, seed=bundle.seed, code_version=version, data_snapshot=tuple(checksums),
        parameters=params_json, tables=tuple(bundle.tables), figures=tuple(figures), skipped=bundle.skipped,
        cutoff_table=bundle.tables.get("table4_cutoffs"),
    )


def latest_table(settings: Settings, table_name: str) -> tuple[str | None, pd.DataFrame]:
    """The latest publication's id and one of its tables (from the read snapshot)."""
    from tdm.warehouse.connection import open_reader

    con = open_reader(settings.snapshot)
    try:
        prev = con.execute("SELECT publication_id FROM published.publications "
                           "ORDER BY created_at DESC, publication_id DESC LIMIT 1").fetchone()
        if not prev:
            return None, pd.DataFrame()
        rows = con.execute("SELECT row_json FROM published.tables WHERE publication_id = ? AND table_name = ? "
                           "ORDER BY row_number", [prev[0], table_name]).fetchall()
    finally:
        con.close()
    return prev[0], pd.DataFrame([json.loads(r[0]) for r in rows])


__all__ = ["PublicationParameters", "PublicationSummary", "AnalysisBundle", "build_publication", "run_analyses",
           "prepare_cohort", "read_inputs", "cutoff_history", "publication_drift", "render_outputs", "latest_table",
           "table_json_rows", "DRIFT_METHODS", "TABLE2_CANDIDATES", "ROC_OUTCOMES", "MARKER", "PRIMARY_OUTCOME"]
