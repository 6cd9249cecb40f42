"""The paper's analyses as data: one :class:`~publication.context.Analysis` per published table.

Each entry names the table, its title and note, the cohort columns and earlier tables it needs, its
report layout, and the ``compute`` function (:mod:`publication.compute`,
:mod:`publication.beyond`) that calls the statistics in :mod:`analytics`.  ``compute`` raises
:class:`base.errors.AnalysisError` when the data do not allow the analysis (too few events, one
class, no previous publication); the runner (:mod:`publication.run`) records that as "not
computed" with the reason.  Any other exception is a bug and fails the publication.
``centre_level`` marks the tables that publish per-centre counts: small-cell suppression
(:func:`analytics.suppression.suppress_publication`) covers them; ``layout="csv"`` tables are
published as CSV (and rows) only.
"""

from __future__ import annotations

from publication import beyond
from publication import compute as c
from publication.context import CURRENT_PUBLICATION, Analysis, Context
from publication.study import CORRELATE, MARKER, PRIMARY_OUTCOME

_Y = (MARKER, PRIMARY_OUTCOME)

#: The publication, in report order.
PLAN: tuple[Analysis, ...] = (
    Analysis("table1", "Table 1. Characteristics, overall and by mucosal healing", c.table1,
             "n (%), median [IQR] (SAS quartile definition 5) or mean ± SD. Wilcoxon rank-sum (normal "
             "approximation, continuity correction) / Student's pooled t-test; chi-square without Yates' "
             "correction, Fisher's exact test when expected counts are small (Cochran's rule).",
             needs=(PRIMARY_OUTCOME,), layout="table1"),
    Analysis("table1_values", "Table 1 at full precision", c.table1_values, needs=(PRIMARY_OUTCOME,), layout="csv"),
    Analysis("trough_by_outcome", "IFX trough level by outcome (Figure 1)", c.trough_by_outcome,
             "Wilcoxon rank-sum test, normal approximation with continuity correction; W is that of the 'true' group.",
             needs=(MARKER,), layout="trough"),
    Analysis("correlation_trough_6tgn", "Correlation of IFX trough level with 6-TGN", c.correlation_trough_6tgn,
             "Pairwise complete cases; p from the t distribution on n - 2 df; Fisher-z CI for Pearson.",
             needs=(MARKER, CORRELATE)),
    Analysis("table2_univariate", "Table 2 (left). Univariate logistic regression for mucosal healing", c.table2_univariate,
             "OR = exp(beta); Wald 95% CI exp(beta ± 1.96 SE); Wald chi-square p. Each model on its own complete "
             "cases. A model whose ML fit separates (or does not converge) is refitted by Firth's penalised "
             "likelihood ('method' = firth: profile penalised-likelihood CI, penalised likelihood-ratio p).",
             needs=(PRIMARY_OUTCOME,), layout="table2"),
    Analysis("table2_stepwise_steps", "Stepwise selection steps (SAS PROC LOGISTIC semantics)", c.table2_stepwise_steps,
             c.stepwise_note, after=("table2_univariate",)),
    Analysis("table2_stepwise_model", "Table 2 (right). Multivariable model after stepwise selection",
             c.table2_stepwise_model, c.stepwise_model_note, after=("table2_stepwise_steps",)),
    Analysis("table3_cutoffs", "ROC (Youden) cut-offs used to dichotomise the selected continuous variables",
             c.table3_cutoffs, after=("table2_stepwise_steps",)),
    Analysis("table3_final_model", "Table 3. Final multivariable model with dichotomised variables", c.table3_final_model,
             "Continuous variables selected by the stepwise model are dichotomised at their ROC Youden cut-off "
             "('>= c') and refitted with the selected dichotomous variables.",
             after=("table3_cutoffs",), layout="table3"),
    Analysis("roc_summary", "ROC analysis of the IFX trough level for each outcome", c.roc_summary,
             lambda ctx: ("AUC with DeLong 95% CI; Youden-optimal cut-off and the lowest cut-off with specificity "
                          f">= {ctx.params.target_specificity:g}; a patient tests positive when trough >= cut-off."),
             needs=(MARKER,), layout="roc_summary"),
    Analysis("table4_cutoffs", "Table 4. IFX trough cut-offs for mucosal healing", c.table4_cutoffs,
             "Sensitivity, specificity, PPV, NPV of trough >= cut-off with Clopper-Pearson 95% CIs.",
             needs=_Y, layout="table4"),
    Analysis("table4_optimism", "Optimism-corrected sensitivity and specificity of the chosen cut-offs",
             beyond.table4_optimism, beyond.optimism_note, needs=_Y, layout="optimism"),
    Analysis("mh_by_quartile", "Mucosal healing rate by trough quartile (Figure 2A)", c.mh_by_quartile, needs=_Y),
    Analysis("mh_by_band", "Mucosal healing rate by trough band (Figure 2B)", c.mh_by_band, needs=_Y),
    Analysis("concentration_response", "Concentration-response curve and therapeutic window (Figure 2B curve)",
             beyond.concentration_response, beyond.concentration_note, needs=_Y),
    Analysis("concentration_response_curve", "Modelled MH probability by trough (the curve of Figure 2B)",
             beyond.concentration_curve, after=("concentration_response",), layout="csv"),
    Analysis("bootstrap_cutoffs", "Bootstrap CIs of the cut-offs, every outcome", c.bootstrap_cutoffs,
             lambda ctx: (f"Stratified bootstrap, {ctx.params.bootstrap_resamples} resamples, seed {ctx.seed}; "
                          "percentile CIs."),
             needs=(MARKER,), after=("roc_summary",)),
    Analysis("roc_by_centre", "ROC of the trough for mucosal healing by centre", c.roc_by_centre,
             needs=(*_Y, "centre_id"), centre_level=True, layout="roc_by_centre"),
    Analysis("leave_one_centre_out", "Leave-one-centre-out validation of the Youden cut-off", c.leave_one_centre_out,
             needs=(*_Y, "centre_id"), centre_level=True, layout="loco"),
    Analysis("centre_auc_meta", "Between-centre heterogeneity: random-effects meta-analysis of the centre AUCs",
             beyond.centre_auc_meta, beyond.meta_note, needs=(*_Y, "centre_id"), after=("roc_by_centre",),
             layout="meta"),
    Analysis("centre_auc_studies", "Centre AUCs pooled in the meta-analysis (REML weights)", beyond.centre_auc_studies,
             after=("centre_auc_meta",), centre_level=True),
    Analysis("drift", "Cut-off drift since the previous publication", c.drift,
             "Youden and target-specificity cut-offs of the trough per outcome versus the previous publication "
             "that published them; 'outside_previous_ci': the cut-off lies outside that publication's "
             "stratified-bootstrap CI (empty when that publication published no CI for the outcome).",
             after=("roc_summary",)),
)

__all__ = ["Analysis", "Context", "PLAN", "CURRENT_PUBLICATION"]
