"""Tables 1-4 laid out as the paper lays them out (pure: result frames in, display tables out).

Table 1 "n (%)" / "median [IQR]" / "mean ± SD" per group with the group n in the header, the test
and p; Table 2 univariate and multivariable OR (95% CI) and p side by side; Table 3 the
dichotomised model with clinically rounded labels (exact cut-offs in a note); Table 4 percentages
with their CIs in the cell.  The supplementary tables are in :mod:`analytics.render.supplements`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analytics.render.formats import (MISSING, clinical_round, format_ci, format_count, format_cutoff,
                                      format_fixed, format_p, format_pct, format_sig, is_missing)
from schema.labels import display_unit, label, short_label

__all__ = ["DisplayTable", "table1_layout", "table2_layout", "table3_layout", "table4_layout", "dichotomy_label",
           "suppression_marks", "suppression_legend", "exact"]


@dataclass(frozen=True)
class DisplayTable:
    """Header, body rows (text cells), a CSS class per row, footnotes; ``wide`` prints landscape."""

    columns: list[str]
    rows: list[list[str]]
    row_classes: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    wide: bool = False
    #: Per column: True for numbers (kept on one line, right-aligned).
    numeric: list[bool] = field(default_factory=list)


def suppression_marks(k: int) -> dict[str, str]:
    """What a masked cell shows, by reason (:data:`analytics.suppression.REASONS`)."""
    return {"suppressed": "‡", "derived": "†"}


def suppression_legend(k: int, used: set[str]) -> list[str]:
    text = {"suppressed": f"‡: count not shown (small-cell suppression, k = {k}): the centre has a count below "
                          f"{k}; its counts that would reveal it, and those of a second centre where the study-wide "
                          "totals would, are masked with it. The mark does not say which of them is the small one.",
            "derived": "†: computed from a masked count, so masked too."}
    return [text[r] for r in ("suppressed", "derived") if r in used]


_TESTS = {"wilcoxon": "Wilcoxon", "t-test (pooled)": "t-test", "chi-square": "χ²", "fisher": "Fisher"}


def exact(v: float) -> str:
    """An observed value written exactly enough to find it in the data (6 significant digits)."""
    return f"{float(v):.6g}"


def _text(v) -> str:
    return "" if is_missing(v) else str(v)


def _statistic(test: str, v) -> str:
    if is_missing(v) or test in ("fisher", ""):
        return ""
    if test == "wilcoxon":
        return f"W = {format_cutoff(v, 1)}"
    if test == "chi-square":
        return f"χ² = {format_fixed(v, 2)}"
    return f"t = {format_fixed(v, 2)}"


def _group_header(col: str, by: str) -> tuple[str, str]:
    value = col.split("=", 1)[1]
    name = short_label(by)
    short = "MH" if by == "mucosal_healing" else name
    return value, (f"No {short}" if value == "False" else short if value == "True" else f"{name} = {value}")


def table1_layout(t: pd.DataFrame) -> DisplayTable:
    """Table 1: the first row (``variable == "n"``) carries the group sizes shown in the header."""
    gcols = [c for c in t.columns if "=" in c]
    by = gcols[0].split("=", 1)[0] if gcols else ""
    head = t[t["variable"] == "n"]
    sizes = {c: head.iloc[0][c] if len(head) else "" for c in ["overall", *gcols]}
    columns = ["Characteristic", f"All (n = {sizes['overall']})"]
    columns += [f"{_group_header(c, by)[1]} (n = {sizes[c]})" for c in gcols]
    columns += ["Test", "Statistic", "p"]
    rows, classes = [], []
    for r in t[t["variable"] != "n"].to_dict("records"):
        is_level = bool(r["level"])
        text = r["level"] if is_level else f"{r['label']}, {r['summary']}"
        values = [_text(r[c]) or (MISSING if not is_level and r["kind"] == "continuous" else "")
                  for c in ["overall", *gcols]]
        test = _text(r["test"])
        rows.append([text, *values, _TESTS.get(test, test), _statistic(test, r["statistic"]), format_p(r["p_value"])])
        classes.append("level" if is_level else "")
    notes = ["Percentages exclude missing values; n (%) of patients with the characteristic.",
             "IQR: SAS quartile definition 5. χ²: Pearson without continuity correction; Fisher: exact test when "
             "expected counts are small; Wilcoxon: rank-sum, normal approximation with continuity correction."]
    return DisplayTable(columns, rows, classes, notes, numeric=[False] + [True] * (len(columns) - 4) + [False, True, True])


FIRTH_MARK = "F"
FIRTH_NOTE = ("F: Firth's penalised likelihood (the maximum-likelihood fit separates); profile penalised-likelihood "
              "95% CI and penalised likelihood-ratio p.")


def _or_cell(r) -> str:
    return format_ci(format_sig(r["odds_ratio"], 3), format_sig(r["ci_low"], 3), format_sig(r["ci_high"], 3))


def _adjusted(r) -> str:
    return f"{_or_cell(r)} {FIRTH_MARK}" if r.get("method") == "firth" else _or_cell(r)


def covariate_label(name: str) -> str:
    return label(name) if display_unit(name) else f"{label(name)} (yes vs no)"


def table2_layout(uni: pd.DataFrame, model: pd.DataFrame | None) -> DisplayTable:
    """Table 2: univariate OR (95% CI), p | adjusted OR (95% CI), p, one row per candidate."""
    adj = {} if model is None else {r["column"]: r for r in model.to_dict("records")}
    rows, notes = [], []
    firth_used = False
    for r in uni.to_dict("records"):
        if r.get("method") == "firth":
            uni_or, firth_used = f"{_or_cell(r)} {FIRTH_MARK}", True
        elif r["status"] == "ok":
            uni_or = _or_cell(r)
        else:
            uni_or = "not estimable" + (f" ({r['status']})" if r["status"] != "not_estimable" else "")
        a = adj.get(r["column"])
        rows.append([covariate_label(r["term"]) if r["column"] == r["term"] else f"{label(r['term'])}: {r['column']}",
                     format_count(r["n"]), uni_or,
                     format_p(r["p_value"]) if r["status"] == "ok" or r.get("method") == "firth" else "",
                     _adjusted(a) if a is not None else "", format_p(a["p_value"]) if a is not None else ""])
        firth_used |= a is not None and a.get("method") == "firth"
    if firth_used:
        notes.append(FIRTH_NOTE)
    if model is not None and len(model) and "n" not in model.columns:
        notes.append("Adjusted ORs from the multivariable model after stepwise selection (blank: not selected).")
    notes.append("OR: odds ratio per unit (continuous) or yes vs no; 95% Wald CI; Wald chi-square p.")
    return DisplayTable(["Variable", "n", "Univariate OR (95% CI)", "p", "Adjusted OR (95% CI)", "p"], rows,
                        [""] * len(rows), notes, numeric=[False, True, True, True, True, True])


def dichotomy_label(name: str, cutoff: float) -> str:
    """``"IFX trough level ≥4.2 µg/mL"``: the clinically rounded cut-off in words (exact value in a note)."""
    unit = display_unit(name)
    return f"{short_label(name)} ≥{clinical_round(cutoff, unit)}" + (f" {unit}" if unit else "")


def table3_layout(t3: pd.DataFrame, cutoffs: pd.DataFrame | None) -> DisplayTable:
    """Table 3: OR (95% CI) and p of the final model; exact cut-offs in the notes."""
    cuts = {} if cutoffs is None else dict(zip(cutoffs["term"], cutoffs["cutoff"]))
    rows, notes = [], []
    for r in t3.to_dict("records"):
        term = r["term"]
        name = term.split(" >= ")[0]
        if name in cuts:
            text = dichotomy_label(name, cuts[name])
            unit = display_unit(name)
            notes.append(f"{text}: the cut-off is the observed value {exact(cuts[name])}{' ' + unit if unit else ''}; "
                         f"the group is {short_label(name)} ≥ {exact(cuts[name])}.")
        else:
            text = covariate_label(name)
        rows.append([text, _adjusted(r), format_p(r["p_value"])])
    if (t3.get("method") == "firth").any() if "method" in t3.columns else False:
        notes.append(FIRTH_NOTE)
    notes.append("OR with 95% CI (Wald; Firth rows: profile penalised likelihood); continuous variables "
                 "dichotomised at their ROC (Youden) cut-off.")
    return DisplayTable(["Variable", "OR (95% CI)", "p"], rows, [""] * len(rows), notes, numeric=[False, True, True])


_SOURCES = {"fixed": "", "youden": "a", "target_specificity": "b", "target_sensitivity": "c"}


def _pct_ci(r, name: str) -> str:
    return format_ci(format_pct(r[name]), format_pct(r[f"{name}_ci_low"]), format_pct(r[f"{name}_ci_high"]))


def table4_layout(t4: pd.DataFrame, *, target_specificity: float | None = None) -> DisplayTable:
    """Table 4: cut-off (≥, at the assay's resolution), then % (95% CI) of sens, spec, PPV, NPV."""
    rows = []
    used = set()
    for r in t4.to_dict("records"):
        marks = "".join(_SOURCES.get(s, "") for s in str(r["source"]).split("+"))
        used.update(s for s in str(r["source"]).split("+") if _SOURCES.get(s))
        rows.append([f"≥{format_cutoff(r['cutoff'])}" + (f" {marks}" if marks else ""),
                     *[_pct_ci(r, m) for m in ("sensitivity", "specificity", "ppv", "npv")],
                     f"{format_count(r['tp'])}/{format_count(r['fp'])}/{format_count(r['tn'])}/{format_count(r['fn'])}"])
    notes = []
    if "youden" in used:
        notes.append("a: Youden-optimal cut-off (an observed trough).")
    if "target_specificity" in used:
        t = f" ≥ {100 * target_specificity:g}%" if target_specificity else ""
        notes.append(f"b: lowest cut-off with specificity{t}.")
    notes.append("Percentages with Clopper-Pearson 95% CIs; TP/FP/TN/FN: patients by test (trough ≥ cut-off) and "
                 "mucosal healing.")
    return DisplayTable(["IFX trough cut-off, µg/mL", "Sensitivity, % (95% CI)", "Specificity, % (95% CI)",
                         "PPV, % (95% CI)", "NPV, % (95% CI)", "TP/FP/TN/FN"], rows, [""] * len(rows), notes,
                        numeric=[False] + [True] * 5)


