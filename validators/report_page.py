"""What every validation page shares: the Jinja environment, the stylesheet and page head (the
file report, the centre's index and the scorecard look alike), the status wording, cell text."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import quote

import jinja2
import pandas as pd

STATUS_TEXT = {
    "loaded": "Loaded",
    "loaded_with_rejections": "Loaded with rejected rows",
    "rejected": "File rejected",
    "duplicate": "Duplicate (already received)",
    "validated": "Validated (not loaded yet)",
}

ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1d2430;max-width:1400px}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;width:100%;font-size:.85rem} th,td{border:1px solid #d6d9e0;padding:.25rem .45rem;
text-align:left;vertical-align:top} th{background:#f1f3f7;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.meta td:first-child{font-weight:600;width:12rem;background:#f8f9fb}
.badge{display:inline-block;padding:.15rem .5rem;border-radius:.6rem;font-weight:600;font-size:.85rem}
.st-loaded{background:#d9f2df;color:#145a27}.st-loaded_with_rejections{background:#fff1c9;color:#6b4d00}
.st-rejected,.st-duplicate{background:#fbd9d9;color:#7a1111}.st-validated{background:#e3e8f5;color:#223}
.sev-error,.sev-file_error{color:#9b1111;font-weight:600}.sev-warning{color:#7a5a00;font-weight:600}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d6d9e0;border-radius:.4rem;padding:.6rem 1rem;min-width:9rem}
.card .n{font-size:1.6rem;font-weight:700}.card .l{font-size:.8rem;color:#556}
.op{align-self:center;font-size:1.4rem;color:#556}
.fileerror{border:2px solid #b31b1b;background:#fff4f4;padding:.8rem 1rem;border-radius:.4rem}
.note{color:#556;font-size:.85rem} code{background:#f1f3f7;padding:0 .2rem}
td.val{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
"""

HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><style>{{ css }}</style></head><body>
"""


def cell_text(v) -> str:
    if v is None:
        return ""
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def href(name: str | None) -> str:
    return quote(PurePath(name).name) if name else ""


__all__ = ["CSS", "ENV", "HEAD", "STATUS_TEXT", "cell_text", "href"]
