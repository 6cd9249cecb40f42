"""Stage 3 of the one path: the dictionary's pandera declaration executed in DuckDB, into ``findings``.

:func:`schema_findings_sql` checks the contract's entity tables (``schema.relations``) with the
``pandera.ibis`` declaration of :mod:`schema.ibis_models` and writes one ``findings`` row per failing
cell (rule codes by check name, :data:`CHECK_RULES`; the messages, expected values, value texts,
record labels and source lines of the reference path).  Every failing row of every check is reported
(lazy) in one ``INSERT ... SELECT`` per entity; nothing is fetched into Python.  The day "not in the
future" is checked against is the connection's variable ``tdm_today``, set from the context on each
call, so one compiled query serves every day.

The SQL is compiled by :mod:`validators.dictionary_compile` (ibis + pandera.ibis: 2.5-4.5 s per
process).  Given a cache folder (``Settings.cache``; ``tdm init`` warms it) the compiled SQL is kept
there per entity, keyed by :func:`declaration_key` (a hash of the declaration's sources, the
dictionary, the entity's columns, the rule texts and the pandera / ibis / sqlglot / duckdb versions),
written atomically and rebuilt when the key changes or the file is unreadable: a warm process never
imports ibis.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

import duckdb

from schema.dictionary import ANALYTES, BY_ENTITY
from schema.relations import ENTITY_TABLES, FINDING_SQL, FINDINGS_TABLE, TODAY_VARIABLE, entity_sql_columns
from validators.context import ValidationContext
from validators.registry import RULES

#: pandera check name -> rule code (the nullable declaration is reported by pandera as ``not_nullable``).
CHECK_RULES = {"not_nullable": "required", "isin": "allowed_codes", "in_range": "range",
               "greater_than_or_equal_to": "range", "not_future": "not_future",
               "lab_value_in_range": "lab_value_implausible"}
#: every rule code this stage writes (a value plausible in another unit is stage 4's ``unit_mixup``)
RULES_WRITTEN = tuple(sorted(set(CHECK_RULES.values())))

#: the modules whose code makes the compiled SQL: the declaration, its ibis form, the compiler and
#: the unit mix-up expressions it leaves out
DECLARING_MODULES = ("schema.dictionary", "schema.models", "schema.ibis_models", "schema.relations",
                     "validators.dictionary_checks", "validators.dictionary_compile", "validators.units",
                     "validators.setwise.units", "validators.setwise.sql", "schema.units")
#: the packages whose versions change the compiled SQL
COMPILER_PACKAGES = ("pandera", "ibis-framework", "sqlglot", "duckdb")
CACHE_SUBDIR = "dictionary_checks"


class ContractError(ValueError):
    """An entity table does not have the contract's columns and types (a bug of the stage before)."""


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=None)
def declaration_key(entity: str) -> str:
    """The cache key of ``entity``'s compiled SQL (read without importing ibis)."""
    h = hashlib.sha256()
    parts = {"entity": entity, "columns": entity_sql_columns(entity), "variables": repr(BY_ENTITY[entity]),
             "analytes": repr(ANALYTES), "findings": FINDING_SQL,
             "rules": {r: (RULES[r].severity, RULES[r].fix) for r in RULES_WRITTEN},
             "versions": {p: _version(p) for p in COMPILER_PACKAGES}}
    h.update(json.dumps(parts, sort_keys=True, default=str).encode())
    for module in DECLARING_MODULES:
        h.update(module.encode())
        h.update(Path(find_spec(module).origin).read_bytes())
    return h.hexdigest()


def _cache_file(cache_dir: Path, entity: str) -> Path:
    return Path(cache_dir) / CACHE_SUBDIR / f"{entity}.json"


def _read_cached(path: Path, key: str) -> str | None:
    """The cached SQL if the file holds it for ``key`` intact; None when missing, stale or corrupt."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        sql = doc["sql"]
        if doc["key"] == key and isinstance(sql, str) and \
                doc["sql_sha256"] == hashlib.sha256(sql.encode()).hexdigest():
            return sql
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _write_cached(path: Path, key: str, sql: str) -> None:
    """Write atomically (a temporary file in the same folder, then ``os.replace``); a cache that
    cannot be written is only a slower next start, never an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = json.dumps({"key": key, "sql": sql, "sql_sha256": hashlib.sha256(sql.encode()).hexdigest()})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(doc)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _compile(entity: str) -> str:
    # lazy: ibis + pandera.ibis cost 2.5-4.5 s to import and compile; a warm cache never pays it
    from validators.dictionary_compile import findings_sql

    return findings_sql(entity)


@lru_cache(maxsize=None)
def compiled_sql(entity: str, cache_dir: Path | None = None) -> str:
    """``entity``'s findings SELECT (``FINDING_SQL`` columns): from the cache folder when it holds it
    for the current :func:`declaration_key`, else compiled (and cached there)."""
    if cache_dir is None:
        return _compile(entity)
    path, key = _cache_file(cache_dir, entity), declaration_key(entity)
    sql = _read_cached(path, key)
    if sql is None:
        sql = _compile(entity)
        _write_cached(path, key, sql)
    return sql


def warm_cache(cache_dir: Path) -> None:
    """Compile every entity's SQL into ``cache_dir`` unless it is there already (``tdm init``)."""
    for entity in ENTITY_TABLES:
        compiled_sql(entity, Path(cache_dir))


def _check_contract(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    want = entity_sql_columns(entity)
    rows = con.execute(f'DESCRIBE "{entity}"').fetchall()
    have = {r[0]: r[1] for r in rows}
    wrong = [f"{c} ({have.get(c, 'missing')}, expected {t})" for c, t in want.items() if have.get(c) != t]
    if wrong:
        raise ContractError(f"table {entity} does not have the contract's columns (schema.relations): "
                            + ", ".join(wrong))


def schema_findings_sql(con: duckdb.DuckDBPyConnection, ctx: ValidationContext, cache_dir: Path | None = None) -> None:
    """Check the entity tables ``patient``, ``assessment``, ``elisa``, ``lab`` on ``con`` against the
    dictionary's declaration and append every failure to ``findings`` (created if absent).

    "Not in the future" means not after ``ctx.today`` (set as the connection's variable ``tdm_today``).
    A table with the wrong columns or types raises :class:`ContractError` before anything is written.
    ``cache_dir``: where the compiled SQL is kept between processes (None: compiled once per process)."""
    for entity in ENTITY_TABLES:
        _check_contract(con, entity)
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {FINDINGS_TABLE} ("
                + ", ".join(f'"{c}" {t}' for c, t in FINDING_SQL.items()) + ")").fetchall()
    cols = ", ".join(f'"{c}"' for c in FINDING_SQL)
    con.execute(f"SET VARIABLE {TODAY_VARIABLE} = DATE '{ctx.today.isoformat()}'").fetchall()
    for entity in ENTITY_TABLES:
        if con.execute(f'SELECT EXISTS (SELECT 1 FROM "{entity}")').fetchall()[0][0]:   # an empty table: nothing to run
            sql = compiled_sql(entity, None if cache_dir is None else Path(cache_dir))
            con.execute(f"INSERT INTO {FINDINGS_TABLE} ({cols}) {sql}").fetchall()


__all__ = ["CHECK_RULES", "COMPILER_PACKAGES", "ContractError", "DECLARING_MODULES", "RULES_WRITTEN",
           "compiled_sql", "declaration_key", "schema_findings_sql", "warm_cache"]
