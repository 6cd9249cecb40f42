"""Concentration-response curve: outcome probability as a smooth function of the trough.

Logistic regression on a restricted cubic spline of the marker (Harrell's truncated-power basis,
exactly R ``rms::rcs`` / ``Hmisc::rcspline.eval`` with their default knots), the modelled
probability with pointwise Wald CIs (on the logit scale, as R ``predict(glm, se.fit = TRUE)``),
and the *therapeutic window*: the marker range where the modelled probability is at least a
target (80% mucosal healing, as Ungar et al. define a window), with a seeded bootstrap CI of its
lower end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analytics._rocbase import clean
from analytics.logistic import fit_matrix
from base.errors import AnalysisError

__all__ = ["rcs_knots", "rcs_basis", "ConcentrationResponse", "concentration_response", "window_intervals"]

_EVAL_POINTS = 2001   # resolution of the window search over the observed range
_NEWTON_ITER = 60


def _quantile_r7(x: np.ndarray, probs) -> np.ndarray:
    """R ``quantile(x, probs, type = 7)`` computed as R does: 1-based ``index = 1 + (n - 1) p``,
    ``(1 - h) x[lo] + h x[hi]`` (numpy's arithmetic differs in the last bit, which shows in
    printed knots such as 3.9999999999999987 for R's 4)."""
    xs = np.sort(x)
    index = 1 + (xs.size - 1) * np.asarray(probs, dtype=float)
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    h = index - lo
    qs = xs[lo - 1]
    mix = (index > lo) & (xs[hi - 1] != qs)
    return np.where(mix, (1 - h) * qs + h * xs[hi - 1], qs)


def rcs_knots(x, n_knots: int = 5, *, fractied: float = 0.05) -> np.ndarray:
    """Default knots of R ``rms::rcs(x, n_knots)`` (``Hmisc::rcspline.eval``, Hmisc 4.8).

    Quantiles (R type 7) at ``seq(outer, 1 - outer, length = k)`` with ``outer`` 0.1 for 3 knots,
    0.05 for 4-6 and 0.025 for 7 (Harrell's table: 3 knots .10 .50 .90; 4 knots .05 .35 .65 .95;
    5 knots .05 .275 .50 .725 .95); with fewer than 100 values the outer knots are the 5th smallest
    and 5th largest value; a value holding at least ``fractied`` of the data at either end (e.g. the
    below-LLOQ troughs) becomes a knot itself via the next value (rcspline.eval's ``fractied``
    rule); with ``n_unique - 2 <= k`` the interior unique values are the knots.
    """
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    n = xx.size
    if not isinstance(n_knots, (int, np.integer)) or n_knots < 3:
        raise ValueError(f"n_knots must be an integer >= 3, got {n_knots!r}")
    if n < 6:
        raise AnalysisError(f"a spline needs at least 6 values to place knots, got {n}", code="too_few_patients")
    xu = np.unique(xx)
    nk = int(n_knots)
    if xu.size - 2 <= nk:
        knots = xu[1:-1]
    else:
        outer = 0.025 if nk > 6 else (0.05 if nk > 3 else 0.1)
        nke = nk
        first, last = [], []
        if 0 < fractied < 1:
            vals, counts = np.unique(xx, return_counts=True)
            f = counts / n
            if (f[1:-1].max() if f.size > 2 else -np.inf) < fractied:
                if f[0] >= fractied:
                    first = [xx[xx > xx.min()].min()]
                    xx = xx[xx > first[0]]
                    nke -= 1
                if f[-1] >= fractied:
                    last = [xx[xx < xx.max()].max()]
                    xx = xx[xx < last[0]]
                    nke -= 1
        if nke == 1:
            inner = np.array([np.median(xx)])
        else:
            p = np.linspace(0.5, 1 - outer, nke) if nke == 2 else np.linspace(outer, 1 - outer, nke)
            inner = _quantile_r7(xx, p)
            if np.unique(inner).size < min(nke, 3):
                raise AnalysisError(f"too many tied values to place {nk} spline knots; use fewer knots",
                                    code="spline_knots")
            if xx.size < 100:
                xs = np.sort(xx)
                if not first:
                    inner[0] = xs[4]
                if not last:
                    inner[nke - 1] = xs[xs.size - 5]
        knots = np.concatenate([first, inner, last])
    knots = np.unique(knots)
    if knots.size < 3:
        raise AnalysisError(f"fewer than 3 distinct spline knots can be placed ({knots.size}); the marker has "
                            f"{xu.size} distinct values", code="spline_knots")
    return knots


def rcs_basis(x, knots) -> np.ndarray:
    """Restricted cubic spline basis ``[x, s_1(x), ..., s_{k-2}(x)]`` (R ``rcspline.eval(inclx = TRUE)``).

    ``s_j(x) = (x - t_j)_+^3 - (x - t_{k-1})_+^3 (t_k - t_j)/(t_k - t_{k-1})
    + (x - t_k)_+^3 (t_{k-1} - t_j)/(t_k - t_{k-1})``, divided by ``(t_k - t_1)^2`` (``norm = 2``):
    cubic between knots, linear beyond the outer ones.
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    k = t.size
    kd = (t[-1] - t[0]) ** (2 / 3)
    cube = lambda v: np.maximum((x[:, None] - v) / kd, 0.0) ** 3  # noqa: E731
    tj = t[None, : k - 2]
    s = cube(tj) + ((t[-2] - tj) * cube(t[-1]) - (t[-1] - tj) * cube(t[-2])) / (t[-1] - t[-2])
    return np.column_stack([x, s])


def window_intervals(grid: np.ndarray, eta: np.ndarray, target: float) -> np.ndarray:
    """Intervals of ``grid`` where ``expit(eta) >= target``: rows ``(low, high)``.

    Ends are interpolated linearly on the logit scale between neighbouring grid points; an
    interval touching the grid's end is closed there (no extrapolation beyond the data).
    """
    z = np.log(target / (1 - target))
    d = eta - z
    up = d >= 0
    out = []
    edges = np.flatnonzero(np.diff(up.astype(np.int8)))  # change between i and i+1
    cross = grid[edges] + (grid[edges + 1] - grid[edges]) * (-d[edges]) / (d[edges + 1] - d[edges])
    starts = ([grid[0]] if up[0] else []) + [c for c, e in zip(cross, edges) if not up[e]]
    ends = [c for c, e in zip(cross, edges) if up[e]] + ([grid[-1]] if up[-1] else [])
    out = list(zip(starts, ends))
    return np.array(out, dtype=float).reshape(-1, 2)


def _first_window_low(grid: np.ndarray, eta: np.ndarray, target: float) -> np.ndarray:
    """Vectorised over rows of ``eta`` (B x G): the lowest marker with ``p >= target`` (NaN if none)."""
    d = eta - np.log(target / (1 - target))
    up = d >= 0
    i = np.argmax(up, axis=1)
    rows = np.arange(eta.shape[0])
    j = np.maximum(i - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        interp = grid[j] + (grid[i] - grid[j]) * (-d[rows, j]) / (d[rows, i] - d[rows, j])
    low = np.where(i == 0, grid[0], interp)
    return np.where(up[rows, i], low, np.nan)


def _quantile7(v: np.ndarray, probs) -> np.ndarray:
    """R ``quantile(type = 7)`` of values that may hold ``+inf`` (numpy gives NaN for ``inf * 0``)."""
    v = np.sort(v)
    h = (v.size - 1) * np.asarray(probs, dtype=float)
    lo, hi = np.floor(h).astype(int), np.ceil(h).astype(int)
    frac = h - lo
    with np.errstate(invalid="ignore"):
        out = v[lo] + frac * (v[hi] - v[lo])
    return np.where(frac == 0, v[lo], np.where(np.isinf(v[hi]), np.inf, out))


def _batched_fit(X: np.ndarray, y: np.ndarray, counts: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson logistic fits of ``y ~ X`` with frequency weights, one per row of ``counts``.

    Returns ``(beta (B x p), ok (B,))``; ``ok`` is False where a fit did not converge (separation
    in the resample) or its information matrix is singular.
    """
    B, p = counts.shape[0], X.shape[1]
    beta = np.tile(start, (B, 1))
    ok = np.zeros(B, dtype=bool)
    for _ in range(_NEWTON_ITER):
        eta = beta @ X.T
        mu = np.exp(-np.logaddexp(0.0, -eta))
        grad = (counts * (y - mu)) @ X
        info = np.einsum("bn,ni,nj->bij", counts * mu * (1 - mu), X, X)
        good = np.linalg.cond(info) < 1e12
        info[~good] = np.eye(p)
        step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
        step[~good] = 0.0
        beta += step
        ok = good & (np.abs(step).max(axis=1) < 1e-9)
        if ok.sum() == good.sum():
            break
    return beta, ok & np.all(np.isfinite(beta), axis=1)


@dataclass(frozen=True)
class ConcentrationResponse:
    """Result of :func:`concentration_response`.

    Attributes
    ----------
    knots : the spline knots (marker units).
    coefficients : DataFrame ``column, beta, se`` (``Intercept``, ``x``, ``x'``, ``x''`` ...).
    curve : DataFrame over the display grid: ``marker, eta, se, probability, ci_low, ci_high``.
    target : the probability that defines the window.
    windows : DataFrame ``low, high`` of every marker interval (within the observed range) where
        the modelled probability is >= target.
    window_low, window_high : the first interval (NaN when the target is never reached);
        ``window_high`` equal to the largest observed marker means "up to the end of the data".
    window_low_ci_low, window_low_ci_high, window_low_se : percentile bootstrap CI and SD of
        ``window_low``.  A resample whose curve never reaches the target within the observed
        range counts as ``+inf`` ("above the data"), so ``window_low_ci_high`` is ``inf`` when
        more than ``(1 - conf_level)/2`` of the resamples never reach it (and the SD is then NaN).
    n_resamples, n_failed, n_not_reached : resamples drawn; fits that failed (separation /
        singular in the resample: excluded); curves that never reach the target.
    seed : the bootstrap seed (recorded; None with explicit ``resamples`` or no bootstrap).
    n, n_events, n_dropped, n_knots, conf_level.
    distribution : per resample, its ``window_low`` (NaN: fit failed; inf: target not reached).
    """

    knots: np.ndarray
    coefficients: pd.DataFrame
    curve: pd.DataFrame
    target: float
    windows: pd.DataFrame
    window_low: float
    window_high: float
    window_low_ci_low: float
    window_low_ci_high: float
    window_low_se: float
    n_resamples: int
    n_failed: int
    n_not_reached: int
    seed: int | None
    n: int
    n_events: int
    n_dropped: int
    n_knots: int
    conf_level: float
    distribution: np.ndarray = field(repr=False, default=None)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("coefficients", "curve", "windows", "distribution")}
        d["knots"] = [float(v) for v in self.knots]
        return d

    def window_frame(self) -> pd.DataFrame:
        """One row: the window and its bootstrap CI with the settings (for a publication table)."""
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "knots"}
                             | {"knots": ", ".join(f"{v:g}" for v in self.knots)}])


def concentration_response(marker, outcome, *, n_knots: int = 4, knots=None, grid=None, target: float = 0.8,
                           n_resamples: int = 1000, seed: int | None = None, conf_level: float = 0.95,
                           resamples=None, batch_cells: int = 4_000_000) -> ConcentrationResponse:
    """Outcome probability as a restricted cubic spline of the marker, and the therapeutic window.

    Parameters
    ----------
    marker, outcome : array-like (missing pairs dropped; outcome binary).
    n_knots : number of knots (3-7 are Harrell's defaults; 4 fits small cohorts).
    knots : explicit knots (overrides ``n_knots``).
    grid : marker values for ``curve`` (default 101 points over the observed range).
    target : probability defining the window (default 0.8).
    n_resamples : bootstrap resamples of patients (0 skips the bootstrap).
    seed : ``numpy.random.default_rng`` seed (drawn and recorded when None).
    conf_level : level of the pointwise and bootstrap CIs.
    resamples : optional (B, n) integer array of in-bag indices into the complete pairs,
        replacing the random draws.

    Returns
    -------
    ConcentrationResponse

    Raises
    ------
    base.errors.AnalysisError
        fewer than 2 patients per class, knots cannot be placed (``spline_knots``), or the spline
        model is not estimable on the data (``spline_not_estimable``: separation / singular).

    Notes
    -----
    ``logit p(x) = b0 + b1 x + sum_j b_{j+1} s_j(x)`` by ML (:func:`analytics.logistic.fit_matrix`);
    pointwise CI ``expit(eta -+ z SE(eta))`` with ``SE(eta)^2 = B(x) V B(x)'``.  The window is
    searched on 2,001 points over the observed range.  Bootstrap: patients resampled with
    replacement, the knots kept fixed (the model is the same in every resample, as
    ``rms::bootcov``), each resample refitted by Newton-Raphson with frequency weights,
    percentile CI (``quantile(type = 7)``) of the lowest marker where ``p >= target``.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be a probability in (0, 1), got {target!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    cl = clean(marker, outcome, min_per_class=2)
    x, y = cl.marker, cl.outcome.astype(float)
    t = rcs_knots(x, n_knots) if knots is None else np.unique(np.asarray(knots, dtype=float))
    if t.size < 3:
        raise ValueError("knots must hold at least 3 distinct values")
    X = np.column_stack([np.ones(x.size), rcs_basis(x, t)])
    raw = fit_matrix(X, y)
    if raw.status != "ok":
        raise AnalysisError(f"the spline model cannot be estimated ({raw.status.replace('_', ' ')}); "
                            "use fewer knots", code="spline_not_estimable")
    names = ["Intercept", "x"] + ["x" + "'" * j for j in range(1, t.size - 1)]
    coef = pd.DataFrame({"column": names, "beta": raw.params, "se": np.sqrt(np.diag(raw.cov))})
    zc = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    g = np.linspace(x.min(), x.max(), 101) if grid is None else np.asarray(grid, dtype=float)
    Bg = np.column_stack([np.ones(g.size), rcs_basis(g, t)])
    eta = Bg @ raw.params
    se = np.sqrt(np.einsum("ij,jk,ik->i", Bg, raw.cov, Bg))
    expit = lambda v: np.exp(-np.logaddexp(0.0, -v))  # noqa: E731
    curve = pd.DataFrame({"marker": g, "eta": eta, "se": se, "probability": expit(eta),
                          "ci_low": expit(eta - zc * se), "ci_high": expit(eta + zc * se)})
    ev = np.linspace(x.min(), x.max(), _EVAL_POINTS)
    Be = np.column_stack([np.ones(ev.size), rcs_basis(ev, t)])
    win = window_intervals(ev, Be @ raw.params, target)
    low, high = (win[0] if len(win) else (np.nan, np.nan))

    if resamples is not None:
        draws_all = np.asarray(resamples)
        if draws_all.ndim != 2 or draws_all.shape[1] != x.size or not np.issubdtype(draws_all.dtype, np.integer):
            raise ValueError(f"resamples must be an integer array of shape (B, {x.size}), got {draws_all.shape}")
        n_resamples, seed, rng = draws_all.shape[0], None, None
    else:
        if not (isinstance(n_resamples, (int, np.integer)) and n_resamples >= 0):
            raise ValueError(f"n_resamples must be a non-negative integer, got {n_resamples!r}")
        if seed is None and n_resamples:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        rng = np.random.default_rng(seed)
        seed = None if seed is None else int(seed)
    dist = np.full(n_resamples, np.nan)
    failed = np.zeros(n_resamples, dtype=bool)
    per = max(1, int(batch_cells // (x.size + _EVAL_POINTS)))
    for s in range(0, n_resamples, per):
        b = min(per, n_resamples - s)
        draws = draws_all[s:s + b] if rng is None else rng.integers(0, x.size, size=(b, x.size))
        counts = np.bincount((draws + (np.arange(b) * x.size)[:, None]).ravel(),
                             minlength=b * x.size).reshape(b, x.size).astype(float)
        beta, ok = _batched_fit(X, y, counts, raw.params)
        failed[s:s + b] = ~ok
        dist[s:s + b] = np.where(ok, _first_window_low(ev, beta @ Be.T, target), np.nan)
    dist[~failed & np.isnan(dist)] = np.inf
    good = dist[~failed]  # not reached = +inf: "above the observed range", kept in the percentiles
    a = (1 - conf_level) / 2
    ci = _quantile7(good, [a, 1 - a]) if good.size else (np.nan, np.nan)
    finite = np.isfinite(good).all() and good.size > 1
    return ConcentrationResponse(
        knots=t, coefficients=coef, curve=curve, target=float(target),
        windows=pd.DataFrame(win, columns=["low", "high"]), window_low=float(low), window_high=float(high),
        window_low_ci_low=float(ci[0]), window_low_ci_high=float(ci[1]),
        window_low_se=float(np.std(good, ddof=1)) if finite else np.nan,
        n_resamples=int(n_resamples), n_failed=int(failed.sum()),
        n_not_reached=int(np.isinf(good).sum()), seed=seed, n=int(x.size), n_events=int(y.sum()),
        n_dropped=cl.n_dropped, n_knots=int(t.size), conf_level=float(conf_level), distribution=dist,
    )
