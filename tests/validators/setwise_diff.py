"""The set-wise rules (``validators.setwise``: the whole-file checks and the row rules) on harmonised
frames, checked against the findings recorded from the pandas rules (their module was deleted
in issue 15 after the recording; ``tests/validators/recorded.py``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from schema.relations import frames_to_tables
from tests.validators.recorded import assert_recorded
from validators.checks import ENTITY_ORDER, normalise
from validators.setwise import file_findings, rule_findings

STORE = Path(__file__).with_name("expected_setwise.json")


def normalised(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {e: normalise(e, frames.get(e))[0] for e in ENTITY_ORDER}


def sql_findings(frames: dict[str, pd.DataFrame], ctx, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The set-wise rules' ``findings`` for the same frames (in the contract's tables): the whole-file
    checks and every row rule (both, even when the file is rejected, to compare every rule)."""
    con = con or duckdb.connect()
    frames_to_tables(con, normalised(frames))
    con.execute("DROP TABLE IF EXISTS findings")
    rule_findings(con, ctx)
    file_findings(con, ctx)
    return con.execute("SELECT * FROM findings").df()


def check_recorded(case: str, frames: dict[str, pd.DataFrame], ctx) -> pd.DataFrame:
    """The set-wise findings of ``frames``, asserted equal to the recording of ``case``."""
    sql = sql_findings(frames, ctx)
    assert_recorded(STORE, case, sql)
    return sql
