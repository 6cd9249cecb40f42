"""The publication's figures as PNG bytes (pure: result frames in, bytes out; matplotlib Agg)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg", force=True)   # figures go to PNG files: no display, whatever the environment says
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from analytics.render.formats import format_p

OUTCOME_LABELS = {
    "clinical_remission": "Clinical remission",
    "biochemical_remission": "Biochemical remission",
    "partial_mucosal_healing": "Partial MH (SES-CD < 3)",
    "mucosal_healing": "Mucosal healing (SES-CD = 0)",
    "ati_positive": "ATI",
    "concomitant_aza": "Concomitant AZA",
}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _p_text(p) -> str:
    f = format_p(p)
    return "" if not f else ("p < 0.001" if f == "<0.001" else f"p = {f}")


def figure_trough_boxplots(data: pd.DataFrame, marker: str, outcomes: Sequence[str],
                           p_values: Mapping[str, float] | None = None) -> bytes:
    """Figure 1: box plots of the marker by each binary outcome (one panel per outcome)."""
    k = max(1, len(outcomes))
    fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 3.6), squeeze=False)
    for ax, o, letter in zip(axes[0], outcomes, "ABCDEFGH"):
        label = OUTCOME_LABELS.get(o, o)
        b = data[o].astype("boolean")
        groups = [data.loc[b == False, marker].dropna().to_numpy(float),  # noqa: E712
                  data.loc[b == True, marker].dropna().to_numpy(float)]  # noqa: E712
        names = [f"No\n(n={len(groups[0])})", f"Yes\n(n={len(groups[1])})"]
        if o == "ati_positive":
            names = [f"Negative\n(n={len(groups[0])})", f"Positive\n(n={len(groups[1])})"]
        data_ok = [g if len(g) else np.array([np.nan]) for g in groups]
        ax.boxplot(data_ok, tick_labels=names, widths=0.55, patch_artist=True,
                   boxprops={"facecolor": "#d9e6f2"}, medianprops={"color": "#1f4e79", "linewidth": 2},
                   flierprops={"marker": "o", "markerfacecolor": "#333", "markersize": 4})
        ax.set_title(f"{letter}  {label}", fontsize=9, loc="left")
        ax.set_ylabel("IFX trough level (µg/mL)" if letter == "A" else "")
        p = (p_values or {}).get(o)
        if p is not None and not (isinstance(p, float) and math.isnan(p)):
            txt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
            ax.text(0.5, 0.97, txt, transform=ax.transAxes, ha="center", va="top", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Figure 1. IFX trough levels by outcome", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def _count_labels(ax, xs, rates, tab) -> None:
    for xi, r, kpos, n in zip(xs, rates, tab["n_positive"], tab["n"]):
        label = "" if pd.isna(n) else (f"{int(kpos)}/{int(n)}" if not pd.isna(kpos) else f"?/{int(n)}")
        ax.text(xi, (0 if math.isnan(r) else r) + 2, label, ha="center", fontsize=8)


def _curve_over_bands(ax, bands: pd.DataFrame, curve: pd.DataFrame, window: pd.DataFrame | None) -> None:
    """Band bars on the trough axis, the spline's MH probability with its CI band, the window shaded."""
    x = curve["marker"].to_numpy(float)
    lo = np.where(np.isfinite(bands["lower"].to_numpy(float)), bands["lower"].to_numpy(float), x.min())
    hi = np.where(np.isfinite(bands["upper"].to_numpy(float)), bands["upper"].to_numpy(float), x.max())
    rate = pd.to_numeric(bands["rate"], errors="coerce").to_numpy(float) * 100
    ax.bar((lo + hi) / 2, np.nan_to_num(rate), width=hi - lo, color="#d9e6f2", edgecolor="#1f4e79", zorder=1,
           label="observed rate")
    _count_labels(ax, (lo + hi) / 2, rate, bands)
    for band in ("ci_low", "ci_high"):
        ax.plot(x, curve[band] * 100, color="#c00000", lw=0.9, ls=":", zorder=3)
    ax.plot(x, curve["probability"] * 100, color="#c00000", lw=1.8, zorder=4, label="spline model (dotted: 95% CI)")
    if window is not None and len(window):
        w = window.iloc[0]
        ax.axhline(float(w["target"]) * 100, ls="--", color="#555", lw=0.8)
        if not pd.isna(w["window_low"]):
            ax.axvspan(float(w["window_low"]), float(w["window_high"]), color="#70ad47", alpha=0.25, zorder=0,
                       label=f"MH ≥ {float(w['target']):.0%}: ≥{float(w['window_low']):.1f} µg/mL")
    ax.set_xlabel("IFX trough level (µg/mL)", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")


def figure_rate_bars(quartiles: pd.DataFrame | None, bands: pd.DataFrame | None, *,
                     curve: pd.DataFrame | None = None, window: pd.DataFrame | None = None) -> bytes:
    """Figure 2: MH rate by trough quartile (A) and by band (B), with counts.

    With ``curve`` (:attr:`analytics.spline.ConcentrationResponse.curve`: ``marker, probability,
    ci_low, ci_high``) panel B is drawn on the trough axis with the modelled probability and its
    CI over the bars, and ``window`` (its ``window_frame``) shades the therapeutic window.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.9), squeeze=False)
    for ax, tab, title in zip(axes[0], (quartiles, bands), ("A  Quartiles of IFX trough level",
                                                          "B  IFX trough level bands (µg/mL)")):
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylim(0, 105)
        ax.set_ylabel("MH rate (%)")
        ax.grid(axis="y", alpha=0.3)
        if tab is None or not len(tab):
            ax.text(0.5, 0.5, "not computed", transform=ax.transAxes, ha="center")
            continue
        if tab is bands and curve is not None and len(curve):
            _curve_over_bands(ax, bands, curve, window)
            continue
        rate = pd.to_numeric(tab["rate"], errors="coerce").to_numpy(float) * 100
        x = np.arange(len(tab))
        ax.bar(x, np.nan_to_num(rate), color="#5b9bd5", edgecolor="#1f4e79")
        ax.set_xticks(x, [str(v) for v in tab["interval"]], fontsize=8)
        _count_labels(ax, x, rate, tab)
    fig.suptitle("Figure 2. Mucosal healing rate by IFX trough level", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def figure_roc_curves(curves: Mapping[str, pd.DataFrame], summaries: Mapping[str, Mapping]) -> bytes:
    """Figure 3: ROC curves (one panel per outcome) with AUC, its CI, p and the Youden point.

    ``curves[outcome]`` has ``sensitivity`` and ``specificity`` columns; ``summaries[outcome]``
    has ``auc, ci_low, ci_high, p_value`` and optionally ``youden_sensitivity``,
    ``youden_specificity``, ``youden_cutoff``.
    """
    keys = list(curves)
    k = max(1, len(keys))
    ncol = min(k, 2)
    nrow = math.ceil(k / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 4.0 * nrow), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(keys):
            ax.axis("off")
            continue
        o = keys[i]
        c = curves[o]
        fpr = np.concatenate([[0.0], 1 - c["specificity"].to_numpy(float), [1.0]])
        tpr = np.concatenate([[0.0], c["sensitivity"].to_numpy(float), [1.0]])
        order = np.lexsort((tpr, fpr))
        ax.plot(fpr[order], tpr[order], color="#1f4e79", lw=1.8, drawstyle="default")
        ax.plot([0, 1], [0, 1], ls="--", color="#999", lw=1)
        s = summaries.get(o, {})
        ys, yp = s.get("youden_sensitivity"), s.get("youden_specificity")
        if ys is not None and yp is not None and not (math.isnan(ys) or math.isnan(yp)):
            ax.plot([1 - yp], [ys], "o", color="#c00000")
            ax.annotate(f"≥{s.get('youden_cutoff', float('nan')):.2f}", (1 - yp, ys), textcoords="offset points",
                        xytext=(6, -12), fontsize=8, color="#c00000")
        txt = (f"AUC = {s.get('auc', float('nan')):.3f}\n95% CI = {s.get('ci_low', float('nan')):.3f}"
               f"–{s.get('ci_high', float('nan')):.3f}\n" + _p_text(s.get("p_value")))
        ax.text(0.97, 0.05, txt, transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "#ccc"})
        ax.set_title(f"{'ABCDEFGH'[i]}  {OUTCOME_LABELS.get(o, o)}", fontsize=9, loc="left")
        ax.set_xlabel("1 – Specificity")
        ax.set_ylabel("Sensitivity")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
    fig.suptitle("Figure 3. ROC curves of the IFX trough level", fontsize=10)
    fig.tight_layout()
    return _png(fig)


__all__ = ["figure_trough_boxplots", "figure_rate_bars", "figure_roc_curves", "OUTCOME_LABELS"]
