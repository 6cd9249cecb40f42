"""Compute functions of the analyses beyond the paper (issue 18): optimism, concentration-response, meta-analysis.

Firth's refit of separated models is in :mod:`publication.compute` (Tables 2 and 3).
"""

from __future__ import annotations

import pandas as pd

from analytics import meta, optimism, spline
from analytics.bootstrap import METHODS
from analytics.suppression import suppress_publication
from base.errors import AnalysisError
from publication.context import Context
from publication.study import MARKER, PRIMARY_OUTCOME

#: The MH rate a therapeutic window must reach (Ungar et al.: 80-90%; the paper: 80%).
WINDOW_TARGET = 0.8
SPLINE_KNOTS = 4


def _resamples(ctx: Context) -> int:
    if ctx.params.bootstrap_resamples <= 0:
        raise AnalysisError("bootstrap_resamples is 0: no bootstrap was requested", code="not_requested")
    return ctx.params.bootstrap_resamples


def table4_optimism(ctx: Context) -> pd.DataFrame:
    """Out-of-bag sensitivity/specificity of the Youden and target-specificity cut-offs, re-chosen per resample."""
    n = _resamples(ctx)
    rows = [optimism.oob_cutoff_performance(ctx.df[MARKER], ctx.outcome(), method=m,
                                            target_specificity=ctx.params.target_specificity, n_resamples=n,
                                            seed=ctx.seed, conf_level=ctx.params.conf_level).to_frame()
            for m in METHODS]
    return pd.concat(rows, ignore_index=True)


def optimism_note(ctx: Context) -> str:
    return (f"{ctx.params.bootstrap_resamples} bootstrap resamples (seed {ctx.seed}): the cut-off is re-chosen in "
            "each resample and applied to the patients left out of it (cutpointr's boot_runs); corrected = apparent "
            "- (in-resample - out-of-bag) optimism.")


def concentration_response(ctx: Context) -> pd.DataFrame:
    """MH probability on a restricted cubic spline of the trough; the window where it reaches the target."""
    cr = spline.concentration_response(ctx.df[MARKER], ctx.outcome(), n_knots=SPLINE_KNOTS, target=WINDOW_TARGET,
                                       n_resamples=max(ctx.params.bootstrap_resamples, 0), seed=ctx.seed,
                                       conf_level=ctx.params.conf_level)
    ctx.state["concentration_response"] = cr
    return cr.window_frame()


def concentration_note(ctx: Context) -> str:
    return (f"Logistic regression of mucosal healing on a restricted cubic spline of the trough ({SPLINE_KNOTS} knots "
            f"at rms::rcs's default quantiles); window: the trough range where the modelled MH probability is "
            f">= {WINDOW_TARGET:.0%}, lower limit with a percentile bootstrap CI ({ctx.params.bootstrap_resamples} "
            f"resamples, seed {ctx.seed}).")


def concentration_curve(ctx: Context) -> pd.DataFrame:
    return ctx.state["concentration_response"].curve


def _suppressed_centres(ctx: Context) -> list[str]:
    """Centres whose class sizes the publication masks (their AUC must not be recoverable from a pooled one)."""
    centre_tables = {n: ctx.tables[n] for n in ("roc_by_centre", "leave_one_centre_out") if n in ctx.tables}
    masked = suppress_publication(centre_tables, centre_tables=list(centre_tables), k=ctx.params.suppression_k)
    rbc = masked["roc_by_centre"]
    return sorted(str(c) for c in rbc.loc[(rbc.centre != "all") & rbc["n_positive"].isna(), "centre"])


def centre_auc_meta(ctx: Context) -> pd.DataFrame:
    """DerSimonian-Laird and REML pooling of the centre AUCs, centres with suppressed counts left out."""
    left_out = _suppressed_centres(ctx)
    keep = ~ctx.df["centre_id"].astype(str).isin(left_out)
    if ctx.df.loc[keep, "centre_id"].nunique() < 2:
        raise AnalysisError(f"fewer than 2 centres left to pool once the centres with suppressed counts "
                            f"({', '.join(left_out) or 'none'}) are left out", code="too_few_centres")
    d = ctx.df[keep]
    fits = [meta.centre_auc_meta(d[MARKER], d[PRIMARY_OUTCOME].astype("boolean"), d["centre_id"], method=m,
                                 conf_level=ctx.params.conf_level) for m in ("DL", "REML")]
    ctx.state["meta_studies"] = fits[1].studies.rename(columns={"study": "centre"})
    ctx.state["meta_left_out"] = left_out
    return pd.concat([f.to_frame() for f in fits], ignore_index=True)


def meta_note(ctx: Context) -> str:
    left = ctx.state.get("meta_left_out") or []
    out = ("DeLong AUC and variance per centre, pooled by random effects (DerSimonian-Laird and REML, as "
           "metafor::rma); tau², I², Cochran's Q and a 95% prediction interval for a new centre's AUC.")
    if left:
        out += (f" Not pooled: {', '.join(left)} (their counts are suppressed, and a pooled estimate would reveal "
                "their AUC).")
    return out


def centre_auc_studies(ctx: Context) -> pd.DataFrame:
    return ctx.state["meta_studies"]
