"""The file checks of an export (the only I/O of the adapters besides DuckDB's reader), and the
workbook reader.

Problems with the file as a whole raise :class:`~base.errors.FileRejected` with a stable code:
``unreadable`` (missing, corrupt, wrong format), ``empty_file``, ``header_only``, ``encoding``
(bytes that do not decode with any of the profile's encodings; the message names the line and
the bytes), ``missing_sheet``, ``duplicate_columns``, ``missing_header``, ``wrong_delimiter`` (the
header splits on another delimiter than the profile's), ``wrong_file_type`` (the bytes are a PDF,
an image, an archive, a workbook named .csv, text named .xlsx...) and ``encrypted_workbook`` (a
password-protected Excel file).  The file type is checked from its first bytes *before* any parser
sees it: an OLE2 container handed to the workbook parser can make it allocate gigabytes and abort
the process.

A CSV is read by :func:`centres.raw.read_raw` (DuckDB's reader) after these checks and those of
:mod:`centres.csv_lines` (``field_count``, ``truncated_file``, ``line_too_long``, on the bytes);
:func:`read_workbook` returns a workbook's cells as ``str`` (missing cells ``""``), headers cleaned
(:func:`centres.header_checks.clean_header`), plus ``source_line``, the spreadsheet row, after
the zip is checked (:mod:`centres.workbook`: ``unsafe_workbook``, ``workbook_too_large``).
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from centres.header_checks import check_header, clean_header
from centres.profile import FileSpec
from centres.workbook import SheetFacts, inspect_workbook
from base.config import DEFAULT_LIMITS, Limits
from base.errors import FileRejected

SOURCE_LINE = "source_line"


def read_workbook(path: str | Path, spec: FileSpec, *, limits: Limits = DEFAULT_LIMITS) -> pd.DataFrame:
    """Read one workbook export as strings plus ``source_line`` (see the module docstring); ``limits``:
    the settings' workbook size and cell bounds.  ``attrs`` holds the sheet read."""
    path = Path(path)
    if not path.is_file():
        raise FileRejected("file not found or not a regular file", code="unreadable", file=path.name)
    if path.stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)", code="empty_file", file=path.name,
                           hint="re-export the data; the file has no content")
    check_file_type(path, "xlsx")
    df, meta = _read_xlsx(path, spec, limits)
    df.attrs.update(meta)
    df.attrs["source_file"] = path.name
    df.attrs["format"] = "xlsx"
    return df


# -- what the bytes really are ----------------------------------------------------------------------

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
_BINARY_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF (word processor) document"),
)


def _is_encrypted_ole2(path: Path, limit: int = 64 << 20) -> bool:
    """An OLE2 container holding the streams Excel writes for "Encrypt with password"."""
    with open(path, "rb") as fh:
        tail = b""
        read = 0
        while read < limit and (block := fh.read(1 << 20)):
            data = tail + block
            if any(m in data for m in _ENCRYPTED_MARKERS):
                return True
            tail = data[-64:]
            read += len(block)
    return False


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a ZIP archive (damaged or truncated)"
    if any(n.startswith("xl/") for n in names):
        return "an Excel workbook (.xlsx)"
    if any(n.startswith("word/") for n in names):
        return "a Word document (.docx)"
    return "a ZIP archive"


def sniff_file_type(path: Path) -> str | None:
    """What the first bytes say the file is, for files that are not text (None: looks like text)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(OLE2_MAGIC):
        return ("a password-protected Excel workbook" if _is_encrypted_ole2(path)
                else "an Office 97-2003 document (.xls/.doc)")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    for magic, what in _BINARY_SIGNATURES:
        if head.startswith(magic):
            return what
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<table")):
        return "an HTML page"
    if text.startswith(b"<?xml") and b"office:spreadsheet" in head:
        return "an Excel 2003 XML spreadsheet"
    return None


def check_file_type(path: Path, fmt: str) -> None:
    """Refuse a file whose bytes are not what its name and the profile say it is (``wrong_file_type``,
    ``encrypted_workbook``), before any parser sees it."""
    what = sniff_file_type(path)
    if what == "a password-protected Excel workbook":
        raise FileRejected("the workbook is password-protected (encrypted); it cannot be read",
                           code="encrypted_workbook", file=path.name,
                           hint="export it without a password (File > Info > Protect Workbook > remove the "
                                "password) and send it again")
    if fmt == "xlsx":
        if what is None:
            with open(path, "rb") as fh:
                head = fh.read(4096)
            what = "a text file (probably CSV)" if b"\0" not in head else "not an Excel workbook"
        if what == "an Excel workbook (.xlsx)" or what.startswith("a ZIP archive (damaged"):
            return      # a workbook (a damaged one is reported by the workbook reader)
        raise FileRejected(f"the file is named .xlsx but is {what}", code="wrong_file_type", file=path.name,
                           hint="save the export as an Excel workbook (.xlsx), or give a CSV export the "
                                ".csv extension")
    if what is not None:
        raise FileRejected(f"the file is named {path.suffix or 'without extension'} but is {what}, not a CSV "
                           "text export", code="wrong_file_type", file=path.name,
                           hint="export the data as CSV text (or send a workbook with the .xlsx extension "
                                "if the centre profile accepts workbooks)")


# -- CSV -------------------------------------------------------------------------------------------

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_verdict(path: Path, encodings: list[str]) -> tuple[str, str]:
    """Decode the whole file by the first of ``encodings`` that reads it (a UTF-16 byte-order mark
    wins); raises the ``encoding``/``unreadable`` error that names the line and bytes of the encoding
    that got furthest.  Reads the file whole: the CSV reader asks only for a file that failed to
    decode block by block (:mod:`centres.raw`)."""
    data = path.read_bytes()
    if data.startswith(UTF16_BOMS) and not data.startswith(b"\xff\xfe\x00\x00"):
        # a byte-order mark is unambiguous: spreadsheet tools' "Unicode text" exports are UTF-16
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileRejected(f"the file has a UTF-16 byte-order mark but invalid UTF-16 at byte {exc.start}",
                               code="encoding", file=path.name, hint="re-export the file as UTF-8 CSV") from None
    # NUL bytes decode "fine" as UTF-8 but never occur in CSV text
    if data.count(b"\0") == len(data):
        raise FileRejected(
            f"the file holds only zero bytes ({len(data):,} NUL bytes, no text): it is not an export; a failed copy or a "
            "disk error leaves such files", code="unreadable", file=path.name,
            hint="export the data again and send a fresh copy")
    nul = data[:4096].count(b"\0")
    if nul and nul >= len(data[:4096]) // 4:
        raise FileRejected(
            "the file looks like UTF-16 text without a byte-order mark (every other byte is zero); it cannot "
            f"be decoded as {' or '.join(encodings)}", code="encoding", file=path.name,
            hint="re-export the file as UTF-8 CSV (or as UTF-16 with a byte-order mark)")
    first_error: UnicodeDecodeError | None = None
    for enc in encodings:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            # report the encoding that got furthest: its error is the informative one
            if first_error is None or exc.start > first_error.start:
                first_error = exc
        except LookupError:
            continue
    assert first_error is not None
    exc = first_error
    line = data.count(b"\n", 0, exc.start) + 1
    bad = data[exc.start:exc.start + 8]
    raise FileRejected(
        f"the file cannot be decoded as {' or '.join(encodings)} ({exc.reason} at byte {exc.start})",
        code="encoding", file=path.name, line=line, value=bad.hex(" "),
        hint="export the file with one of the profile's encodings, or add the file's encoding "
             "(e.g. cp949) to the profile's csv.encoding list",
    )


_SEP_LINE = re.compile(r"sep=(.)[ \t]*(?:\r\n|\r|\n|$)", re.I)


def sep_line_count(head: str, delimiter: str, file_name: str) -> int:
    """1 when the file starts with Excel's ``sep=,`` line (skipped like a preamble), else 0; a ``sep=``
    line naming another delimiter than the profile's is ``wrong_delimiter``."""
    m = _SEP_LINE.match(head[:16])
    if m is None:
        return 0
    if m.group(1) != delimiter:
        raise FileRejected(
            f"the file's first line 'sep={m.group(1)}' says it is separated by "
            f"{DELIMITER_NAMES.get(m.group(1), repr(m.group(1)))}, but the centre profile expects "
            f"{DELIMITER_NAMES.get(delimiter, repr(delimiter))}", code="wrong_delimiter", file=file_name, line=1,
            hint=f"export with the {DELIMITER_NAMES.get(delimiter, repr(delimiter))} delimiter, or change "
                 "csv.delimiter in the centre profile")
    return 1


DELIMITER_NAMES = {",": "comma ','", ";": "semicolon ';'", "\t": "tab", "|": "pipe '|'"}


def check_delimiter(header_line: str, n_columns: int, delimiter: str, file_name: str, line: int = 1) -> None:
    """One column whose header splits on another common delimiter: the export used the wrong one."""
    if n_columns != 1:
        return
    counts = {d: header_line.count(d) for d in DELIMITER_NAMES if d != delimiter}
    found, n = max(counts.items(), key=lambda kv: kv[1])
    if n >= 2:
        raise FileRejected(
            f"the file is separated by {DELIMITER_NAMES[found]} ({n + 1} columns in the header), but the centre "
            f"profile expects {DELIMITER_NAMES.get(delimiter, repr(delimiter))}", code="wrong_delimiter",
            file=file_name, line=line,
            hint=f"export with the {DELIMITER_NAMES.get(delimiter, repr(delimiter))} delimiter, or change "
                 "csv.delimiter in the centre profile")


# -- XLSX ------------------------------------------------------------------------------------------

def _cell_to_str(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        if v.hour == v.minute == v.second == 0 and v.microsecond == 0:
            return v.strftime("%Y-%m-%d")
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):
        return str(v)
    return str(v)


def _pick_sheet(opts, file_name: str):
    def pick(names: list[str]) -> str:
        if isinstance(opts.sheet, int):
            if opts.sheet >= len(names):
                raise FileRejected(f"the workbook has {len(names)} sheet(s); the profile wants sheet index "
                                   f"{opts.sheet}", code="missing_sheet", file=file_name)
            return names[opts.sheet]
        match = [n for n in names if n.strip().casefold() == opts.sheet.strip().casefold()]
        if not match:
            raise FileRejected(f"sheet {opts.sheet!r} not found (sheets: {', '.join(names)})",
                               code="missing_sheet", file=file_name, value=opts.sheet)
        return match[0]
    return pick


def _sheet_rows(path: Path, sheet_name: str, facts: SheetFacts, max_cells: int) -> list[list]:
    """The sheet's rows up to the last one holding a value.  The fast parser materialises the whole
    used range, so a mostly empty range (a stray cell at row 1,048,576) is streamed instead."""
    if facts.dense_cells <= max_cells:
        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        if facts.last_value_row and len(rows) > facts.last_value_row:
            rows = rows[:facts.last_value_row]
        return rows
    import openpyxl  # lazy: only a sparse sheet (a stray far cell) is streamed with openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows, last = [], 0
        for row in wb[sheet_name].iter_rows(values_only=True):
            if any(v is not None and (not isinstance(v, str) or v.strip()) for v in row):
                rows.append(row)
                last = len(rows)
            else:
                rows.append(())                 # a blank row keeps its place (line numbers), costs a pointer
        return [list(r) for r in rows[:last]]
    finally:
        wb.close()


def _read_xlsx(path: Path, spec: FileSpec, limits: Limits) -> tuple[pd.DataFrame, dict]:
    opts = spec.xlsx
    assert opts is not None
    sheet_name, facts = inspect_workbook(path, _pick_sheet(opts, path.name), limits=limits)
    try:
        if sheet_name is None:       # not a zip the inspection could open: let the parser say why
            CalamineWorkbook.from_path(str(path))
            raise ValueError("no sheets")
        rows = _sheet_rows(path, sheet_name, facts, limits.xlsx_max_cells)
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises its own error types for corrupt/non-workbook files
        raise FileRejected(f"the Excel workbook is corrupt or truncated and cannot be opened "
                           f"({type(exc).__name__}: {exc})", code="unreadable", file=path.name,
                           hint="open it in Excel to check it, save it again as .xlsx (Excel 2007+) and resend "
                                "it; an interrupted copy or download truncates a workbook") from None
    # the parser reads an error cell ('#DIV/0!') and a formula without a stored value as empty: keep
    # what the cell holds so the report can say what it is
    for (r, c), text in {**facts.formula_cells, **facts.error_cells}.items():
        if r < len(rows) and c < len(rows[r]):
            rows[r] = list(rows[r])
            rows[r][c] = text
    skip = spec.header_row - 1
    rows = rows[skip:]
    if not rows or all(_cell_to_str(c).strip() == "" for c in rows[0]):
        raise FileRejected("the sheet has no header row", code="empty_file", file=path.name, value=sheet_name)
    header = [_cell_to_str(c) for c in rows[0]]
    body = rows[1:]
    width = len(header)
    df = pd.DataFrame([list(r[:width]) + [None] * (width - len(r)) for r in body], columns=range(width),
                      dtype="object")
    if len(df):
        df = df.apply(lambda col: col.map(_cell_to_str)).astype("str")
    else:
        df = df.astype("str")
    df.columns = header
    df = _finish(df, first_data_line=spec.header_row + 1, file_name=path.name, spec=spec)
    return df, {"sheet": sheet_name}


# -- common ----------------------------------------------------------------------------------------

def _finish(df: pd.DataFrame, *, first_data_line: int, file_name: str, spec: FileSpec | None = None) -> pd.DataFrame:
    df = df.astype("str").fillna("")
    raw_headers = list(df.columns)
    df.columns = range(len(raw_headers))

    def first_value(i: int) -> tuple[int, str]:
        col = df.iloc[:, i].str.strip()
        hit = np.flatnonzero((col != "").to_numpy())
        return (int(hit[0]), df.iloc[int(hit[0]), i]) if len(hit) else (0, df.iloc[0, i])

    keep, headers = check_header(
        raw_headers, has_values=lambda i: bool((df.iloc[:, i].str.strip() != "").any()),
        first_row=lambda: [str(v) for v in df.iloc[0]] if len(df) else [], first_value=first_value,
        first_data_line=first_data_line, file_name=file_name, spec=spec)
    df = df.iloc[:, keep]
    df.columns = headers
    df = df.reset_index(drop=True)
    line = pd.RangeIndex(first_data_line, first_data_line + len(df))
    # blank: nothing but spaces (a blank line, a spreadsheet row with a stray space)
    nonblank = np.zeros(len(df), dtype=bool)
    for i in range(len(df.columns)):      # column by column: no stripped copy of the frame
        nonblank |= (df.iloc[:, i].str.strip() != "").to_numpy()
    df[SOURCE_LINE] = pd.Series(line, index=df.index, dtype="int64")
    df = df[nonblank].reset_index(drop=True)
    if df.empty:
        raise FileRejected("the file has a header but no data rows", code="header_only", file=file_name,
                           hint="check that the export query returned rows")
    return df


__all__ = ["SOURCE_LINE", "UTF16_BOMS", "check_file_type", "clean_header", "check_delimiter", "decode_verdict", "read_workbook",
           "sep_line_count",
           "sniff_file_type"]
