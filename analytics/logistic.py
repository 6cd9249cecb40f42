"""Binary logistic regression: fits, Wald and score (Rao) tests, univariate OR tables.

Conventions (fixed, documented in ``docs/ANALYSES.md`` "Logistic models"):

* the event is ``outcome == 1`` (``True``): R ``glm(family=binomial)``, SAS ``(event='1')``;
* an intercept is always fitted;
* a boolean or numeric 0/1 covariate is one column; any other numeric covariate is one column
  (the OR is per unit); a text/categorical covariate is a *block* of indicator columns against
  its first level in sorted order (``name[level]``), tested jointly with ``df = levels - 1``;
* rows with a missing outcome or covariate are dropped (complete cases over the model's
  variables) and the number used is reported;
* Wald 95% CI for the OR is ``exp(beta +/- z_{1-alpha/2} * SE)`` (SAS "Wald Confidence Interval
  for Odds Ratios", R ``confint.default``); the Wald chi-square is ``(beta/SE)^2`` on 1 df;
* complete or quasi-complete separation (detected by linear programming, Albert & Anderson 1984
  / Konis 2007: :func:`analytics.design.detect_separation`) and non-convergence are reported in :attr:`LogisticFit.status`; the OR, CI and p
  of a non-estimable fit are NaN, never a silent huge number.

Fitting uses :class:`statsmodels.discrete.discrete_model.Logit` (Newton-Raphson, as SAS's
Fisher scoring for the canonical logit link: identical iterations).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from analytics.design import Design, build_design, detect_separation
from base.errors import AnalysisError

#: Status values of a fit.
STATUSES = ("ok", "quasi_complete_separation", "complete_separation", "not_converged", "singular")

_MAXITER = 100
_TOL = 1e-10


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RawFit:
    """Low-level fit on a design matrix (used by the stepwise selection)."""

    params: np.ndarray
    cov: np.ndarray | None
    log_likelihood: float
    converged: bool
    iterations: int
    status: str
    messages: tuple[str, ...]


def fit_matrix(X: np.ndarray, y: np.ndarray) -> RawFit:
    """Maximum-likelihood logistic fit of ``y`` on ``X`` (which includes the intercept column)."""
    messages: list[str] = []
    sep = detect_separation(X, y)
    p = X.shape[1]
    rank = np.linalg.matrix_rank(X) if len(X) else 0
    if rank < p:
        return RawFit(np.full(p, np.nan), None, math.nan, False, 0, "singular",
                      (f"design matrix is rank-deficient (rank {rank} < {p} columns): collinear covariates",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(y, X).fit(method="newton", maxiter=_MAXITER, tol=_TOL, disp=0)
        except (np.linalg.LinAlgError, ValueError) as exc:  # singular Hessian, perfect prediction
            status = {"complete": "complete_separation", "quasi-complete": "quasi_complete_separation"}.get(
                sep, "not_converged")
            return RawFit(np.full(p, np.nan), None, math.nan, False, 0, status, (f"fit failed: {exc}",))
    converged = bool(res.mle_retvals.get("converged", False))
    iterations = int(res.mle_retvals.get("iterations", 0))
    for w in caught:
        if issubclass(w.category, (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning)):
            messages.append(str(w.message).splitlines()[0])
    params = np.asarray(res.params, dtype=float)
    try:
        # inverse observed information at the *final* estimates (statsmodels' newton keeps the
        # Hessian of the previous iterate, which differs from R/SAS in the 7th digit)
        cov = np.linalg.inv(-np.asarray(res.model.hessian(params), dtype=float))
        if not np.all(np.isfinite(cov)):
            cov = None
    except (np.linalg.LinAlgError, ValueError):
        cov = None
    if sep == "complete":
        status = "complete_separation"
        messages.append("complete separation: the maximum likelihood estimate does not exist")
    elif sep == "quasi-complete":
        status = "quasi_complete_separation"
        messages.append("quasi-complete separation: the maximum likelihood estimate does not exist")
    elif not converged or cov is None or not np.all(np.isfinite(params)):
        status = "not_converged"
        messages.append(f"did not converge in {_MAXITER} Newton iterations")
    else:
        status = "ok"
    return RawFit(params, cov, float(res.llf), converged, iterations, status, tuple(dict.fromkeys(messages)))


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic model.

    Attributes
    ----------
    outcome, terms : the response and the covariates (terms), in model order.
    n, n_events, n_dropped : rows used, rows with the event, rows dropped as incomplete.
    coefficients : DataFrame, one row per model column (intercept first), with columns
        ``term, column, beta, se, z, wald_chi2, df, p_value, odds_ratio, ci_low, ci_high``.
        For a non-estimable fit (``status != "ok"``) ``se, z, wald_chi2, p_value, odds_ratio,
        ci_low, ci_high`` are NaN.
    term_tests : DataFrame, one row per term: ``term, df, wald_chi2, p_value`` (joint Wald test of
        the term's columns).
    log_likelihood, null_log_likelihood, aic : model fit (AIC = -2 logL + 2 k).
    converged, iterations : Newton-Raphson convergence.
    status : one of :data:`STATUSES`.
    messages : human-readable notes (separation, non-convergence).
    alpha : the CI level is ``1 - alpha``.
    """

    outcome: str
    terms: tuple[str, ...]
    n: int
    n_events: int
    n_dropped: int
    coefficients: pd.DataFrame
    term_tests: pd.DataFrame
    log_likelihood: float
    null_log_likelihood: float
    aic: float
    converged: bool
    iterations: int
    status: str
    messages: tuple[str, ...] = ()
    alpha: float = 0.05
    params: np.ndarray = field(default=None, repr=False)
    cov: np.ndarray | None = field(default=None, repr=False)

    @property
    def estimable(self) -> bool:
        return self.status == "ok"

    @property
    def note(self) -> str:
        return "; ".join(self.messages)


def _null_loglik(y: np.ndarray) -> float:
    n, k = len(y), float(y.sum())
    if k in (0, n):
        return 0.0
    p = k / n
    return k * math.log(p) + (n - k) * math.log(1 - p)


def _check_alpha(alpha: float) -> None:
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _wald_block(params: np.ndarray, cov: np.ndarray | None, idx: tuple[int, ...]) -> tuple[float, int, float]:
    if cov is None or not idx:
        return math.nan, len(idx), math.nan
    b = params[list(idx)]
    V = cov[np.ix_(idx, idx)]
    try:
        stat = float(b @ np.linalg.solve(V, b))
    except np.linalg.LinAlgError:
        return math.nan, len(idx), math.nan
    return stat, len(idx), float(stats.chi2.sf(stat, len(idx)))


def _assemble(design: Design, raw: RawFit, outcome: str, terms: tuple[str, ...], alpha: float) -> LogisticFit:
    z_crit = stats.norm.ppf(1 - alpha / 2)
    col_term = {0: "Intercept"}
    for t, idx in design.blocks.items():
        for i in idx:
            col_term[i] = t
    ok = raw.status == "ok"
    rows = []
    for j, col in enumerate(design.columns):
        beta = float(raw.params[j])
        se = float(math.sqrt(raw.cov[j, j])) if (ok and raw.cov is not None) else math.nan
        z = beta / se if ok else math.nan
        wald = z * z if ok else math.nan
        rows.append({
            "term": col_term[j], "column": col, "beta": beta, "se": se, "z": z,
            "wald_chi2": wald, "df": 1,
            "p_value": float(stats.chi2.sf(wald, 1)) if ok else math.nan,
            "odds_ratio": math.exp(beta) if ok else math.nan,
            "ci_low": math.exp(beta - z_crit * se) if ok else math.nan,
            "ci_high": math.exp(beta + z_crit * se) if ok else math.nan,
        })
    coef = pd.DataFrame(rows, columns=["term", "column", "beta", "se", "z", "wald_chi2", "df", "p_value",
                                       "odds_ratio", "ci_low", "ci_high"])
    tt = []
    for t in terms:
        stat, df, p = _wald_block(raw.params, raw.cov if ok else None, design.blocks[t])
        tt.append({"term": t, "df": df, "wald_chi2": stat, "p_value": p})
    term_tests = pd.DataFrame(tt, columns=["term", "df", "wald_chi2", "p_value"])
    k = design.X.shape[1]
    return LogisticFit(
        outcome=outcome, terms=terms, n=len(design.y), n_events=int(design.y.sum()),
        n_dropped=design.n_dropped, coefficients=coef, term_tests=term_tests,
        log_likelihood=raw.log_likelihood, null_log_likelihood=_null_loglik(design.y),
        aic=-2 * raw.log_likelihood + 2 * k if math.isfinite(raw.log_likelihood) else math.nan,
        converged=raw.converged, iterations=raw.iterations, status=raw.status, messages=raw.messages,
        alpha=alpha, params=raw.params, cov=raw.cov,
    )


def _require_two_classes(y: np.ndarray, outcome: str) -> None:
    if len(y) == 0:
        raise AnalysisError("no complete cases to fit", column=outcome, code="no_complete_cases")
    k = int(y.sum())
    if k == 0 or k == len(y):
        raise AnalysisError(
            f"the outcome has one class only ({k} events in {len(y)} complete cases): a logistic model "
            "cannot be fitted", column=outcome, code="one_class_outcome")


def fit_logistic(data: pd.DataFrame, outcome: str, covariates: list[str] | tuple[str, ...], *,
                 alpha: float = 0.05, complete_over: list[str] | None = None) -> LogisticFit:
    """Fit ``logit P(outcome = 1) = b0 + sum_j b_j x_j`` by maximum likelihood.

    Parameters
    ----------
    data : DataFrame with the outcome and covariate columns.
    outcome : binary column (bool, 0/1, yes/no).
    covariates : covariate columns (may be empty: intercept-only model).
    alpha : CI level ``1 - alpha`` (default 95%).
    complete_over : complete cases are taken over these columns (default: the covariates).

    Returns
    -------
    LogisticFit
        See the class for every field; ``coefficients`` has columns ``term, column, beta, se, z,
        wald_chi2, df, p_value, odds_ratio, ci_low, ci_high``.

    Raises
    ------
    ValueError
        unknown column names (the valid names are listed), alpha outside (0, 1).
    base.errors.AnalysisError
        no complete cases, or the outcome has one class only (code ``one_class_outcome``).

    Notes
    -----
    ``SE_j = sqrt([I(b)^-1]_jj)`` with ``I = X' W X``, ``W = diag(p_i (1 - p_i))`` at the MLE;
    Wald chi-square ``(b_j / SE_j)^2`` on 1 df, ``p = P(chi2_1 > W)``;
    ``OR = exp(b_j)``, CI ``exp(b_j -/+ z_{1-alpha/2} SE_j)``.
    """
    _check_alpha(alpha)
    design = build_design(data, outcome, covariates, complete_over=complete_over)
    _require_two_classes(design.y, outcome)
    raw = fit_matrix(design.X, design.y)
    return _assemble(design, raw, outcome, tuple(covariates), alpha)


# --------------------------------------------------------------------------------------------
# score test
# --------------------------------------------------------------------------------------------
def score_statistic(X0: np.ndarray, X1: np.ndarray, y: np.ndarray,
                    beta0: np.ndarray | None = None) -> tuple[float, int, float]:
    """Rao score chi-square for adding the columns ``X1`` to the model ``y ~ X0``.

    Returns ``(statistic, df, p_value)``.

    Notes
    -----
    With ``b0`` the MLE of the restricted model and ``p_i = expit(x0_i' b0)``, let
    ``X = [X0 X1]``, ``U = X' (y - p)`` and ``I = X' W X`` with ``W = diag(p_i (1 - p_i))``.
    The score statistic is ``S = U' I^-1 U`` (only the ``X1`` part of ``U`` is non-zero at the
    restricted MLE), referred to chi-square on ``df = ncol(X1)``.  This is SAS PROC LOGISTIC's
    "Score Chi-Square" in "Analysis of Effects Eligible for Entry" and R's
    ``add1(fit, scope, test = "Rao")``.
    """
    X0 = np.asarray(X0, float)
    X1 = np.asarray(X1, float)
    if X1.ndim == 1:
        X1 = X1[:, None]
    y = np.asarray(y, float)
    if beta0 is None:
        raw = fit_matrix(X0, y)
        beta0 = raw.params
    if not np.all(np.isfinite(beta0)):
        return math.nan, X1.shape[1], math.nan
    p = 1.0 / (1.0 + np.exp(-(X0 @ beta0)))
    X = np.hstack([X0, X1])
    U = X.T @ (y - p)
    info = X.T @ (X * (p * (1 - p))[:, None])
    try:
        stat = float(U @ np.linalg.solve(info, U))
    except np.linalg.LinAlgError:
        return math.nan, X1.shape[1], math.nan
    df = X1.shape[1]
    return stat, df, float(stats.chi2.sf(stat, df))


def score_test(data: pd.DataFrame, outcome: str, covariates: list[str] | tuple[str, ...],
               add: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Score (Rao) test for adding each variable in ``add`` (separately) to ``outcome ~ covariates``.

    Complete cases are taken over ``covariates + add`` (one row set for every test, as SAS).

    Returns
    -------
    DataFrame, one row per added variable: ``term, statistic, df, p_value, n``.

    Notes
    -----
    See :func:`score_statistic`.
    """
    covariates, add = list(covariates), list(add)
    everything = [*covariates, *add]
    base = build_design(data, outcome, covariates, complete_over=everything)
    _require_two_classes(base.y, outcome)
    raw = fit_matrix(base.X, base.y)
    rows = []
    for a in add:
        d = build_design(data, outcome, [*covariates, a], complete_over=everything)
        X1 = d.X[:, list(d.blocks[a])]
        stat, df, p = score_statistic(base.X, X1, base.y, raw.params)
        rows.append({"term": a, "statistic": stat, "df": df, "p_value": p, "n": len(base.y)})
    return pd.DataFrame(rows, columns=["term", "statistic", "df", "p_value", "n"])


# --------------------------------------------------------------------------------------------
# univariate table
# --------------------------------------------------------------------------------------------
UNIVARIATE_COLUMNS = ["term", "column", "n", "n_events", "beta", "se", "odds_ratio", "ci_low", "ci_high",
                      "wald_chi2", "p_value", "status", "note"]


def univariate_logistic(data: pd.DataFrame, outcome: str, covariates: list[str] | tuple[str, ...], *,
                        alpha: float = 0.05) -> pd.DataFrame:
    """One logistic model per covariate (Table 2, left half): OR, Wald CI and p.

    Each model uses the complete cases of its own covariate (so ``n`` may differ between rows).

    Returns
    -------
    DataFrame, one row per model column (one per covariate; one per non-reference level of a
    categorical covariate) with columns ``term, column, n, n_events, beta, se, odds_ratio,
    ci_low, ci_high, wald_chi2, p_value, status, note``.  ``status`` is one of
    :data:`STATUSES` or ``"not_estimable"`` (one class in the complete cases); when it is not
    ``"ok"`` the OR, CI and p are NaN and ``note`` says why.

    Notes
    -----
    As :func:`fit_logistic` with a single covariate: ``OR = exp(b)``, CI
    ``exp(b -/+ z_{1-alpha/2} SE)``, Wald ``p = P(chi2_1 > (b/SE)^2)``.
    """
    _check_alpha(alpha)
    rows = []
    for c in covariates:
        try:
            fit = fit_logistic(data, outcome, [c], alpha=alpha)
        except AnalysisError as exc:
            rows.append({"term": c, "column": c, "n": math.nan, "n_events": math.nan, "beta": math.nan,
                         "se": math.nan, "odds_ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                         "wald_chi2": math.nan, "p_value": math.nan, "status": "not_estimable",
                         "note": exc.message})
            continue
        for r in fit.coefficients.itertuples(index=False):
            if r.term == "Intercept":
                continue
            rows.append({"term": c, "column": r.column, "n": fit.n, "n_events": fit.n_events, "beta": r.beta,
                         "se": r.se, "odds_ratio": r.odds_ratio, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "wald_chi2": r.wald_chi2, "p_value": r.p_value, "status": fit.status,
                         "note": fit.note})
    return pd.DataFrame(rows, columns=UNIVARIATE_COLUMNS)


__all__ = [
    "STATUSES", "LogisticFit", "RawFit", "fit_matrix", "fit_logistic", "score_statistic", "score_test", "univariate_logistic", "UNIVARIATE_COLUMNS",
]
