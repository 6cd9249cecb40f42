"""Firth's penalised-likelihood logistic regression, for data with (quasi-)complete separation.

Small paediatric cohorts often separate (every patient with a covariate has the event): the
maximum-likelihood OR is then infinite and :func:`analytics.logistic.fit_logistic` publishes none.
Firth (1993) penalises the log-likelihood by half the log-determinant of the Fisher information,

    l*(b) = l(b) + 1/2 log det I(b),     I(b) = X' W X,  W = diag(p_i (1 - p_i)),

which removes the O(1/n) bias of the MLE and gives finite estimates under separation (Heinze &
Schemper 2002).  Its gradient is the modified score ``U*_j = sum_i (y_i - p_i + h_i (1/2 - p_i)) x_ij``
(``h_i`` the diagonal of the weighted hat matrix), the same estimating equations as R
``brglm2::brglmFit(type = "AS_mean")`` and ``logistf``.

CIs and p-values are *profile penalised likelihood* (``logistf``'s defaults): ``b_j`` is in the
95% CI when ``2 (l*(b_hat) - max_{b: b_j fixed} l*(b)) <= chi2_{1, 0.95}``, and the p-value is
that penalised likelihood-ratio statistic at ``b_j = 0`` on 1 df.  The profile keeps the *full*
model's information matrix in the penalty (as ``logistf`` does; refitting without the column, or
with it as an offset, would change the penalty).  Wald intervals are not used: under separation
the penalised likelihood is markedly asymmetric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analytics.design import build_design, detect_separation
from analytics.logistic import UNIVARIATE_COLUMNS, univariate_logistic
from base.errors import AnalysisError

__all__ = ["FirthFit", "fit_firth", "firth_matrix", "block_test", "univariate_firth", "METHOD_LABEL", "FIRTH_WHEN"]

#: How outputs name the method (a publication labels every Firth OR with it).
METHOD_LABEL = "Firth penalised likelihood (profile penalised-likelihood CI and p)"
#: When :func:`univariate_firth` replaces an ML row by a Firth one.
FIRTH_WHEN = ("separation", "always")

_MAXITER = 200
_TOL = 1e-10
_MAX_STEP = 5.0  # logistf's maxstep: a Newton step is shrunk to at most this in any coordinate


def _penalised_loglik(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(l*(beta), p, I)``: penalised log-likelihood, fitted probabilities, information."""
    eta = X @ beta
    p = np.exp(-np.logaddexp(0.0, -eta))  # expit without overflow
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    info = X.T @ (X * (p * (1 - p))[:, None])
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0:
        return -math.inf, p, info
    return loglik + 0.5 * logdet, p, info


def _modified_score(X: np.ndarray, y: np.ndarray, p: np.ndarray, info: np.ndarray) -> np.ndarray:
    w = p * (1 - p)
    # h_i = w_i x_i' I^-1 x_i (diagonal of the weighted hat matrix), without forming H
    h = w * np.einsum("ij,ij->i", X @ np.linalg.inv(info), X)
    return X.T @ (y - p + h * (0.5 - p))


def _maximise(X: np.ndarray, y: np.ndarray, beta: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, float, bool, int]:
    """Maximise l* over the coordinates ``free`` (bool mask), the others held at ``beta``.

    Newton-type iterations ``b += I_ff^-1 U*_f`` (I as the Hessian, as logistf), each step capped
    at :data:`_MAX_STEP` and halved until l* does not decrease.  Returns ``(beta, l*, converged,
    iterations)``.
    """
    beta = beta.astype(float).copy()
    pl, p, info = _penalised_loglik(X, y, beta)
    if not free.any():
        return beta, pl, True, 0
    for it in range(1, _MAXITER + 1):
        u = _modified_score(X, y, p, info)[free]
        try:
            step = np.linalg.solve(info[np.ix_(free, free)], u)
        except np.linalg.LinAlgError:
            return beta, pl, False, it
        biggest = np.max(np.abs(step))
        if biggest > _MAX_STEP:
            step *= _MAX_STEP / biggest
        for _ in range(60):
            trial = beta.copy()
            trial[free] += step
            pl_new, p_new, info_new = _penalised_loglik(X, y, trial)
            if pl_new >= pl - 1e-12 * max(1.0, abs(pl)):
                break
            step /= 2
        beta, pl, p, info = trial, pl_new, p_new, info_new
        if np.max(np.abs(step)) < _TOL and np.max(np.abs(u)) < 1e-6:
            return beta, pl, True, it
    return beta, pl, False, _MAXITER


@dataclass(frozen=True)
class FirthMatrixFit:
    """Low-level Firth fit on a design matrix (``X`` includes the intercept column)."""

    params: np.ndarray
    cov: np.ndarray
    penalised_log_likelihood: float
    converged: bool
    iterations: int
    pl_chi2: np.ndarray      # penalised LR statistic of b_j = 0, per column
    ci_low: np.ndarray       # profile penalised-likelihood limits of b_j
    ci_high: np.ndarray


def _profile(X, y, beta_hat, pl_hat, j, value) -> tuple[float, np.ndarray]:
    """``2 (l*(b_hat) - max l* subject to b_j = value)`` and the constrained maximiser
    (``j`` an index or an index array: a block of coefficients held at ``value``)."""
    start = beta_hat.copy()
    start[j] = value
    free = np.ones(X.shape[1], dtype=bool)
    free[j] = False
    b, pl, _, _ = _maximise(X, y, start, free)
    return 2.0 * (pl_hat - pl), b


def _profile_limit(X, y, beta_hat, pl_hat, se, j, direction, crit) -> float:
    """The value of ``b_j`` (below or above ``b_hat_j``) where the profile deviance reaches ``crit``."""
    b0 = beta_hat[j]
    width = max(se, 1e-3)
    dist = width * math.sqrt(crit)
    for _ in range(60):
        d, _ = _profile(X, y, beta_hat, pl_hat, j, b0 + direction * dist)
        if d > crit:
            break
        dist *= 2
    else:  # the penalised likelihood never drops enough: an unbounded limit
        return direction * math.inf
    f = lambda v: _profile(X, y, beta_hat, pl_hat, j, v)[0] - crit  # noqa: E731
    lo, hi = sorted((b0, b0 + direction * dist))
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=200))


def block_test(X: np.ndarray, y: np.ndarray, fit: FirthMatrixFit, columns) -> tuple[float, int, float]:
    """Penalised likelihood-ratio test that the coefficients ``columns`` are all 0: ``(chi2, df, p)``."""
    idx = np.asarray(list(columns), dtype=int)
    stat = max(_profile(np.asarray(X, float), np.asarray(y, float), fit.params, fit.penalised_log_likelihood,
                        idx, 0.0)[0], 0.0)
    return stat, idx.size, float(stats.chi2.sf(stat, idx.size))


def firth_matrix(X: np.ndarray, y: np.ndarray, *, alpha: float = 0.05, profile: bool = True) -> FirthMatrixFit:
    """Firth fit of ``y`` (0/1) on ``X`` with profile penalised-likelihood CIs and p-values.

    ``profile=False`` skips the CIs and tests (NaN), for callers that need only the estimates.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    k = X.shape[1]
    if np.linalg.matrix_rank(X) < k:
        raise AnalysisError(f"design matrix is rank-deficient (rank {np.linalg.matrix_rank(X)} < {k} columns): "
                            "collinear covariates", code="singular_design")
    beta, pl, converged, iterations = _maximise(X, y, np.zeros(k), np.ones(k, dtype=bool))
    _, _, info = _penalised_loglik(X, y, beta)
    cov = np.linalg.inv(info)
    se = np.sqrt(np.diag(cov))
    chi2 = np.full(k, np.nan)
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    if profile and converged:
        crit = float(stats.chi2.ppf(1 - alpha, 1))
        for j in range(k):  # one profile per coefficient (k is a handful of terms)
            chi2[j] = max(_profile(X, y, beta, pl, j, 0.0)[0], 0.0)
            lo[j] = _profile_limit(X, y, beta, pl, se[j], j, -1, crit)
            hi[j] = _profile_limit(X, y, beta, pl, se[j], j, +1, crit)
    return FirthMatrixFit(beta, cov, pl, converged, iterations, chi2, lo, hi)


@dataclass(frozen=True)
class FirthFit:
    """A Firth-penalised logistic model.

    Attributes
    ----------
    outcome, terms : the response and the covariates, in model order.
    n, n_events, n_dropped : rows used, rows with the event, rows dropped as incomplete.
    coefficients : DataFrame, one row per model column (intercept first):
        ``term, column, beta, se, odds_ratio, ci_low, ci_high, chi2, p_value, method``.
        ``ci_low/ci_high`` are the profile penalised-likelihood limits of the OR (``exp`` of those
        of ``beta``); ``chi2`` is the penalised likelihood-ratio statistic of ``beta = 0`` (1 df)
        and ``p_value`` its chi-square p; ``se`` is ``sqrt([I(b)^-1]_jj)`` (shown, not used for
        the CI); ``method`` is ``"firth"``.
    term_tests : DataFrame, one row per term: ``term, df, chi2, p_value``, the joint penalised
        likelihood-ratio test of the term's columns (a categorical term's block; for a one-column
        term the same as its coefficient row).
    penalised_log_likelihood : ``l*(b_hat)``.
    separation : what the ML fit would have met: ``"complete"``, ``"quasi-complete"`` or None.
    converged, iterations : the penalised Newton iterations.
    alpha : the CI level is ``1 - alpha``.
    method_label : :data:`METHOD_LABEL`, for captions.
    """

    outcome: str
    terms: tuple[str, ...]
    n: int
    n_events: int
    n_dropped: int
    coefficients: pd.DataFrame
    term_tests: pd.DataFrame
    penalised_log_likelihood: float
    separation: str | None
    converged: bool
    iterations: int
    alpha: float = 0.05
    method_label: str = METHOD_LABEL
    params: np.ndarray = field(default=None, repr=False)
    cov: np.ndarray = field(default=None, repr=False)

    @property
    def note(self) -> str:
        sep = f"; ML fit has {self.separation} separation" if self.separation else ""
        conv = "" if self.converged else "; penalised fit did not converge"
        return f"Firth penalised likelihood{sep}{conv}"


COEFFICIENT_COLUMNS = ["term", "column", "beta", "se", "odds_ratio", "ci_low", "ci_high", "chi2", "p_value",
                       "method"]


def fit_firth(data: pd.DataFrame, outcome: str, covariates: list[str] | tuple[str, ...], *,
              alpha: float = 0.05, complete_over: list[str] | None = None) -> FirthFit:
    """Fit ``logit P(outcome = 1) = b0 + sum_j b_j x_j`` by Firth's penalised likelihood.

    Same design conventions as :func:`analytics.logistic.fit_logistic` (intercept, indicator
    blocks for text covariates, complete cases over the model's variables).

    Returns
    -------
    FirthFit
        ``coefficients`` has ``term, column, beta, se, odds_ratio, ci_low, ci_high, chi2,
        p_value, method``; ``term_tests`` has ``term, df, chi2, p_value``.

    Raises
    ------
    ValueError
        unknown columns; alpha outside (0, 1).
    base.errors.AnalysisError
        no complete cases, a one-class outcome (``one_class_outcome``), collinear covariates
        (``singular_design``).

    Notes
    -----
    Estimates solve ``U*(b) = X'(y - p + h (1/2 - p)) = 0`` (R ``brglm2::brglmFit(type =
    "AS_mean")``, ``logistf``); CI ``{b_j : 2 (l*(b_hat) - l*_j(b_j)) <= chi2_{1,1-alpha}}`` with
    ``l*_j`` the profile penalised log-likelihood (``logistf(pl = TRUE)``); ``p`` from the same
    statistic at ``b_j = 0``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    design = build_design(data, outcome, covariates, complete_over=complete_over)
    y = design.y
    if len(y) == 0:
        raise AnalysisError("no complete cases to fit", column=outcome, code="no_complete_cases")
    if y.sum() in (0, len(y)):
        raise AnalysisError(f"the outcome has one class only ({int(y.sum())} events in {len(y)} complete cases): "
                            "a logistic model cannot be fitted", column=outcome, code="one_class_outcome")
    raw = firth_matrix(design.X, y, alpha=alpha)
    col_term = {0: "Intercept"} | {i: t for t, idx in design.blocks.items() for i in idx}
    coef = pd.DataFrame({
        "term": [col_term[j] for j in range(len(design.columns))],
        "column": list(design.columns),
        "beta": raw.params,
        "se": np.sqrt(np.diag(raw.cov)),
        "odds_ratio": np.exp(raw.params),
        "ci_low": np.exp(raw.ci_low),
        "ci_high": np.exp(raw.ci_high),
        "chi2": raw.pl_chi2,
        "p_value": stats.chi2.sf(raw.pl_chi2, 1),
        "method": "firth",
    }, columns=COEFFICIENT_COLUMNS)
    tests = []
    for t in covariates:  # one constrained fit per multi-column term (a handful)
        idx = design.blocks[t]
        if len(idx) == 1 or not raw.converged:
            chi2 = raw.pl_chi2[idx[0]] if len(idx) == 1 else np.nan
            tests.append({"term": t, "df": len(idx), "chi2": chi2, "p_value": stats.chi2.sf(chi2, len(idx))})
        else:
            chi2, df, p = block_test(design.X, y, raw, idx)
            tests.append({"term": t, "df": df, "chi2": chi2, "p_value": p})
    term_tests = pd.DataFrame(tests, columns=["term", "df", "chi2", "p_value"])
    return FirthFit(outcome=outcome, terms=tuple(covariates), n=len(y), n_events=int(y.sum()),
                    n_dropped=design.n_dropped, coefficients=coef, term_tests=term_tests,
                    penalised_log_likelihood=raw.penalised_log_likelihood,
                    separation=detect_separation(design.X, y), converged=raw.converged,
                    iterations=raw.iterations, alpha=alpha, params=raw.params, cov=raw.cov)


_SEPARATED = ("complete_separation", "quasi_complete_separation", "not_converged")


def univariate_firth(data: pd.DataFrame, outcome: str, covariates: list[str] | tuple[str, ...], *,
                     when: str = "separation", alpha: float = 0.05) -> pd.DataFrame:
    """Table 2 (left half) with Firth rows where ML has no estimate (or everywhere).

    Parameters
    ----------
    when : {"separation", "always"}
        ``"separation"``: the ML row of :func:`analytics.logistic.univariate_logistic` is kept
        unless its status is complete / quasi-complete separation or non-convergence, in which
        case that covariate's model is refitted by :func:`fit_firth`; ``"always"``: every model
        is Firth.

    Returns
    -------
    DataFrame with :data:`analytics.logistic.UNIVARIATE_COLUMNS` plus ``pl_chi2`` and ``method``
    (``"ml"`` or ``"firth"``).  A Firth row keeps the ML ``status`` (why Firth was used) and says
    so in ``note``; its ``wald_chi2`` is NaN, ``pl_chi2`` is the penalised likelihood-ratio
    statistic, and its CI and p are profile penalised likelihood (NaN ``pl_chi2`` on ML rows).
    """
    if when not in FIRTH_WHEN:
        raise ValueError(f"when must be one of {FIRTH_WHEN}, got {when!r}")
    ml = univariate_logistic(data, outcome, covariates, alpha=alpha)
    ml["method"] = "ml"
    use = (ml["status"] != "not_estimable") if when == "always" else ml["status"].isin(_SEPARATED)
    redo = ml["term"].isin(ml.loc[use, "term"])
    parts = [ml.loc[~redo]]
    for term in dict.fromkeys(ml.loc[redo, "term"]):  # one model per covariate to refit
        fit = fit_firth(data, outcome, [term], alpha=alpha)
        c = fit.coefficients[fit.coefficients["term"] == term]
        status = ml.loc[ml["term"] == term, "status"].iloc[0]
        parts.append(pd.DataFrame({
            "term": term, "column": c["column"].to_numpy(), "n": fit.n, "n_events": fit.n_events,
            "beta": c["beta"].to_numpy(), "se": c["se"].to_numpy(), "odds_ratio": c["odds_ratio"].to_numpy(),
            "ci_low": c["ci_low"].to_numpy(), "ci_high": c["ci_high"].to_numpy(),
            "wald_chi2": np.nan, "pl_chi2": c["chi2"].to_numpy(), "p_value": c["p_value"].to_numpy(), "status": status,
            "note": fit.note, "method": "firth"}))
    out = pd.concat(parts, ignore_index=True)
    order = {t: i for i, t in enumerate(dict.fromkeys(covariates))}
    out = out.sort_values("term", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return out.reindex(columns=[*UNIVARIATE_COLUMNS, "pl_chi2", "method"])
