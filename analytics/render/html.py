"""The self-contained HTML report (screen and print stylesheets; figures embedded as data URIs).

jinja2 renders it with autoescape, so nothing in the data (a centre id, a file name) can inject
markup; the report references nothing outside itself.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from analytics.render.layouts import DisplayTable

__all__ = ["render_report", "Section"]


def Section(name: str, title: str, table: DisplayTable, note: str = "") -> dict:  # noqa: N802 - a record
    """One table of the report."""
    return {"name": name, "title": title, "note": note, "table": table}


def render_report(*, title: str, meta: Sequence[tuple[str, object]], parameters: Sequence[tuple[str, object]],
                  source_files: Sequence[Mapping[str, object]], sections: Sequence[Mapping],
                  figures: Mapping[str, bytes], skipped: Sequence[Mapping[str, str]]) -> str:
    """The report.

    ``meta``: (label, value) pairs of the provenance; ``parameters``: (label, value) pairs;
    ``source_files``: dicts with ``centre, file, received, rows, checksum``; ``sections``: see
    :func:`Section`; ``figures``: name -> PNG bytes; ``skipped``: ``analysis`` and ``reason``.
    """
    env = Environment(loader=PackageLoader("analytics.render", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    tpl = env.get_template("report.html.j2")
    figs = [{"name": k, "src": "data:image/png;base64," + base64.b64encode(v).decode("ascii")}
            for k, v in figures.items()]
    return tpl.render(title=title, meta=list(meta), parameters=list(parameters), source_files=list(source_files),
                      sections=list(sections), figures=figs, skipped=list(skipped))
