"""Read, harmonise, screen and load one wide CSV export inside the warehouse's DuckDB (the columnar path).

:func:`plan` checks what can be checked without reading the data (profile features, file type, the
header, the column mapping).  :func:`stage`, inside the loader's transaction on the writer
connection, reads the CSV with DuckDB's parallel reader straight into one typed temporary table of
lines (the mapping compiled from the centre profile, :mod:`tdm.columnar.harmonise`), resolves the
label columns, and runs the conservative SQL screen of every validation rule
(:mod:`validators.screen`) against the warehouse context.  A file passes only when nothing at all
is suspect; then :meth:`Staged.insert` moves its rows into ``core.*`` with ``INSERT ... SELECT``
(no row leaves DuckDB).  Anything else raises :class:`Fallback`, the transaction rolls back, and the
reference path (pandas + pandera: :mod:`validators`) processes the
file and writes the exact findings, so a data manager sees the same report either way.

Why: the reference path costs ~50 us per line of a 45-column wide export (pandas string columns,
pandera, per-rule frames); DuckDB reads, types, checks and stores the same file in a few us per
line (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from schema.dictionary import ENTITIES, entity_columns
from schema.models import SOURCE_LINE
from tdm.centres.profile import norm_label
from tdm.centres.readers import clean_header
from tdm.columnar import sql as S
from tdm.columnar.harmonise import WideSelect, compile_wide, entity_selects, label_sql
from tdm.config import DEFAULT_LIMITS, Limits

MAX_LABELS = 5000          # distinct cells of one label column beyond which the CASE map is not worth it
UTF8 = {"utf-8", "utf-8-sig", "utf8", "utf_8", "utf_8_sig"}
TEMP_VIEWS = tuple(ENTITIES)                  # patient, assessment, elisa, lab (the screen's names)
TEMP_TABLES = ("h", "ctx_known", "ctx_other", "ctx_assess", "ctx_units")


class Fallback(Exception):
    """The columnar path does not decide this file; the reference path does (the reason is logged)."""


def unsupported(spec, file_name: str, size_bytes: int, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why the columnar path cannot take this file (None: it can), from the profile and the settings' limits."""
    if not limits.columnar:
        return "disabled (TDM_COLUMNAR=0)"
    if spec is None or spec.kind != "wide":
        return f"file kind {getattr(spec, 'kind', None)} (only wide exports)"
    if spec.reading_format(file_name) != "csv" or spec.csv is None:
        return "not a CSV export"
    if not spec.csv.encoding or spec.csv.encoding[0].lower() not in UTF8:
        return f"encoding {spec.csv.encoding[:1]} (UTF-8 only)"
    if len(spec.csv.delimiter) != 1 or len(spec.csv.quotechar) != 1:
        return "multi-character delimiter or quote"
    if size_bytes > limits.columnar_max_bytes:
        return f"larger than TDM_COLUMNAR_MAX_MB ({limits.columnar_max_bytes >> 20} MB): streamed instead"
    return None


@dataclass(frozen=True)
class Plan:
    """What :func:`plan` found: the compiled mapping of one file (no data read yet)."""

    path: Path
    file_name: str
    spec: object = field(repr=False)
    profile: object = field(repr=False)
    headers: tuple[str, ...]
    compiled: WideSelect = field(repr=False)


def _read_header(path: Path, spec, max_line_bytes: int) -> list[str]:
    with open(path, "rb") as fh:
        line = b""
        for _ in range(spec.header_row):
            line = fh.readline(max_line_bytes + 1)     # bounded: a file without line breaks is one huge line
            if len(line) > max_line_bytes or b"\r" in line.rstrip(b"\r\n"):
                raise Fallback("no line break within the line-length limit, or CR-only line ends")
    if line.startswith(b"sep=") or line.startswith(b"SEP="):
        raise Fallback("an Excel 'sep=' first line")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Fallback("the header is not UTF-8") from exc
    try:
        cells = next(csv.reader([text.rstrip("\r\n")], delimiter=spec.csv.delimiter, quotechar=spec.csv.quotechar,
                                strict=True))
    except (csv.Error, StopIteration) as exc:
        raise Fallback("the header line is not plain CSV") from exc
    headers = [clean_header(c) for c in cells]
    if any(h == "" for h in headers) or len({norm_label(h) for h in headers}) != len(headers):
        raise Fallback("empty or repeated headers")
    return headers


def plan(path: Path, spec, profile, key: bytes, file_name: str | None = None, *,
         max_line_bytes: int = DEFAULT_LIMITS.max_line_bytes) -> Plan:
    """Compile the mapping of one wide CSV; raises :class:`Fallback` for anything the reference
    reader should see (wrong file type, odd header, missing or unknown columns: its messages)."""
    from tdm.centres.header_checks import resolve_columns
    from tdm.centres.readers import check_file_type

    path = Path(path)
    file_name = file_name or path.name
    try:
        check_file_type(path, "csv")
    except Exception as exc:
        raise Fallback(str(exc)) from exc
    headers = _read_header(path, spec, max_line_bytes)
    try:
        resolved = resolve_columns(headers, spec, file_name)
    except Exception as exc:
        raise Fallback(str(exc)) from exc
    position = {h: i for i, h in enumerate(headers)}
    try:
        compiled = compile_wide(spec, profile, [(col, position[h]) for col, h in resolved], key)
    except S.Unsupported as exc:
        raise Fallback(f"unsupported: {exc}") from exc
    return Plan(path=path, file_name=file_name, spec=spec, profile=profile, headers=tuple(headers),
                compiled=compiled)


def _physical_lines(path: Path) -> int:
    """Lines in the file (a last line without a line break counts)."""
    n, last = 0, b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 23):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _read_csv_sql(p: Plan) -> tuple[str, list]:
    opts = p.spec.csv
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(p.headers))) + "}"
    return (f"read_csv(?, columns={cols}, header=false, skip={p.spec.header_row}, delim=?, quote=?, escape=?, "
            f"auto_detect=false, strict_mode=true, null_padding=false, encoding='utf-8')",
            [str(p.path), opts.delimiter, opts.quotechar, opts.quotechar])


def _register_context(con: duckdb.DuckDBPyConnection, ctx) -> None:
    """The warehouse context as three small temporary tables: this centre's patients and visits, other
    centres' patient ids (as :class:`validators.ValidationContext` holds them)."""

    def frame(df: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
        df = df.copy() if df is not None else pd.DataFrame()
        for c in cols:
            if c not in df.columns:
                df[c] = pd.Series([None] * len(df), dtype="object")
        return df[cols].astype({c: "object" for c in cols if c != "colonoscopy_date"})

    parts = {"ctx_known": frame(ctx.known_patients, ["centre_id", "patient_id"]),
             "ctx_other": frame(ctx.other_centre_patients, ["centre_id", "patient_id"]),
             "ctx_assess": frame(ctx.existing_assessments, ["centre_id", "patient_id", "colonoscopy_date"]),
             "ctx_units": ctx.unit_reference[["variable", "median", "n"]]}
    c = S.literal(ctx.centre_id)
    same = f"WHERE centre_id IS NULL OR CAST(centre_id AS VARCHAR) = {c}"
    other = f"WHERE centre_id IS NULL OR CAST(centre_id AS VARCHAR) <> {c}"
    selects = {"ctx_known": f"SELECT CAST(patient_id AS VARCHAR) AS patient_id FROM _df {same}",
               "ctx_other": f"SELECT DISTINCT CAST(patient_id AS VARCHAR) AS patient_id FROM _df {other}",
               "ctx_assess": "SELECT CAST(patient_id AS VARCHAR) AS patient_id, CAST(colonoscopy_date AS DATE) "
                             f"AS colonoscopy_date FROM _df {same}",
               "ctx_units": "SELECT CAST(variable AS VARCHAR) AS variable, CAST(median AS DOUBLE) AS median, "
                            "CAST(n AS BIGINT) AS n FROM _df"}
    for name, df in parts.items():
        con.register("_df", df)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {selects[name]}").fetchall()
        finally:
            con.unregister("_df")


@dataclass
class Staged:
    """A file staged in the writer's temporary tables and screened clean (see :func:`stage`)."""

    con: duckdb.DuckDBPyConnection = field(repr=False)
    centre_id: str
    rows_read: int

    def accepted_for(self, patient_ids: list[str]) -> dict[str, pd.DataFrame]:
        """The staged rows of these patients as frames (what a resubmission diff compares)."""
        out = {}
        ids = pd.DataFrame({"patient_id": pd.Series(list(patient_ids), dtype="object")})
        self.con.register("_ids", ids)
        try:
            for entity in ENTITIES:
                cols = ", ".join(S.ident(c) for c in entity_columns(entity) + [SOURCE_LINE])
                out[entity] = self.con.execute(
                    f"SELECT {cols} FROM {entity} WHERE patient_id IN (SELECT patient_id FROM _ids)").df()
        finally:
            self.con.unregister("_ids")
        return out

    def insert(self, file_id: int) -> dict[str, int]:
        """Supersede earlier rows with the same keys and insert every staged row (caller's transaction)."""
        from tdm.warehouse.load import _exec, supersede_earlier

        superseded = {}
        for entity, e in ENTITIES.items():
            superseded[entity] = supersede_earlier(self.con, entity, self.centre_id, entity, [], file_id)
            cols = ", ".join(S.ident(c) for c in entity_columns(entity) + [SOURCE_LINE])
            _exec(self.con, f"INSERT INTO core.{e.table} ({cols}, warnings, file_id, is_current) "
                            f"SELECT {cols}, NULL, ?, true FROM {entity}", [file_id])
        return superseded

    def drop(self) -> None:
        for name in TEMP_VIEWS:
            self.con.execute(f"DROP VIEW IF EXISTS temp.{name}").fetchall()
        for name in TEMP_TABLES:
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}").fetchall()


def stage(con: duckdb.DuckDBPyConnection, p: Plan, ctx, *,
          memory_limit: str = DEFAULT_LIMITS.columnar_memory_limit) -> Staged:
    """Read, harmonise and screen ``p`` in the caller's transaction on ``con`` (temporary tables and
    views ``h``, ``patient``, ``assessment``, ``elisa``, ``lab``).  Raises :class:`Fallback` when
    anything is suspect, or the reference's :class:`~tdm.errors.PrivacyError` for direct identifiers
    (the same first 2,000 lines, the same scan)."""
    from tdm.privacy import refuse_identifiers
    from validators.screen import screen_query

    source, params = _read_csv_sql(p)
    con.execute(f"SET memory_limit = {S.literal(memory_limit)}").fetchall()   # restored by restore_memory()
    try:
        sample = con.execute(f"SELECT * FROM {source} LIMIT 2000", params).df()
    except duckdb.Error as exc:
        raise Fallback(f"DuckDB's CSV reader: {str(exc).splitlines()[0]}") from exc
    sample.columns = list(p.headers)
    sample = sample.fillna("").astype("str")
    sample[SOURCE_LINE] = range(p.spec.header_row + 1, p.spec.header_row + 1 + len(sample))
    refuse_identifiers(sample, p.file_name)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE h AS " + p.compiled.select.replace("{source}", source),
                    params).fetchall()
    except duckdb.Error as exc:
        raise Fallback(f"DuckDB's CSV reader: {str(exc).splitlines()[0]}") from exc
    n, suspect, first, last = con.execute(
        "SELECT count(*), count(*) FILTER (suspect), min(rowid), max(rowid) FROM h").fetchone()
    if n and last - first + 1 != n:      # rowids number the lines in file order (insertion order)
        raise Fallback("the staged lines are not numbered consecutively")
    if n == 0 or _physical_lines(p.path) != p.spec.header_row + n:
        raise Fallback("blank lines, line breaks inside cells or no data rows (line numbers need the reference reader)")
    if suspect:
        raise Fallback(f"{suspect} line(s) with a cell the columnar path does not read")
    distinct: dict[int, list[str]] = {}
    if p.compiled.labels:
        q = ", ".join(f"list(DISTINCT {S.ident(f'L:{pos}')})" for pos in p.compiled.labels)
        for pos, values in zip(p.compiled.labels, con.execute(f"SELECT {q} FROM h").fetchone()):
            if len(values) > MAX_LABELS:
                raise Fallback(f"more than {MAX_LABELS} distinct labels in column {p.headers[pos]!r}")
            distinct[pos] = list(values)
    labels, unknown = label_sql(p.compiled, p.profile, distinct)
    bad = con.execute(f"SELECT count(*) FROM h WHERE {unknown}").fetchone()[0]
    if bad:
        raise Fallback(f"{bad} line(s) with a label the profile does not know")
    for entity, select in entity_selects(p.spec, p.profile, p.compiled, labels, p.spec.header_row + 1 - first).items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {entity} AS {select}").fetchall()
    _register_context(con, ctx)
    screen = {rule: int(k or 0) for rule, k in con.execute(screen_query(S.literal(ctx.today.isoformat()))).fetchall()}
    flagged = {rule: k for rule, k in screen.items() if k}
    if flagged:
        raise Fallback(f"the screen flags {flagged}")
    return Staged(con=con, centre_id=ctx.centre_id, rows_read=int(n))


def restore_memory(con: duckdb.DuckDBPyConnection, writer_memory_limit: str = DEFAULT_LIMITS.writer_memory_limit) -> None:
    """Back to the writer's own memory limit after :func:`stage` raised it."""
    con.execute(f"SET memory_limit = {S.literal(writer_memory_limit)}").fetchall()


__all__ = ["restore_memory", "Fallback", "Plan", "Staged", "plan", "stage", "unsupported"]
