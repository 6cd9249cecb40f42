"""Per-centre data-quality scorecard (pure): completeness, rule failure rates, files over time, queries.

:func:`build_scorecard` takes what the warehouse holds for one centre (the current core rows per
entity, the ``ingest.files`` rows, the ``ingest.issues`` rows of those files and its queries) and
returns a frozen :class:`Scorecard`; :func:`render_scorecard_html` renders it (self-contained,
escaped, no script).  The CLI (``tdm scorecard``) does the reading and writing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import jinja2
import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY
from validators.registry import get_rule
from validators.report_page import CSS

ENTITY_ORDER = ("patient", "assessment", "elisa", "lab")


@dataclass(frozen=True)
class Scorecard:
    centre_id: str
    generated_at: dt.datetime
    completeness: pd.DataFrame     # entity, variable, required, rows, filled, pct_filled
    rule_rates: pd.DataFrame       # rule, severity, lines, lines_read, pct_lines, description
    files_over_time: pd.DataFrame  # month, files, loaded, loaded_with_rejections, rejected, duplicate, rows_read, rows_rejected
    totals: dict                   # files, rows_read, rows_loaded, rows_rejected, confirmed, patients
    queries: dict                  # open, answered, closed, oldest_open_days, median_open_days, open_by_age


def completeness(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of filled values per dictionary variable (lab: per analyte, over patients with any lab)."""
    out = []
    for ent in ENTITY_ORDER:
        df = tables.get(ent)
        if df is None:
            continue
        n = len(df)
        if ent == "lab":
            pats = df["patient_id"].nunique() if n else 0
            have = df.dropna(subset=["value"]).groupby("analyte")["patient_id"].nunique() if n else pd.Series(dtype=int)
            for a in ANALYTES:
                filled = int(have.get(a, 0))
                out.append({"entity": "lab", "variable": a, "required": False, "rows": pats, "filled": filled})
            continue
        filled = df.notna().sum() if n else pd.Series(dtype=int)
        for v in BY_ENTITY[ent]:
            if v.name in ("centre_id",):
                continue
            out.append({"entity": ent, "variable": v.name, "required": v.required, "rows": n,
                        "filled": int(filled.get(v.name, 0)) if n else 0})
    df = pd.DataFrame(out, columns=["entity", "variable", "required", "rows", "filled"])
    df["pct_filled"] = (100.0 * df["filled"] / df["rows"].where(df["rows"] > 0)).round(1)
    return df


def rule_rates(issues: pd.DataFrame, files: pd.DataFrame) -> pd.DataFrame:
    """Per rule: lines that broke it and their share of all lines read (file errors count files)."""
    lines_read = int(pd.to_numeric(files.get("rows_read", pd.Series(dtype=float)), errors="coerce").fillna(0).sum())
    cols = ["rule", "severity", "lines", "lines_read", "pct_lines", "description"]
    if issues is None or not len(issues):
        return pd.DataFrame(columns=cols)
    iss = issues.copy()
    if "file_id" not in iss:
        iss["file_id"] = 0
    g = iss.drop_duplicates(["file_id", "source_line", "rule"]).groupby(["rule", "severity"]).size().rename(
        "lines").reset_index()
    g["lines_read"] = lines_read
    g["pct_lines"] = (100.0 * g["lines"] / max(lines_read, 1)).round(2)
    g["description"] = g["rule"].map(lambda r: get_rule(r).description)
    return g.sort_values(["pct_lines", "rule"], ascending=[False, True])[cols].reset_index(drop=True)


def files_over_time(files: pd.DataFrame) -> pd.DataFrame:
    cols = ["month", "files", "loaded", "loaded_with_rejections", "rejected", "duplicate", "rows_read", "rows_rejected"]
    if files is None or not len(files):
        return pd.DataFrame(columns=cols)
    f = files.copy()
    f["month"] = pd.to_datetime(f["received_at"]).dt.strftime("%Y-%m")
    counts = pd.crosstab(f["month"], f["status"])
    out = pd.DataFrame(index=counts.index)
    out["files"] = counts.sum(axis=1)
    for s in ("loaded", "loaded_with_rejections", "rejected", "duplicate"):
        out[s] = counts[s] if s in counts else 0
    for c in ("rows_read", "rows_rejected"):
        out[c] = pd.to_numeric(f[c], errors="coerce").fillna(0).groupby(f["month"]).sum().astype(int)
    return out.reset_index().sort_values("month", ascending=False)[cols].reset_index(drop=True)


AGE_BANDS = ((0, 7, "under a week"), (7, 30, "1 to 4 weeks"), (30, float("inf"), "over 4 weeks"))


def query_counts(queries: pd.DataFrame | None, now: dt.datetime) -> dict:
    """Open / answered / closed queries and how long the open ones have waited (days since opened)."""
    q = queries if queries is not None else pd.DataFrame(columns=["state", "opened_at"])
    n = {s: int((q["state"] == s).sum()) for s in ("open", "answered", "closed")}
    age = (pd.Timestamp(now) - pd.to_datetime(q.loc[q["state"] == "open", "opened_at"])).dt.total_seconds() / 86400
    n["oldest_open_days"] = None if not len(age) else round(float(age.max()), 1)
    n["median_open_days"] = None if not len(age) else round(float(age.median()), 1)
    n["open_by_age"] = [(label, int(((age >= lo) & (age < hi)).sum())) for lo, hi, label in AGE_BANDS]
    return n


def build_scorecard(centre_id: str, tables: dict[str, pd.DataFrame], files: pd.DataFrame, issues: pd.DataFrame,
                    queries: pd.DataFrame | None = None, now: dt.datetime | None = None) -> Scorecard:
    """``queries``: the centre's ``ingest.queries`` rows (at least ``state, opened_at, answer``)."""
    num = lambda c: int(pd.to_numeric(files[c], errors="coerce").fillna(0).sum()) if c in files else 0  # noqa: E731
    totals = {"files": int(len(files)), "rows_read": num("rows_read"), "rows_loaded": num("rows_loaded"),
              "rows_rejected": num("rows_rejected"),
              "confirmed": 0 if queries is None else int((queries["answer"] == "confirmed").sum()),
              "patients": int(len(tables.get("patient", []))) if tables.get("patient") is not None else 0}
    now = (now or dt.datetime.now()).replace(microsecond=0)
    return Scorecard(centre_id=centre_id, generated_at=now,
                     completeness=completeness(tables), rule_rates=rule_rates(issues, files),
                     files_over_time=files_over_time(files), totals=totals, queries=query_counts(queries, now))


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Data-quality scorecard: {{ c.centre_id }}</title><style>{{ css }}
.bar{background:#e8ebf2;height:.7rem;width:10rem;display:inline-block;vertical-align:middle}
.bar span{display:block;height:100%;background:#3d7a4f}.bar.low span{background:#b3541e}</style></head><body>
<h1>Data-quality scorecard: {{ c.centre_id }}</h1>
<nav id="nav"><a href="index.html">All files of {{ c.centre_id }}</a></nav>
<p class="note">Generated {{ c.generated_at }}. {{ c.totals.files }} file(s), {{ c.totals.rows_read }} lines read,
{{ c.totals.rows_loaded }} loaded, {{ c.totals.rows_rejected }} rejected; {{ c.totals.patients }} current patients;
{{ c.totals.confirmed }} value(s) confirmed as true by data managers.</p>
<h2>Queries</h2>
<div class="cards" id="queries">
<div class="card"><div class="n" id="queries-open">{{ c.queries.open }}</div><div class="l">open: waiting for the centre</div></div>
<div class="card"><div class="n" id="queries-answered">{{ c.queries.answered }}</div><div class="l">answered: waiting for the coordinator</div></div>
<div class="card"><div class="n" id="queries-closed">{{ c.queries.closed }}</div><div class="l">closed</div></div>
</div>
{% if c.queries.open %}<p class="note" id="queries-age">Open queries have waited {{ c.queries.median_open_days }} days
(median), the oldest {{ c.queries.oldest_open_days }} days:
{% for label, k in c.queries.open_by_age %}{{ k }} {{ label }}{{ "; " if not loop.last else "." }}{% endfor %}</p>{% endif %}
<h2>Files accepted and rejected over time</h2>
<table id="files"><thead><tr><th>month</th><th class="num">files</th><th class="num">loaded</th><th class="num">with rejections</th>
<th class="num">rejected</th><th class="num">duplicate</th><th class="num">lines read</th><th class="num">lines rejected</th></tr></thead><tbody>
{% for r in months %}<tr><td>{{ r.month }}</td><td class="num">{{ r.files }}</td><td class="num">{{ r.loaded }}</td>
<td class="num">{{ r.loaded_with_rejections }}</td><td class="num">{{ r.rejected }}</td><td class="num">{{ r.duplicate }}</td>
<td class="num">{{ r.rows_read }}</td><td class="num">{{ r.rows_rejected }}</td></tr>{% endfor %}
</tbody></table>
<h2>Rule failure rates</h2>
{% if rules %}<table id="rules"><thead><tr><th>rule</th><th>severity</th><th class="num">lines</th><th class="num">% of lines read</th><th>what it checks</th></tr></thead><tbody>
{% for r in rules %}<tr><td><code>{{ r.rule }}</code></td><td class="sev-{{ r.severity }}">{{ r.severity }}</td>
<td class="num">{{ r.lines }}</td><td class="num">{{ r.pct_lines }}</td><td>{{ r.description }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>No rule failures recorded.</p>{% endif %}
<h2>Completeness per variable (current rows)</h2>
<table id="completeness"><thead><tr><th>record</th><th>variable</th><th>required</th><th class="num">rows</th><th class="num">filled</th><th>% filled</th></tr></thead><tbody>
{% for r in comp %}<tr><td>{{ r.entity }}</td><td>{{ r.variable }}</td><td>{{ "yes" if r.required else "" }}</td>
<td class="num">{{ r.rows }}</td><td class="num">{{ r.filled }}</td>
<td>{% if r.pct is not none %}<span class="bar{{ ' low' if r.pct < 90 }}"><span style="width:{{ r.pct|int }}%"></span></span> {{ r.pct }}{% endif %}</td></tr>{% endfor %}
</tbody></table>
</body></html>
""")


def render_scorecard_html(card: Scorecard) -> str:
    comp = []
    for r in card.completeness.to_dict("records"):
        pct = r["pct_filled"]
        r["pct"] = None if pd.isna(pct) else float(max(0.0, min(100.0, pct)))
        comp.append(r)
    return _TEMPLATE.render(c=card, css=CSS, months=card.files_over_time.to_dict("records"),
                            rules=card.rule_rates.to_dict("records"), comp=comp)


__all__ = ["Scorecard", "build_scorecard", "render_scorecard_html", "completeness", "rule_rates", "files_over_time"]
