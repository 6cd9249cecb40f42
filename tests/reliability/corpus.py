"""A generated corpus of broken (and awkward-but-valid) centre exports.

Every case starts from a clean synthetic export (:func:`synth.write_exports`) and mutates its
bytes.  ``Sources.slot(i)`` hands each case its own patients (a few rows of the clean export), so
row-level cases never interfere with one another in the shared warehouse of one ingestion pass.

A case states the expected outcome: the ``ingest.files`` status, the ``error_code`` of a rejected
file (or the row-level ``rules`` in ``ingest.issues`` of a loaded one), a fragment of the specific,
actionable message, and for row-level cases the file line the issue must point at.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

SLOT_ROWS = 3            # rows per case of a wide export; one bad row of 3 stays under the 50 % policy
BAD_ROW = 1              # 0-based row of the slot that is mutated (file line 3: header is line 1)
BAD_LINE = BAD_ROW + 2


# --------------------------------------------------------------------------------------- sources
@dataclass
class Sources:
    """Clean exports of one synthetic cohort, split into per-case slots."""

    smc: list[list[str]]             # header + rows (cells as strings)
    sch_csv: list[list[str]]         # the same layout as the workbook, as strings
    sch_xlsx: list[list[object]]     # header + rows as python values (dates as datetime)
    knuh_baseline: bytes
    knuh_visits: bytes
    knuh_elisa: bytes
    lis: list[list[str]]             # header + rows of the long lab export
    lis_patients: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, folder: Path, n_patients: int = 200, seed: int = 5) -> "Sources":
        from python_calamine import CalamineWorkbook

        from centres import builtin_profiles
        from synth import generate_cohort, write_exports

        profiles = builtin_profiles()
        cohort = generate_cohort(n_patients, ("smc", "sch", "knuh"), seed)
        m = write_exports(cohort, profiles, folder / "xlsx", error_rate=0.0, seed=seed)
        files = {(r.centre_id, r.kind): Path(r.file) for r in m.files.itertuples()}
        # the sch layout as CSV (same cohort and rows as the workbook)
        write_exports(cohort, profiles, folder / "csv", error_rate=0.0, seed=seed, file_format={"sch": "csv"})
        sch_csv = next((folder / "csv" / "sch").glob("*.csv"))

        def rows(path: Path) -> list[list[str]]:
            return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))

        wb = CalamineWorkbook.from_path(str(files[("sch", "wide")]))
        sheet = wb.get_sheet_by_name("IFX").to_python()
        lis = rows(files[("knuh", "labs_long")])
        pats = list(dict.fromkeys(r[0] for r in lis[1:]))
        return cls(smc=rows(files[("smc", "wide")]), sch_csv=rows(sch_csv), sch_xlsx=[list(r) for r in sheet],
                   knuh_baseline=files[("knuh", "baseline")].read_bytes(),
                   knuh_visits=files[("knuh", "visit")].read_bytes(),
                   knuh_elisa=files[("knuh", "elisa")].read_bytes(), lis=lis, lis_patients=pats)

    # --- per-case slices
    def smc_slot(self, i: int) -> list[list[str]]:
        return [list(self.smc[0])] + [list(r) for r in self.smc[1 + SLOT_ROWS * i: 1 + SLOT_ROWS * (i + 1)]]

    def sch_slot(self, i: int) -> list[list[str]]:
        return [list(self.sch_csv[0])] + [list(r) for r in self.sch_csv[1 + SLOT_ROWS * i: 1 + SLOT_ROWS * (i + 1)]]

    def sch_xlsx_slot(self, i: int) -> list[list[object]]:
        return [list(self.sch_xlsx[0])] + [list(r) for r in self.sch_xlsx[1 + SLOT_ROWS * i: 1 + SLOT_ROWS * (i + 1)]]

    def lis_slot(self, i: int) -> list[list[str]]:
        pid = self.lis_patients[i]
        return [list(self.lis[0])] + [list(r) for r in self.lis[1:] if r[0] == pid]


# --------------------------------------------------------------------------------------- helpers
def to_csv(rows: list[list], delimiter: str = ",", lineterminator: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    w.writerows(rows)
    return buf.getvalue()


def utf8(rows, bom: bool = True, **kw) -> bytes:
    return (("\ufeff" if bom else "") + to_csv(rows, **kw)).encode("utf-8")


def set_cell(rows: list[list], column: str, value, row: int = BAD_ROW) -> list[list]:
    rows[1 + row][rows[0].index(column)] = value
    return rows


def xlsx_bytes(rows: list[list], sheet: str = "IFX") -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ole2_encrypted_workbook() -> bytes:
    """The shape of a password-protected .xlsx: an OLE2/CFB container holding ``EncryptionInfo`` and
    ``EncryptedPackage`` streams (Excel writes exactly this for "Encrypt with password")."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    header[24:26] = (0x003E).to_bytes(2, "little")   # minor version
    header[26:28] = (0x0003).to_bytes(2, "little")   # major version 3 (512-byte sectors)
    header[28:30] = (0xFFFE).to_bytes(2, "little")   # little-endian
    header[30:32] = (9).to_bytes(2, "little")        # sector shift
    header[32:34] = (6).to_bytes(2, "little")        # mini sector shift
    directory = bytearray(512)
    for i, name in enumerate(("Root Entry", "EncryptionInfo", "EncryptedPackage")):
        enc = name.encode("utf-16-le") + b"\0\0"
        directory[128 * i: 128 * i + len(enc)] = enc
        directory[128 * i + 64: 128 * i + 66] = len(enc).to_bytes(2, "little")
        directory[128 * i + 66] = 5 if i == 0 else 2
    return bytes(header) + bytes(directory) + b"\x00" * 1024


# --------------------------------------------------------------------------------------- the case table
@dataclass(frozen=True)
class Case:
    name: str
    centre: str
    file_name: str
    build: Callable[[Sources, int], bytes]
    status: str                       # rejected | loaded | loaded_with_rejections
    code: str | None = None           # ingest.files.error_code of a rejected file
    message: str = ""                 # fragment of ingest.files.message (rejected) or of the issue message
    rules: tuple[str, ...] = ()       # rules that must be in ingest.issues at ``line``
    line: int | None = None
    column: str | tuple[str, ...] | None = None   # issue column_name (row-level; any of a tuple) or file-error column

    @property
    def loaded(self) -> bool:
        return self.status != "rejected"


def RowCase(name, centre, file_name, build, status, message="", rules=(), line=None, column=None) -> Case:
    """A file that loads, with the row-level ``rules`` at ``line`` (-1: the slot's first kept lab row)."""
    return Case(name, centre, file_name, build, status, None, message, tuple(rules), line, column)


def _smc(fn):
    return lambda s, i: fn(s.smc_slot(i))


def _sch(fn):
    return lambda s, i: fn(s.sch_slot(i))


def _lis(fn):
    return lambda s, i: fn(s.lis_slot(i))


def _truncated(rows):
    data = utf8(rows)
    last = data.rstrip(b"\n").rfind(b"\n")
    return data[: last + 1 + (len(data) - last) // 2]        # cut the last row in its middle


def _quoted_newline(rows):
    set_cell(rows, "assay_name", "Matriks Biotek\nShikari Q-INFLIXI")
    return utf8(rows)


def _ragged(rows):
    rows[1 + BAD_ROW].append("surplus")
    return utf8(rows)


def _unterminated_quote(rows):
    text = to_csv(rows)
    lines = text.split("\n")
    lines[2] = lines[2].replace(",", ',"', 1)
    return ("\n".join(lines)).encode("utf-8")


def _invalid_utf8(rows):
    set_cell(rows, "assay_name", "@@BAD@@")
    return utf8(rows).replace(b"@@BAD@@", b"Shikari \xff\xfe kit")


def _cp949_in_utf8_profile(rows):
    set_cell(rows, "assay_name", "샤이카리 키트")
    return to_csv(rows).encode("cp949")


def _utf16(rows):
    return to_csv(rows).encode("utf-16")                       # with BOM (FF FE): decoded


def _utf16_no_bom(rows):
    return to_csv(rows).encode("utf-16-le")


def _duplicate_header(rows):
    rows[0][rows[0].index("sex")] = "pcdai"
    return utf8(rows)


def _duplicate_header_case(rows):
    rows[0][rows[0].index("ses_cd_rectum")] = " SES_CD_Ileum "
    return utf8(rows)


def _blank_header(rows):
    rows[0][rows[0].index("tgn6_pmol_8e8_rbc")] = ""
    for r in rows[1:]:
        r[rows[0].index("")] = r[rows[0].index("")] or "300"
    return utf8(rows)


def _extra_column(rows):
    rows[0].append("favourite_colour")
    for r in rows[1:]:
        r.append("blue")
    return utf8(rows)


def _missing_column(rows):
    j = rows[0].index("birth_date")
    return utf8([r[:j] + r[j + 1:] for r in rows])


def _renamed_column(rows):
    rows[0][rows[0].index("sex")] = "gender"
    return utf8(rows)


def _preamble(rows):
    return ("\ufeffSMC TDM export 2024-05-01\n" + to_csv(rows)).encode("utf-8")


def _crlf(rows):
    return utf8(rows, lineterminator="\r\n")


def _trailing_delimiter(rows):
    return utf8([r + [""] for r in rows])


def _wrong_delim(delim):
    return lambda rows: utf8(rows, delimiter=delim)


def _cell(column, value):
    return lambda rows: utf8(set_cell(rows, column, value))


def _lis_cell(column, value):
    def build(rows):
        # the patient's first kept test (CRP) row, so the cell is not on a dropped test
        j = rows[0].index("TEST_NM")
        k = next(n for n, r in enumerate(rows[1:]) if r[j] in ("CRP", "hs-CRP", "Albumin", "ESR"))
        return utf8(set_cell(rows, column, value, row=k))
    return build


def _lis_line(s: Sources, i: int, test=("CRP", "hs-CRP", "Albumin", "ESR")) -> int:
    rows = s.lis_slot(i)
    j = rows[0].index("TEST_NM")
    return 2 + next(n for n, r in enumerate(rows[1:]) if r[j] in test)


def _pdf(_s, _i):
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _png(_s, _i):
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\0" * 32


def _zip(_s, _i):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("smc_export.csv", "patient_id\nSMC-1\n")
    return buf.getvalue()


def _xlsx_as_csv(s, i):
    return xlsx_bytes(s.sch_xlsx_slot(i))


def _html_as_xlsx(_s, _i):
    return b"<html><head><meta charset='utf-8'></head><body><table><tr><td>1</td></tr></table></body></html>"


def _csv_as_xlsx(s, i):
    return utf8(s.sch_slot(i))


def _corrupt_xlsx(s, i):
    data = xlsx_bytes(s.sch_xlsx_slot(i))
    return data[: len(data) // 2]                       # a truncated download


def _xlsx_wrong_sheet(s, i):
    return xlsx_bytes(s.sch_xlsx_slot(i), sheet="Sheet1")


def _xlsx_cell(column, value):
    def build(s, i):
        rows = s.sch_xlsx_slot(i)
        return xlsx_bytes(set_cell(rows, column, value))
    return build


def _xlsx_excel_error(s, i):
    """A formula cell whose cached value is #DIV/0! (what Excel saves for a failed formula)."""
    import xlsxwriter

    rows = s.sch_xlsx_slot(i)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("IFX")
    j = rows[0].index("CRP (mg/L)")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if r == 1 + BAD_ROW and c == j:
                ws.write_formula(r, c, "=1/0", None, "#DIV/0!")
            elif isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, wb.add_format({"num_format": "dd/mm/yyyy"}))
            elif v is not None and v != "":
                ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def _sch_cp949(s, i):
    return to_csv(s.sch_slot(i)).encode("cp949")


def _sch_euckr(s, i):
    return to_csv(s.sch_slot(i)).encode("euc-kr")


def _sch_latin1_bytes(s, i):
    rows = s.sch_slot(i)
    return to_csv(rows).encode("cp949") + "CW999999,Müller\n".encode("latin-1")


SMC, SCH, KNUH = "smc", "sch", "knuh"
R, L, P = "rejected", "loaded", "loaded_with_rejections"

CASES: list[Case] = [
    # --- empty and near-empty
    Case("zero_bytes", SMC, "smc_zero.csv", lambda s, i: b"", R, "empty_file", "empty (0 bytes)"),
    Case("bom_only", SMC, "smc_bom_only.csv", lambda s, i: b"\xef\xbb\xbf", R, "empty_file", "no data"),
    Case("whitespace_only", SMC, "smc_blank.csv", lambda s, i: b"\n \n\t\n", R, "empty_file", "no data"),
    Case("header_only", SMC, "smc_header_only.csv", _smc(lambda r: utf8(r[:1])), R, "header_only",
         "header but no data rows"),
    Case("header_and_blank_lines", SMC, "smc_header_blank.csv", _smc(lambda r: utf8(r[:1]) + b"\n\n,,\n"), R,
         "header_only", "header but no data rows"),
    # --- structure
    Case("truncated_mid_row", SMC, "smc_truncated.csv", _smc(_truncated), R, "truncated_file",
         "ends in the middle of line 4"),
    Case("wrong_delimiter_semicolon", SMC, "smc_semicolon.csv", _smc(_wrong_delim(";")), R, "wrong_delimiter",
         "';'"),
    Case("wrong_delimiter_tab", SMC, "smc_tab.csv", _smc(_wrong_delim("\t")), R, "wrong_delimiter", "tab"),
    Case("ragged_row", SMC, "smc_ragged.csv", _smc(_ragged), R, "field_count", "line 3 has 46 fields, the header 45"),
    Case("unterminated_quote", SMC, "smc_open_quote.csv", _smc(_unterminated_quote), R, "malformed_csv",
         "quote"),
    Case("quoted_newline_in_cell", SMC, "smc_quoted_newline.csv", _smc(_quoted_newline), L),
    Case("crlf_line_endings", SMC, "smc_crlf.csv", _smc(_crlf), L),
    Case("trailing_delimiter", SMC, "smc_trailing_delim.csv", _smc(_trailing_delimiter), L),
    Case("preamble_before_header", SMC, "smc_preamble.csv", _smc(_preamble), R, "field_count",
         "every line below it has 45"),
    # --- headers and columns
    Case("duplicate_header", SMC, "smc_dup_header.csv", _smc(_duplicate_header), R, "duplicate_columns",
         "duplicate column headers", column="pcdai"),
    Case("duplicate_header_case_space", SMC, "smc_dup_header_case.csv", _smc(_duplicate_header_case), R,
         "duplicate_columns", "duplicate column headers"),
    Case("blank_header_with_values", SMC, "smc_blank_header.csv", _smc(_blank_header), R, "missing_header",
         "no header"),
    Case("extra_column", SMC, "smc_extra_col.csv", _smc(_extra_column), R, "unknown_columns", "'favourite_colour'",
         column="favourite_colour"),
    Case("missing_column", SMC, "smc_missing_col.csv", _smc(_missing_column), R, "missing_columns",
         "'birth_date'", column="birth_date"),
    Case("renamed_column", SMC, "smc_renamed_col.csv", _smc(_renamed_column), R, "missing_columns",
         "unmapped columns 'gender'", column="sex"),
    # --- encodings
    Case("utf8_bom", SMC, "smc_bom.csv", _smc(lambda r: utf8(r, bom=True)), L),
    Case("utf8_no_bom", SMC, "smc_nobom.csv", _smc(lambda r: utf8(r, bom=False)), L),
    Case("utf16_with_bom", SMC, "smc_utf16.csv", _smc(_utf16), L),
    Case("utf16_without_bom", SMC, "smc_utf16_nobom.csv", _smc(_utf16_no_bom), R, "encoding", "UTF-16"),
    Case("cp949_in_utf8_profile", SMC, "smc_cp949.csv", _smc(_cp949_in_utf8_profile), R, "encoding",
         "cannot be decoded as utf-8-sig"),
    Case("invalid_utf8_bytes", SMC, "smc_bad_bytes.csv", _smc(_invalid_utf8), R, "encoding", "byte"),
    Case("sch_cp949_csv", SCH, "sch_cp949.csv", _sch_cp949, L),
    Case("sch_euckr_csv", SCH, "sch_euckr.csv", _sch_euckr, L),
    Case("sch_mixed_encodings", SCH, "sch_mixed.csv", _sch_latin1_bytes, R, "encoding", "cp949"),
    # --- numbers
    RowCase("thousands_separator", SMC, "smc_thousands.csv", _smc(_cell("wbc_per_ul", "9,780")), P,
         "thousands separator", ("not_a_number",), BAD_LINE, "wbc_per_ul"),
    RowCase("decimal_comma", SMC, "smc_decimal_comma.csv", _smc(_cell("albumin_g_dl", "4,5")), P,
         "decimal comma", ("not_a_number",), BAD_LINE, "albumin_g_dl"),
    RowCase("placeholder_NA", SMC, "smc_na.csv", _smc(_cell("esr_mm_h", "N/A")), P,
         "placeholder", ("not_a_number",), BAD_LINE, "esr_mm_h"),
    RowCase("placeholder_dash", SMC, "smc_dash.csv", _smc(_cell("pcdai", "-")), P,
         "placeholder", ("not_a_number",), BAD_LINE, "pcdai"),
    RowCase("placeholder_dot", SMC, "smc_dot.csv", _smc(_cell("trough_ug_ml", ".")), P,
         "placeholder", ("not_a_number",), BAD_LINE, "trough_ug_ml"),
    RowCase("excel_error_NA", SMC, "smc_excel_na.csv", _smc(_cell("crp_mg_dl", "#N/A")), P,
         "Excel error", ("not_a_number",), BAD_LINE, "crp_mg_dl"),
    RowCase("excel_error_div0", SMC, "smc_excel_div0.csv", _smc(_cell("trough_ug_ml", "#DIV/0!")), P,
         "Excel error", ("not_a_number",), BAD_LINE, "trough_ug_ml"),
    # an absurd lab value is flagged (a warning: the dictionary's lab ranges are plausibility ranges)
    RowCase("huge_value", SMC, "smc_huge.csv", _smc(_cell("crp_mg_dl", "1e300")), L,
         "outside the plausible", ("lab_value_implausible",), BAD_LINE, "crp_mg_dl"),
    RowCase("huge_integer_overflow", SMC, "smc_huge_int.csv", _smc(_cell("n_infusions", "99999999999999999999999")), P,
         "too large to be a whole number", ("not_a_number",), BAD_LINE, "n_infusions"),
    RowCase("infinite_value", SMC, "smc_inf.csv", _smc(_cell("crp_mg_dl", "inf")), P,
         "not a finite number", ("not_a_number",), BAD_LINE, "crp_mg_dl"),
    RowCase("negative_trough", SMC, "smc_negative_trough.csv", _smc(_cell("trough_ug_ml", "-3.2")), P,
         "out of range", ("range",), BAD_LINE, "trough_ug_ml"),
    # --- dates
    RowCase("excel_serial_date", SMC, "smc_serial_date.csv", _smc(_cell("birth_date", "36526")), P,
         "Excel serial day number", ("unparseable_date",), BAD_LINE, "birth_date"),
    RowCase("impossible_date", SMC, "smc_feb30.csv", _smc(_cell("diagnosis_date", "2014-02-30")), P,
         "not a date", ("unparseable_date",), BAD_LINE, "diagnosis_date"),
    RowCase("impossible_month", SMC, "smc_month13.csv", _smc(_cell("colonoscopy_date", "2015-13-01")), P,
         "not a date", ("unparseable_date",), BAD_LINE, "colonoscopy_date"),
    RowCase("future_date_9999", SMC, "smc_year9999.csv", _smc(_cell("ifx_start_date", "9999-12-31")), P,
         "in the future", ("not_future", "date_order"), BAD_LINE, "ifx_start_date"),
    # --- file type and workbooks
    Case("pdf_named_csv", SMC, "smc_report.csv", _pdf, R, "wrong_file_type", "PDF"),
    Case("png_named_csv", SMC, "smc_scan.csv", _png, R, "wrong_file_type", "PNG"),
    Case("zip_named_csv", SMC, "smc_archive.csv", _zip, R, "wrong_file_type", "ZIP"),
    Case("xlsx_named_csv", SMC, "smc_workbook.csv", _xlsx_as_csv, R, "wrong_file_type", "Excel workbook"),
    Case("csv_named_xlsx", SCH, "sch_text.xlsx", _csv_as_xlsx, R, "wrong_file_type", "text"),
    Case("html_named_xlsx", SCH, "sch_html.xlsx", _html_as_xlsx, R, "wrong_file_type", "HTML"),
    Case("password_protected_xlsx", SCH, "sch_locked.xlsx", lambda s, i: ole2_encrypted_workbook(), R,
         "encrypted_workbook", "password-protected"),
    Case("corrupt_xlsx", SCH, "sch_corrupt.xlsx", _corrupt_xlsx, R, "unreadable", "corrupt"),
    Case("xlsx_wrong_sheet", SCH, "sch_sheet1.xlsx", _xlsx_wrong_sheet, R, "missing_sheet", "'IFX'"),
    RowCase("xlsx_excel_error_cell", SCH, "sch_div0.xlsx", _xlsx_excel_error, P,
         "Excel error", ("not_a_number",), BAD_LINE, "crp_mg_dl"),
    RowCase("xlsx_serial_date_number", SCH, "sch_serial.xlsx", _xlsx_cell("CFS date", 42005), P,
         "Excel serial day number", ("unparseable_date",), BAD_LINE, "colonoscopy_date"),
    Case("no_matching_pattern", KNUH, "knuh_notes.csv", lambda s, i: b"a,b\n1,2\n", R, "no_matching_spec",
         "matches none"),
    # --- long lab export
    RowCase("lis_unknown_test", KNUH, "knuh_lis_unknown_test.csv", _lis(_lis_cell("TEST_NM", "Ferritin")), P,
         "not a known test name", ("unknown_code",), -1, "analyte"),
    RowCase("lis_unknown_unit", KNUH, "knuh_lis_unit.csv", _lis(_lis_cell("UNIT", "furlongs")), P,
         "not a unit", ("unknown_unit",), -1, "value"),
    RowCase("lis_negative_value", KNUH, "knuh_lis_negative.csv", _lis(_lis_cell("RSLT", "-5")), P,
         "negative", ("range",), -1, ("crp_mg_dl", "albumin_g_dl", "esr_mm_h")),   # the row's analyte
    RowCase("lis_excel_error", KNUH, "knuh_lis_excel_error.csv", _lis(_lis_cell("RSLT", "#VALUE!")), P,
         "Excel error", ("not_a_number",), -1, "value"),
    RowCase("lis_impossible_datetime", KNUH, "knuh_lis_bad_time.csv", _lis(_lis_cell("SPC_DT", "2015-02-29 08:00:00")),
         P, "not a sample date", ("unparseable_date",), -1, "sample_date"),
    # --- content that must be stored inertly (not executed by the report or a spreadsheet)
    Case("formula_injection_cell", SMC, "smc_formula.csv",
         _smc(_cell("assay_name", "=HYPERLINK(\"http://evil.example\",\"x\")")), L),
    Case("html_injection_cell", SMC, "smc_script.csv", _smc(_cell("assay_name", "<script>alert(1)</script>")), L),
]

# Cases for the classes of issue 13 (field counts, hostile workbooks, messages); they build on the
# helpers above, so they are imported last.
from tests.reliability.corpus_hostile import HOSTILE_CASES  # noqa: E402

CASES += HOSTILE_CASES
