"""The columnar path: clean wide CSV exports read, harmonised, screened and loaded inside DuckDB.

See :mod:`tdm.columnar.engine`; the reference path (pandas + pandera) decides every file the
columnar path does not pass, so results never depend on which path ran.
"""

from tdm.columnar.engine import Fallback, Plan, Staged, plan, stage, unsupported

__all__ = ["Fallback", "Plan", "Staged", "plan", "stage", "unsupported"]
