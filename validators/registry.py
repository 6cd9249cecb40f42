"""The rule registry: every validation finding has a stable rule code listed here.

Each :class:`Rule` says what it checks, how severe a failure is and how a data manager fixes it, so
the report can explain every finding and ``docs/VALIDATION.md`` lists every rule (generated from
:data:`RULES` by :func:`rules_markdown`).

Severities
----------
``error``       the row is rejected: it goes to quarantine with its reasons and original line.
``warning``     the row is loaded and flagged (the ``warnings`` column); a data manager can confirm
                it (``tdm review confirm``) so it stops being reported.
``file_error``  the whole file is rejected with one clear message.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "file_error")

#: Where a rule comes from: the pandera model, a cross-field/cross-record rule, the centre adapter
#: (cells it could not parse), or a file-level check.
ORIGINS = ("schema", "rule", "adapter", "file")


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    origin: str
    description: str
    fix: str
    entities: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.origin not in ORIGINS:
            raise ValueError(f"{self.name}: origin must be one of {ORIGINS}, got {self.origin!r}")


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} registered twice")
    RULES[rule.name] = rule
    return rule


def get_rule(name: str) -> Rule:
    """The registered rule ``name``; an unknown code (e.g. a new adapter code) becomes a generic error."""
    try:
        return RULES[name]
    except KeyError:
        return Rule(name, "error", "adapter", f"Finding '{name}' reported by the centre adapter.",
                    "Correct the value in the export and send the file again.")


_ALL = ("patient", "assessment", "elisa", "lab")
_CLINICAL = ("assessment", "elisa", "lab")
_COHORT = "will be excluded from the analysis cohort"

# --- from the pandera models (schema.models), one per kind of column check ----------------------
register(Rule("required", "error", "schema", "A required value is empty.",
              "Fill in the value in the export (see the data dictionary for the variable).", _ALL))
register(Rule("dtype", "error", "schema", "A value has the wrong type (not a number, date or yes/no).",
              "Write the value in the format of the data dictionary (numbers with '.', dates YYYY-MM-DD).",
              _ALL))
register(Rule("allowed_codes", "error", "schema",
              "A coded value (Paris classification, sex, diagnosis, IFX indication, ATI, censoring, "
              "analyte) is not one of the dictionary codes.",
              "Use one of the allowed codes shown under 'expected'.",
              _ALL))
register(Rule("range", "error", "schema",
              "A number is outside its possible range (SES-CD 0-56, segments 0-12, PCDAI 0-100, "
              "trough >= 0, lab values >= 0, ...).",
              "Check the value and its unit against the source record and correct it.", _ALL))
register(Rule("not_future", "error", "schema", "A date lies in the future.",
              "Check the date (day/month order, year typo) and correct it.", _ALL))
register(Rule("lab_value_implausible", "warning", "schema",
              "A lab value is outside the plausible paediatric range of its analyte.",
              "Check the value and unit against the patient's chart. If it is a true extreme value, confirm "
              "it (the query in the report, or 'tdm review confirm') so it is not reported again.", ("lab",)))

register(Rule("unit_mixup", "error", "schema",
              "A value is impossible in its column's unit but plausible in another standard unit (g/L for "
              "g/dL, mg/L for mg/dL, a fraction for %, /uL for 10^3/uL, ng/mL for ug/mL).",
              "Write the value in the column's unit (the problem shows the converted value). If the export "
              "always writes this column in the other unit, tell the study's data team so they can change "
              "your centre's settings.", ("lab", "elisa")))

# --- cells the adapter could not parse (cell_issues) --------------------------------------------
register(Rule("unknown_code", "error", "adapter", "A code in the export is not in the centre's code map.",
              "Write one of the values shown under 'expected'; if the label is right at your centre, ask the "
              "study's data team to accept it.", _ALL))
register(Rule("unparseable_date", "error", "adapter", "A date cell could not be read as a date.",
              "Write the date in the centre's agreed date format.", _ALL))
register(Rule("unparseable_number", "error", "adapter", "A numeric cell could not be read as a number.",
              "Write a plain number (no units or text in the cell).", _ALL))
register(Rule("unparseable_value", "error", "adapter", "A cell could not be read.",
              "Correct the cell to the format in the data dictionary.", _ALL))

# --- cross-field and cross-record rules (validators.rules) -------------------------------------
register(Rule("date_order", "error", "rule",
              "Dates are out of order: birth <= diagnosis <= first IFX <= colonoscopy is required.",
              "Check the birth, diagnosis, IFX start and colonoscopy dates against the source record.",
              ("patient", "assessment")))
register(Rule("trough_after_infusion", "error", "rule",
              "The trough sample was drawn after the infusion it belongs to (it must be drawn "
              "immediately before the infusion).",
              "Check the sample date/time; a sample drawn after the infusion is not a trough level.",
              ("elisa",)))
register(Rule("ses_cd_sum_mismatch", "error", "rule",
              "The SES-CD total does not equal the sum of the segment scores (or is smaller than "
              "the sum of the segments given).",
              "Recompute the SES-CD total from the five segment scores.", ("assessment",)))
register(Rule("ati_titre_inconsistent", "error", "rule",
              "The ATI status contradicts the ATI titre (positive below the cut-off, negative at or "
              "above it, or positive with a zero titre).",
              "Check the ATI status, titre and the assay cut-off in the lab report.", ("elisa",)))
register(Rule("censored_trough_inconsistent", "error", "rule",
              "A censored trough does not match the assay limits: '<' must carry the LLOQ itself, "
              "'>' the ULOQ, and a quantified value must lie between the limits.",
              "For a result below the limit, write '<LLOQ' (the limit, never 0); check the assay limits.",
              ("elisa",)))
register(Rule("second_assessment", "error", "rule",
              "A second follow-up assessment for the same patient (one per patient per study).",
              "Send only the follow-up ileocolonoscopy that qualifies for the study; if the earlier "
              "one was wrong, correct it (same colonoscopy date) instead of adding another.",
              ("assessment",)))
register(Rule("orphan_record", "error", "rule",
              "A visit, ELISA or lab record whose patient is not in this centre's baseline data.",
              "Send the patient's baseline record first (or check the study number).", _CLINICAL))
register(Rule("duplicate_row", "error", "rule", "The whole line repeats an earlier line of the file.",
              "Delete the repeated line.", _ALL))
register(Rule("duplicate_key", "error", "rule",
              "Two different records with the same key (patient; patient + colonoscopy date; "
              "patient + sample time; patient + sample date + analyte).",
              "Keep one record per key: delete or correct the conflicting line.", _ALL))
register(Rule("patient_in_other_centre", "error", "rule",
              "The same pseudonymised patient id is already registered by another centre.",
              "Check the study number; a patient transferred between centres must be reported by "
              "one centre only (contact the coordinating centre).", _ALL))
# Eligibility is decided in the warehouse (schema.derived.EXCLUSIONS); these warnings only tell the
# data manager early that a record will be excluded. They never reject a row.
register(Rule("colonoscopy_not_on_infusion_day", "warning", "rule",
              f"The colonoscopy was not on the IFX infusion day: {_COHORT}.",
              "If the dates are wrong, correct them; otherwise no action (the record is kept).",
              ("assessment",)))
register(Rule("age_18_or_over", "warning", "rule",
              f"Aged 18 or over at diagnosis or at the first IFX infusion: {_COHORT}.",
              "If the birth, diagnosis or IFX start date is wrong, correct it; otherwise no action.",
              ("patient",)))
register(Rule("ifx_under_1_year", "warning", "rule",
              f"IFX for less than 1 year at the colonoscopy: {_COHORT}.",
              "If the IFX start or colonoscopy date is wrong, correct it; otherwise no action.",
              ("assessment",)))

# --- whole-file checks ---------------------------------------------------------------------------
register(Rule("missing_column", "file_error", "file", "A required column is missing from the file.",
              "Export the file with every required column of the study template (the column is named in the "
              "problem), then send it again.", _ALL))
register(Rule("wrong_centre", "file_error", "file",
              "The file carries records of another centre than the inbox it was dropped in.",
              "Drop the file in your own centre's inbox, or re-export it for your centre only.", _ALL))
register(Rule("too_many_errors", "file_error", "file",
              "More rows failed than the centre's policy allows (max_error_fraction): the whole file "
              "is rejected.",
              "Fix the problem rows listed in the report and send the corrected file again.", _ALL))
register(Rule("unit_profile_suspect", "file_error", "file",
              "A lab analyte or the trough level of the whole file sits at the factor of a standard unit "
              "mix-up (10, 100, 1000) from the study's values: the file's unit is probably not the one "
              "your centre's settings say.",
              "Check which unit your laboratory system exports for this column. If it is the unit the "
              "report names, tell the study's data team so they can change your centre's settings; if "
              "the values are wrong, correct them. Then send the file again.", ("lab", "elisa")))


def rules_frame():
    """The registry as a DataFrame (name, severity, origin, entities, description, fix)."""
    import pandas as pd

    return pd.DataFrame(
        [{"rule": r.name, "severity": r.severity, "origin": r.origin, "entities": ", ".join(r.entities),
          "description": r.description, "fix": r.fix} for r in RULES.values()]
    )


def rules_markdown() -> str:
    """A Markdown table of every rule, for docs/VALIDATION.md."""
    lines = ["| rule | severity | origin | entities | what it checks | how to fix |",
             "|---|---|---|---|---|---|"]
    for r in RULES.values():
        cells = [f"`{r.name}`", r.severity, r.origin, ", ".join(r.entities), r.description, r.fix]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["Rule", "RULES", "SEVERITIES", "register", "get_rule", "rules_frame", "rules_markdown"]
