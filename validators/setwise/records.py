"""Rules across records: second assessments, orphans, repeated lines and keys, another centre's patient.

They see the whole file at once (a table per entity), so a repeat or a second assessment is found
however far apart its lines are, and the warehouse context (``ctx_known``, ``ctx_assess``,
``ctx_other``) extends them across files.
"""

from __future__ import annotations

from schema.dictionary import ANALYTES, ENTITIES
from validators.registry import Rule, register
from validators.setwise.sql import ENTITY_ORDER, entity_columns_sql, finding, lit, ymd

_ALL = ("patient", "assessment", "elisa", "lab")
_CLINICAL = ("assessment", "elisa", "lab")

SECOND_ASSESSMENT = register(Rule(
    "second_assessment", "error", "rule",
    "A second follow-up assessment for the same patient (one per patient per study).",
    "Send only the follow-up ileocolonoscopy that qualifies for the study; if the earlier one was wrong, correct "
    "it (same colonoscopy date) instead of adding another.", ("assessment",)))

# Within the file the earliest colonoscopy is kept and later ones are flagged; a patient who already
# has a current assessment in the warehouse has every new one on another day flagged (the same day is
# a correction: it supersedes).
SECOND_ASSESSMENT_SQL = f"""
    WITH ok AS (SELECT a.*, min(a.colonoscopy_date) OVER (PARTITION BY a.patient_id) AS _first_here
                FROM assessment a WHERE a.patient_id IS NOT NULL AND a.colonoscopy_date IS NOT NULL),
    ex AS (SELECT patient_id, min(colonoscopy_date) AS _first_before FROM ctx_assess
           WHERE colonoscopy_date IS NOT NULL GROUP BY patient_id),
    judged AS (SELECT ok.*, coalesce(ex._first_before, ok._first_here) AS _first,
                      CASE WHEN ex.patient_id IS NULL THEN ok.colonoscopy_date <> ok._first_here
                           ELSE NOT EXISTS (SELECT 1 FROM ctx_assess c WHERE c.patient_id = ok.patient_id
                                            AND c.colonoscopy_date = ok.colonoscopy_date) END AS _later
               FROM ok LEFT JOIN ex ON ex.patient_id = ok.patient_id)
    SELECT {finding("assessment", "j", "colonoscopy_date",
                    "'second follow-up assessment for this patient (first: ' || " + ymd("j._first") + " || ')'",
                    lit("one follow-up assessment per patient"))}
    FROM judged j WHERE j._later"""

ORPHAN_RECORD = register(Rule(
    "orphan_record", "error", "rule",
    "A visit, ELISA or lab record whose patient is not in this centre's baseline data.",
    "Send the patient's baseline record first (or check the study number).", _CLINICAL))

_BASELINE_IDS = "SELECT patient_id FROM patient UNION ALL SELECT patient_id FROM ctx_known"
# One anti-join for the three entities (the baseline ids hashed once, not once per entity: about 30%
# less CPU at 1e6 wide lines); the few orphans are joined back for their findings, reported in the
# order of the entities and their rows.
_CLINICAL_IDS = " UNION ALL ".join(f"SELECT {k} AS _e, rowid AS _r, patient_id FROM {ent} WHERE patient_id IS NOT NULL"
                                   for k, ent in enumerate(_CLINICAL))
_ORPHANS = (f"SELECT _e, _r FROM ({_CLINICAL_IDS}) x "
            f"WHERE NOT EXISTS (SELECT 1 FROM ({_BASELINE_IDS}) b WHERE b.patient_id = x.patient_id)")
ORPHAN_SQL = f"WITH o AS MATERIALIZED ({_ORPHANS}) SELECT * EXCLUDE (_e, _r) FROM (" + "\nUNION ALL\n".join(
    f"""SELECT {finding(ent, "r", "patient_id", lit("no baseline record for this patient in this centre"),
                        lit("a patient in the centre's baseline data"))}, o._e, o._r
        FROM {ent} r JOIN o ON o._e = {k} AND o._r = r.rowid"""
    for k, ent in enumerate(_CLINICAL)) + ") ORDER BY _e, _r"

DUPLICATE_ROW = register(Rule("duplicate_row", "error", "rule", "The whole line repeats an earlier line of the file.",
                              "Delete the repeated line.", _ALL))


def _first_row_on_line(lines: str) -> str:
    """The first record (entity order, then row order) on each line of ``lines`` (``source_line`` and
    the finding's ``_note, _value, _expected``), computed once for the four entities."""
    rows = "\nUNION ALL\n".join(
        f"SELECT {finding(ent, 't', None, 'x._note', 'x._expected', value='x._value')}, {k} AS _e, t.rowid AS _r "
        f"FROM {ent} t JOIN x ON x.source_line = t.source_line"
        for k, ent in enumerate(ENTITY_ORDER))
    return (f"WITH x AS MATERIALIZED ({lines}) "
            f"SELECT entity, source_line, patient_id, record, column_name, value, message, expected FROM ({rows}) "
            "QUALIFY row_number() OVER (PARTITION BY source_line ORDER BY _e, _r) = 1")


# A line's signature: the sum of its records' content hashes (salted with the entity; DuckDB sums
# UBIGINT exactly, as HUGEINT) and their number, order-free; one pass over the four entity tables
# and one aggregation by line.  A line is compared on its visit/ELISA/lab records when it has any,
# else on its patient record: a wide export carries the patient's baseline once (on the patient's
# first line).
_HASHES = " UNION ALL ".join(
    f"SELECT source_line, {k} AS _e, hash({lit(ent)}, {entity_columns_sql(ent, 't')}) AS _h FROM {ent} t"
    for k, ent in enumerate(ENTITY_ORDER))
_SIGNATURES = f"""
    SELECT source_line, coalesce(sum(_h) FILTER (WHERE _e > 0), 0) AS os, count(*) FILTER (WHERE _e > 0) AS "on",
           coalesce(sum(_h) FILTER (WHERE _e = 0), 0) AS ps, count(*) FILTER (WHERE _e = 0) AS pn
    FROM ({_HASHES}) GROUP BY source_line"""
_SIG = 'ps, pn, os, "on"'
DUPLICATE_ROW_SQL = _first_row_on_line(f"""
    WITH sig AS MATERIALIZED (SELECT source_line, CASE WHEN "on" > 0 THEN 0 ELSE ps END AS ps,
                                     CASE WHEN "on" > 0 THEN 0 ELSE pn END AS pn, os, "on" FROM ({_SIGNATURES})),
    repeated AS (SELECT {_SIG}, min(source_line) AS _orig FROM sig GROUP BY ALL HAVING count(*) > 1)
    SELECT sig.source_line, 'line repeats line ' || _orig AS _note, 'line ' || _orig AS _value,
           'no repeated lines' AS _expected
    FROM sig JOIN repeated USING ({_SIG}) WHERE sig.source_line > _orig""")

DUPLICATE_KEY = register(Rule(
    "duplicate_key", "error", "rule",
    "Two different records with the same key (patient; patient + colonoscopy date; patient + sample time; "
    "patient + sample date + analyte).",
    "Keep one record per key: delete or correct the conflicting line.", _ALL))


#: a key column whose values are a few known codes: its records are grouped by the rest of the key,
#: a group holding a code twice (a bit per code; an unknown code counts without a bit) is a candidate
_CODED_KEY_COLUMNS = {("lab", "analyte"): tuple(ANALYTES)}


def _repeated_keys(ent: str, key: list[str], given: str) -> str:
    """A condition on a row of ``ent`` (alias ``d``): its key may repeat in the file.

    The keys are grouped by their hash (a collision only adds a candidate; the windows partition by
    the key itself); a key ending in a coded column (a lab row's analyte) is grouped without it, so
    that a file's 6.5e6 lab rows make 1e6 groups, not 6.5e6 (about 2x less CPU)."""
    codes = _CODED_KEY_COLUMNS.get((ent, key[-1]))
    if codes is None:
        group, having = ", ".join(key), "count(*) > 1"
    else:
        bit = f"coalesce(CASE {key[-1]} " + " ".join(f"WHEN {lit(c)} THEN {1 << k}" for k, c in enumerate(codes)) + " END, 0)"
        group, having = ", ".join(key[:-1]), f"count(*) <> bit_count(bit_or({bit}))"
    return (f"hash({', '.join(f'd.{k}' for k in group.split(', '))}) IN "
            f"(SELECT hash({group}) FROM {ent} WHERE {given} GROUP BY 1 HAVING {having})")


def _duplicate_key(ent: str) -> str:
    """A record repeating an earlier record's key (in line order) with content no earlier one has.

    Only the records whose key may repeat are ordered (:func:`_repeated_keys`; most keys of a file
    are unique)."""
    key = [k for k in ENTITIES[ent].key if k != "centre_id"]
    keys = ", ".join(key)
    given = " AND ".join(f"{k} IS NOT NULL" for k in key)
    return f"""
        SELECT {finding(ent, "k", key[-1], "'another record with the same key on line ' || CAST(k._first AS VARCHAR)",
                        lit(f"one {ent} record per " + " + ".join(key)))}
        FROM (SELECT t.*, row_number() OVER (PARTITION BY {keys} ORDER BY t.source_line, t._r) AS _kn,
                     row_number() OVER (PARTITION BY {keys}, t._h ORDER BY t.source_line, t._r) AS _hn,
                     min(t.source_line) OVER (PARTITION BY {keys}) AS _first
              FROM (SELECT d.*, d.rowid AS _r, hash({entity_columns_sql(ent, 'd')}) AS _h FROM {ent} d
                    WHERE {given} AND {_repeated_keys(ent, key, given)}) t) k
        WHERE k._kn > 1 AND k._hn = 1"""


DUPLICATE_KEY_SQL = "\nUNION ALL\n".join(_duplicate_key(e) for e in ENTITY_ORDER)

PATIENT_IN_OTHER_CENTRE = register(Rule(
    "patient_in_other_centre", "error", "rule",
    "The same pseudonymised patient id is already registered by another centre.",
    "Check the study number; a patient transferred between centres must be reported by one centre only (contact "
    "the coordinating centre).", _ALL))

# flagged once per line, on the line's first record; the other centre is the first one listed
_OTHER = ("SELECT patient_id, arg_min(coalesce(centre_id, 'another centre'), rowid) AS _centre FROM ctx_other "
          "WHERE patient_id IS NOT NULL GROUP BY patient_id")
_OTHER_FINDING = {"message": lit("patient id already registered by centre ") + " || o._centre",
                  "expected": lit("a patient reported by one centre only")}
_OTHER_ROWS = "\nUNION ALL\n".join(
    f"SELECT {finding(ent, 't', 'patient_id', **_OTHER_FINDING)}, {k} AS _e, t.rowid AS _r "
    f"FROM {ent} t JOIN ({_OTHER}) o ON o.patient_id = t.patient_id"
    for k, ent in enumerate(ENTITY_ORDER))
OTHER_CENTRE_SQL = (f"SELECT entity, source_line, patient_id, record, column_name, value, message, expected "
                    f"FROM ({_OTHER_ROWS}) QUALIFY row_number() OVER (PARTITION BY source_line ORDER BY _e, _r) = 1")

QUERIES: dict[str, str] = {SECOND_ASSESSMENT.name: SECOND_ASSESSMENT_SQL, ORPHAN_RECORD.name: ORPHAN_SQL,
                           DUPLICATE_ROW.name: DUPLICATE_ROW_SQL, DUPLICATE_KEY.name: DUPLICATE_KEY_SQL,
                           PATIENT_IN_OTHER_CENTRE.name: OTHER_CENTRE_SQL}

__all__ = ["QUERIES"]
