"""Corpus cases for the classes of issue 13: lines with the wrong number of fields, workbooks that
would exhaust the machine, and inputs whose messages used to say nothing.  Written for each class
(not copies of the issue's examples); appended to ``corpus.CASES``, so they run in the same pass."""

from __future__ import annotations

import io
import unicodedata
import zipfile

from tests.reliability.corpus import (BAD_LINE, BAD_ROW, KNUH, SCH, SMC, Case, L, P, R, RowCase, _lis, _smc, set_cell,
                                      to_csv, utf8, xlsx_bytes)


# --- field counts (every path a CSV takes: wide, sch CP949/UTF-8, knuh long labs and visits)
def _drop_field(column):
    def build(rows):
        j = rows[0].index(column)
        del rows[1 + BAD_ROW][j]
        return utf8(rows)
    return build


def _drop_last_fields(k):
    def build(rows):
        del rows[1 + BAD_ROW][-k:]
        return utf8(rows)
    return build


def _two_bad_lines(rows):
    del rows[1][3]
    rows[3].extend(["x", "y"])
    return utf8(rows)


def _sch_short(s, i):
    rows = s.sch_slot(i)
    del rows[2][5]
    return to_csv(rows).encode("cp949")


def _knuh_visit_short(s, i):
    lines = s.knuh_visits.decode("utf-8-sig").splitlines()
    lines[3] = lines[3][: lines[3].rfind(",")]          # the last field missing
    return ("\ufeff" + "\n".join(lines[:6]) + "\n").encode("utf-8")


def _lis_short(rows):
    del rows[2][3]                                       # RSLT missing: the unit would be read as the value
    return utf8(rows)


# --- line structure and header lines
def _cr_only(rows):
    return utf8(rows, lineterminator="\r")


def _sch_cr_only(s, i):
    return to_csv(s.sch_slot(i), lineterminator="\r").encode("cp949")


def _sep_line(sep):
    return lambda rows: ("sep=" + sep + "\r\n").encode("utf-8") + utf8(rows, bom=False, lineterminator="\r\n")


def _group_header(rows):
    n = len(rows[0])
    group = ["Patient"] + [""] * 9 + ["Colonoscopy"] + [""] * (n - 11)
    return utf8([group] + rows)


def _long_line(rows):
    return utf8(rows[:2]) + b"x" * (2 << 20)            # 2 MB with no line break


def _nfd_headers(s, i):
    rows = s.sch_slot(i)
    rows[0] = [unicodedata.normalize("NFD", h) for h in rows[0]]
    for r in rows[1:]:
        r[:] = [unicodedata.normalize("NFD", v) for v in r]
    return utf8(rows)


def _all_nul(_s, _i):
    return b"\0" * 4096


# --- workbooks
def _with_part(data: bytes, name: str, payload: bytes) -> bytes:
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, payload)
    return buf.getvalue()


def _zip_bomb(s, i):
    return _with_part(xlsx_bytes(s.sch_xlsx_slot(i)), "xl/media/image1.xml", b" " * (40 << 20))


def _many_parts(s, i):
    buf = io.BytesIO(xlsx_bytes(s.sch_xlsx_slot(i)))
    with zipfile.ZipFile(buf, "a") as z:
        for k in range(2100):
            z.writestr(f"xl/media/p{k}.bin", b"")
    return buf.getvalue()


def _replace_part(data: bytes, name: str, fn) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            z.writestr(info.filename, fn(body) if info.filename == name else body)
    return out.getvalue()


def _xxe(s, i):
    return _replace_part(xlsx_bytes(s.sch_xlsx_slot(i)), "xl/worksheets/sheet1.xml",
                         lambda b: b.replace(b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY x SYSTEM '
                                                       b'"file:///etc/passwd">]><worksheet', 1))


def _laughs(s, i):
    ents = b'<!ENTITY a "ha">' + b"".join(b'<!ENTITY %s "&%s;&%s;&%s;&%s;&%s;">' % (bytes([98 + k]), bytes([97 + k]),
                                                                                      bytes([97 + k]), bytes([97 + k]),
                                                                                      bytes([97 + k]), bytes([97 + k]))
                                          for k in range(9))
    return _replace_part(xlsx_bytes(s.sch_xlsx_slot(i)), "xl/worksheets/sheet1.xml",
                         lambda b: b.replace(b"<worksheet", b"<!DOCTYPE worksheet [" + ents + b"]><worksheet", 1))


def _stray_cell_far_below(s, i):
    import openpyxl

    rows = s.sch_xlsx_slot(i)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IFX"
    for r in rows:
        ws.append(r)
    ws.cell(row=1_048_576, column=3, value=" ")          # the used range now claims every row
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _formula_without_value(s, i):
    import datetime as dt

    import xlsxwriter

    rows = s.sch_xlsx_slot(i)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("IFX")
    j = rows[0].index("PCDAI")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if r == 1 + BAD_ROW and c == j:
                ws.write_formula(r, c, "=SUM(X2:Y2)", None, "")    # no cached value stored
            elif isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, wb.add_format({"num_format": "dd/mm/yyyy"}))
            elif v is not None and v != "":
                ws.write(r, c, v)
    wb.close()
    data = buf.getvalue()
    return _replace_part(data, "xl/worksheets/sheet1.xml", lambda b: b.replace(b"<v></v>", b"").replace(b"<v/>", b""))


HOSTILE_CASES: list[Case] = [
    # --- a line with a different number of fields than the header is never loaded
    Case("short_line_middle_field", SMC, "smc_short_middle.csv", _smc(_drop_field("esr_mm_h")), R, "field_count",
         "line 3 has 44 fields, the header 45"),
    Case("short_line_last_fields", SMC, "smc_short_end.csv", _smc(_drop_last_fields(2)), R, "field_count",
         "line 3 has 43 fields, the header 45"),
    Case("two_lines_wrong_count", SMC, "smc_two_bad.csv", _smc(_two_bad_lines), R, "field_count",
         "line 2 has 44 fields, the header 45 (also line 4 has 47)"),
    Case("sch_cp949_short_line", SCH, "sch_short.csv", _sch_short, R, "field_count", "line 3 has 39 fields, the header 40"),
    Case("knuh_visit_short_line", KNUH, "knuh_short_visits.csv", _knuh_visit_short, R, "field_count",
         "line 4 has 14 fields, the header 15"),
    Case("lis_short_line", KNUH, "knuh_lis_short.csv", _lis(_lis_short), R, "field_count",
         "line 3 has 6 fields, the header 7"),
    # --- line structure, header lines, encodings of text
    Case("cr_only_line_endings", SMC, "smc_mac.csv", _smc(_cr_only), L),
    Case("sch_cr_only_cp949", SCH, "sch_mac.csv", _sch_cr_only, L),
    Case("excel_sep_line", SMC, "smc_sep_line.csv", _smc(_sep_line(",")), L),
    Case("excel_sep_line_other_delimiter", SMC, "smc_sep_semicolon.csv", _smc(_sep_line(";")), R, "wrong_delimiter",
         "'sep=;'"),
    Case("group_header_row_above_header", SMC, "smc_group_header.csv", _smc(_group_header), R, "missing_header",
         "group-header row"),
    Case("line_without_line_break", SMC, "smc_one_line.csv", _smc(_long_line), R, "line_too_long",
         "line 3 is longer than 1,024 KB"),
    Case("nfd_korean_headers_and_labels", SCH, "sch_nfd.csv", _nfd_headers, L),
    RowCase("zero_width_space_in_code", SMC, "smc_zwsp.csv", _smc(lambda r: utf8(set_cell(r, "sex", "M\u200b"))), P,
            "'M\\u200b' is not a known code", ("unknown_code",), BAD_LINE, "sex"),
    RowCase("nbsp_in_number", SMC, "smc_nbsp.csv", _smc(lambda r: utf8(set_cell(r, "pcdai", "1\u00a00"))), P,
            "invisible characters", ("not_a_number",), BAD_LINE, "pcdai"),
    Case("all_nul_bytes", SMC, "smc_nul.csv", _all_nul, R, "unreadable", "only zero bytes"),
    # --- workbooks that would exhaust the machine, or that are unsafe
    Case("xlsx_zip_bomb_part", SCH, "sch_bomb.xlsx", _zip_bomb, R, "unsafe_workbook", "zip bomb"),
    Case("xlsx_too_many_parts", SCH, "sch_parts.xlsx", _many_parts, R, "unsafe_workbook", "parts"),
    Case("xlsx_external_entity", SCH, "sch_xxe.xlsx", _xxe, R, "unsafe_workbook", "refused as unsafe"),
    Case("xlsx_billion_laughs", SCH, "sch_laughs.xlsx", _laughs, R, "unsafe_workbook", "billion laughs"),
    Case("xlsx_used_range_to_last_row", SCH, "sch_stray_cell.xlsx", _stray_cell_far_below, L),
    RowCase("xlsx_formula_without_value", SCH, "sch_formula.xlsx", _formula_without_value, P,
            "formula without a stored value", ("not_a_number",), BAD_LINE, "pcdai"),
]
