"""Versioned publications of the study's analyses, built from one lake snapshot (recorded; ``as_of`` recomputes).

Map (one job per module):

``study``   the study's configuration: marker, outcomes, Table 1/2 variables, :class:`PublicationParameters`
``plan``    the paper's analyses as data (:data:`~publication.plan.PLAN`)
``run``     runs the plan on a cohort frame (pure); only ``AnalysisError`` becomes "not computed"
``inputs``  SQL reads: cohort, source files, earlier publications' cut-offs, the latest table
``report``  figures and the HTML report from a bundle (via :mod:`analytics.render`)
``pdf``     report.pdf by headless Chromium (or a clear message why not)
``write``   the folder and the one-transaction write into ``published.*``
``build``   :func:`build_publication`: read, run, render, print, write
``as_of``   :func:`~publication.as_of.recompute_as_of`: a publication again from its lake snapshot, compared

The Prefect flow (``flows/analyse.py``) only wraps :func:`build_publication`.
"""

from publication.build import PublicationSummary, build_publication
from publication.inputs import Inputs, latest_table, read_inputs
from publication.plan import PLAN, Analysis
from publication.run import AnalysisBundle, run_analyses
from publication.study import (MARKER, PRIMARY_OUTCOME, ROC_OUTCOMES, TABLE2_CANDIDATES, PublicationParameters,
                                   prepare_cohort)
from publication.write import jsonable, table_json_rows

__all__ = ["PublicationParameters", "PublicationSummary", "AnalysisBundle", "Analysis", "PLAN", "Inputs",
           "build_publication", "run_analyses", "prepare_cohort", "read_inputs", "latest_table", "table_json_rows",
           "jsonable", "TABLE2_CANDIDATES", "ROC_OUTCOMES", "MARKER", "PRIMARY_OUTCOME"]
