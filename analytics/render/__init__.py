"""Rendering of a publication (pure: frames in, PNG bytes / display tables / HTML text out).

``formats``  numbers by what they are;  ``layouts``  the paper's table layouts;
``figures``  the PNG figures;  ``html``  the self-contained report (jinja2, autoescaped).
"""

from analytics.render.figures import OUTCOME_LABELS, figure_rate_bars, figure_roc_curves, figure_trough_boxplots
from analytics.render.formats import format_p, format_value
from analytics.render.html import render_report
from analytics.render.layouts import (DisplayTable, generic_layout, table1_layout, table2_layout, table3_layout,
                                      table4_layout)

__all__ = ["figure_trough_boxplots", "figure_rate_bars", "figure_roc_curves", "render_report", "format_p",
           "format_value", "OUTCOME_LABELS", "DisplayTable", "generic_layout", "table1_layout", "table2_layout",
           "table3_layout", "table4_layout"]
