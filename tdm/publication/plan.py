"""The paper's analyses as data: one :class:`Analysis` per published table, in report order.

Each entry names the table, its title and note, the cohort columns and earlier tables it needs,
and a ``compute`` function that calls the statistics in :mod:`analytics` (pure: frames in, a
frame out).  ``compute`` raises :class:`tdm.errors.AnalysisError` when the data do not allow the
analysis (too few events, one class, separation, no previous publication); the runner
(:mod:`tdm.publication.run`) records that as "not computed" with the reason.  Any other exception
is a bug and fails the publication.  ``centre_level`` marks the tables that publish per-centre
counts: small-cell suppression (:func:`analytics.suppression.suppress_publication`) covers them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from analytics import bands, bootstrap, centres, cutoffs, descriptive, logistic, stepwise
from analytics.correlation import correlation
from analytics.dichotomy import DICHOTOMY_COLUMNS, youden_dichotomy
from analytics.drift import cutoff_history, publication_drift
from analytics.roc import roc_analysis
from tdm.errors import AnalysisError
from tdm.publication.study import (CORRELATE, MARKER, PRIMARY_OUTCOME, ROC_OUTCOMES, TABLE2_CANDIDATES,
                                   TROUGH_COMPARISONS, PublicationParameters, table1_variables)

#: Placeholder id of the publication being built (its id depends on the analyses' results).
CURRENT_PUBLICATION = "(this publication)"


@dataclass
class Context:
    """What an analysis may read: the cohort, the parameters, earlier tables and shared state."""

    df: pd.DataFrame
    params: PublicationParameters
    seed: int
    created_at: dt.datetime
    previous_cutoffs: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, analysis: str, reason: str) -> None:
        self.skipped.append({"analysis": analysis, "reason": reason})

    def outcome(self, name: str = PRIMARY_OUTCOME) -> pd.Series:
        return self.df[name].astype("boolean")


@dataclass(frozen=True)
class Analysis:
    """One published table: how to compute it and what it needs."""

    name: str
    title: str
    compute: Callable[[Context], pd.DataFrame]
    note: str | Callable[[Context], str] = ""
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    centre_level: bool = False
    #: How the report lays it out (:mod:`analytics.render.tables`); "generic" for supplementary tables.
    layout: str = "generic"


# --------------------------------------------------------------------------------------------
# compute functions (thin: the statistics are in analytics/)
# --------------------------------------------------------------------------------------------
def _table1(ctx: Context) -> pd.DataFrame:
    """Table 1 with a first row ``variable == "n"``: the patients overall and per group (the header's n)."""
    variables = [v for v in table1_variables() if v.name in ctx.df.columns]
    t = descriptive.table1(ctx.df, variables, by=PRIMARY_OUTCOME)
    by = ctx.df[PRIMARY_OUTCOME]
    head = {c: "" for c in t.columns} | {"variable": "n", "label": "Patients", "kind": "count", "summary": "n",
                                         "n": len(by), "overall": str(len(by))}
    for c in t.columns:
        if c.startswith(f"{PRIMARY_OUTCOME}="):
            head[c] = str(int((by.astype(str) == c.split("=", 1)[1]).sum()))
    head.update(statistic=float("nan"), p_value=float("nan"))
    return pd.concat([pd.DataFrame([head]), t], ignore_index=True)


def _trough_by_outcome(ctx: Context) -> pd.DataFrame:
    outs = [o for o in TROUGH_COMPARISONS if o in ctx.df.columns]
    return descriptive.compare_continuous_by(ctx.df, MARKER, outs)


def _correlation(ctx: Context) -> pd.DataFrame:
    out = pd.concat([correlation(ctx.df[MARKER], ctx.df[CORRELATE], method=m) for m in ("pearson", "spearman")],
                    ignore_index=True)
    out.insert(0, "x", MARKER)
    out.insert(1, "y", CORRELATE)
    return out


def _candidates(ctx: Context) -> list[str]:
    return [c for c in TABLE2_CANDIDATES if c in ctx.df.columns]


def _univariate(ctx: Context) -> pd.DataFrame:
    return logistic.univariate_logistic(ctx.df, PRIMARY_OUTCOME, _candidates(ctx), alpha=1 - ctx.params.conf_level)


def _stepwise_steps(ctx: Context) -> pd.DataFrame:
    p = ctx.params
    uni = ctx.tables["table2_univariate"]
    if p.stepwise_screen is None:
        screened = _candidates(ctx)
    else:
        screened = list(uni.loc[(uni.status == "ok") & (uni.p_value < p.stepwise_screen), "term"].unique())
    if not screened:
        raise AnalysisError(f"no candidate passed the univariate screen (p < {p.stepwise_screen})",
                            code="nothing_screened")
    res = stepwise.stepwise_logistic(ctx.df, PRIMARY_OUTCOME, screened, slentry=p.slentry, slstay=p.slstay,
                                     alpha=1 - p.conf_level)
    ctx.state["stepwise"] = res
    return res.steps.copy()


def _stepwise_note(ctx: Context) -> str:
    res = ctx.state["stepwise"]
    return (f"Candidates: {', '.join(res.candidates)}. SLENTRY={ctx.params.slentry} (score chi-square), "
            f"SLSTAY={ctx.params.slstay} (Wald chi-square). n={res.n} complete cases ({res.n_events} events). "
            f"Stopped: {res.stop_reason}. {' '.join(res.messages)}")


def _selected(ctx: Context):
    res = ctx.state["stepwise"]
    if res.final is None or not res.selected:
        raise AnalysisError("the stepwise selection selected no variable", code="nothing_selected")
    return res


def _stepwise_model(ctx: Context) -> pd.DataFrame:
    res = _selected(ctx)
    coef = res.final.coefficients
    coef = coef[coef.term != "Intercept"].copy()
    coef["status"] = res.final.status
    return coef


def _stepwise_model_note(ctx: Context) -> str:
    res = ctx.state["stepwise"]
    return f"Adjusted ORs with Wald 95% CIs; n={res.final.n}. {res.final.note}"


def _table3_cutoffs(ctx: Context) -> pd.DataFrame:
    res = _selected(ctx)
    betas = res.final.coefficients.set_index("column")["beta"]
    rows = []
    for t in res.selected:
        if stepwise.is_continuous(ctx.df[t]):
            direction = 1 if betas.get(t, 0.0) >= 0 else -1
            d = youden_dichotomy(ctx.df[t], ctx.df[PRIMARY_OUTCOME], direction, conf_level=ctx.params.conf_level)
            if pd.isna(d["cutoff"]):
                raise AnalysisError(f"no observed value of {t} lies above its Youden threshold, so it cannot be "
                                    "dichotomised as '>= c'", column=t, code="no_cutoff")
            rows.append({"term": t, "direction": "higher" if direction > 0 else "lower", **d})
    return pd.DataFrame(rows, columns=DICHOTOMY_COLUMNS)


def _table3(ctx: Context) -> pd.DataFrame:
    res = _selected(ctx)
    cut = ctx.tables["table3_cutoffs"]
    fit, _ = stepwise.dichotomised_model(ctx.df, PRIMARY_OUTCOME, list(res.selected),
                                         dict(zip(cut.term, cut.cutoff)), alpha=1 - ctx.params.conf_level)
    coef = fit.coefficients[fit.coefficients.term != "Intercept"].copy()
    coef["status"] = fit.status
    coef["note"] = fit.note
    return coef


def _roc_summary(ctx: Context) -> pd.DataFrame:
    rows, curves, summaries = [], {}, {}
    for o in ROC_OUTCOMES:
        if o not in ctx.df.columns:
            ctx.skip(f"roc_{o}", f"column {o} is not in the analysis cohort")
            continue
        try:
            r = roc_analysis(ctx.df[MARKER], ctx.outcome(o), target_specificity=ctx.params.target_specificity,
                             conf_level=ctx.params.conf_level, marker_name=MARKER, outcome_name=o)
        except AnalysisError as exc:
            ctx.skip(f"roc_{o}", exc.message)
            continue
        row = r.to_frame()
        rows.append(row)
        curves[o] = r.curve
        summaries[o] = row.iloc[0].to_dict()
    if not rows:
        raise AnalysisError("no outcome has both classes with at least 2 patients", code="no_roc")
    ctx.state["roc_curves"], ctx.state["roc_summaries"] = curves, summaries
    return pd.concat(rows, ignore_index=True)


def _table4(ctx: Context) -> pd.DataFrame:
    return cutoffs.cutoff_table(ctx.df[MARKER], ctx.outcome(), target_specificity=ctx.params.target_specificity,
                                conf_level=ctx.params.conf_level)


def _quartiles(ctx: Context) -> pd.DataFrame:
    return bands.rate_by_quantile(ctx.df[MARKER], ctx.outcome(), 4, conf_level=ctx.params.conf_level)


def _bands(ctx: Context) -> pd.DataFrame:
    return bands.rate_by_bands(ctx.df[MARKER], ctx.outcome(), ctx.params.band_width, conf_level=ctx.params.conf_level)


def _bootstrap(ctx: Context) -> pd.DataFrame:
    """Both cut-off methods for every outcome of the ROC summary."""
    p = ctx.params
    if p.bootstrap_resamples <= 0:
        raise AnalysisError("bootstrap_resamples is 0: no bootstrap was requested", code="not_requested")
    rows = []
    for o in ctx.tables["roc_summary"]["outcome"]:
        for method in bootstrap.METHODS:
            b = bootstrap.bootstrap_cutoff(ctx.df[MARKER], ctx.outcome(o), method=method,
                                           target_specificity=p.target_specificity, n_resamples=p.bootstrap_resamples,
                                           seed=ctx.seed, conf_level=p.conf_level)
            rows.append({"outcome": o, **{k: getattr(b, k) for k in b.__dataclass_fields__ if k != "distribution"}})
    return pd.DataFrame(rows)


def _roc_by_centre(ctx: Context) -> pd.DataFrame:
    return centres.roc_by_centre(ctx.df[MARKER], ctx.outcome(), ctx.df["centre_id"],
                                 target_specificity=ctx.params.target_specificity, conf_level=ctx.params.conf_level)


def _loco(ctx: Context) -> pd.DataFrame:
    return centres.leave_one_centre_out(ctx.df[MARKER], ctx.outcome(), ctx.df["centre_id"],
                                        target_specificity=ctx.params.target_specificity,
                                        conf_level=ctx.params.conf_level)


def _drift(ctx: Context) -> pd.DataFrame:
    if ctx.previous_cutoffs is None or not len(ctx.previous_cutoffs):
        raise AnalysisError("no previous publication with ROC cut-offs to compare with", code="no_previous")
    current = cutoff_history(ctx.tables["roc_summary"], ctx.tables.get("bootstrap_cutoffs"),
                             publication_id=CURRENT_PUBLICATION, created_at=ctx.created_at,
                             target_specificity=ctx.params.target_specificity, bootstrap_outcome=PRIMARY_OUTCOME)
    return publication_drift(ctx.previous_cutoffs, current)


_Y = (MARKER, PRIMARY_OUTCOME)

#: The publication, in report order.
PLAN: tuple[Analysis, ...] = (
    Analysis("table1", "Table 1. Characteristics, overall and by mucosal healing", _table1,
             "n (%), median [IQR] (SAS quartile definition 5) or mean ± SD. Wilcoxon rank-sum (normal "
             "approximation, continuity correction) / Student's pooled t-test; chi-square without Yates' "
             "correction, Fisher's exact test when expected counts are small (Cochran's rule).",
             needs=(PRIMARY_OUTCOME,), layout="table1"),
    Analysis("trough_by_outcome", "IFX trough level by outcome (Figure 1)", _trough_by_outcome,
             "Wilcoxon rank-sum test, normal approximation with continuity correction; W is that of the 'true' group.",
             needs=(MARKER,), layout="trough"),
    Analysis("correlation_trough_6tgn", "Correlation of IFX trough level with 6-TGN", _correlation,
             "Pairwise complete cases; p from the t distribution on n - 2 df; Fisher-z CI for Pearson.",
             needs=(MARKER, CORRELATE)),
    Analysis("table2_univariate", "Table 2 (left). Univariate logistic regression for mucosal healing", _univariate,
             "OR = exp(beta); Wald 95% CI exp(beta ± 1.96 SE); Wald chi-square p. Each model on its own complete "
             "cases. Separated / non-converged models are flagged in 'status' and their OR is left empty.",
             needs=(PRIMARY_OUTCOME,), layout="table2"),
    Analysis("table2_stepwise_steps", "Stepwise selection steps (SAS PROC LOGISTIC semantics)", _stepwise_steps,
             _stepwise_note, after=("table2_univariate",)),
    Analysis("table2_stepwise_model", "Table 2 (right). Multivariable model after stepwise selection",
             _stepwise_model, _stepwise_model_note, after=("table2_stepwise_steps",)),
    Analysis("table3_cutoffs", "ROC (Youden) cut-offs used to dichotomise the selected continuous variables",
             _table3_cutoffs, after=("table2_stepwise_steps",)),
    Analysis("table3_final_model", "Table 3. Final multivariable model with dichotomised variables", _table3,
             "Continuous variables selected by the stepwise model are dichotomised at their ROC Youden cut-off "
             "('>= c') and refitted with the selected dichotomous variables.",
             after=("table3_cutoffs",), layout="table3"),
    Analysis("roc_summary", "ROC analysis of the IFX trough level for each outcome", _roc_summary,
             lambda ctx: ("AUC with DeLong 95% CI; Youden-optimal cut-off and the lowest cut-off with specificity "
                          f">= {ctx.params.target_specificity:g}; a patient tests positive when trough >= cut-off."),
             needs=(MARKER,), layout="roc_summary"),
    Analysis("table4_cutoffs", "Table 4. IFX trough cut-offs for mucosal healing", _table4,
             "Sensitivity, specificity, PPV, NPV of trough >= cut-off with Clopper-Pearson 95% CIs.",
             needs=_Y, layout="table4"),
    Analysis("mh_by_quartile", "Mucosal healing rate by trough quartile (Figure 2A)", _quartiles, needs=_Y),
    Analysis("mh_by_band", "Mucosal healing rate by trough band (Figure 2B)", _bands, needs=_Y),
    Analysis("bootstrap_cutoffs", "Bootstrap CIs of the cut-offs, every outcome", _bootstrap,
             lambda ctx: (f"Stratified bootstrap, {ctx.params.bootstrap_resamples} resamples, seed {ctx.seed}; "
                          "percentile CIs."),
             needs=(MARKER,), after=("roc_summary",)),
    Analysis("roc_by_centre", "ROC of the trough for mucosal healing by centre", _roc_by_centre,
             needs=(*_Y, "centre_id"), centre_level=True, layout="roc_by_centre"),
    Analysis("leave_one_centre_out", "Leave-one-centre-out validation of the Youden cut-off", _loco,
             needs=(*_Y, "centre_id"), centre_level=True, layout="loco"),
    Analysis("drift", "Cut-off drift since the previous publication", _drift,
             "Youden and target-specificity cut-offs of the trough per outcome versus the previous publication "
             "that published them; 'outside_previous_ci': the cut-off lies outside that publication's "
             "stratified-bootstrap CI (empty when that publication published no CI for the outcome).",
             after=("roc_summary",)),
)

__all__ = ["Analysis", "Context", "PLAN", "CURRENT_PUBLICATION"]
