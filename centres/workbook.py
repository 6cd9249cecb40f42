"""What an .xlsx workbook holds, checked on the zip before any workbook parser sees it.

A workbook is a zip of XML parts.  A parser handed a hostile one can exhaust the machine: a 3 MB
"zip bomb" inflated to 6 GB, a 5 KB sheet whose one stray cell at row 1,048,576 made the parser
allocate the whole used range (3 GB).  :func:`inspect_workbook` reads the zip's directory and then
streams every part through the decompressor (never more than one block in memory) and refuses:

* more than :data:`MAX_ENTRIES` parts, a declared or actual uncompressed total above
  ``Limits.xlsx_max_bytes`` (``TDM_XLSX_MAX_MB``), or a part inflating more than :data:`MAX_RATIO` times
  (``workbook_too_large`` / ``unsafe_workbook``: a zip bomb);
* any part with a document type declaration (``<!DOCTYPE``/``<!ENTITY``: XML external entities,
  "billion laughs"); Excel never writes one (``unsafe_workbook``, "refused as unsafe");
* a sheet whose cells holding values exceed ``Limits.xlsx_max_cells`` (``TDM_XLSX_MAX_CELLS``;
  ``workbook_too_large``).

It also measures the chosen sheet on the way (without parsing it): the last row holding a value,
the width, the number of value cells, error cells (``#DIV/0!``, which the fast parser reads as
empty) and formula cells without a stored value.  The reader uses that to read only rows that hold
data: the fast parser when the used range is dense, a streaming sparse reader when it is mostly
empty (trailing empty rows are not lines).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from base.config import DEFAULT_LIMITS, Limits
from base.errors import FileRejected

MAX_ENTRIES = 2_000
MAX_RATIO = 200                 # inflation factor of one part (typical sheets: 5-30)
RATIO_FLOOR = 16 << 20          # parts smaller than this are never refused for their ratio
_BLOCK = 4 << 20

_ERROR_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>(?:<f\b[^>]*(?:/>|>.*?</f>))?<v>([^<]*)</v>',
                         re.S)
_ERROR_CELL_T_FIRST = re.compile(rb'<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]+)(\d+)"[^>]*>(?:<f\b[^>]*(?:/>|>.*?</f>))?'
                                 rb'<v>([^<]*)</v>', re.S)
_FORMULA_NO_VALUE = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>\s*<f\b[^>]*?(?:/>|>([^<]*)</f>)\s*(?:<v\s*/>)?\s*</c>')
_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_DIMENSION = re.compile(rb'<dimension\b[^>]*\bref="[A-Z]+\d+:([A-Z]+)\d+"')


def column_index(letters: bytes | str) -> int:
    """0-based column of ``"A"``, ``"AN"``..."""
    c = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        c = c * 26 + (ord(ch) - 64)
    return c - 1


@dataclass
class SheetFacts:
    """The chosen sheet, measured on its XML (see the module docstring)."""

    last_value_row: int = 0              # 1-based row of the last cell holding a value (0: none)
    width: int | None = None             # columns of the used range (None: not declared)
    value_cells: int = 0
    error_cells: dict[tuple[int, int], str] = field(default_factory=dict)     # (row0, col0) -> '#DIV/0!'
    formula_cells: dict[tuple[int, int], str] = field(default_factory=dict)   # formula without a stored value

    @property
    def dense_cells(self) -> int:
        return self.last_value_row * (self.width or 16384)


def _refuse(file_name: str, message: str, code: str = "unsafe_workbook") -> FileRejected:
    hint = ("open the workbook in Excel and save it again as .xlsx, or export the data as CSV"
            if code == "unsafe_workbook" else
            "send the data in smaller workbooks, or export it as CSV (large exports are streamed)")
    return FileRejected(message, code=code, file=file_name, hint=hint)


def sheet_names(z: zipfile.ZipFile) -> list[str]:
    try:
        wb = z.read("xl/workbook.xml")
    except KeyError:
        return []
    out = []
    for m in re.finditer(rb"<sheet\b[^>]*>", wb):
        name = re.search(rb'\bname="([^"]*)"', m.group(0))
        if name:
            out.append(_unescape(name.group(1).decode("utf-8", "replace")))
    return out


def _unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


def sheet_member(z: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip part of a sheet by its name (workbook.xml -> relationships)."""
    try:
        wb = z.read("xl/workbook.xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    rid = None
    for m in re.finditer(rb"<sheet\b[^>]*>", wb):
        tag = m.group(0)
        name = re.search(rb'\bname="([^"]*)"', tag)
        if name and _unescape(name.group(1).decode("utf-8", "replace")) == sheet_name:
            r = re.search(rb'\br:id="([^"]*)"', tag) or re.search(rb'\bid="([^"]*)"', tag)
            rid = r.group(1) if r else None
    for m in re.finditer(rb"<Relationship\b[^>]*>", rels):
        tag = m.group(0)
        if rid and re.search(rb'\bId="' + re.escape(rid) + rb'"', tag):
            t = re.search(rb'\bTarget="([^"]*)"', tag)
            if t:
                target = t.group(1).decode("utf-8")
                return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


def inspect_workbook(path: Path, pick=None, *, limits: Limits = DEFAULT_LIMITS) -> tuple[str | None, SheetFacts]:
    """Refuse an unsafe or oversized workbook (module docstring); ``pick(sheet names)`` chooses the
    sheet to measure (it may raise).  Returns the chosen sheet's name and facts."""
    max_bytes, max_cells = limits.xlsx_max_bytes, limits.xlsx_max_cells
    name = path.name
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None, SheetFacts()      # not a zip: the workbook parser reports it as corrupt
    with z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _refuse(name, f"the workbook has {len(infos):,} parts (an Excel workbook has a few dozen; the limit is "
                                f"{MAX_ENTRIES:,}): refused as unsafe")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise _refuse(name, f"the workbook would inflate to {declared / 2**20:,.0f} MB (the limit is "
                                f"{max_bytes / 2**20:,.0f} MB): too large to read safely", "workbook_too_large")
        if any(i.filename.startswith("xl/") and i.filename.endswith(".xml") and i.file_size > RATIO_FLOOR
               and i.file_size > MAX_RATIO * max(1, i.compress_size) for i in infos):
            bad = next(i for i in infos if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(1, i.compress_size))
            raise _refuse(name, f"part {bad.filename!r} would inflate {bad.file_size // max(1, bad.compress_size):,} times "
                                "its stored size (a 'zip bomb'): refused as unsafe")
        sheet_name = pick(sheet_names(z)) if pick is not None else None
        member = sheet_member(z, sheet_name) if sheet_name is not None else None
        facts = SheetFacts()
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            total += _stream_part(z, info, name, total, facts if info.filename == member else None, max_bytes)
        if facts.value_cells > max_cells:
            raise _refuse(name, f"the sheet {sheet_name!r} holds {facts.value_cells:,} cells with values (the limit is "
                                f"{max_cells:,})", "workbook_too_large")
        return sheet_name, facts


def _stream_part(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, total: int, facts: SheetFacts | None,
                 max_bytes: int) -> int:
    """Decompress one part block by block: its actual size (zipfile checks it against the declared
    size and CRC), a DOCTYPE anywhere, and the sheet's facts.  Returns the part's size."""
    size = 0
    carry = b""
    xml = info.filename.endswith((".xml", ".rels", ".vml")) or facts is not None
    try:
        with z.open(info) as fh:
            while block := fh.read(_BLOCK):
                size += len(block)
                if total + size > max_bytes:
                    raise _refuse(name, f"the workbook inflates to more than {max_bytes / 2**20:,.0f} MB: "
                                        "too large to read safely", "workbook_too_large")
                if size > RATIO_FLOOR and size > MAX_RATIO * max(1, info.compress_size):
                    raise _refuse(name, f"part {info.filename!r} inflates more than {MAX_RATIO} times its stored size "
                                        "(a 'zip bomb'): refused as unsafe")
                if not xml:
                    continue
                buf = carry + block
                if b"<!DOCTYPE" in buf or b"<!ENTITY" in buf:
                    raise _refuse(name, f"part {info.filename!r} declares a document type or entities (XML external "
                                        "entities or a 'billion laughs' expansion; Excel never writes them): refused "
                                        "as unsafe")
                if facts is None:
                    carry = buf[-16:]
                    continue
                cut = buf.rfind(b"</row>")
                cut = len(buf) if cut < 0 and len(buf) > 64 * _BLOCK else cut
                if cut < 0:
                    carry = buf
                    continue
                _measure(buf[:cut], facts)
                carry = buf[cut:]
            if facts is not None and carry:
                _measure(carry, facts)
    except zipfile.BadZipFile as exc:
        raise _refuse(name, f"part {info.filename!r} is damaged or its size is not what the zip declares ({exc}): "
                            "refused as unsafe") from None
    except (EOFError, OSError, RuntimeError, NotImplementedError) as exc:      # encrypted or unsupported parts
        raise FileRejected(f"the Excel workbook is corrupt or truncated and cannot be opened ({exc})", code="unreadable",
                           file=name, hint="open it in Excel to check it, save it again as .xlsx and resend it") from None
    return size


def _measure(seg: bytes, facts: SheetFacts) -> None:
    if facts.width is None:
        m = _DIMENSION.search(seg[:4096])
        if m:
            facts.width = column_index(m.group(1)) + 1
    n = seg.count(b"<v>") + seg.count(b"<is>")
    facts.value_cells += n
    if n:
        last = max(seg.rfind(b"<v>"), seg.rfind(b"<is>"))
        m = _ROW.match(seg, max(0, seg.rfind(b"<row", 0, last)))
        if m:
            facts.last_value_row = max(facts.last_value_row, int(m.group(1)))
    if b't="e"' in seg:
        for rx in (_ERROR_CELL, _ERROR_CELL_T_FIRST):
            for col, row, val in rx.findall(seg):
                facts.error_cells[(int(row) - 1, column_index(col))] = val.decode("utf-8", "replace")
    if b"<f" in seg:
        for col, row, formula in _FORMULA_NO_VALUE.findall(seg):
            facts.formula_cells[(int(row) - 1, column_index(col))] = "=" + (formula.decode("utf-8", "replace") or "...")


__all__ = ["MAX_ENTRIES", "MAX_RATIO", "SheetFacts", "inspect_workbook",
           "sheet_member", "sheet_names", "column_index"]
