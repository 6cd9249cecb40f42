"""Stepwise logistic selection with SAS PROC LOGISTIC ``SELECTION=STEPWISE`` semantics.

The rules (``docs/ANALYSES.md`` "Logistic models" states them with the choices made):

1. Start from the intercept-only model plus any ``include`` terms (SAS ``INCLUDE=``; none by
   default).  Complete cases are taken once over the outcome and *all* candidates, and every model
   of the selection is fitted on those rows (SAS drops an observation with any missing
   explanatory variable named in the MODEL statement).
2. Entry: for every term not in the model, the score (Rao) chi-square for adding it to the
   current model, at the current model's MLE.  The term with the smallest p-value (ties: the
   largest chi-square) enters if ``p <= slentry``.
3. Removal: after an entry, the Wald chi-square of every term in the model (except ``include``
   terms); the term with the largest p-value (ties: the smallest chi-square) is removed if
   ``p > slstay``; the model is refitted and the removal check repeated until every term stays.
4. Stop when no term qualifies for entry, when all candidates are in the model, when the next
   entry would return to a model already visited (the term just removed would re-enter: SAS stops
   to avoid cycling), when a removal returns to a model already visited (the term just entered
   is removed), when ``max_step`` steps (entries + removals; default ``2 x candidates``, SAS's
   ``MAXSTEP`` default) are done, or when the current model cannot be estimated (separation /
   non-convergence: the selection stops and says so).

Multi-level categorical candidates enter and leave as one block (``df = levels - 1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analytics.design import build_design
from analytics.logistic import (
    LogisticFit,
    _assemble,
    _check_alpha,
    _require_two_classes,
    _wald_block,
    fit_logistic,
    fit_matrix,
    score_statistic,
)

STEP_COLUMNS = ["step", "action", "term", "test", "statistic", "df", "p_value", "n_terms"]
DETAIL_COLUMNS = ["step", "phase", "term", "test", "statistic", "df", "p_value"]

STOP_REASONS = (
    "no_term_meets_slentry",
    "all_terms_in_model",
    "cycling",
    "max_step",
    "model_not_estimable",
)


@dataclass(frozen=True)
class StepwiseResult:
    """Outcome of :func:`stepwise_logistic`.

    Attributes
    ----------
    outcome : the response column.
    candidates, include : candidate terms, and terms forced in.
    selected : terms in the final model, in order of entry.
    steps : DataFrame, one row per step, columns ``step, action, term, test, statistic, df,
        p_value, n_terms`` (``action`` is ``entered`` (``test = "score"``) or ``removed``
        (``test = "wald"``); ``n_terms`` is the number of terms in the model after the step).
    details : DataFrame, every test examined: ``step, phase, term, test, statistic, df, p_value``
        (``phase`` ``entry`` lists all eligible terms before step ``step``, like SAS's "Analysis
        of Effects Eligible for Entry"; ``removal`` lists the Wald tests examined after it).
    final : the final model fitted on the selection rows (``None`` if nothing could be fitted).
    n, n_events, n_dropped : complete cases used, events among them, rows dropped.
    slentry, slstay, max_step : the selection parameters.
    stop_reason : one of :data:`STOP_REASONS`.
    messages : notes (separation, non-convergence, cycling).
    """

    outcome: str
    candidates: tuple[str, ...]
    include: tuple[str, ...]
    selected: tuple[str, ...]
    steps: pd.DataFrame
    details: pd.DataFrame
    final: LogisticFit | None
    n: int
    n_events: int
    n_dropped: int
    slentry: float
    slstay: float
    max_step: int
    stop_reason: str
    messages: tuple[str, ...] = ()


def _columns(design, terms) -> list[int]:
    cols = [0]
    for t in terms:
        cols += list(design.blocks[t])
    return cols


def stepwise_logistic(
    data: pd.DataFrame,
    outcome: str,
    candidates: list[str] | tuple[str, ...],
    *,
    slentry: float = 0.05,
    slstay: float = 0.05,
    include: list[str] | tuple[str, ...] = (),
    max_step: int | None = None,
    alpha: float = 0.05,
) -> StepwiseResult:
    """Stepwise selection: enter by score chi-square at ``slentry``, stay by Wald at ``slstay``.

    Parameters
    ----------
    data : DataFrame with the outcome and candidate columns.
    outcome : binary response (event = 1 / True).
    candidates : candidate terms (columns); a text column is a multi-level block.
    slentry, slstay : significance levels to enter / stay (SAS ``SLENTRY=``, ``SLSTAY=``;
        default 0.05 each, as in the study).
    include : terms forced into every model (SAS ``INCLUDE=``); must be among ``candidates``.
    max_step : maximum number of steps (entries + removals); default ``2 * len(candidates)``.
    alpha : CI level of the final model's ORs.

    Returns
    -------
    StepwiseResult
        ``steps`` has columns ``step, action, term, test, statistic, df, p_value, n_terms``;
        ``final`` is a :class:`~analytics.logistic.LogisticFit` with adjusted ORs and Wald CIs.

    Raises
    ------
    ValueError
        unknown columns, ``slentry``/``slstay`` outside (0, 1], ``include`` not among candidates.
    base.errors.AnalysisError
        no complete cases or a one-class outcome.

    Notes
    -----
    Score statistic for adding ``X1`` to the current model ``X0`` at its MLE ``b0``:
    ``S = U' I^-1 U`` with ``U = X'(y - p)``, ``I = X' W X``, ``X = [X0 X1]``, ``p`` and ``W`` at
    ``b0``; chi-square on ``ncol(X1)`` df.  Wald statistic for a term's coefficients ``b_T``:
    ``b_T' V_TT^-1 b_T``, ``V`` the inverse information at the full MLE.
    """
    candidates = list(dict.fromkeys(candidates))
    include = list(dict.fromkeys(include))
    for name, level in (("slentry", slentry), ("slstay", slstay)):
        if not (0 < level <= 1):
            raise ValueError(f"{name} must be in (0, 1], got {level!r}")
    _check_alpha(alpha)
    bad = [t for t in include if t not in candidates]
    if bad:
        raise ValueError(f"include term(s) {bad} must be among the candidates: {candidates}")
    if max_step is None:
        max_step = 2 * len(candidates)
    if max_step < 0:
        raise ValueError(f"max_step must be >= 0, got {max_step!r}")

    design = build_design(data, outcome, candidates)
    _require_two_classes(design.y, outcome)
    y = design.y

    steps: list[dict] = []
    details: list[dict] = []
    messages: list[str] = []
    in_model: list[str] = list(include)
    visited = {frozenset(in_model)}
    raw = fit_matrix(design.X[:, _columns(design, in_model)], y)
    step = 0
    stop_reason = ""

    while True:
        if raw.status != "ok":
            stop_reason = "model_not_estimable"
            messages.append(f"selection stopped: the model with {in_model or 'the intercept only'} "
                            f"is not estimable ({raw.status})")
            break
        if step >= max_step:
            stop_reason = "max_step"
            break
        eligible = [t for t in candidates if t not in in_model]
        if not eligible:
            stop_reason = "all_terms_in_model"
            break
        X0 = design.X[:, _columns(design, in_model)]
        scored = []
        for t in eligible:
            stat, df, p = score_statistic(X0, design.X[:, list(design.blocks[t])], y, raw.params)
            scored.append((t, stat, df, p))
            details.append({"step": step + 1, "phase": "entry", "term": t, "test": "score",
                            "statistic": stat, "df": df, "p_value": p})
        valid = [s for s in scored if math.isfinite(s[3])]
        if not valid:
            stop_reason = "no_term_meets_slentry"
            break
        best = min(valid, key=lambda s: (s[3], -s[1]))
        if not best[3] <= slentry:
            stop_reason = "no_term_meets_slentry"
            break
        new_model = [*in_model, best[0]]
        if frozenset(new_model) in visited:
            stop_reason = "cycling"
            messages.append(f"selection stopped: entering {best[0]!r} would return to a model already visited")
            break
        step += 1
        in_model = new_model
        visited.add(frozenset(in_model))
        raw = fit_matrix(design.X[:, _columns(design, in_model)], y)
        steps.append({"step": step, "action": "entered", "term": best[0], "test": "score",
                      "statistic": best[1], "df": best[2], "p_value": best[3], "n_terms": len(in_model)})

        # backward elimination after each entry
        cycled = False
        while raw.status == "ok" and step < max_step:
            sub = build_design_view(design, in_model)
            tests = []
            for t in in_model:
                if t in include:
                    continue
                stat, df, p = _wald_block(raw.params, raw.cov, sub[t])
                tests.append((t, stat, df, p))
                details.append({"step": step, "phase": "removal", "term": t, "test": "wald",
                                "statistic": stat, "df": df, "p_value": p})
            finite = [s for s in tests if math.isfinite(s[3])]
            if not finite:
                break
            worst = max(finite, key=lambda s: (s[3], -s[1]))
            if not worst[3] > slstay:
                break
            step += 1
            in_model = [t for t in in_model if t != worst[0]]
            raw = fit_matrix(design.X[:, _columns(design, in_model)], y)
            steps.append({"step": step, "action": "removed", "term": worst[0], "test": "wald",
                          "statistic": worst[1], "df": worst[2], "p_value": worst[3], "n_terms": len(in_model)})
            if frozenset(in_model) in visited:
                cycled = True
                messages.append(f"selection stopped: removing {worst[0]!r} returned to a model already visited")
                break
            visited.add(frozenset(in_model))
        if cycled:
            stop_reason = "cycling"
            break

    final: LogisticFit | None = None
    try:
        sub_design = build_design(data, outcome, in_model, complete_over=candidates)
        final_raw = fit_matrix(sub_design.X, sub_design.y)
        final = _assemble(sub_design, final_raw, outcome, tuple(in_model), alpha)
        messages.extend(m for m in final.messages if m not in messages)
    except Exception as exc:  # pragma: no cover - reported, never raised
        messages.append(f"final model could not be fitted: {exc}")

    return StepwiseResult(
        outcome=outcome, candidates=tuple(candidates), include=tuple(include), selected=tuple(in_model),
        steps=pd.DataFrame(steps, columns=STEP_COLUMNS), details=pd.DataFrame(details, columns=DETAIL_COLUMNS),
        final=final, n=len(y), n_events=int(y.sum()), n_dropped=design.n_dropped,
        slentry=slentry, slstay=slstay, max_step=max_step, stop_reason=stop_reason,
        messages=tuple(dict.fromkeys(messages)),
    )


def build_design_view(design, terms) -> dict[str, tuple[int, ...]]:
    """Column indices of each term inside the sub-matrix ``X[:, _columns(design, terms)]``."""
    out: dict[str, tuple[int, ...]] = {}
    pos = 1
    for t in terms:
        k = len(design.blocks[t])
        out[t] = tuple(range(pos, pos + k))
        pos += k
    return out


def is_continuous(series: pd.Series) -> bool:
    """True for a numeric column with more than two distinct values (bool and 0/1 are not)."""
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return False
    vals = pd.unique(series.dropna())
    return not (len(vals) <= 2 and set(float(v) for v in vals) <= {0.0, 1.0})


def dichotomise(series: pd.Series, cutoff: float) -> pd.Series:
    """``series >= cutoff`` as a nullable boolean (missing stays missing)."""
    out = (series >= cutoff).astype("boolean")
    out[series.isna()] = pd.NA
    return out


def dichotomised_name(name: str, cutoff: float) -> str:
    return f"{name} >= {cutoff:g}"


def dichotomised_model(
    data: pd.DataFrame,
    outcome: str,
    terms: list[str] | tuple[str, ...],
    cutoffs: dict[str, float],
    *,
    alpha: float = 0.05,
) -> tuple[LogisticFit, pd.DataFrame]:
    """The final model (Table 3): continuous terms replaced by ``term >= cut-off``, then refitted.

    Parameters
    ----------
    data, outcome : as for :func:`~analytics.logistic.fit_logistic`.
    terms : the terms selected by the stepwise model.
    cutoffs : a cut-off for every *continuous* term among ``terms`` (e.g. its ROC Youden cut-off);
        dichotomous terms are used as they are.

    Returns
    -------
    (LogisticFit, DataFrame)
        The refitted model (its terms are named ``"<term> >= <cut-off>"`` for dichotomised ones) and
        a frame with one row per term: ``term, model_term, cutoff, dichotomised``.

    Raises
    ------
    ValueError
        a continuous term without a cut-off (the terms needing one are named).
    """
    frame, model_terms, rows = dichotomised_frame(data, terms, cutoffs)
    fit = fit_logistic(frame, outcome, model_terms, alpha=alpha)
    return fit, rows


def dichotomised_frame(data: pd.DataFrame, terms, cutoffs: dict[str, float]) -> tuple[pd.DataFrame, list[str],
                                                                                       pd.DataFrame]:
    """``data`` with a ``"<term> >= <cut-off>"`` column per continuous term, the model terms and the mapping.

    The design of :func:`dichotomised_model` (also refitted by Firth's method when it separates).
    """
    missing = [t for t in terms if t in data.columns and is_continuous(data[t]) and t not in cutoffs]
    if missing:
        raise ValueError(f"continuous term(s) {missing} need a cut-off; got cut-offs for {sorted(cutoffs)}")
    frame = data.copy()
    model_terms, rows = [], []
    for t in terms:
        if t in cutoffs and is_continuous(data[t]):
            name = dichotomised_name(t, cutoffs[t])
            frame[name] = dichotomise(data[t], cutoffs[t])
            model_terms.append(name)
            rows.append({"term": t, "model_term": name, "cutoff": float(cutoffs[t]), "dichotomised": True})
        else:
            model_terms.append(t)
            rows.append({"term": t, "model_term": t, "cutoff": math.nan, "dichotomised": False})
    return frame, model_terms, pd.DataFrame(rows, columns=["term", "model_term", "cutoff", "dichotomised"])


__all__ = [
    "StepwiseResult", "STEP_COLUMNS", "DETAIL_COLUMNS", "STOP_REASONS", "stepwise_logistic",
    "dichotomised_model", "dichotomised_frame", "dichotomise", "dichotomised_name", "is_continuous",
]

