"""Optimism of a data-driven cut-off: out-of-bag performance of the re-chosen Youden cut-off.

The Youden cut-off is the in-sample optimum, so its in-sample sensitivity and specificity are
optimistic.  As R ``cutpointr(..., boot_runs = B)`` does, every bootstrap resample re-chooses the
cut-off on the in-bag patients and evaluates it on the patients the resample left out
(out-of-bag, on average 36.8%); the distribution of the out-of-bag sensitivity and specificity
is the honest estimate of how the cut-off performs on new patients.  Also reported: Harrell's
optimism ``mean(in-bag - out-of-bag)`` and the optimism-corrected apparent values.

Vectorised like :mod:`analytics.bootstrap`: per resample only counts per distinct marker value
(in-bag and out-of-bag) are kept, built for a batch of resamples with one ``bincount``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analytics._rocbase import clean, tabulate
from analytics.cutoffs import target_specificity_cutoff, youden_cutoffs

__all__ = ["OobCutoff", "oob_cutoff_performance", "summarise_runs", "SUMMARY_COLUMNS", "RUN_COLUMNS"]

METHODS = ("youden", "target_specificity")
#: Per-resample columns (cutpointr's ``boot`` names in brackets).
RUN_COLUMNS = ["cutoff",            # optimal_cutpoint
               "sensitivity_b", "specificity_b", "youden_b",          # in-bag at that cut-off
               "sensitivity_oob", "specificity_oob", "youden_oob",    # out-of-bag at that cut-off
               "n_oob_positive", "n_oob_negative"]
#: cutpointr's ``summary(cp)$boot`` statistics (Min., 5%, 1st Qu., Median, Mean, 3rd Qu., 95%,
#: Max., SD, NAs); quantiles are R's ``quantile(type = 7)``.
SUMMARY_COLUMNS = ["quantity", "min", "q05", "q25", "median", "mean", "q75", "q95", "max", "sd", "n_na"]


@dataclass(frozen=True)
class OobCutoff:
    """Result of :func:`oob_cutoff_performance`.

    Attributes
    ----------
    method, target_specificity : the cut-off rule re-applied in every resample.
    cutoff, sensitivity, specificity : apparent (in-sample) values on the full data.
    sensitivity_oob, specificity_oob : mean out-of-bag values (cutpointr's LOO-bootstrap estimate).
    sensitivity_oob_ci_low ... specificity_oob_ci_high : percentile interval of the out-of-bag
        values (``quantile(type = 7)`` at ``(1 -+ conf_level)/2``).
    sensitivity_optimism, specificity_optimism : ``mean(in-bag - out-of-bag)`` over resamples.
    sensitivity_corrected, specificity_corrected : apparent minus optimism (Harrell).
    n_resamples, n_failed : resamples drawn; resamples where a value could not be computed (no
        out-of-bag patient of a class, or an unreachable target) are excluded from that value only.
    seed : the seed used (None when explicit ``resamples`` were given).
    stratified : the draw (None when explicit ``resamples`` were given).
    conf_level, n_positive, n_negative : settings and group sizes.
    runs : DataFrame, one row per resample with :data:`RUN_COLUMNS`.
    """

    method: str
    target_specificity: float | None
    cutoff: float
    sensitivity: float
    specificity: float
    sensitivity_oob: float
    specificity_oob: float
    sensitivity_oob_ci_low: float
    sensitivity_oob_ci_high: float
    specificity_oob_ci_low: float
    specificity_oob_ci_high: float
    sensitivity_optimism: float
    specificity_optimism: float
    sensitivity_corrected: float
    specificity_corrected: float
    n_resamples: int
    n_failed: int
    seed: int | None
    stratified: bool | None
    conf_level: float
    n_positive: int
    n_negative: int
    runs: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "runs"}

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per quantity (sensitivity, specificity) with apparent, out-of-bag mean and
        interval, optimism and corrected value, and the settings."""
        rows = []
        for q in ("sensitivity", "specificity"):
            rows.append({"quantity": q, "cutoff": self.cutoff, "apparent": getattr(self, q),
                         "oob_mean": getattr(self, f"{q}_oob"), "ci_low": getattr(self, f"{q}_oob_ci_low"),
                         "ci_high": getattr(self, f"{q}_oob_ci_high"), "optimism": getattr(self, f"{q}_optimism"),
                         "corrected": getattr(self, f"{q}_corrected"), "method": self.method,
                         "n_resamples": self.n_resamples, "n_failed": self.n_failed, "seed": self.seed,
                         "stratified": self.stratified, "conf_level": self.conf_level})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """cutpointr's ``summary(cp)$boot`` of the runs (see :func:`summarise_runs`)."""
        return summarise_runs(self.runs)


def summarise_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Per column of ``runs``: ``min, q05, q25, median, mean, q75, q95, max, sd, n_na``.

    As cutpointr's bootstrap summary: NaNs are counted (``n_na``) and left out of the others;
    quantiles ``quantile(type = 7)``; SD with ``n - 1``.
    """
    rows = []
    for col in runs.columns:
        v = runs[col].to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        if ok.size:
            q = np.quantile(ok, [0.05, 0.25, 0.5, 0.75, 0.95])
            stats_ = [ok.min(), *q[:3], ok.mean(), *q[3:], ok.max(), ok.std(ddof=1) if ok.size > 1 else np.nan]
        else:
            stats_ = [np.nan] * 9
        # order: min, q05, q25, median, mean, q75, q95, max, sd
        rows.append([col, *map(float, stats_), int(v.size - ok.size)])
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _draw(rng, case_idx, ctrl_idx, b, stratified):
    """In-bag draws: (b, N) patient indices."""
    if stratified:
        m, n = case_idx.size, ctrl_idx.size
        return np.hstack([case_idx[rng.integers(0, m, size=(b, m))], ctrl_idx[rng.integers(0, n, size=(b, n))]])
    N = case_idx.size + ctrl_idx.size
    return rng.integers(0, N, size=(b, N))


def _evaluate(draws: np.ndarray, group: np.ndarray, is_pos: np.ndarray, values: np.ndarray,
              method: str, target: float) -> np.ndarray:
    """Run columns for a batch of resamples given as (b, N) in-bag patient indices."""
    b, N = draws.shape
    G = values.size
    rows = np.arange(b)
    per_patient = np.bincount((draws + (rows * N)[:, None]).ravel(), minlength=b * N).reshape(b, N)
    cell = ((rows * G)[:, None] + group[None, :]).ravel()  # (resample, distinct value) of each patient

    def by_value(weights: np.ndarray) -> np.ndarray:
        return np.rint(np.bincount(cell, weights=weights.ravel(), minlength=b * G)).astype(np.int64).reshape(b, G)

    oob = per_patient == 0
    pos_in, neg_in = by_value(per_patient * is_pos), by_value(per_patient * ~is_pos)
    pos_oob, neg_oob = by_value(oob & is_pos), by_value(oob & ~is_pos)
    m_in = pos_in.sum(axis=1)
    n_in = neg_in.sum(axis=1)
    tp_in = m_in[:, None] - np.cumsum(pos_in, axis=1) + pos_in  # in-bag cases with value >= values[k]
    fp_in = n_in[:, None] - np.cumsum(neg_in, axis=1) + neg_in
    observed = (pos_in + neg_in) > 0
    if method == "youden":
        score = tp_in * n_in[:, None] - fp_in * m_in[:, None]  # exact integer J * m * n
        score = np.where(observed & (m_in > 0)[:, None] & (n_in > 0)[:, None], score, np.iinfo(np.int64).min)
        k = np.argmax(score, axis=1)
        good = (m_in > 0) & (n_in > 0)
    else:
        ok = observed & ((n_in[:, None] - fp_in) >= target * n_in[:, None] - 1e-9 * n_in[:, None]) & (n_in > 0)[:, None]
        k = np.argmax(ok, axis=1)
        good = ok[rows, k]
    m_oob = pos_oob.sum(axis=1)
    n_oob = neg_oob.sum(axis=1)
    tp_oob = m_oob[:, None] - np.cumsum(pos_oob, axis=1) + pos_oob
    fp_oob = n_oob[:, None] - np.cumsum(neg_oob, axis=1) + neg_oob
    with np.errstate(invalid="ignore", divide="ignore"):
        sens_b = np.where(good, tp_in[rows, k] / m_in, np.nan)
        spec_b = np.where(good, 1 - fp_in[rows, k] / n_in, np.nan)
        sens_o = np.where(good & (m_oob > 0), tp_oob[rows, k] / m_oob, np.nan)
        spec_o = np.where(good & (n_oob > 0), 1 - fp_oob[rows, k] / n_oob, np.nan)
    return np.column_stack([np.where(good, values[k], np.nan), sens_b, spec_b, sens_b + spec_b - 1,
                            sens_o, spec_o, sens_o + spec_o - 1, m_oob, n_oob])


def oob_cutoff_performance(marker, outcome, *, method: str = "youden", target_specificity: float = 0.8,
                           n_resamples: int = 1000, seed: int | None = None, stratified: bool = False,
                           conf_level: float = 0.95, resamples=None, batch_cells: int = 4_000_000) -> OobCutoff:
    """Out-of-bag sensitivity and specificity of the cut-off re-chosen in each bootstrap resample.

    Parameters
    ----------
    marker, outcome : array-like (missing pairs dropped), conventions of :mod:`analytics.roc`.
    method : {"youden", "target_specificity"}
        Youden-optimal (lowest among ties) or lowest cut-off with specificity >= target, chosen
        among the in-bag marker values; test positive when ``marker >= cut-off``.
    n_resamples : int
    seed : seed of ``numpy.random.default_rng`` (drawn and recorded when None).
    stratified : draw cases and controls separately (group sizes fixed).  Default False: simple
        resampling of patients, cutpointr's default (``boot_stratify = FALSE``).
    conf_level : level of the percentile interval of the out-of-bag values.
    resamples : optional (B, N) integer array of 0-based in-bag indices into the complete pairs
        (the input order after dropping missing pairs); replaces the random draws (``seed`` is
        then None).  Used to reproduce another program's resamples exactly.
    batch_cells : memory bound of one batch of resamples.

    Returns
    -------
    OobCutoff
        Apparent, out-of-bag and optimism-corrected sensitivity/specificity, the seed, and the
        per-resample ``runs`` (:data:`RUN_COLUMNS`); ``summary()`` gives cutpointr's summary.

    Notes
    -----
    Resample ``r`` draws in-bag patients ``B_r``; the cut-off ``c_r`` is chosen on ``B_r``; the
    out-of-bag set is ``O_r = {i : i not in B_r}``; ``sens_oob_r = #{i in O_r, case, x_i >= c_r}
    / #{i in O_r, case}``, likewise specificity; ``optimism = mean_r(sens_b_r - sens_oob_r)``
    (Harrell, Lee & Mark 1996), ``corrected = apparent - optimism``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    if method == "target_specificity" and not 0 < target_specificity <= 1:
        raise ValueError(f"target_specificity must be a proportion in (0, 1], got {target_specificity!r}")
    cl = clean(marker, outcome, min_per_class=2)
    tab = tabulate(cl.marker, cl.outcome)
    N = cl.marker.size
    if resamples is not None:
        draws_all = np.asarray(resamples)
        if draws_all.ndim != 2 or draws_all.shape[1] != N or not np.issubdtype(draws_all.dtype, np.integer):
            raise ValueError(f"resamples must be an integer array of shape (B, {N}), got {draws_all.shape}")
        if draws_all.min() < 0 or draws_all.max() >= N:
            raise ValueError(f"resamples must hold indices in 0..{N - 1}")
        n_resamples, seed, rng = draws_all.shape[0], None, None
    else:
        if not (isinstance(n_resamples, (int, np.integer)) and n_resamples >= 1):
            raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
        seed = int(np.random.SeedSequence().entropy % (2**63)) if seed is None else int(seed)
        rng = np.random.default_rng(seed)
    case_idx = np.flatnonzero(cl.outcome)
    ctrl_idx = np.flatnonzero(~cl.outcome)
    per = max(1, int(batch_cells // (4 * N + 4 * tab.values.size)))
    runs = np.empty((n_resamples, len(RUN_COLUMNS)))
    done = 0
    while done < n_resamples:
        b = min(per, n_resamples - done)
        draws = draws_all[done:done + b] if rng is None else _draw(rng, case_idx, ctrl_idx, b, stratified)
        runs[done:done + b] = _evaluate(draws, tab.group, cl.outcome, tab.values, method, target_specificity)
        done += b
    runs_df = pd.DataFrame(runs, columns=RUN_COLUMNS)

    m, n = tab.m, tab.n
    k0 = (int(youden_cutoffs(tab.tp, tab.fp, m, n)[0]) if method == "youden"
          else target_specificity_cutoff(1.0 - tab.fp / n, target_specificity))
    app = (np.nan, np.nan, np.nan) if k0 is None else (float(tab.values[k0]), tab.tp[k0] / m, 1 - tab.fp[k0] / n)
    a = (1 - conf_level) / 2
    f: dict[str, float] = {}
    for q, apparent in (("sensitivity", app[1]), ("specificity", app[2])):
        o = runs_df[f"{q}_oob"].to_numpy()
        d = (runs_df[f"{q}_b"] - runs_df[f"{q}_oob"]).to_numpy()
        o, d = o[~np.isnan(o)], d[~np.isnan(d)]
        f[f"{q}_oob"] = float(o.mean()) if o.size else np.nan
        lo, hi = np.quantile(o, [a, 1 - a]) if o.size else (np.nan, np.nan)
        f[f"{q}_oob_ci_low"], f[f"{q}_oob_ci_high"] = float(lo), float(hi)
        f[f"{q}_optimism"] = float(d.mean()) if d.size else np.nan
        f[f"{q}_corrected"] = float(apparent - f[f"{q}_optimism"])
    n_failed = int(runs_df[["sensitivity_oob", "specificity_oob"]].isna().any(axis=1).sum())
    return OobCutoff(method=method, target_specificity=float(target_specificity) if method != "youden" else None,
                     cutoff=app[0], sensitivity=float(app[1]), specificity=float(app[2]), n_resamples=int(n_resamples),
                     n_failed=n_failed, seed=seed, stratified=None if rng is None else bool(stratified), conf_level=float(conf_level),
                     n_positive=m, n_negative=n, runs=runs_df, **f)
