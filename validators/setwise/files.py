"""Whole-file checks, set-wise: records of another centre (``wrong_centre``) and a column written in
another unit (``unit_profile_suspect``, :mod:`validators.setwise.units`).  Either rejects the file
with one ``file_error`` finding, before any row check runs (``validators.stages``)."""

from __future__ import annotations

import duckdb

from schema.relations import FINDING_SQL, FINDINGS_TABLE
from validators.context import ValidationContext
from validators.registry import RULES
from validators.setwise.sql import ENTITY_ORDER
from validators.setwise.units import file_unit_findings

#: the codes these checks emit
FILE_CODES = ("wrong_centre", "unit_profile_suspect")
#: how many of the other centres the message names
WRONG_CENTRES_SHOWN = 5

# the other centres of the file's records, in order of first appearance (entity order, then row order)
_FOREIGN = ("SELECT centre_id FROM (" + " UNION ALL ".join(
    f"SELECT centre_id, {k} AS _e, rowid AS _r FROM {e} WHERE centre_id IS NOT NULL AND centre_id <> $centre"
    for k, e in enumerate(ENTITY_ORDER)) + ") QUALIFY row_number() OVER (PARTITION BY centre_id ORDER BY _e, _r) = 1 "
    f"ORDER BY _e, _r LIMIT {WRONG_CENTRES_SHOWN}")


def wrong_centre_findings(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """Insert the ``wrong_centre`` file error when a record's ``centre_id`` is not the file's centre."""
    wrong = [r[0] for r in con.execute(_FOREIGN, {"centre": ctx.centre_id}).fetchall()]
    if not wrong:
        return
    rule = RULES["wrong_centre"]
    row = {"column_name": "centre_id", "value": wrong[0], "rule": rule.name, "severity": rule.severity,
           "message": f"the file carries records of centre(s) {', '.join(wrong)}, not of {ctx.centre_id}",
           "fix": rule.fix}
    con.execute(f"INSERT INTO {FINDINGS_TABLE} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                list(row.values())).fetchall()


def has_file_error(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file is rejected already (a ``file_error`` finding): nothing more to say about its rows."""
    return bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM {FINDINGS_TABLE} WHERE severity = 'file_error')")
                .fetchall()[0][0])


def file_findings(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> None:
    """The whole-file checks in order (``wrong_centre``, then ``unit_profile_suspect``); the first that
    fails is the file's one finding."""
    cols = ", ".join(f"{c} {t}" for c, t in FINDING_SQL.items())
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {FINDINGS_TABLE} ({cols})").fetchall()
    if has_file_error(con):
        return
    wrong_centre_findings(con, ctx)
    if not has_file_error(con):
        file_unit_findings(con, FINDINGS_TABLE)


__all__ = ["FILE_CODES", "WRONG_CENTRES_SHOWN", "file_findings", "has_file_error", "wrong_centre_findings"]
