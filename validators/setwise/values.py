"""Rules between the values of one record: SES-CD total vs segments, ATI status vs titre, a censored
trough vs the assay limits, a negative lab value."""

from __future__ import annotations

from schema.dictionary import SES_CD_SEGMENTS
from validators.registry import Rule, register
from validators.setwise.sql import finding, lit, num, show

#: A censored trough "carries" a limit when it equals it up to this absolute + relative tolerance:
#: the limits are written with at most a few decimals, so 1e-6 absorbs the binary noise of a unit
#: conversion (ng/mL x 0.001) and nothing a laboratory would report.
CENSOR_TOLERANCE = 1e-6

SES_CD_SUM_MISMATCH = register(Rule(
    "ses_cd_sum_mismatch", "error", "rule",
    "The SES-CD total does not equal the sum of the segment scores (or is smaller than the sum of the segments "
    "given).",
    "Recompute the SES-CD total from the five segment scores.", ("assessment",)))

_N = " + ".join(f"({s} IS NOT NULL)::INT" for s in SES_CD_SEGMENTS)
_SUM = " + ".join(f"coalesce({s}, 0)" for s in SES_CD_SEGMENTS)
_K = len(SES_CD_SEGMENTS)
SES_CD_SQL = f"""
    SELECT {finding("assessment", "a", "ses_cd_total", lit("SES-CD total does not match its segment scores"),
                    f"CASE WHEN a._n = {_K} THEN 'sum of the segment scores = ' "
                    "ELSE 'at least the sum of the segments given = ' END || CAST(a._s AS VARCHAR)")}
    FROM (SELECT *, {_N} AS _n, {_SUM} AS _s FROM assessment) a
    WHERE a.ses_cd_total IS NOT NULL AND ((a._n = {_K} AND a.ses_cd_total <> a._s)
                                          OR (a._n BETWEEN 1 AND {_K - 1} AND a.ses_cd_total < a._s))"""

ATI_TITRE_INCONSISTENT = register(Rule(
    "ati_titre_inconsistent", "error", "rule",
    "The ATI status contradicts the ATI titre (positive below the cut-off, negative at or above it, or positive "
    "with a zero titre).",
    "Check the ATI status, titre and the assay cut-off in the lab report.", ("elisa",)))

ATI_SQL = f"""
    SELECT {finding("elisa", "e", "ati_status",
                    "'ATI positive but the titre ' || " + num("e.ati_titre_ng_ml") + " || ' ng/mL is not above the cut-off'",
                    "CASE WHEN e.ati_cutoff_ng_ml IS NOT NULL THEN 'titre >= cut-off ' || "
                    + num("e.ati_cutoff_ng_ml") + " || ' ng/mL' ELSE 'titre > 0' END")}
    FROM elisa e WHERE e.ati_status = 'positive' AND e.ati_titre_ng_ml IS NOT NULL
        AND ((e.ati_cutoff_ng_ml IS NOT NULL AND e.ati_titre_ng_ml < e.ati_cutoff_ng_ml)
             OR (e.ati_cutoff_ng_ml IS NULL AND e.ati_titre_ng_ml <= 0))
    UNION ALL
    SELECT {finding("elisa", "e", "ati_status",
                    "'ATI negative but the titre ' || " + num("e.ati_titre_ng_ml")
                    + " || ' ng/mL is at or above the cut-off'",
                    "'titre < cut-off ' || " + num("e.ati_cutoff_ng_ml") + " || ' ng/mL, or status positive'")}
    FROM elisa e WHERE e.ati_status = 'negative' AND e.ati_titre_ng_ml IS NOT NULL
        AND e.ati_cutoff_ng_ml IS NOT NULL AND e.ati_titre_ng_ml >= e.ati_cutoff_ng_ml"""

CENSORED_TROUGH_INCONSISTENT = register(Rule(
    "censored_trough_inconsistent", "error", "rule",
    "A censored trough does not match the assay limits: '<' must carry the LLOQ itself, '>' the ULOQ, and a "
    "quantified value must lie between the limits.",
    "For a result below the limit, write '<LLOQ' (the limit, never 0); check the assay limits.", ("elisa",)))


def _close(a: str, b: str) -> str:
    return f"(abs({a} - {b}) <= {CENSOR_TOLERANCE!r} + {CENSOR_TOLERANCE!r} * abs({b}))"


def _censor(censor: str, cond: str, message: str, expected: str) -> str:
    return (f"SELECT {finding('elisa', 'e', 'trough_ug_ml', lit(message), expected)} FROM elisa e "
            f"WHERE e.trough_censor = {lit(censor)} AND e.trough_ug_ml IS NOT NULL AND {cond}")


_T, _LO, _HI = "e.trough_ug_ml", "e.lloq_ug_ml", "e.uloq_ug_ml"
CENSORED_SQL = "\nUNION ALL\n".join([
    _censor("<", f"{_LO} IS NOT NULL AND NOT {_close(_T, _LO)}", "below-LLOQ trough does not carry the LLOQ",
            "'the LLOQ ' || " + num(_LO) + " || ' ug/mL (with ''<'')'"),
    _censor(">", f"{_HI} IS NOT NULL AND NOT {_close(_T, _HI)}", "above-ULOQ trough does not carry the ULOQ",
            "'the ULOQ ' || " + num(_HI) + " || ' ug/mL (with ''>'')'"),
    _censor("=", f"{_T} < {_LO} AND NOT {_close(_T, _LO)}", "quantified trough is below the assay's LLOQ",
            "'''<' || " + num(_LO) + " || ''' (below LLOQ) or a value >= the LLOQ'"),
    _censor("=", f"{_T} > {_HI} AND NOT {_close(_T, _HI)}", "quantified trough is above the assay's ULOQ",
            "'''>' || " + num(_HI) + " || ''' (above ULOQ) or a value <= the ULOQ'"),
])

# A negative lab value is impossible: reported under the dictionary's ``range`` rule, on the
# analyte's column as the export names it.
LAB_NEGATIVE_SQL = f"""
    SELECT {finding("lab", "l", "value", "l.analyte || ' is negative'", lit(">= 0"),
                    value=show("lab", "value", "l"), column_sql="l.analyte")}
    FROM lab l WHERE l.value < 0"""

QUERIES: dict[str, str] = {SES_CD_SUM_MISMATCH.name: SES_CD_SQL, ATI_TITRE_INCONSISTENT.name: ATI_SQL,
                           CENSORED_TROUGH_INCONSISTENT.name: CENSORED_SQL, "range": LAB_NEGATIVE_SQL}

__all__ = ["CENSOR_TOLERANCE", "QUERIES"]
