"""The supplementary tables laid out for reading: ROC summary, trough by outcome, centre tables, the rest.

Estimates and their CIs share a cell, numbers are formatted by what they are
(:mod:`analytics.render.formats`), variable names become dictionary labels, and a masked cell
(the ``suppressed`` column of :mod:`analytics.suppression`) shows ``<k``, ``‡`` or ``†`` with a legend.
"""

from __future__ import annotations

import pandas as pd

from analytics.render.formats import (MISSING, format_ci, format_count, format_cutoff, format_fixed, format_p,
                                      format_pct, format_value, is_missing)
from analytics.render.layouts import DisplayTable, suppression_legend, suppression_marks
from analytics.suppression import parse_suppressed
from schema.labels import is_known, label

__all__ = ["generic_layout", "roc_summary_layout", "trough_layout", "roc_by_centre_layout", "loco_layout",
           "optimism_layout", "meta_layout"]


class _Marks:
    """Cell text with suppression marks; remembers which marks were used (for the legend)."""

    def __init__(self, k: int):
        self.k, self.marks, self.used = k, suppression_marks(k), set()

    def row(self, rec: dict) -> dict[str, str]:
        v = rec.get("suppressed")
        return parse_suppressed(v) if isinstance(v, str) else {}

    def cell(self, rec: dict, masked: dict, col: str, fmt=None) -> str:
        if col in masked:
            self.used.add(masked[col])
            return self.marks[masked[col]]
        v = rec.get(col)
        return (fmt or (lambda x: format_value(col, x)))(v)

    def ci(self, rec: dict, masked: dict, col: str, fmt, lo: str | None = None, hi: str | None = None) -> str:
        lo, hi = lo or f"{col}_ci_low", hi or f"{col}_ci_high"
        est = self.cell(rec, masked, col, fmt)
        if col in masked or lo in masked or hi in masked:
            return est
        return format_ci(est, fmt(rec.get(lo)), fmt(rec.get(hi)))

    def counts(self, rec: dict, masked: dict, prefix: str = "") -> str:
        return "/".join(self.cell(rec, masked, prefix + x, format_count) for x in ("tp", "fp", "tn", "fn"))

    def legend(self) -> list[str]:
        return suppression_legend(self.k, self.used)


def _name(v) -> str:
    return label(v) if isinstance(v, str) and is_known(v) else ("" if is_missing(v) else str(v))


def roc_summary_layout(t: pd.DataFrame) -> DisplayTable:
    """One row per outcome: n, AUC (95% CI), p, and each cut-off with sens/spec/PPV/NPV in %."""
    rows = []
    auc = lambda v: format_fixed(v, 3)  # noqa: E731
    for r in t.to_dict("records"):
        row = [_name(r["outcome"]), f"{format_count(r['n_positive'])}/{format_count(r['n_negative'])}",
               format_ci(auc(r["auc"]), auc(r["ci_low"]), auc(r["ci_high"])), format_p(r["p_value"])]
        for m in ("youden", "target_specificity"):
            row += [f"≥{format_cutoff(r[f'{m}_cutoff'])}" if not is_missing(r[f"{m}_cutoff"]) else MISSING,
                    " / ".join(format_pct(r[f"{m}_{x}"]) for x in ("sensitivity", "specificity", "ppv", "npv"))]
        rows.append(row)
    cols = ["Outcome", "n with/without", "AUC (95% CI)", "p", "Youden cut-off, µg/mL", "Sens / Spec / PPV / NPV, %",
            "Target-specificity cut-off, µg/mL", "Sens / Spec / PPV / NPV, %"]
    return DisplayTable(cols, rows, [""] * len(rows),
                        ["AUC with DeLong 95% CI; p: H0 AUC = 0.5. Sens/Spec/PPV/NPV of trough ≥ cut-off."],
                        numeric=[False] + [True] * 7)


def trough_layout(t: pd.DataFrame) -> DisplayTable:
    """Trough by outcome: n and median [IQR] without / with the outcome, W and p (Figure 1)."""
    def med(r, side):
        return (f"{format_fixed(r[f'median_{side}'], 2)} [{format_fixed(r[f'q1_{side}'], 2)}–"
                f"{format_fixed(r[f'q3_{side}'], 2)}]")

    rows = [[_name(r["outcome"]), format_count(r["n_false"]), med(r, "false"), format_count(r["n_true"]),
             med(r, "true"), format_cutoff(r["statistic"], 1), format_p(r["p_value"])] for r in t.to_dict("records")]
    cols = ["Outcome", "n without", "Trough without, median [IQR], µg/mL", "n with",
            "Trough with, median [IQR], µg/mL", "W", "p"]
    return DisplayTable(cols, rows, [""] * len(rows), [], numeric=[False] + [True] * 6)


def roc_by_centre_layout(t: pd.DataFrame, *, k: int = 5) -> DisplayTable:
    """Per centre: n with/without, AUC (95% CI), p, and per cut-off method: cut-off, TP/FP/TN/FN, sens/spec."""
    m = _Marks(k)
    rows = []
    for r in t.to_dict("records"):
        s = m.row(r)
        row = [_name(r["centre"]), m.cell(r, s, "n"),
               f"{m.cell(r, s, 'n_positive')}/{m.cell(r, s, 'n_negative')}",
               m.ci(r, s, "auc", lambda v: format_fixed(v, 3)), m.cell(r, s, "p_value")]
        for p in ("youden_", "target_specificity_"):
            row += [m.cell(r, s, p + "cutoff"), m.counts(r, s, p),
                    f"{m.cell(r, s, p + 'sensitivity')} / {m.cell(r, s, p + 'specificity')}"]
        row.append(_name(r.get("note")))
        rows.append(row)
    cols = ["Centre", "n", "n with/without", "AUC (95% CI)", "p", "Youden cut-off", "TP/FP/TN/FN", "Sens / Spec, %",
            "Target-spec. cut-off", "TP/FP/TN/FN", "Sens / Spec, %", "Note"]
    return DisplayTable(cols, rows, [""] * len(rows), m.legend(), wide=True, numeric=[False] + [True] * 10 + [False])


def loco_layout(t: pd.DataFrame, *, k: int = 5) -> DisplayTable:
    """Per held-out centre: cut-offs (all, without the centre, shift, own), held-out accuracy, own accuracy."""
    m = _Marks(k)
    pct = format_pct
    rows = []
    for r in t.to_dict("records"):
        s = m.row(r)
        rows.append([_name(r["centre"]), m.cell(r, s, "n"), f"{m.cell(r, s, 'n_positive')}/{m.cell(r, s, 'n_negative')}",
                     m.cell(r, s, "cutoff_all"), m.cell(r, s, "cutoff_without"), m.cell(r, s, "cutoff_shift"),
                     m.counts(r, s), *[m.ci(r, s, x, pct) for x in ("sensitivity", "specificity", "ppv", "npv")],
                     m.cell(r, s, "cutoff_own"), m.counts(r, s, "own_"),
                     f"{m.cell(r, s, 'own_sensitivity')} / {m.cell(r, s, 'own_specificity')}"])
    cols = ["Held-out centre", "n", "n with/without", "Cut-off, all centres", "Cut-off without it", "Shift",
            "TP/FP/TN/FN at cut-off without it", "Sensitivity, % (95% CI)", "Specificity, % (95% CI)",
            "PPV, % (95% CI)", "NPV, % (95% CI)", "Own cut-off", "Own TP/FP/TN/FN", "Own Sens / Spec, %"]
    notes = ["Cut-offs in µg/mL (Youden); accuracy in the held-out centre of the cut-off derived without it, "
             "Clopper-Pearson 95% CIs.", *m.legend()]
    return DisplayTable(cols, rows, [""] * len(rows), notes, wide=True, numeric=[False] + [True] * 13)


def optimism_layout(t: pd.DataFrame) -> DisplayTable:
    """Apparent, out-of-bag (95% interval), optimism and corrected sensitivity/specificity per cut-off method."""
    rows = []
    for r in t.to_dict("records"):
        rows.append([_name(r["method"]).replace("_", " "), f"≥{format_cutoff(r['cutoff'])}", r["quantity"].capitalize(),
                     format_pct(r["apparent"]),
                     format_ci(format_pct(r["oob_mean"]), format_pct(r["ci_low"]), format_pct(r["ci_high"])),
                     format_pct(r["optimism"]), format_pct(r["corrected"]),
                     f"{format_count(r['n_resamples'])} ({format_count(r['n_failed'])} failed)"])
    cols = ["Cut-off method", "Cut-off, µg/mL", "Quantity", "Apparent, %", "Out-of-bag mean, % (95% interval)",
            "Optimism, %", "Optimism-corrected, %", "Resamples"]
    return DisplayTable(cols, rows, [""] * len(rows), [], numeric=[False, True, False] + [True] * 5)


def meta_layout(t: pd.DataFrame) -> DisplayTable:
    """Pooled centre AUC (95% CI), p, tau², I², Q (df, p) and the prediction interval, per estimator."""
    f3 = lambda v: format_fixed(v, 3)  # noqa: E731
    rows = [[r["method"], format_count(r["k"]), format_ci(f3(r["estimate"]), f3(r["ci_low"]), f3(r["ci_high"])),
             format_p(r["p_value"]), format_fixed(r["tau2"], 4), format_fixed(r["i2_percent"], 1),
             f"{format_fixed(r['q'], 2)} ({format_count(r['q_df'])}), p {format_p(r['q_p_value'])}",
             f"{f3(r['pi_low'])}–{f3(r['pi_high'])}"] for r in t.to_dict("records")]
    cols = ["Estimator", "Centres", "Pooled AUC (95% CI)", "p (AUC = 0.5)", "τ²", "I², %", "Q (df), p",
            "95% prediction interval"]
    return DisplayTable(cols, rows, [""] * len(rows), [], numeric=[False] + [True] * 7)


_HEADERS = {"n": "n", "n_positive": "n with outcome", "n_negative": "n without", "auc": "AUC", "p_value": "p",
            "odds_ratio": "OR", "rate": "Rate, %", "centre": "Centre", "outcome": "Outcome", "method": "Method",
            "term": "Term", "estimate": "Estimate", "r": "r", "tp": "TP", "fp": "FP", "tn": "TN", "fn": "FN",
            "ppv": "PPV, %", "npv": "NPV, %", "sensitivity": "Sensitivity, %", "specificity": "Specificity, %",
            "cutoff": "Cut-off", "se": "SE", "df": "df", "z": "z", "beta": "β", "interval": "Interval",
            "target_specificity": "Target specificity, %", "wald_chi2": "Wald χ²", "statistic": "Statistic",
            "weight_percent": "Weight, %", "variance": "Variance", "included": "Pooled", "chi2": "χ²",
            "pl_chi2": "Penalised LR χ²", "status": "Status", "note": "Note"}
#: Columns the report leaves to the CSV: bookkeeping, not results.
_HIDDEN = {"suppressed", "conf_level", "ci_method", "lr_note", "x", "y", "rule", "kind", "seed", "marker",
           "n_dropped", "youden_n_ties", "cutoff_se", "sensitivity_se", "specificity_se", "auc_se"}
_CI_ANCHORS = ("auc", "odds_ratio", "rate", "estimate", "r")
_TEXT_LABELS = ("term", "column", "outcome", "variable")


def _header(col: str, ci: bool) -> str:
    if col in _HEADERS:
        h = _HEADERS[col]
    else:
        head = next((col[len(p) + 1:] for p in ("youden", "target_specificity", "previous", "own")
                     if col.startswith(p + "_") and col[len(p) + 1:] in _HEADERS), None)
        if head is not None:
            h = f"{col[: -len(head) - 1].replace('_', ' ').capitalize()} {_HEADERS[head].lower()}"
        else:
            h = col.replace("_", " ").capitalize()
    return f"{h} (95% CI)" if ci else h


def generic_layout(df: pd.DataFrame, *, k: int = 5) -> DisplayTable:
    """Any result frame: estimate and CI in one cell, numbers by kind, labels, masked cells marked.

    ``X`` with ``X_ci_low``/``X_ci_high`` becomes one "X (95% CI)" cell; bare ``ci_low``/``ci_high``
    attach to the first of AUC, OR, rate, estimate present.  Columns missing in every row, and a
    ``column`` equal to ``term``, are left out (they stay in the CSV).
    """
    cols = [str(c) for c in df.columns]
    pairs = {c: (f"{c}_ci_low", f"{c}_ci_high") for c in cols if f"{c}_ci_low" in cols and f"{c}_ci_high" in cols}
    if "ci_low" in cols and "ci_high" in cols:
        anchor = next((a for a in _CI_ANCHORS if a in cols), None)
        if anchor:
            pairs[anchor] = ("ci_low", "ci_high")
    absorbed = {x for lo_hi in pairs.values() for x in lo_hi}
    empty = {c for c in cols if df[c].map(is_missing).all()} if len(df) else set()
    same = {"column"} if {"term", "column"} <= set(cols) and (df["term"] == df["column"]).all() else set()
    shown = [c for c in cols if c not in absorbed | _HIDDEN | empty | same]
    m = _Marks(k)
    rows = []
    for rec in df.to_dict("records"):
        s = m.row(rec)
        cells = []
        for c in shown:
            fmt = _name if c in _TEXT_LABELS or isinstance(rec[c], str) else (lambda v, c=c: format_value(c, v))
            cells.append(m.ci(rec, s, c, fmt, *pairs[c]) if c in pairs else m.cell(rec, s, c, fmt))
        rows.append(cells)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in shown]
    return DisplayTable([_header(c, c in pairs) for c in shown], rows, [""] * len(rows), m.legend(),
                        wide=len(shown) > 12, numeric=numeric)
