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

import pandas as pd

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
    """The registered rule ``name``; an unknown code is a programming error (every code the adapters,
    the dictionary checks and the rules emit is registered: tests/validators/test_registry.py)."""
    try:
        return RULES[name]
    except KeyError:
        raise KeyError(f"unknown rule code {name!r}: register it (validators/registry.py or its family module "
                       f"in validators/setwise/) with its severity, description and fix") from None


_ALL = ("patient", "assessment", "elisa", "lab")

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

# unit_mixup is registered beside its query in validators/setwise/units.py.

# --- cells the adapter could not parse (cell_issues) --------------------------------------------
register(Rule("unknown_code", "error", "adapter", "A code in the export is not in the centre's code map.",
              "Write one of the values shown under 'expected'; if the label is right at your centre, ask the "
              "study's data team to accept it.", _ALL))
register(Rule("unparseable_date", "error", "adapter", "A date cell could not be read as a date.",
              "Write the date in the centre's agreed date format.", _ALL))
register(Rule("not_a_number", "error", "adapter", "A numeric cell could not be read as a number (text, a "
              "decimal comma, a thousands separator, a placeholder, an Excel error, a value too large or not finite).",
              "Write a plain number with '.' as the decimal mark and no units or text in the cell.", _ALL))
register(Rule("not_an_integer", "error", "adapter", "A cell that counts something (e.g. the number of infusions) "
              "holds a fractional number.", "Write a whole number.", _ALL))
register(Rule("unknown_unit", "error", "adapter",
              "A lab result's unit cannot be converted to the analyte's unit of the data dictionary.",
              "Write the result in one of the units the data dictionary lists for the analyte (or ask the study's "
              "data team to add the unit).", ("lab",)))

# --- cross-field, cross-record and warehouse-context rules: registered beside their queries in
# validators/setwise/ (dates, values, records, cohort); validators/__init__ imports them all.

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
# --- files the adapter cannot read or map (centres: FileRejected / MappingError / PrivacyError codes)
_FILE_CODES = {
    "unreadable": ("The file cannot be read (missing, not a regular file, unreadable bytes, a corrupt workbook, "
                   "access denied).", "Export the file again and send it; if it keeps failing, contact the study's "
                   "data team with the report."),
    "empty_file": ("The file (or its sheet) is empty or has no header line.",
                   "Export the file again with its header and data rows."),
    "header_only": ("The file has a header but no data rows.", "Export the file again with its data rows."),
    "encoding": ("The file's text is not in the encoding agreed for the centre (e.g. UTF-8).",
                 "Re-export the file as UTF-8 CSV (the report names the first byte that could not be read)."),
    "encrypted_workbook": ("The workbook is password-protected.", "Remove the password and send the file again."),
    "wrong_file_type": ("The file's contents do not match its name (e.g. a PDF or an HTML page named .xlsx).",
                        "Export the data again as the file type agreed for the centre (CSV or XLSX)."),
    "wrong_delimiter": ("The CSV columns are separated by another character than the one agreed for the centre.",
                        "Export the CSV with the agreed separator, or tell the study's data team which one you use."),
    "malformed_csv": ("The CSV is malformed (a quote never closed, a line that cannot be split into fields).",
                      "Export the file again from the source system (do not edit it in a text editor)."),
    "truncated_file": ("The file ends in the middle of a line: it looks truncated.",
                       "Export and send the whole file again."),
    "line_too_long": ("A line is far longer than any export line can be (a missing line break or quote).",
                      "Export the file again; check that text cells contain no stray quotes."),
    "field_count": ("A line has more or fewer fields than the header: its values would sit under the wrong "
                    "columns.", "Remove the extra separators or fill in the missing cells on the line named in the "
                    "problem, then send the file again."),
    "missing_header": ("The header line is missing or is not the first line (a title or group-header row above it).",
                       "Export the file with the column names on the first line."),
    "duplicate_columns": ("Two columns of the file have the same header.",
                          "Rename or remove the repeated column and send the file again."),
    "missing_sheet": ("The workbook has no sheet of the agreed name or position.",
                      "Keep the data in the agreed sheet (the problem names it) and send the file again."),
    "missing_columns": ("Columns the centre's export must carry are missing.",
                        "Export the file with every column of the agreed layout (the problem names them)."),
    "unknown_columns": ("The file has columns the centre's agreed layout does not know.",
                        "Remove the extra columns, or ask the study's data team to add them to your layout."),
    "no_matching_spec": ("The file's name or layout matches none of the centre's agreed exports.",
                         "Name the file as agreed for your centre (or ask the study's data team which name to use)."),
    "direct_identifier": ("The file holds a direct identifier (a name, a national ID, a phone number) that must "
                          "never reach the study.", "Remove the identifying column or values and send the file "
                          "again; delete the copy that was sent."),
    "file_rejected": ("The file was rejected before validation.", "Correct the file as the problem says and send it "
                      "again."),
    "mapping_error": ("A column or code of the export cannot be mapped to the data dictionary.",
                      "Correct the column or code as the problem says and send the file again."),
}
for _code, (_what, _fix) in _FILE_CODES.items():
    register(Rule(_code, "file_error", "file", _what, _fix, _ALL))

# unit_profile_suspect is registered beside its query in validators/setwise/units.py.


def rules_frame():
    """The registry as a DataFrame (name, severity, origin, entities, description, fix)."""
    return pd.DataFrame(
        [{"rule": r.name, "severity": r.severity, "origin": r.origin, "entities": ", ".join(r.entities),
          "description": r.description, "fix": r.fix} for r in RULES.values()]
    )


def rules_markdown() -> str:
    """A Markdown table of every rule, for docs/VALIDATION.md (grouped by origin, then by name)."""
    lines = ["| rule | severity | origin | entities | what it checks | how to fix |",
             "|---|---|---|---|---|---|"]
    for r in sorted(RULES.values(), key=lambda r: (ORIGINS.index(r.origin), r.name)):
        cells = [f"`{r.name}`", r.severity, r.origin, ", ".join(r.entities), r.description, r.fix]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["ORIGINS", "Rule", "RULES", "SEVERITIES", "register", "get_rule", "rules_frame", "rules_markdown"]
