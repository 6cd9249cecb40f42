"""Validation of harmonised frames: pandera models, cross-field/cross-record rules, reports.

Pure: frames in, an immutable :class:`ValidationResult` out; the report renderers return text
(:mod:`validators.report`); writing files is :mod:`ingestion.reports`.
"""

from validators.context import ValidationContext
from validators.core import ISSUE_COLUMNS, REJECTED_COLUMNS, ValidationResult, rule_counts, validate_file
from validators.registry import RULES, Rule, get_rule, rules_frame, rules_markdown
from validators.setwise import register_context, rule_findings  # registers the rules beside their queries

__all__ = [
    "ValidationContext",
    "ValidationResult",
    "validate_file",
    "ISSUE_COLUMNS",
    "REJECTED_COLUMNS",
    "RULES",
    "Rule",
    "get_rule",
    "rules_frame",
    "rules_markdown",
    "rule_counts",
    "register_context",
    "rule_findings",
]
