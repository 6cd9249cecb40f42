"""Stage 1 of the one path (docs/ONE_PATH.md): any export as the temporary view ``raw`` of text cells.

:func:`read_raw` leaves in the caller's DuckDB connection the view ``raw`` (over the stored cells
``raw_cells``): ``source_line BIGINT`` plus ``c0 .. cN VARCHAR``, one column per file column in file order,
the text exactly as the file has it (a missing cell is ``''``), blank lines dropped but counted:
``source_line`` is the header line (``spec.header_row``, or one more after an Excel ``sep=`` line) + 1 + the
record's index (a record with a quoted line break counts once).  The headers are returned beside it
(:class:`RawFile`).

* **CSV**: read by DuckDB's reader with every column ``VARCHAR``.  The bytes are checked first (file
  type, :func:`centres.csv_lines.check_lines`, ``sep=``, the header checks of
  :mod:`centres.header_checks`); ``check_lines`` also says where the empty lines are (DuckDB
  skips them) so line numbers count them.  A file in another encoding than UTF-8 (UTF-16 with a
  byte-order mark, cp949, ...) or with CR-only line ends is transcoded block by block into a
  temporary UTF-8 file (memory bounded by one block).  A file that does not decode raises the
  ``encoding`` error of :func:`centres.readers.decode_verdict` (it names the line and bytes).
* **Workbook**: :func:`centres.readers.read_workbook` (zip inspection, calamine, the
  formula/error cells) gives the cells as text; they reach DuckDB through Arrow.

File-level problems raise :class:`~base.errors.FileRejected` codes and messages; the privacy scan
(:func:`centres.privacy.refuse_identifiers`, the first lines) runs before returning.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from centres.csv_lines import LineLayout, check_lines, decoded_blocks
from centres.header_checks import check_header
from centres.profile import FileSpec
from centres.readers import (SOURCE_LINE, UTF16_BOMS, check_delimiter, check_file_type, decode_verdict,
                                 read_workbook, sep_line_count)
from centres.sql_cells import PY_WHITESPACE, WS_CLASS, literal, stripped
from base.config import DEFAULT_LIMITS, Limits
from base.errors import FileRejected, TdmError
from centres.privacy import SCAN_SAMPLE_ROWS, refuse_identifiers

RAW_TABLE = "raw"
_CELLS = "raw_cells"      # the stored cells ``raw`` is a view of (``_define_raw``)
_SHIFTS = "raw_shifts"    # the empty lines DuckDB's reader skipped, as line-number shifts
_UTF8 = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}


@dataclass(frozen=True)
class RawFile:
    """One export read into the temporary view ``raw``: the cleaned header of each ``c<i>`` column,
    the number of data (non-blank) lines, how it was read."""

    file_name: str
    format: str                      # csv | xlsx
    headers: tuple[str, ...]
    rows: int
    encoding: str | None = None
    sheet: str | None = None

    def column(self, i: int) -> str:
        return f"c{i}"


def read_raw(con: duckdb.DuckDBPyConnection, path: str | Path, spec: FileSpec, file_name: str, *,
             limits: Limits = DEFAULT_LIMITS) -> RawFile:
    """Read one export into the temporary view ``raw`` (module docstring); raises ``FileRejected``
    (and ``PrivacyError`` for direct identifiers).
    ``limits``: the line length and workbook bounds (``Settings.limits``)."""
    path = Path(path)
    try:
        if spec.reading_format(path.name) == "xlsx":
            raw = _xlsx_raw(con, path, spec, file_name, limits)
        else:
            raw = _csv_raw(con, path, spec, file_name, limits)
    except TdmError as exc:
        if exc.file == path.name:     # the checks name the path they read: name the file sent
            exc.file = file_name
        raise
    sample = con.execute(f"SELECT * EXCLUDE (source_line) FROM {RAW_TABLE} ORDER BY source_line "
                         f"LIMIT {SCAN_SAMPLE_ROWS}").df()
    sample.columns = list(raw.headers)
    refuse_identifiers(sample.fillna("").astype("str"), file_name)
    return raw


# -- workbooks -------------------------------------------------------------------------------------

def _xlsx_raw(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec, file_name: str, limits: Limits) -> RawFile:
    df = read_workbook(path, spec, limits=limits)
    headers = [c for c in df.columns if c != SOURCE_LINE]
    arrays = [pa.array(df[SOURCE_LINE].to_numpy(dtype=np.int64))]
    arrays += [pa.array(df[h].astype("object").to_numpy(), type=pa.string()) for h in headers]
    table = pa.Table.from_arrays(arrays, names=[SOURCE_LINE] + [f"c{i}" for i in range(len(headers))])
    con.register("_raw_arrow", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_CELLS} AS SELECT * FROM _raw_arrow").fetchall()
    finally:
        con.unregister("_raw_arrow")
    _define_raw(con, "source_line", _CELLS, list(range(len(headers))))
    return RawFile(file_name=file_name, format="xlsx", headers=tuple(headers), rows=len(df),
                   sheet=df.attrs.get("sheet"))


# -- CSV -------------------------------------------------------------------------------------------

@dataclass
class _Scanned:
    source: Path             # a UTF-8 file DuckDB reads (the export itself or a transcoded copy)
    temporary: bool
    skip: int                # lines above the header
    fields: int              # the header's field count (0: no header line)
    layout: LineLayout
    encoding: str
    blank: bool              # nothing but white space
    max_line_bytes: int      # the line limit the scan checked (Limits.max_line_bytes)


def _csv_raw(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec, file_name: str, limits: Limits) -> RawFile:
    if not path.is_file():
        raise FileRejected("file not found or not a regular file", code="unreadable", file=path.name)
    if path.stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)", code="empty_file", file=path.name,
                           hint="re-export the data; the file has no content")
    check_file_type(path, "csv")
    scanned = _scan(path, spec, file_name, limits)
    try:
        if scanned.blank:
            raise FileRejected("the file contains no data (only blank space)", code="empty_file", file=path.name)
        if not scanned.fields:
            raise FileRejected("the file has no header line", code="empty_file", file=path.name)
        headers = _header_cells(scanned, spec, path.name)
        numbered = _load_cells(con, scanned, spec, len(headers), path.name)
    finally:
        if scanned.temporary:
            scanned.source.unlink(missing_ok=True)
    first_data_line = scanned.skip + 2
    try:
        keep, cleaned = _check_headers(con, headers, first_data_line, scanned.layout, spec, path.name)
        if keep != list(range(len(headers))):     # trailing unnamed empty columns dropped: renumber
            _define_raw(con, *numbered, keep)
    except FileRejected:
        drop_raw(con)
        raise
    n = con.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchall()[0][0]
    if n == 0:
        raise FileRejected("the file has a header but no data rows", code="header_only", file=path.name,
                           hint="check that the export query returned rows")
    return RawFile(file_name=file_name, format="csv", headers=tuple(cleaned), rows=int(n), encoding=scanned.encoding)


def _encodings(path: Path, spec: FileSpec) -> list[str]:
    """The encodings to try, in order, after the verdict on files with zero bytes."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(UTF16_BOMS) and not head.startswith(b"\xff\xfe\x00\x00"):
        return ["utf-16"]
    if b"\0" in head:
        decode_verdict(path, spec.csv.encoding)     # raises the unreadable/encoding error (rare: reads all)
    return list(spec.csv.encoding)


def _scan(path: Path, spec: FileSpec, file_name: str, limits: Limits) -> _Scanned:
    """Decode and check every line (one pass per encoding tried): the first encoding that decodes the
    whole file wins; a line problem is reported only for a file that decodes."""
    for enc in _encodings(path, spec):
        try:
            return _scan_as(path, spec, enc, limits)
        except UnicodeDecodeError:
            continue
        except LookupError:
            continue
    decode_verdict(path, spec.csv.encoding)      # the message of the encoding that got furthest
    raise FileRejected(f"the file cannot be decoded as {' or '.join(spec.csv.encoding)}", code="encoding",
                       file=path.name, hint="export the file with one of the profile's encodings")


def _scan_as(path: Path, spec: FileSpec, enc: str, limits: Limits) -> _Scanned:
    opts = spec.csv
    utf8 = enc.lower() in _UTF8
    with open(path, "rb") as fh:
        blocks = decoded_blocks(fh, "utf-8-sig" if utf8 else enc)
        first = next(blocks, b"")
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        cr_only = b"\r" in first and b"\n" not in first
        head = first[:64].decode("utf-8", errors="ignore")
        skip = spec.header_row - 1 + sep_line_count(head, opts.delimiter, path.name)
        temporary = not utf8 or cr_only
        out = tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) if temporary else None
        state = {"blank": True}

        def stream():
            for block in _chain(first, blocks):
                if cr_only:
                    block = block.replace(b"\r", b"\n")
                if state["blank"] and bytes(block).decode("utf-8", errors="ignore").strip():
                    state["blank"] = False
                if out is not None:
                    out.write(block)
                yield block

        layout = LineLayout()
        gen = stream()
        try:
            fields = check_lines(gen, delimiter=opts.delimiter, quotechar=opts.quotechar, header_row=skip + 1,
                                 file_name=path.name, layout=layout, max_line_bytes=limits.max_line_bytes)
        except FileRejected:
            for _ in gen:          # the whole file must decode before a line problem is its verdict
                pass
            if out is not None:
                out.close()
                os.unlink(out.name)
            if state["blank"]:
                raise FileRejected("the file contains no data (only blank space)", code="empty_file",
                                   file=path.name) from None
            raise
        except BaseException:
            if out is not None:
                out.close()
                os.unlink(out.name)
            raise
    if out is not None:
        out.close()
    return _Scanned(source=Path(out.name) if out is not None else path, temporary=temporary, skip=skip,
                    fields=fields, layout=layout, encoding=enc, blank=state["blank"],
                    max_line_bytes=limits.max_line_bytes)


def _chain(first: bytes, rest):
    if first:
        yield first
    yield from rest


def _header_cells(s: _Scanned, spec: FileSpec, file_name: str) -> list[str]:
    """The header line's cells (its physical line, split by Python's ``csv``)."""
    opts = spec.csv
    with open(s.source, "rb") as fh:
        line = b""
        for _ in range(s.skip + 1):
            line = fh.readline(s.max_line_bytes + 1)
    text = line.decode("utf-8").lstrip("\ufeff").rstrip("\n")
    check_delimiter(text, s.fields, opts.delimiter, file_name, line=s.skip + 1)
    cells = next(csv.reader([text.rstrip("\r")], delimiter=opts.delimiter, quotechar=opts.quotechar), [])
    if len(cells) != s.fields:       # a header with a line break inside quotes: the reader's own numbering
        cells = (cells + [f"Unnamed: {i}" for i in range(len(cells), s.fields)])[:s.fields]
    return cells


def _load_cells(con: duckdb.DuckDBPyConnection, s: _Scanned, spec: FileSpec, n: int,
                file_name: str) -> tuple[str, str]:
    """DuckDB's reader straight into ``raw_cells`` (``c<i>``, file order, every column; an empty cell
    ``''`` through ``force_not_null``): one statement, one materialisation, then ``raw`` is the view
    adding ``source_line`` (:func:`_define_raw`).  A record's ``rowid`` is its index among the records
    DuckDB read (insertion order is preserved); the empty lines DuckDB skips shift it back, the lines
    of white space only are deleted (``rowid`` keeps its value).  Numbering by ``row_number() OVER ()``
    instead cost 1.9 s of the 4.9 s a 1e6-line file took to read (measured 2 December 2026).  Returns
    the view's ``source_line`` expression and source (:func:`_define_raw`)."""
    opts = spec.csv
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    every = "[" + ", ".join(f"'c{i}'" for i in range(n)) + "]"
    pad = "true" if s.layout.short_blank else "false"
    reader = (f"read_csv(?, columns={cols}, header=false, skip={s.skip + 1}, delim=?, quote=?, escape=?, "
              f"auto_detect=false, strict_mode=false, null_padding={pad}, parallel={'false' if pad == 'true' else 'true'}, "
              f"encoding='utf-8', force_not_null={every})")
    empty = s.layout.positions()
    shifted = len(empty) > 0
    if shifted:
        # the k-th empty line (0-based) sits after (position - k) read lines: later lines shift by k + 1
        kept = empty - np.arange(len(empty))
        shifts = pd.DataFrame({"kept": kept, "shift": np.arange(1, len(empty) + 1)}).groupby("kept").max()
        con.register("_shifts_df", shifts.reset_index())
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_SHIFTS} AS SELECT CAST(kept AS BIGINT) AS kept, "
                        "CAST(shift AS BIGINT) AS shift FROM _shifts_df").fetchall()
        finally:
            con.unregister("_shifts_df")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_CELLS} AS SELECT * FROM {reader}",
                    [str(s.source), opts.delimiter, opts.quotechar, opts.quotechar]).fetchall()
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:   # the reader's verdict on the text
        drop_raw(con)
        raise FileRejected(f"malformed CSV: {str(exc).splitlines()[0]}", code="malformed_csv", file=file_name,
                           hint=f"check the delimiter ({opts.delimiter!r}) and quoting") from None
    # blank: every cell white space only (Python's), tested on the line's cells joined, only on lines
    # whose first cell is empty or starts with white space (most lines: no regular expression)
    joined = f"concat({', '.join(f'c{i}' for i in range(n))})"
    con.execute(f"DELETE FROM {_CELLS} WHERE (c0 = '' OR strpos({literal(PY_WHITESPACE)}, left(c0, 1)) > 0) "
                f"AND regexp_full_match({joined}, {literal(WS_CLASS + '*')})").fetchall()
    line = f"{s.skip + 2} + r.rowid" + (" + coalesce(e.shift, 0)" if shifted else "")
    numbered = (f"CAST({line} AS BIGINT)",
                f"{_CELLS} r" + (f" ASOF LEFT JOIN {_SHIFTS} e ON r.rowid >= e.kept" if shifted else ""))
    _define_raw(con, *numbered, list(range(n)))
    return numbered


def _define_raw(con: duckdb.DuckDBPyConnection, source_line: str, source: str, positions: list[int]) -> None:
    """``raw`` as the view of ``source``'s cells ``positions`` (renumbered ``c0 ..``) and ``source_line``."""
    cells = ", ".join(f"c{p} AS c{i}" for i, p in enumerate(positions))
    con.execute(f"CREATE OR REPLACE TEMP VIEW {RAW_TABLE} AS SELECT {source_line} AS source_line"
                f"{', ' if cells else ''}{cells} FROM {source}").fetchall()


def drop_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``raw`` and what it is a view of (the file's text cells: its largest table)."""
    for sql in (f"DROP VIEW IF EXISTS {RAW_TABLE}", f"DROP TABLE IF EXISTS {_CELLS}",
                f"DROP TABLE IF EXISTS {_SHIFTS}"):
        con.execute(sql).fetchall()


def _check_headers(con: duckdb.DuckDBPyConnection, headers: list[str], first_data_line: int, layout: LineLayout,
                   spec: FileSpec, file_name: str) -> tuple[list[int], list[str]]:
    """:func:`centres.header_checks.check_header` with the facts it asks for taken from ``raw``."""

    def has_values(i: int) -> bool:
        return bool(con.execute(f"SELECT coalesce(bool_or({stripped(f'c{i}')} <> ''), false) "
                                f"FROM {RAW_TABLE}").fetchall()[0][0])

    def first_row() -> list[str]:
        row = con.execute(f"SELECT * EXCLUDE (source_line) FROM {RAW_TABLE} WHERE source_line = {first_data_line}"
                          ).fetchall()
        return [("" if v is None else str(v)) for v in row[0]] if row else [""] * len(headers)

    def first_value(i: int) -> tuple[int, str]:
        row = con.execute(f"SELECT source_line, c{i} FROM {RAW_TABLE} WHERE {stripped(f'c{i}')} <> '' "
                          "ORDER BY source_line LIMIT 1").fetchall()
        return (int(row[0][0]) - first_data_line, row[0][1]) if row else (0, "")

    return check_header(headers, has_values=has_values, first_row=first_row, first_value=first_value,
                        first_data_line=first_data_line, file_name=file_name, spec=spec)


__all__ = ["RAW_TABLE", "RawFile", "drop_raw", "read_raw"]
