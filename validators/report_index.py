"""A centre's index page: every file received, newest first, with its status and report link."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from validators.report_page import CSS, ENV, HEAD, STATUS_TEXT, cell_text, href

INDEX_COLUMNS = ["file_id", "file_name", "file_kind", "received_at", "status", "rows_read", "rows_loaded",
                 "rows_warned", "rows_rejected", "message", "report_path", "superseded_by"]

_INDEX_TEMPLATE = ENV.from_string(HEAD + """
<h1>Files received: {{ centre }}</h1>
<nav id="nav"><a href="scorecard.html">Data-quality scorecard</a></nav>
{% if notice %}<p id="held" class="badge st-rejected">{{ notice }}</p>{% endif %}
<p class="note">{{ n }} file(s), newest first. Generated {{ generated_at }}.</p>
<table id="files"><thead><tr><th>received</th><th>file</th><th>kind</th><th>status</th><th class="num">read</th>
<th class="num">loaded</th><th class="num">warned</th><th class="num">rejected</th><th>message</th><th>report</th></tr></thead><tbody>
{% for f in files %}<tr><td>{{ f.received_at }}</td><td>{{ f.file_name }}{% if f.file_id %} <span class="note">#{{ f.file_id }}</span>{% endif %}
{% if f.superseded_by %}<br><span class="note">superseded by {{ f.superseded_by }}</span>{% endif %}</td>
<td>{{ f.file_kind }}</td><td><span class="badge st-{{ f.status }}">{{ f.status_text }}</span></td>
<td class="num">{{ f.rows_read }}</td><td class="num">{{ f.rows_loaded }}</td><td class="num">{{ f.rows_warned }}</td>
<td class="num">{{ f.rows_rejected }}</td><td>{{ f.message }}</td>
<td>{% if f.href %}<a href="{{ f.href }}">report</a>{% endif %}</td></tr>
{% endfor %}</tbody></table>
</body></html>
""")


def render_index(files: pd.DataFrame, centre_id: str | None = None, notice: str | None = None) -> str:
    """A centre's index page: every file received with its status, newest first; ``notice`` (e.g.
    "its profile is invalid, files wait") is shown above the table.

    ``files`` has (a subset of) :data:`INDEX_COLUMNS` (the ``ingest.files`` columns); report links are
    made relative (the file name only) so the folder can be moved or zipped.
    """
    df = files.reindex(columns=INDEX_COLUMNS).copy()
    if centre_id is None and "centre_id" in files.columns and len(files):
        centre_id = str(files["centre_id"].iloc[0])
    df["_t"] = pd.to_datetime(df["received_at"], errors="coerce")
    df = df.sort_values(["_t", "file_id"], ascending=[False, False], na_position="last", kind="stable")
    rows = []
    for r in df.drop(columns="_t").to_dict("records"):
        rec = {k: cell_text(v) for k, v in r.items()}
        for k in ("file_id", "rows_read", "rows_loaded", "rows_warned", "rows_rejected"):
            v = r.get(k)
            rec[k] = "" if v is None or pd.isna(v) else str(int(v))
        rec["href"] = href(rec["report_path"]) if rec["report_path"] else ""
        rec["status_text"] = STATUS_TEXT.get(rec["status"], rec["status"])
        rows.append(rec)
    return _INDEX_TEMPLATE.render(title=f"Files received: {centre_id or ''}", css=CSS, centre=centre_id or "",
                                  n=len(rows), files=rows, generated_at=dt.datetime.now().replace(microsecond=0), notice=notice)


__all__ = ["INDEX_COLUMNS", "render_index"]
