"""The compute functions of the paper's analyses (thin: the statistics are in :mod:`analytics`).

Each takes the :class:`~publication.context.Context` and returns one frame; data that do not
allow an analysis raise :class:`~base.errors.AnalysisError`.
"""

from __future__ import annotations

import pandas as pd

from analytics import bands, bootstrap, centres, cutoffs, descriptive, descriptive_values, firth, stepwise
from analytics.correlation import correlation
from analytics.dichotomy import DICHOTOMY_COLUMNS, youden_dichotomy
from analytics.drift import cutoff_history, publication_drift
from analytics.roc import roc_analysis
from base.errors import AnalysisError
from publication.context import CURRENT_PUBLICATION, Context
from publication.study import (CORRELATE, MARKER, PRIMARY_OUTCOME, ROC_OUTCOMES, TABLE2_CANDIDATES,
                                   TROUGH_COMPARISONS, table1_variables)

def table1(ctx: Context) -> pd.DataFrame:
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


def table1_values(ctx: Context) -> pd.DataFrame:
    variables = [v for v in table1_variables() if v.name in ctx.df.columns]
    return descriptive_values.table1_values(ctx.df, variables, by=PRIMARY_OUTCOME)


def trough_by_outcome(ctx: Context) -> pd.DataFrame:
    outs = [o for o in TROUGH_COMPARISONS if o in ctx.df.columns]
    return descriptive.compare_continuous_by(ctx.df, MARKER, outs)


def correlation_trough_6tgn(ctx: Context) -> pd.DataFrame:
    out = pd.concat([correlation(ctx.df[MARKER], ctx.df[CORRELATE], method=m) for m in ("pearson", "spearman")],
                    ignore_index=True)
    out.insert(0, "x", MARKER)
    out.insert(1, "y", CORRELATE)
    return out


def _candidates(ctx: Context) -> list[str]:
    return [c for c in TABLE2_CANDIDATES if c in ctx.df.columns]


def table2_univariate(ctx: Context) -> pd.DataFrame:
    """Table 2 (left); a model whose ML fit separates is refitted by Firth's method (``method`` says which)."""
    return firth.univariate_firth(ctx.df, PRIMARY_OUTCOME, _candidates(ctx), when="separation",
                                  alpha=1 - ctx.params.conf_level)


def table2_stepwise_steps(ctx: Context) -> pd.DataFrame:
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


def stepwise_note(ctx: Context) -> str:
    res = ctx.state["stepwise"]
    return (f"Candidates: {', '.join(res.candidates)}. SLENTRY={ctx.params.slentry} (score chi-square), "
            f"SLSTAY={ctx.params.slstay} (Wald chi-square). n={res.n} complete cases ({res.n_events} events). "
            f"Stopped: {res.stop_reason}. {' '.join(res.messages)}")


def _selected(ctx: Context):
    res = ctx.state["stepwise"]
    if res.final is None or not res.selected:
        raise AnalysisError("the stepwise selection selected no variable", code="nothing_selected")
    return res


SEPARATED = ("complete_separation", "quasi_complete_separation")


def _firth_or_ml(fit, frame: pd.DataFrame, terms: list[str], alpha: float,
                 complete_over: list[str] | None = None) -> pd.DataFrame:
    """The ML coefficients, or, when the ML fit separates, Firth's (labelled; ``status`` keeps why),
    refitted on the ML fit's rows: ``complete_over`` names the variables those rows are complete in
    (the stepwise candidates for Table 2, as SAS selects and refits on one set of observations)."""
    if fit.status in SEPARATED:
        f = firth.fit_firth(frame, PRIMARY_OUTCOME, terms, alpha=alpha, complete_over=complete_over)
        coef = f.coefficients.assign(status=fit.status, note=f.note)
    else:
        coef = fit.coefficients.assign(method="ml", status=fit.status, note=fit.note)
    return coef[coef.term != "Intercept"].reset_index(drop=True)


def table2_stepwise_model(ctx: Context) -> pd.DataFrame:
    res = _selected(ctx)
    return _firth_or_ml(res.final, ctx.df, list(res.selected), 1 - ctx.params.conf_level,
                        complete_over=list(res.candidates))


def stepwise_model_note(ctx: Context) -> str:
    res = ctx.state["stepwise"]
    how = ("Firth penalised likelihood (the ML fit separates): profile penalised-likelihood 95% CIs"
           if res.final.status in SEPARATED else "Wald 95% CIs")
    return f"Adjusted ORs with {how}; n={res.final.n}. {res.final.note}"


def table3_cutoffs(ctx: Context) -> pd.DataFrame:
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


def table3_final_model(ctx: Context) -> pd.DataFrame:
    res = _selected(ctx)
    cuts = dict(zip(ctx.tables["table3_cutoffs"].term, ctx.tables["table3_cutoffs"].cutoff))
    alpha = 1 - ctx.params.conf_level
    fit, _ = stepwise.dichotomised_model(ctx.df, PRIMARY_OUTCOME, list(res.selected), cuts, alpha=alpha)
    frame, terms, _ = stepwise.dichotomised_frame(ctx.df, list(res.selected), cuts)
    return _firth_or_ml(fit, frame, terms, alpha)


def roc_summary(ctx: Context) -> pd.DataFrame:
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


def table4_cutoffs(ctx: Context) -> pd.DataFrame:
    return cutoffs.cutoff_table(ctx.df[MARKER], ctx.outcome(), target_specificity=ctx.params.target_specificity,
                                conf_level=ctx.params.conf_level)


def mh_by_quartile(ctx: Context) -> pd.DataFrame:
    return bands.rate_by_quantile(ctx.df[MARKER], ctx.outcome(), 4, conf_level=ctx.params.conf_level)


def mh_by_band(ctx: Context) -> pd.DataFrame:
    return bands.rate_by_bands(ctx.df[MARKER], ctx.outcome(), ctx.params.band_width, conf_level=ctx.params.conf_level)


def bootstrap_cutoffs(ctx: Context) -> pd.DataFrame:
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


def roc_by_centre(ctx: Context) -> pd.DataFrame:
    return centres.roc_by_centre(ctx.df[MARKER], ctx.outcome(), ctx.df["centre_id"],
                                 target_specificity=ctx.params.target_specificity, conf_level=ctx.params.conf_level)


def leave_one_centre_out(ctx: Context) -> pd.DataFrame:
    return centres.leave_one_centre_out(ctx.df[MARKER], ctx.outcome(), ctx.df["centre_id"],
                                        target_specificity=ctx.params.target_specificity,
                                        conf_level=ctx.params.conf_level)


def drift(ctx: Context) -> pd.DataFrame:
    if ctx.previous_cutoffs is None or not len(ctx.previous_cutoffs):
        raise AnalysisError("no previous publication with ROC cut-offs to compare with", code="no_previous")
    current = cutoff_history(ctx.tables["roc_summary"], ctx.tables.get("bootstrap_cutoffs"),
                             publication_id=CURRENT_PUBLICATION, created_at=ctx.created_at,
                             target_specificity=ctx.params.target_specificity, bootstrap_outcome=PRIMARY_OUTCOME)
    return publication_drift(ctx.previous_cutoffs, current)


