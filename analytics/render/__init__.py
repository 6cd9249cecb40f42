"""Rendering of a publication (pure: frames in, PNG bytes / display tables / HTML text out).

``formats``  numbers by what they are;  ``layouts``  Tables 1-4 as the paper lays them out;
``supplements``  the other tables;  ``figures``  the PNG figures;  ``html``  the self-contained
report (jinja2, autoescaped) with its print stylesheet.
"""

from analytics.render.figures import OUTCOME_LABELS, figure_rate_bars, figure_roc_curves, figure_trough_boxplots
from analytics.render.formats import format_p, format_value
from analytics.render.html import Section, render_report
from analytics.render.layouts import DisplayTable, table1_layout, table2_layout, table3_layout, table4_layout
from analytics.render.supplements import (generic_layout, loco_layout, meta_layout, optimism_layout,
                                          roc_by_centre_layout, roc_summary_layout, trough_layout)

__all__ = ["figure_trough_boxplots", "figure_rate_bars", "figure_roc_curves", "render_report", "Section",
           "format_p", "format_value", "OUTCOME_LABELS", "DisplayTable", "generic_layout", "table1_layout",
           "table2_layout", "table3_layout", "table4_layout", "roc_summary_layout", "trough_layout",
           "roc_by_centre_layout", "loco_layout", "optimism_layout", "meta_layout"]
