"""The checks of an export's header line, shared by every reader (pandas frame or DuckDB relation).

A reader hands over the header cells and what it knows of the columns below them; this module
decides, once for every path: trailing unnamed empty columns are dropped (a trailing delimiter, an
empty spreadsheet column), a column with values but no header is ``missing_header`` (naming the
group-header row when the line below the header holds the profile's column names), repeated headers
are ``duplicate_columns``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Sequence

from centres.profile import ColumnSpec, FileSpec, norm_label
from base.errors import FileRejected, MappingError


def clean_header(h) -> str:
    """A header cell as matched and shown: byte-order marks and surrounding space removed, NFC (macOS
    writes Korean decomposed, NFD: it looks identical but would not match the profile)."""
    return unicodedata.normalize("NFC", str(h).replace("\ufeff", "").strip())


def unnamed(h: str) -> bool:
    return h == "" or re.fullmatch(r"Unnamed: \d+", h) is not None


def column_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def check_header(raw_headers: Sequence, *, has_values: Callable[[int], bool], first_row: Callable[[], list[str]],
                 first_value: Callable[[int], tuple[int, str]], first_data_line: int, file_name: str,
                 spec=None) -> tuple[list[int], list[str]]:
    """(positions of the columns kept, their cleaned headers), or :class:`FileRejected`.

    ``has_values(i)``: column ``i`` has a non-blank cell; ``first_row()``: the cells of the first data
    line (blank or not); ``first_value(i)``: (0-based data line, value) of column ``i``'s first
    non-blank cell, ``(0, "")`` when it has none."""
    headers = [clean_header(c) for c in raw_headers]
    keep = [i for i, h in enumerate(headers) if not unnamed(h) or has_values(i)]
    kept = [headers[i] for i in keep]
    if any(unnamed(h) for h in kept):
        _missing_header(keep, kept, first_row, first_value, first_data_line, file_name, spec)
    norm = [" ".join(h.split()).casefold() for h in kept]
    dups = sorted({h for h, n in zip(kept, norm) if norm.count(n) > 1})
    if dups:
        raise FileRejected("duplicate column headers", code="duplicate_columns", file=file_name,
                           column=dups[0], value=", ".join(dups), hint="give every column a distinct header")
    return keep, kept


def _missing_header(keep: list[int], headers: list[str], first_row, first_value, first_data_line: int,
                    file_name: str, spec) -> None:
    header_line = first_data_line - 1
    expected = {norm_label(c.source) for c in spec.all_columns()} if spec is not None else set()
    row = first_row() if expected else []
    if row and expected:
        below = {norm_label(row[p]) for p in keep if p < len(row) and str(row[p]).strip()}
        if len(below & expected) >= max(2, len(expected) // 3):
            raise FileRejected(
                f"line {header_line} is a group-header row (titles over groups of columns, merged cells) above the "
                f"real header: line {header_line + 1} holds the column names", code="missing_header", file=file_name,
                line=header_line,
                hint=f"delete line/row {header_line} so the column names are the first line (or set header_row: "
                     f"{header_line + 1} in the centre profile) and send the file again")
    i = next(k for k, h in enumerate(headers) if unnamed(h))
    first, value = first_value(keep[i])
    raise FileRejected(
        f"column {i + 1} ({column_letter(i)}) has values but no header (e.g. {value!r} on line "
        f"{first_data_line + first}); the header line is line {header_line}", code="missing_header", file=file_name,
        line=header_line, hint="give every column a header, or delete the column")


def resolve_columns(headers: Sequence[str], spec: FileSpec, file_name: str) -> list[tuple[ColumnSpec, str]]:
    """Each profile column of ``spec`` with the file header it reads (``norm_label``-matched), in the
    profile's order.  A mapped column the file lacks is ``missing_columns``; a header the profile does
    not know is ``unknown_columns`` when the spec rejects unknown columns (else it is ignored)."""
    by_norm = {norm_label(h): h for h in headers}
    resolved: list[tuple[ColumnSpec, str]] = []
    missing: list[str] = []
    used: set[str] = set()
    for col in spec.all_columns():
        h = by_norm.get(norm_label(col.source))
        if h is None:
            if not col.optional:
                missing.append(col.source)
            continue
        resolved.append((col, h))
        used.add(h)
    ignored = {norm_label(x) for x in spec.ignore_columns}
    unknown = [h for h in headers if h not in used and norm_label(h) not in ignored]
    if missing:
        also = f"; the file has unmapped columns {', '.join(map(repr, unknown))}" if unknown else ""
        raise MappingError(
            f"{len(missing)} mapped column(s) missing: {', '.join(map(repr, missing))}{also}",
            code="missing_columns", file=file_name, column=missing[0], value=", ".join(missing),
            hint=f"export the '{spec.name}' file with these column headers as agreed for your centre (was a "
                 "header renamed? name it back, or ask the study's data team to accept the new name)",
        )
    if unknown and spec.unknown_columns == "reject":
        raise MappingError(
            f"{len(unknown)} column(s) not expected in this export: {', '.join(map(repr, unknown))}",
            code="unknown_columns", file=file_name, column=unknown[0], value=", ".join(unknown),
            hint="remove the column from the export, or ask the study's data team to accept it for your "
                 "centre",
        )
    return resolved


__all__ = ["check_header", "clean_header", "column_letter", "resolve_columns", "unnamed"]
