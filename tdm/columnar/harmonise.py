"""The wide-export mapping (``kind: wide``) compiled to one
DuckDB ``SELECT`` over the raw cells: one typed column per harmonised target plus a ``suspect`` flag
per line (pure: profile in, SQL out; code and yes/no labels are resolved by the reference's own
functions on the distinct cells, so a label means the same on both paths).
"""

from __future__ import annotations

from dataclasses import dataclass

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN
from tdm.centres import units as U
from tdm.centres.cells import ISO_DATE_FALLBACKS, ISO_DATETIME_FALLBACKS, canon_codes, cell_kind, code_value
from tdm.centres.profile import CentreProfile, ColumnSpec, FileSpec, norm_label
from tdm.centres.sql_cells import pseudonym
from tdm.columnar import sql as S


@dataclass(frozen=True)
class WideSelect:
    """The compiled mapping: ``select`` (a ``SELECT`` over ``{source}``: typed target columns, the
    trimmed text ``L:<i>`` of every label column, ``ne_<target>`` flags, ``suspect``), the SQL type
    of every target, and the label columns (position -> column spec) resolved once their distinct
    cells are known (:func:`label_sql`)."""

    select: str
    targets: dict[str, str]          # target -> SQL type
    nonempty: dict[str, str]         # target -> h column saying its raw cell was non-empty
    labels: dict[int, ColumnSpec]


def _yes_no(col: ColumnSpec) -> bool:
    """A yes/no column (the profile's yes/no words), as opposed to a code column."""
    return col.codes is None and cell_kind(col.target) == "bool"


def label_columns(spec: FileSpec, resolved: list[tuple[ColumnSpec, int]]) -> list[tuple[ColumnSpec, int]]:
    """The columns whose cells are labels (codes, yes/no): resolved per distinct cell."""
    out = []
    for col, pos in resolved:
        if col.codes is not None or (col.target != "patient_id" and cell_kind(col.target) in ("code", "bool")):
            out.append((col, pos))
    return out


def compile_wide(spec: FileSpec, profile: CentreProfile, resolved: list[tuple[ColumnSpec, int]],
                 key: bytes) -> WideSelect:
    """The ``SELECT`` over ``{source}`` (the CSV's cells as ``c0..cN``, in file order).

    ``key`` is the pseudonymisation key (HMAC-SHA256 computed in DuckDB, identical to
    :func:`tdm.privacy.pseudonymise`).
    """
    if spec.kind != "wide":
        raise S.Unsupported(f"file kind {spec.kind}")
    decimal = spec.csv.decimal if spec.csv is not None else "."
    parsed: dict[str, str] = {}      # stage B: target -> expression over the trimmed cells t<i>
    types: dict[str, str] = {}
    nonempty: dict[str, str] = {}
    suspects: list[str] = []         # stage C: over t<i> and the parsed values v<n>
    trimmed = [f"coalesce(trim(c{pos}), '') AS t{pos}" for _, pos in resolved]
    label_set = {pos for _, pos in label_columns(spec, resolved)}
    labels: dict[int, ColumnSpec] = {}
    for col, pos in resolved:
        t = f"t{pos}"
        for tg in col.to:
            nonempty[tg] = f"({t} <> '')"
        target = col.target
        if target == "trough_censor" or "trough_censor" in col.to:
            raise S.Unsupported("an explicit trough censor column")
        if pos in label_set:
            # labels are resolved per distinct trimmed cell with the reference's normalisation (so a
            # cell with other edge whitespace than spaces still maps as it does there): kept as text
            labels[pos] = col
            parsed[f"L:{pos}"] = t
            for tg in col.to:
                types[tg] = "BOOLEAN" if _yes_no(col) else "VARCHAR"
            continue
        if target == "patient_id":
            parsed[target] = _pseudonym(t, key)
            types[target] = "VARCHAR"
            suspects.append(f"regexp_matches({t}, {S.literal(S.EDGE_WHITESPACE_RE)})")
            continue
        kind = cell_kind(target)
        types[target] = S.SQL_TYPES.get(kind, "DOUBLE" if kind == "trough" else "VARCHAR")
        v = _v(target)
        if kind == "str":
            parsed[target] = f"nullif({t}, '')"
            suspects.append(f"regexp_matches({t}, {S.literal(S.EDGE_WHITESPACE_RE)})")
        elif kind in ("int", "float", "trough"):
            tt = f"replace({t}, ',', '.')" if decimal == "," else t
            if kind == "trough":
                num = f"TRY_CAST(nullif(regexp_extract({tt}, {S.literal(S.TROUGH_RE)}, 2), '') AS DOUBLE)"
                parsed["trough_sign"] = f"regexp_extract({tt}, {S.literal(S.TROUGH_RE)}, 1)"
                types[target] = "DOUBLE"
            else:
                num = S.parse_number(tt)
            if col.unit is not None:
                f = U.factor(col.unit, U.CANONICAL_UNIT[target])
                if f is None:
                    raise S.Unsupported(f"unit {col.unit!r} of {target}")
                num = S.apply_factor(num, f)
            parsed[target] = num
            suspects.append(f"({t} <> '' AND ({v} IS NULL OR NOT isfinite({v})))")
            if kind == "int":
                suspects.append(f"(abs({v}) > {float(S.MAX_INT)!r} OR {v} <> round({v}))")
        elif kind in ("date", "datetime"):
            if kind == "date":
                fmts = list(profile.date_formats_for(spec, col)) + ISO_DATE_FALLBACKS
            else:
                fmts = list(profile.datetime_formats_for(spec, col)) + ISO_DATETIME_FALLBACKS
            parsed[target] = S.parse_dates(t, fmts)
            suspects.append(f"({t} <> '' AND {v} IS NULL)")
        else:
            raise S.Unsupported(f"cell kind {kind} of {target}")
    out: dict[str, str] = {n: _v(n) for n in parsed if n != "trough_sign" and not n.startswith("L:")}
    out.update({n: _v(n) for n in parsed if n.startswith("L:")})
    types.update({n: "VARCHAR" for n in parsed if n.startswith("L:")})
    if "trough_sign" in parsed:
        sign, num = _v("trough_sign"), _v("trough_ug_ml")
        out["trough_censor"] = (f"(CASE WHEN {num} IS NULL THEN NULL WHEN {sign} IN ('<', '<=', '≤') THEN '<' "
                                f"WHEN {sign} IN ('>', '>=', '≥') THEN '>' ELSE '=' END)")
        types["trough_censor"] = "VARCHAR"
    if "patient_id" not in out:
        out["patient_id"], types["patient_id"] = "NULL", "VARCHAR"
    for name, value in profile.constants_for(spec).items():
        if name not in out:
            out[name] = S.literal(value)
            types[name] = S.SQL_TYPES.get(cell_kind(name), "VARCHAR")
    stage_a = "SELECT " + ", ".join(trimmed) + " FROM {source}"
    stage_b = ("SELECT " + ", ".join(f"t{pos}" for _, pos in resolved)
               + "".join(f", {e} AS {_v(n)}" for n, e in parsed.items()) + f" FROM ({stage_a})")
    cols = [f"CAST({e} AS {types[n]}) AS {S.ident(n)}" for n, e in out.items()]
    cols += [f"{e} AS {S.ident('ne_' + n)}" for n, e in nonempty.items()]
    cols.append(f"({' OR '.join(suspects) if suspects else 'false'}) AS suspect")
    targets = {n: types[n] for n in out if not n.startswith("L:")}
    for col in labels.values():
        targets.update({tg: types[tg] for tg in col.to})
    return WideSelect(select="SELECT " + ",\n  ".join(cols) + f"\nFROM ({stage_b})", targets=targets,
                      nonempty={n: S.ident("ne_" + n) for n in nonempty}, labels=labels)


def label_sql(compiled: WideSelect, profile: CentreProfile, distinct: dict[int, list[str]]
              ) -> tuple[dict[str, str], str]:
    """(target -> SQL over ``h``, condition for a line with an unknown label) from the distinct trimmed
    cells of each label column, resolved by the reference's own functions (``_code_value``, the
    profile's yes/no words)."""
    exprs: dict[str, str] = {}
    bad_conds: list[str] = []
    for pos, col in compiled.labels.items():
        t = S.ident(f"L:{pos}")
        cells = distinct.get(pos, [])
        if _yes_no(col):
            table = profile.booleans_for(col).table()
            values = {u: table.get(norm_label(u)) for u in cells}
            exprs[col.target] = S.case_map(t, {u: x for u, x in values.items() if x is not None})
            bad = [u for u, x in values.items() if x is None and u != ""]
        else:
            codes = _code_table(col, profile, cells)
            for tg in col.to:
                exprs[tg] = S.case_map(t, {u: r[tg] for u, r in codes.items() if r is not None and tg in r})
            bad = [u for u, r in codes.items() if r is None]
        if bad:
            bad_conds.append(f"{t} IN ({', '.join(S.literal(b) for b in bad)})")
    return exprs, (" OR ".join(bad_conds) if bad_conds else "false")


def _v(target: str) -> str:
    return S.ident("v:" + target)


def _code_table(col: ColumnSpec, profile: CentreProfile, cells: list[str]) -> dict[str, dict[str, str] | None]:
    """Trimmed cell -> {target: code} (None: unknown), by the reference's ``_code_value``."""
    label_map = profile.code_map(col)
    canon = canon_codes(col.to)
    drop = {norm_label(x) for x in col.drop}
    out: dict[str, dict[str, str] | None] = {}
    for u in cells:
        n = norm_label(u)
        if n == "" or n in drop:
            continue
        out[u] = code_value(n, label_map, col.to, canon, col.absent)
    return out


def _pseudonym(t: str, key: bytes) -> str:
    """HMAC-SHA256 of the trimmed id, as :func:`tdm.privacy.pseudonymise` writes it (RFC 2104)."""
    return pseudonym(t, key)


def entity_selects(spec: FileSpec, profile: CentreProfile, compiled: WideSelect, labels: dict[str, str],
                   first_line: int) -> dict[str, str]:
    """One ``SELECT`` per entity over table ``h`` (the compiled lines, in file order by ``rowid``), in
    the warehouse's columns, with the reference's rules for which lines carry a row: every line a
    patient row, the other entities where any of their own cells is non-empty, one lab row per
    non-empty analyte cell.  ``labels``: target -> SQL of the resolved label columns."""
    out: dict[str, str] = {}
    have = compiled.targets
    centre = S.literal(profile.centre_id)
    line = f"CAST({first_line} + rowid AS BIGINT) AS source_line"

    def value(name: str) -> str:
        return labels.get(name, S.ident(name))

    for entity in spec.entities:
        if entity == "lab":
            parts = []
            date = value(LAB_DATE_COLUMN) if LAB_DATE_COLUMN in have else "NULL"
            for analyte in ANALYTES:
                if analyte not in have:
                    continue
                parts.append(f"SELECT {centre} AS centre_id, patient_id, CAST({date} AS DATE) AS sample_date, "
                             f"{S.literal(analyte)} AS analyte, CAST({value(analyte)} AS DOUBLE) AS value, "
                             f"{line} FROM h WHERE {compiled.nonempty[analyte]}")
            out["lab"] = "\nUNION ALL\n".join(parts) if parts else _empty("lab")
            continue
        cols = []
        for v in BY_ENTITY[entity]:
            typ = S.SQL_TYPES[v.dtype]
            if v.name == "centre_id":
                cols.append(f"{centre} AS centre_id")
            elif v.name in have:
                cols.append(f"CAST({value(v.name)} AS {typ}) AS {S.ident(v.name)}")
            else:
                cols.append(f"CAST(NULL AS {typ}) AS {S.ident(v.name)}")
        cols.append(line)
        own = [v.name for v in BY_ENTITY[entity] if v.name not in ("centre_id", "patient_id")]
        flags = [compiled.nonempty[n] for n in own if n in compiled.nonempty]
        where = "" if entity == "patient" else " WHERE " + (" OR ".join(flags) if flags else "false")
        out[entity] = f"SELECT {', '.join(cols)} FROM h{where}"
    for entity in BY_ENTITY:
        out.setdefault(entity, _empty(entity))
    return out


def _empty(entity: str) -> str:
    cols = ", ".join(f"CAST(NULL AS {S.SQL_TYPES[v.dtype]}) AS {S.ident(v.name)}" for v in BY_ENTITY[entity])
    return f"SELECT {cols}, CAST(NULL AS BIGINT) AS source_line WHERE false"


__all__ = ["WideSelect", "compile_wide", "entity_selects", "label_columns", "label_sql"]
