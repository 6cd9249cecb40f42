"""Pseudonymisation of patient identifiers with a keyed hash (HMAC-SHA256).

The key comes from ``TDM_PSEUDONYM_KEY`` (hex or text), else the file named by
``TDM_PSEUDONYM_KEY_FILE``.  In ``demo`` mode, failing both, a random key is created once under
``<home>/secrets/pseudonym.key``; in ``production`` mode a missing key is an error - there is never
a default key.  The hash depends on the raw study number only (not the centre), so the same
number arriving from two centres is detectable; rows are still keyed by (centre, patient).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from tdm.errors import ConfigError

PSEUDONYM_PREFIX = "P"
PSEUDONYM_HEX_CHARS = 16  # 64 bits: collision-free for any study size


def load_key(settings) -> bytes:
    value = os.environ.get("TDM_PSEUDONYM_KEY")
    if value:
        return value.encode("utf-8")
    key_file = os.environ.get("TDM_PSEUDONYM_KEY_FILE")
    if key_file:
        path = Path(key_file).expanduser()
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
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_bytes().strip()


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
