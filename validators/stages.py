"""The check stages of the one path (docs/ONE_PATH.md, stages 3-4), each ``(con, ctx) -> None``.

They read the contract's entity tables and context tables (``schema.relations``,
``validators.setwise.context``) and append to ``findings``; the whole file is seen by every check
(no windows).  In order: the whole-file checks (a file error ends the checks: nothing more is said
about the rows of a rejected file), the dictionary's pandera declaration executed in DuckDB
(``validators.dictionary_checks``), every cross-field, cross-record and warehouse-context rule
(``validators.setwise``).  Ingestion (``ingestion.pipeline.check_stages``) and
``validators.validate_file`` run exactly these.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import duckdb

from validators.context import ValidationContext
from validators.dictionary_checks import schema_findings_sql
from validators.setwise import file_findings, has_file_error, rule_findings

Stage = Callable[[duckdb.DuckDBPyConnection, ValidationContext], None]


def dictionary_stage(con: duckdb.DuckDBPyConnection, ctx: ValidationContext, cache_dir: Path | None = None) -> None:
    """Stage 3: the dictionary's column checks (unless the file is rejected already); ``cache_dir``
    keeps their compiled SQL between processes (``Settings.cache``)."""
    if not has_file_error(con):
        schema_findings_sql(con, ctx, cache_dir)


def rules_stage(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """Stage 4: the set-wise rules over the whole file (the context tables exist already)."""
    if not has_file_error(con):
        rule_findings(con)


def check_stages(cache_dir: Path | None = None) -> tuple[Stage, ...]:
    """The check stages in order: whole-file checks, dictionary checks, rules."""
    return (file_findings, partial(dictionary_stage, cache_dir=cache_dir), rules_stage)


def run_checks(con: duckdb.DuckDBPyConnection, ctx: ValidationContext, cache_dir: Path | None = None) -> None:
    """Every check stage on ``con`` (its entity, ``findings`` and context tables in place)."""
    for stage in check_stages(cache_dir):
        stage(con, ctx)


__all__ = ["Stage", "check_stages", "dictionary_stage", "rules_stage", "run_checks"]
