"""Reading a centre's export into a frame of strings (the only I/O of the adapters).

:func:`read_export` returns every cell as a ``str`` (missing cells are ``""``), headers stripped of
a byte-order mark and surrounding spaces, plus ``source_line``: the 1-based line of the original
file where line 1 is the first line (the header is ``spec.header_row``), or the spreadsheet row
number for workbooks.  Blank lines are skipped but still counted, so line numbers always point at
the right place in the file the centre sent.  (A CSV field with an embedded line break shifts the
numbering of later rows; such files are rare in hospital exports.)

Problems with the file as a whole raise :class:`~tdm.errors.FileRejected` with a stable code:
``unreadable`` (missing, corrupt, wrong format), ``empty_file``, ``header_only``, ``encoding``
(bytes that do not decode with any of the profile's encodings; the message names the line and
the bytes), ``malformed_csv``, ``missing_sheet``, ``duplicate_columns``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd

from tdm.centres.profile import FileSpec
from tdm.errors import FileRejected

SOURCE_LINE = "source_line"


def read_export(path: str | Path, spec: FileSpec) -> pd.DataFrame:
    """Read one export file as strings plus ``source_line`` (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileRejected("file not found or not a regular file", code="unreadable", file=path.name)
    if path.stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)", code="empty_file", file=path.name,
                           hint="re-export the data; the file has no content")
    fmt = spec.reading_format(path.name)
    if fmt == "xlsx":
        df, meta = _read_xlsx(path, spec)
    else:
        df, meta = _read_csv(path, spec)
    df.attrs.update(meta)
    df.attrs["source_file"] = path.name
    df.attrs["format"] = fmt
    return df


# -- CSV -------------------------------------------------------------------------------------------

def _decode(path: Path, encodings: list[str]) -> tuple[str, str]:
    data = path.read_bytes()
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


def _read_csv(path: Path, spec: FileSpec) -> tuple[pd.DataFrame, dict]:
    opts = spec.csv
    assert opts is not None
    text, encoding = _decode(path, opts.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise FileRejected("the file contains no data (only blank space)", code="empty_file", file=path.name)
    skip = spec.header_row - 1
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=opts.delimiter, quotechar=opts.quotechar, header=0, skiprows=skip,
            dtype="str", keep_default_na=False, na_filter=False, skip_blank_lines=False,
            engine="c", quoting=csv.QUOTE_MINIMAL, index_col=False,
        )
    except pd.errors.EmptyDataError:
        raise FileRejected("the file has no header line", code="empty_file", file=path.name) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise FileRejected(f"malformed CSV: {exc}", code="malformed_csv", file=path.name,
                           line=int(m.group(1)) + skip if m else None,
                           hint=f"check the delimiter ({opts.delimiter!r}) and quoting") from None
    # pandas renames repeated headers ("x", "x.1"): take the header cells from the line itself
    header_line = text.split("\n", skip + 1)[skip] if text.count("\n") >= skip else ""
    cells = next(csv.reader([header_line.rstrip("\r")], delimiter=opts.delimiter, quotechar=opts.quotechar), [])
    if len(cells) == len(df.columns):
        df.columns = cells
    df = _finish(df, first_data_line=spec.header_row + 1, file_name=path.name)
    return df, {"encoding": encoding}


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


def _read_xlsx(path: Path, spec: FileSpec) -> tuple[pd.DataFrame, dict]:
    from python_calamine import CalamineWorkbook

    opts = spec.xlsx
    assert opts is not None
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt/non-workbook files
        raise FileRejected(f"not a readable Excel workbook ({type(exc).__name__}: {exc})", code="unreadable",
                           file=path.name, hint="save the export as .xlsx (Excel 2007+)") from None
    names = wb.sheet_names
    if isinstance(opts.sheet, int):
        if opts.sheet >= len(names):
            raise FileRejected(f"the workbook has {len(names)} sheet(s); the profile wants sheet index "
                               f"{opts.sheet}", code="missing_sheet", file=path.name)
        sheet_name = names[opts.sheet]
    else:
        match = [n for n in names if n.strip().casefold() == opts.sheet.strip().casefold()]
        if not match:
            raise FileRejected(f"sheet {opts.sheet!r} not found (sheets: {', '.join(names)})",
                               code="missing_sheet", file=path.name, value=opts.sheet)
        sheet_name = match[0]
    try:
        sheet = wb.get_sheet_by_name(sheet_name)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:
        raise FileRejected(f"cannot read sheet {sheet_name!r} ({exc})", code="unreadable", file=path.name) from None
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
    df = _finish(df, first_data_line=spec.header_row + 1, file_name=path.name)
    return df, {"sheet": sheet_name}


# -- common ----------------------------------------------------------------------------------------

def _finish(df: pd.DataFrame, *, first_data_line: int, file_name: str) -> pd.DataFrame:
    df = df.astype("str").fillna("")
    headers = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    df.columns = range(len(headers))
    # drop trailing unnamed empty columns (a trailing delimiter, an empty spreadsheet column)
    keep = [i for i, h in enumerate(headers) if not (h == "" or re.fullmatch(r"Unnamed: \d+", h))
            or (df.iloc[:, i].astype("str").str.strip() != "").any()]
    df = df.iloc[:, keep]
    headers = [headers[i] for i in keep]
    if any(h == "" or re.fullmatch(r"Unnamed: \d+", h) for h in headers):
        raise FileRejected("a column with values has no header", code="missing_header", file=file_name,
                           hint="give every column a header")
    # pandas renames duplicates "x.1"; the raw header list tells the truth
    norm = [" ".join(h.split()).casefold() for h in headers]
    dups = sorted({h for h, n in zip(headers, norm) if norm.count(n) > 1})
    if dups:
        raise FileRejected("duplicate column headers", code="duplicate_columns", file=file_name,
                           column=dups[0], value=", ".join(dups), hint="give every column a distinct header")
    df.columns = headers
    df = df.reset_index(drop=True)
    df = df.astype("str").fillna("")
    line = pd.RangeIndex(first_data_line, first_data_line + len(df))
    nonblank = (df != "").any(axis=1) if len(df.columns) else pd.Series(False, index=df.index)
    # a blank-line row parsed by pandas with skip_blank_lines=False has NaN->"" everywhere
    df[SOURCE_LINE] = pd.Series(line, index=df.index, dtype="int64")
    df = df[nonblank.to_numpy()].reset_index(drop=True)
    if df.empty:
        raise FileRejected("the file has a header but no data rows", code="header_only", file=file_name,
                           hint="check that the export query returned rows")
    return df


# -- streaming (large CSV exports) -------------------------------------------------------------------

def iter_csv_chunks(path: str | Path, spec: FileSpec, chunk_rows: int = 500_000):
    """Yield a large CSV export in frames of at most ``chunk_rows`` rows, same shape as :func:`read_export`.

    Memory stays bounded by the chunk, not the file: the bytes are decoded incrementally (a bad
    byte raises ``encoding`` with the line it is on) and ``source_line`` keeps counting across
    chunks.  The first encoding of the profile is used (a file large enough to stream is expected
    to be a machine export in one known encoding).
    """
    path = Path(path)
    if spec.reading_format(path.name) != "csv":
        raise FileRejected("only CSV exports can be streamed", code="unreadable", file=path.name)
    if path.stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)", code="empty_file", file=path.name)
    opts = spec.csv
    encoding = opts.encoding[0]
    skip = spec.header_row - 1
    first_line = spec.header_row + 1
    seen = 0
    try:
        reader = pd.read_csv(
            path, sep=opts.delimiter, quotechar=opts.quotechar, header=0, skiprows=skip, dtype="str",
            keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c",
            encoding="utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig") else encoding,
            encoding_errors="strict", chunksize=chunk_rows, index_col=False,
        )
        for chunk in reader:
            start = first_line + seen
            seen += len(chunk)
            try:
                yield _finish(chunk, first_data_line=start, file_name=path.name)
            except FileRejected as exc:
                if exc.code != "header_only":   # a chunk of blank lines is not the end of the file
                    raise
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"the file cannot be decoded as {encoding} ({exc.reason}) after line {first_line + seen - 1}",
            code="encoding", file=path.name, line=first_line + seen,
            hint="export the file in the profile's encoding",
        ) from None
    except pd.errors.EmptyDataError:
        raise FileRejected("the file has no header line", code="empty_file", file=path.name) from None
    except pd.errors.ParserError as exc:
        raise FileRejected(f"malformed CSV: {exc}", code="malformed_csv", file=path.name,
                           hint=f"check the delimiter ({opts.delimiter!r}) and quoting") from None
    if seen == 0:
        raise FileRejected("the file has a header but no data rows", code="header_only", file=path.name)


__all__ = ["read_export", "iter_csv_chunks", "SOURCE_LINE"]
