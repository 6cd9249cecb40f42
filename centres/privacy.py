"""Pseudonymisation of patient identifiers with a keyed hash (HMAC-SHA256).

The key comes from ``TDM_PSEUDONYM_KEY`` (hex or text), else the file named by
``TDM_PSEUDONYM_KEY_FILE``.  In ``demo`` mode, failing both, ``tdm init`` (``create=True``) creates
a random key once under ``<home>/secrets/pseudonym.key``; nothing else creates one, because a
second key would give the same patient a second pseudonym.  In ``production`` mode a missing key
is an error - there is never a default key.  The hash depends on the raw study number only (not the centre), so the same
number arriving from two centres is detectable; rows are still keyed by (centre, patient).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pandas as pd

from base.config import Settings
from base.errors import ConfigError, PrivacyError

PSEUDONYM_PREFIX = "P"
PSEUDONYM_HEX_CHARS = 16  # 64 bits: collision-free for any study size


def load_key(settings: Settings, *, create: bool = False) -> bytes:
    """The home's key: ``settings.pseudonym_key``, else ``settings.pseudonym_key_file`` (read from
    ``TDM_PSEUDONYM_KEY`` / ``TDM_PSEUDONYM_KEY_FILE`` by :func:`base.config.load_settings`)."""
    if settings.pseudonym_key:
        return settings.pseudonym_key.encode("utf-8")
    if settings.pseudonym_key_file is not None:
        path = settings.pseudonym_key_file
        if not path.is_file():
            raise ConfigError("pseudonymisation key file not found", file=str(path),
                              hint="point TDM_PSEUDONYM_KEY_FILE at an existing key file")
        data = path.read_bytes().strip()
        if len(data) < 16:
            raise ConfigError("pseudonymisation key is too short (need at least 16 bytes)", file=str(path))
        return data
    if settings.mode == "production":
        raise ConfigError(
            "no pseudonymisation key: production mode needs TDM_PSEUDONYM_KEY or TDM_PSEUDONYM_KEY_FILE",
            code="missing_key",
            hint="create a secret key outside the repository and set TDM_PSEUDONYM_KEY_FILE to its path",
        )
    path = settings.secrets / "pseudonym.key"
    if not path.exists() and not create:
        raise ConfigError(
            f"no pseudonymisation key at {path}", code="missing_key",
            hint="run 'tdm init' to create the demo key; if this home had a key, restore it instead "
                 "(a new key gives every patient a new pseudonym)")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_bytes().strip()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA256 pads of ``key`` (RFC 2104), so that the columnar path can
    compute the same pseudonyms with DuckDB's ``sha256`` (tests/columnar compares them)."""
    k = hashlib.sha256(key).digest() if len(key) > 64 else key
    k = k.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)


def pseudonymise(raw_ids: pd.Series, key: bytes) -> pd.Series:
    """Map raw study numbers to stable pseudonyms; missing stays missing.

    Identical raw ids hash once (``unique`` then ``map``), so a 1e6-row lab file with 10,000
    patients costs 10,000 HMACs.
    """
    s = raw_ids.astype("str").str.strip()
    s = s.where(raw_ids.notna() & (s != ""))
    uniq = s.dropna().unique()
    table = {
        u: PSEUDONYM_PREFIX + hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARS]
        for u in uniq
    }
    return s.map(table).astype("str").where(s.notna())


# --- direct identifier detection -------------------------------------------------------------
# A file is rejected before anything is stored when a column *name* or a sample of its *values*
# looks like a direct identifier.  The finding names the column and the kind, never the value.

_IDENTIFIER_HEADERS = {
    "name": ("name", "patient name", "patient_name", "full name", "first name", "last name", "surname",
             "given name", "이름", "성명", "환자명", "환자이름"),
    "resident registration number": ("rrn", "resident registration number", "ssn", "주민등록번호", "주민번호"),
    "phone number": ("phone", "telephone", "mobile", "tel", "cell", "전화번호", "연락처", "휴대폰"),
    "address": ("address", "street", "addr", "주소"),
    "e-mail": ("email", "e-mail", "mail", "이메일"),
}

_IDENTIFIER_VALUE_PATTERNS = {
    # Korean resident registration number: YYMMDD-GNNNNNN (G = 1-4 century/sex digit)
    "resident registration number": r"^\s*\d{6}\s*-\s*[1-4]\d{6}\s*$",
    "phone number": r"^\s*(?:\+82[- ]?)?0?1[016789][- .]?\d{3,4}[- .]?\d{4}\s*$",
    "e-mail": r"^\s*[\w.+-]+@[\w-]+\.[\w.-]+\s*$",
}

SCAN_SAMPLE_ROWS = 2000
SCAN_MIN_FRACTION = 0.2


def _norm_header(h: str) -> str:
    return " ".join(str(h).strip().lower().replace("_", " ").split())


def scan_identifiers(raw: pd.DataFrame) -> list[tuple[str, str]]:
    """Columns that look like direct identifiers: ``[(column, kind), ...]``.

    Headers are matched exactly (after normalising case, ``_`` and spaces) against known names in
    English and Korean; values are sampled (first rows) and a column is flagged when at least
    ``SCAN_MIN_FRACTION`` of its non-empty sampled values match an identifier pattern.
    """
    findings: list[tuple[str, str]] = []
    header_kinds = {_norm_header(h): kind for kind, names in _IDENTIFIER_HEADERS.items() for h in names}
    sample = raw.head(SCAN_SAMPLE_ROWS)
    for col in raw.columns:
        if col == "source_line":
            continue
        kind = header_kinds.get(_norm_header(col))
        if kind:
            findings.append((str(col), kind))
            continue
        values = sample[col].dropna().astype("str")
        values = values[values.str.strip() != ""]
        if values.empty:
            continue
        for kind, pattern in _IDENTIFIER_VALUE_PATTERNS.items():
            if values.str.match(pattern).mean() >= SCAN_MIN_FRACTION:
                findings.append((str(col), kind))
                break
    return findings


def refuse_identifiers(raw: pd.DataFrame, file_name: str) -> None:
    """Raise :class:`~base.errors.PrivacyError` naming the columns (never a value) if any look like
    direct identifiers; called on a file (or its first streamed chunk) before anything is stored."""
    findings = scan_identifiers(raw)
    if findings:
        cols = ", ".join(f"'{c}' ({k})" for c, k in findings)
        raise PrivacyError(
            f"direct identifiers found in column(s) {cols}; nothing from this file was stored",
            file=file_name, column=findings[0][0],
            hint="remove names, registration numbers, phone numbers, addresses and e-mails; "
                 "export only the study number",
        )
