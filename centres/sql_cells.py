"""The cell parsers of the one path as DuckDB SQL expressions (pure: text in, SQL text out).

Each expression reads a column of ``raw`` text cells and is the single implementation of its
parser on the one path: trimming (exactly Python's ``str.strip``), numbers (with the decimal comma
of a profile), the censorable trough (``<0.4``, ``>=16``), exact unit factors
(:mod:`schema.units` holds the factors), the keyed pseudonym (HMAC-SHA256, RFC 2104).
"""

from __future__ import annotations

import sys
from fractions import Fraction

from centres.privacy import PSEUDONYM_HEX_CHARS, PSEUDONYM_PREFIX, hmac_pads

#: Every character Python's ``str.strip()`` removes (DuckDB's one-argument ``trim`` removes spaces only).
PY_WHITESPACE = "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())

#: The censorable trough: optional sign, a decimal number (``\\s`` as Python's).
WS_CLASS = "[" + "".join(f"\\x{{{ord(c):04X}}}" for c in PY_WHITESPACE) + "]"
TROUGH_RE = (r"^(<=?|>=?|≤|≥)?" + WS_CLASS + r"*"
             r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)$")

#: Larger "whole numbers" are not counts or scores, and do not fit the warehouse.
MAX_INT = 2 ** 53


def ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


_EDGE_WS = "^" + WS_CLASS + "|" + WS_CLASS + "$"


def stripped(col: str) -> str:
    """The cell as Python's ``str.strip()`` leaves it ('' for a missing cell).  ``trim`` with a set of
    characters is slow in DuckDB (about 10x plain ``trim``): it runs only on cells with white space
    at an edge, found by one regular expression."""
    c = f"coalesce({col}, '')"
    return f"(CASE WHEN regexp_matches({c}, {literal(_EDGE_WS)}) THEN trim({c}, {literal(PY_WHITESPACE)}) ELSE {c} END)"


# A decimal number as pandas.to_numeric reads one (no '_' digit separators, no hex, no 'infinity').
_NUMBER_RE = r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"
_SPECIAL_RE = r"^[-+]?(?:inf|nan)$"


def number(t: str, decimal: str = ".") -> str:
    """A trimmed cell as a DOUBLE (NULL when it is not a finite number, and for '')."""
    tt = f"replace({t}, ',', '.')" if decimal == "," else t
    return (f"(CASE WHEN regexp_full_match({tt}, {literal(_NUMBER_RE)}) THEN "
            f"TRY_CAST({tt} AS DOUBLE) END)")


def censored_number(t: str, decimal: str = ".") -> str:
    """A long lab value: a leading '<'/'>' (or '<='/'>=') of a censored result is dropped first."""
    tt = f"replace({t}, ',', '.')" if decimal == "," else t
    return number(f"regexp_replace({tt}, {literal('^[<>]=?' + WS_CLASS + '*')}, '')")


def trough_parts(t: str, decimal: str = ".") -> tuple[str, str]:
    """(value DOUBLE, sign text) of a trough cell by :data:`TROUGH_RE`."""
    tt = f"replace({t}, ',', '.')" if decimal == "," else t
    num = f"regexp_extract({tt}, {literal(TROUGH_RE)}, 2)"
    value = f"(CASE WHEN {num} <> '' THEN TRY_CAST({num} AS DOUBLE) END)"
    return value, f"regexp_extract({tt}, {literal(TROUGH_RE)}, 1)"


def censor(value: str, sign: str) -> str:
    return (f"(CASE WHEN {value} IS NULL THEN NULL WHEN starts_with({sign}, '<') OR starts_with({sign}, '≤') "
            f"THEN '<' WHEN starts_with({sign}, '>') OR starts_with({sign}, '≥') THEN '>' ELSE '=' END)")


def apply_factor(expr: str, f: Fraction) -> str:
    """``expr * f`` with the operations of :func:`schema.units.apply_factor`, in the same order."""
    if f == 1:
        return expr
    if f.numerator == 1:
        return f"({expr} / {float(f.denominator)!r})"
    if f.denominator == 1:
        return f"({expr} * {float(f.numerator)!r})"
    return f"({expr} * {float(f.numerator)!r} / {float(f.denominator)!r})"


def pseudonym(t: str, key: bytes) -> str:
    """HMAC-SHA256 of the trimmed id, as :func:`centres.privacy.pseudonymise` writes it (NULL for '')."""
    ipad, opad = hmac_pads(key)
    inner = f"unhex(sha256(unhex('{ipad.hex()}') || encode({t})))"
    digest = f"sha256(unhex('{opad.hex()}') || {inner})"
    return f"(CASE WHEN {t} = '' THEN NULL ELSE '{PSEUDONYM_PREFIX}' || left({digest}, {PSEUDONYM_HEX_CHARS}) END)"


def case_map(t: str, table: dict, sql_type: str = "VARCHAR") -> str:
    """``CASE t WHEN key THEN value ... END`` (NULL for anything else)."""
    if not table:
        return f"CAST(NULL AS {sql_type})"
    whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in table.items())
    return f"CAST((CASE {t} {whens} END) AS {sql_type})"


__all__ = ["MAX_INT", "PY_WHITESPACE", "WS_CLASS", "TROUGH_RE", "apply_factor", "case_map", "censor", "censored_number",
           "ident", "literal", "number", "pseudonym", "stripped", "trough_parts"]
