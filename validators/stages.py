"""The check stages of the one path (docs/ONE_PATH.md, stages 3-4), each ``(con, ctx) -> None``.

They read the contract's entity tables and context tables (``schema.relations``,
``validators.setwise.context``) and append to ``findings``; the whole file is seen by every check
(no windows).  In order: the whole-file checks (a file error ends the checks: nothing more is said
about the rows of a rejected file), the dictionary's pandera declaration executed in DuckDB
(``validators.dictionary_checks``), every cross-field, cross-record and warehouse-context rule
(``validators.setwise``).  Ingestion (``tdm.ingest.pipeline.check_stages``) and
``validators.validate_file`` run exactly these.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from validators.context import ValidationContext
from validators.dictionary_checks import schema_findings_sql
from validators.setwise import file_findings, has_file_error, rule_findings

Stage = Callable[[duckdb.DuckDBPyConnection, ValidationContext], None]


def dictionary_stage(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """Stage 3: the dictionary's column checks (unless the file is rejected already)."""
    if not has_file_error(con):
        schema_findings_sql(con, ctx)


def rules_stage(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """Stage 4: the set-wise rules over the whole file (the context tables exist already)."""
    if not has_file_error(con):
        rule_findings(con)


#: The check stages in order.
CHECK_STAGES: tuple[Stage, ...] = (file_findings, dictionary_stage, rules_stage)


def run_checks(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """Every check stage on ``con`` (its entity, ``findings`` and context tables in place)."""
    for stage in CHECK_STAGES:
        stage(con, ctx)


__all__ = ["CHECK_STAGES", "Stage", "dictionary_stage", "rules_stage", "run_checks"]
