"""Analysis speed: ROC + DeLong + Youden and the bootstrap of the cut-off, next to scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.bootstrap import bootstrap_cutoff
from analytics.roc import roc_analysis
from benchmarks.tasks.common import median_time

try:        # the peer is optional: without it the task measures ours alone
    from sklearn.metrics import roc_auc_score, roc_curve
except ImportError:
    roc_auc_score = roc_curve = None


def analysis_python(csv: str, repeat: int = 3, boot: bool = True, boot_repeat: int = 1,
                    sklearn_boot_max_n: int = 10_000) -> dict:
    """ROC + DeLong CI + Youden (analytics.roc.roc_analysis, which also builds the curve and the
    target-specificity cut-off) and 2,000 stratified bootstrap resamples of the Youden cut-off
    (analytics.bootstrap), next to scikit-learn's roc_curve + roc_auc_score + argmax(J) (no CI:
    scikit-learn has no DeLong) and a plain scikit-learn bootstrap loop for small n."""
    d = pd.read_csv(csv)
    x = d["marker"].to_numpy(dtype=float)
    y = d["outcome"].to_numpy().astype(bool)
    out: dict = {"n": int(len(d))}
    t, r = median_time(lambda: roc_analysis(x, y), repeat)
    out.update(roc_s=round(t, 5), auc=r.auc, ci_low=r.ci_low, ci_high=r.ci_high, youden_cutoff=r.youden.cutoff
               if hasattr(r.youden, "cutoff") else None)
    if boot:
        t, b = median_time(lambda: bootstrap_cutoff(x, y, n_resamples=2000, seed=1), boot_repeat)
        out.update(boot_s=round(t, 4), boot_cutoff=b.cutoff, boot_ci_low=b.cutoff_ci_low,
                   boot_ci_high=b.cutoff_ci_high)
    if roc_curve is None:
        out["sklearn"] = "not installed"
        return out

    def sk():
        fpr, tpr, thr = roc_curve(y, x)
        auc = roc_auc_score(y, x)
        k = int(np.argmax(tpr - fpr))
        return auc, thr[k]

    t, (auc, thr) = median_time(sk, repeat)
    out.update(sklearn_roc_s=round(t, 5), sklearn_auc=float(auc), sklearn_youden=float(thr))
    if boot and len(d) <= sklearn_boot_max_n:
        rng = np.random.default_rng(1)
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)

        def skboot():
            cuts = np.empty(2000)
            for i in range(2000):
                idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
                fpr, tpr, thr = roc_curve(y[idx], x[idx])
                cuts[i] = thr[int(np.argmax(tpr - fpr))]
            return cuts

        t, cuts = median_time(skboot, 1)
        out.update(sklearn_boot_s=round(t, 4), sklearn_boot_ci=[float(np.quantile(cuts, 0.025)),
                                                               float(np.quantile(cuts, 0.975))])
    return out
