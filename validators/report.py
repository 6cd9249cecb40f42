"""Validation reports for data managers: pure renderers (text in, text out; no I/O).

* :func:`render_html` - one self-contained page per file (no external assets, no script at all, a
  Content-Security-Policy that forbids scripts, every value escaped by jinja2's autoescape).
  Problem rows are capped (:data:`MAX_ROWS`, errors first) with counts and a pointer to the CSV.
* :func:`issues_csv` - every issue, spreadsheet formulas neutralised (a cell starting with
  ``= + - @``, tab or CR gets a leading ``'``).
* :func:`report_json` - metadata, counts, per-rule counts and every issue.

The centre's index page is :mod:`validators.report_index`, the scorecard :mod:`validators.scorecard`;
what the pages share (stylesheet, head, status wording) is :mod:`validators.report_page`.

Writing them to disk is :mod:`ingestion.reports`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd

from validators.core import rule_counts
from validators.registry import get_rule
from validators.resubmission import ResubmissionDiff
from validators.results import ISSUE_COLUMNS, empty_issues
from validators.report_page import CSS, ENV, HEAD, STATUS_TEXT, cell_text, href

MAX_ROWS = 500
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")



@dataclass(frozen=True)
class Supersedes:
    """The earlier file a resubmission replaces, and what changed (:func:`resubmission_diff`)."""

    previous_file_id: int | None
    previous_file_name: str | None = None
    previous_received_at: dt.datetime | None = None
    diff: ResubmissionDiff | None = None


@dataclass(frozen=True)
class ReportMeta:
    centre_id: str
    file_name: str
    file_id: int | None = None
    checksum: str = ""
    size: int | None = None
    received_at: dt.datetime | None = None
    status: str = "validated"
    file_kind: str | None = None
    message: str | None = None           # a file-level message (duplicate, unreadable...)
    error_code: str | None = None        # its specific code (ingest.files.error_code: encoding, wrong_file_type...)
    supersedes: Supersedes | None = None
    csv_name: str | None = None          # sibling file names, for links
    json_name: str | None = None
    max_rows: int = MAX_ROWS
    generated_at: dt.datetime | None = None
    dry_run: bool = False                # ``tdm centres --file``: what loading would do, nothing loaded


# ------------------------------------------------------------------------------- helpers
def neutralise(value) -> str:
    """A cell safe to open in a spreadsheet: formulas become text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    s = str(value)
    return "'" + s if s.startswith(FORMULA_PREFIXES) else s


def _neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype("object").where(df.notna(), "")
    for c in out.columns:
        s = out[c].astype("str")
        out[c] = s.where(~s.str.startswith(FORMULA_PREFIXES), "'" + s)
    return out


def _issues(result) -> pd.DataFrame:
    if result is None or not len(result.issues):
        return empty_issues()
    return result.issues


def _counts(result, meta: ReportMeta) -> dict:
    """Line counts that add up: read = loaded without problem + loaded with warnings + not loaded."""
    if result is None:
        return {"rows_read": 0, "rows_loaded": 0, "rows_clean": 0, "rows_warned": 0, "rows_rejected": 0}
    loaded, warned = int(result.rows_loaded), int(result.rows_warned)
    return {"rows_read": int(result.rows_read), "rows_loaded": loaded, "rows_clean": loaded - warned,
            "rows_warned": warned, "rows_rejected": int(result.rows_rejected)}


def _file_error(result, meta: ReportMeta) -> dict | None:
    err = getattr(result, "file_error", None)
    if err is not None:
        return {"code": getattr(err, "code", "file_error"), "message": getattr(err, "message", str(err)),
                "hint": getattr(err, "hint", None) or get_rule(getattr(err, "code", "")).fix}
    if meta.message and meta.status in ("rejected", "duplicate"):
        return {"code": meta.error_code or meta.status, "message": meta.message, "hint": None}
    return None


def _rows_for_page(issues: pd.DataFrame, cap: int) -> tuple[list[dict], dict]:
    """Errors first (by line), then warnings, capped at ``cap`` rows; plus what was left out."""
    sev = {"file_error": 0, "error": 1, "warning": 2}
    ordered = issues.assign(_s=issues["severity"].map(sev).fillna(3)).sort_values(
        ["_s", "source_line"], kind="stable", na_position="first")
    shown = ordered.head(cap)
    info = {"total": len(issues), "shown": len(shown),
            "errors": int((issues["severity"] == "error").sum()),
            "warnings": int((issues["severity"] == "warning").sum())}
    rows = [{c: cell_text(v) for c, v in zip(ISSUE_COLUMNS, rec)} for rec in shown[ISSUE_COLUMNS].itertuples(index=False)]
    return rows, info


_FILE_TEMPLATE = ENV.from_string(HEAD + """
<h1>Validation report: {{ meta.file_name }}</h1>
<nav id="nav"><a href="{{ up }}index.html">All files of {{ meta.centre_id }}</a> ·
<a href="{{ up }}scorecard.html">Data-quality scorecard</a></nav>
<p><span class="badge st-{{ meta.status }}" id="status">{% if meta.dry_run %}Would be: {% endif %}{{ status_text }}</span></p>
{% if meta.dry_run %}<p class="note" id="dry-run"><strong>Dry run: nothing was loaded.</strong> This is what sending
the file now would give, checked against what the warehouse already holds.</p>{% endif %}
<table class="meta">
<tr><td>Centre</td><td>{{ meta.centre_id }}</td></tr>
<tr><td>File</td><td>{{ meta.file_name }}{% if meta.file_id is not none %} (file id {{ meta.file_id }}){% endif %}</td></tr>
{% if meta.file_kind %}<tr><td>Kind</td><td>{{ meta.file_kind }}</td></tr>{% endif %}
<tr><td>SHA-256</td><td><code>{{ meta.checksum }}</code></td></tr>
{% if meta.size is not none %}<tr><td>Size</td><td>{{ "{:,}".format(meta.size) }} bytes</td></tr>{% endif %}
{% if meta.received_at %}<tr><td>Received</td><td>{{ meta.received_at }}</td></tr>{% endif %}
<tr><td>Report generated</td><td>{{ generated_at }}</td></tr>
</table>

{% if file_error %}
<h2>File rejected</h2>
<div class="fileerror" id="file-error"><strong>{{ file_error.message }}</strong>
{% if file_error.hint %}<p>How to fix: {{ file_error.hint }}</p>{% endif %}
<p class="note">code: <code>{{ file_error.code }}</code>. No row of this file was loaded.</p></div>
{% endif %}

<h2>Lines of the file</h2>
<div class="cards" id="counts">
<div class="card"><div class="n" id="rows-read">{{ counts.rows_read }}</div><div class="l">lines read</div></div>
<div class="op">=</div>
<div class="card"><div class="n" id="rows-clean">{{ counts.rows_clean }}</div><div class="l">loaded, no problem</div></div>
<div class="op">+</div>
<div class="card"><div class="n" id="rows-warned">{{ counts.rows_warned }}</div><div class="l">loaded with warnings</div></div>
<div class="op">+</div>
<div class="card"><div class="n" id="rows-rejected">{{ counts.rows_rejected }}</div><div class="l">not loaded (errors)</div></div>
</div>
<p class="note"><span id="rows-loaded">{{ counts.rows_loaded }}</span> line(s) loaded in all. A line is one row of
the file (header = line 1); a line with an error is not loaded at all, with all its records.</p>
{% if suppressed %}<p class="note">{{ suppressed }} warning(s) not shown: confirmed correct by a data manager.</p>{% endif %}

{% if sup %}
<h2>Resubmission</h2>
<p id="supersedes">This file supersedes
{% if sup.previous_file_name %}<strong>{{ sup.previous_file_name }}</strong>{% else %}earlier files{% endif %}
{% if sup.previous_file_id is not none %} (file id {{ sup.previous_file_id }}){% endif %}
{% if sup.previous_received_at %}, received {{ sup.previous_received_at }}{% endif %}.</p>
{% if diff %}
<div class="cards">
<div class="card"><div class="n" id="newly-accepted">{{ diff.newly_accepted }}</div><div class="l">lines earlier rejected, now loaded</div></div>
<div class="card"><div class="n" id="still-rejected">{{ diff.still_rejected }}</div><div class="l">lines still rejected</div></div>
<div class="card"><div class="n">{{ diff.not_resubmitted }}</div><div class="l">earlier rejected lines not in this file</div></div>
<div class="card"><div class="n">{{ diff.newly_rejected }}</div><div class="l">lines newly rejected</div></div>
</div>
{% if diff_rows %}
<table><thead><tr><th>status</th><th>entity</th><th>patient</th><th class="num">earlier line</th><th class="num">line</th>
<th>earlier reasons</th><th>reasons now</th></tr></thead><tbody>
{% for r in diff_rows %}<tr><td>{{ r.status }}</td><td>{{ r.entity }}</td><td>{{ r.patient_id }}</td>
<td class="num">{{ r.previous_source_line }}</td><td class="num">{{ r.source_line }}</td><td>{{ r.previous_reasons }}</td><td>{{ r.reasons }}</td></tr>
{% endfor %}</tbody></table>
{% if diff_more %}<p class="note">{{ diff_more }} more compared rows not shown.</p>{% endif %}
{% endif %}
{% endif %}
{% endif %}

<h2>Rules broken</h2>
{% if rules %}
<table id="rules"><thead><tr><th>rule</th><th>severity</th><th class="num">lines</th><th class="num">findings</th>
<th>what it checks</th><th>how to fix</th></tr></thead><tbody>
{% for r in rules %}<tr><td><code>{{ r.rule }}</code></td><td class="sev-{{ r.severity }}">{{ r.severity }}</td>
<td class="num">{{ r.lines }}</td><td class="num">{{ r.findings }}</td><td>{{ r.description }}</td><td>{{ r.fix }}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p id="no-issues">No problems found.</p>{% endif %}

{% if rows %}
<h2>Problem rows</h2>
<p class="note" id="rows-note">Showing {{ page.shown }} of {{ page.total }} findings ({{ page.errors }} errors,
{{ page.warnings }} warnings), errors first.
{% if page.shown < page.total %}<strong>The full list is in {% if meta.csv_name %}<a href="{{ csv_href }}">{{ meta.csv_name }}</a>{% else %}the CSV export{% endif %}.</strong>{% endif %}
Errors reject the whole line (all its records); warnings are loaded and flagged.</p>
<table id="problems"><thead><tr><th class="num">line</th><th>record</th><th>patient</th><th>column</th><th>cell as written</th>
<th>rule</th><th>severity</th><th>problem</th><th>expected</th><th>how to fix</th></tr></thead><tbody>
{% for r in rows %}<tr><td class="num">{{ r.source_line }}</td><td>{{ r.record or r.entity }}</td><td>{{ r.patient_id }}</td>
<td>{{ r.column_name }}</td><td class="val">{{ r.value }}</td><td><code>{{ r.rule }}</code></td>
<td class="sev-{{ r.severity }}">{{ r.severity }}</td><td>{{ r.message }}</td><td>{{ r.expected }}</td><td>{{ r.fix }}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
<p class="note">Downloads:
{% if meta.csv_name %}<a href="{{ csv_href }}">{{ meta.csv_name }}</a>{% endif %}
{% if meta.json_name %} | <a href="{{ json_href }}">{{ meta.json_name }}</a>{% endif %}
</p>
</body></html>
""")


def render_html(result, meta: ReportMeta) -> str:
    """The data managers' report for one file (self-contained HTML, every value escaped).

    ``result`` may be ``None`` when the file failed before validation (unreadable, duplicate): the
    page then shows ``meta.message``.
    """
    issues = _issues(result)
    fe = _file_error(result, meta)
    page_issues = issues[issues["severity"] != "file_error"] if len(issues) else issues
    rows, page = _rows_for_page(page_issues, meta.max_rows)
    rc = getattr(result, "rule_counts", None)
    if rc is None or not len(rc):
        rc = rule_counts(issues) if len(issues) else None
    rules = [] if rc is None else [{k: cell_text(v) for k, v in r.items()} for r in rc.to_dict("records")]
    sup = meta.supersedes
    diff = getattr(sup, "diff", None) if sup else None
    diff_rows, diff_more = [], 0
    if diff is not None and len(diff.rows):
        d = diff.rows.sort_values(["status", "source_line"], kind="stable")
        diff_rows = [{k: cell_text(v) for k, v in r.items()} for r in d.head(meta.max_rows).to_dict("records")]
        diff_more = max(len(d) - meta.max_rows, 0)
    return _FILE_TEMPLATE.render(
        title=f"Validation report: {meta.file_name}", css=CSS, meta=meta,
        status_text=STATUS_TEXT.get(meta.status, meta.status), counts=_counts(result, meta),
        file_error=fe, rules=rules, rows=rows, page=page, sup=sup, diff=diff, diff_rows=diff_rows,
        diff_more=diff_more, suppressed=getattr(result, "warnings_suppressed", 0),
        generated_at=(meta.generated_at or dt.datetime.now()).replace(microsecond=0),
        csv_href=href(meta.csv_name), json_href=href(meta.json_name), up="../" if meta.dry_run else "",
    )


CSV_COLUMNS = ["file_name", "centre_id", "checksum"] + ISSUE_COLUMNS


def issues_csv(result, meta: ReportMeta) -> str:
    """Every issue as CSV (UTF-8, one header line), with spreadsheet formulas neutralised."""
    issues = _issues(result)
    fe = _file_error(result, meta)
    if fe is not None and not (len(issues) and (issues["severity"] == "file_error").any()):
        extra = pd.DataFrame([{"rule": fe["code"], "severity": "file_error", "message": fe["message"],
                               "fix": fe["hint"]}])
        issues = pd.concat([extra.reindex(columns=ISSUE_COLUMNS), issues], ignore_index=True)
    df = issues.reindex(columns=ISSUE_COLUMNS).copy()
    df.insert(0, "checksum", meta.checksum)
    df.insert(0, "centre_id", meta.centre_id)
    df.insert(0, "file_name", meta.file_name)
    if "source_line" in df:
        df["source_line"] = df["source_line"].astype("Int64")
    return _neutralise_frame(df).to_csv(index=False, lineterminator="\n")


def _jsonable(v):
    if v is None:
        return None
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        return v.isoformat()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return v


def report_json(result, meta: ReportMeta) -> str:
    """Metadata, counts, per-rule counts, the file error, the resubmission diff and every issue."""
    issues = _issues(result)
    rc = getattr(result, "rule_counts", None)
    if rc is None or not len(rc):
        rc = rule_counts(issues) if len(issues) else pd.DataFrame()
    sup = meta.supersedes
    doc = {
        "file": {"centre_id": meta.centre_id, "file_name": meta.file_name, "file_id": meta.file_id,
                 "file_kind": meta.file_kind, "checksum_sha256": meta.checksum, "size_bytes": meta.size,
                 "received_at": _jsonable(meta.received_at), "status": meta.status},
        "counts": {k: v for k, v in _counts(result, meta).items() if k != "rows_clean"},
        "warnings_suppressed": int(getattr(result, "warnings_suppressed", 0) or 0),
        "file_error": _file_error(result, meta),
        "rules": [{k: _jsonable(v) for k, v in r.items()} for r in rc.to_dict("records")],
        "supersedes": None if sup is None else {
            "previous_file_id": sup.previous_file_id, "previous_file_name": sup.previous_file_name,
            "previous_received_at": _jsonable(sup.previous_received_at),
            "diff": None if sup.diff is None else sup.diff.as_dict()},
        "issues": json.loads(issues.reindex(columns=ISSUE_COLUMNS).to_json(orient="records", date_format="iso")),
    }
    return json.dumps(doc, indent=1, ensure_ascii=False)


__all__ = ["ReportMeta", "Supersedes", "MAX_ROWS", "render_html", "issues_csv", "report_json", "neutralise",
           "CSV_COLUMNS"]
