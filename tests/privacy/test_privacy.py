"""Pseudonymisation keys and direct-identifier detection."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from base.config import load_settings
from base.errors import ConfigError
from centres.privacy import load_key, pseudonymise, scan_identifiers


def test_pseudonyms_are_keyed_hmac_and_stable():
    ids = pd.Series(["A001", "A002", None, " A001 ", ""], dtype="str")
    out = pseudonymise(ids, b"k" * 32)
    expected = "P" + hmac.new(b"k" * 32, b"A001", hashlib.sha256).hexdigest()[:16]
    assert out[0] == expected and out[3] == expected
    assert out[1] != out[0]
    assert pd.isna(out[2]) and pd.isna(out[4])
    assert pseudonymise(ids, b"x" * 32)[0] != expected  # another key, another pseudonym


def test_production_mode_requires_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("TDM_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("TDM_PSEUDONYM_KEY_FILE", raising=False)
    prod = load_settings(tmp_path / "h", mode="production")
    with pytest.raises(ConfigError) as err:
        load_key(prod)
    assert err.value.code == "missing_key"
    assert not (prod.secrets / "pseudonym.key").exists()


def test_key_from_file_and_environment(tmp_path, monkeypatch):
    def prod():          # the settings read the environment once, when they are built
        return load_settings(tmp_path / "h", mode="production")

    keyfile = tmp_path / "key"
    keyfile.write_text("0123456789abcdef0123456789abcdef\n")
    monkeypatch.delenv("TDM_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("TDM_PSEUDONYM_KEY_FILE", str(keyfile))
    assert load_key(prod()) == b"0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "from-env-secret-value")
    assert load_key(prod()) == b"from-env-secret-value"
    assert "from-env-secret-value" not in repr(prod())          # the key never shows in a log line
    keyfile.write_text("short")
    monkeypatch.delenv("TDM_PSEUDONYM_KEY")
    with pytest.raises(ConfigError):
        load_key(prod())


def test_demo_mode_creates_one_random_key(tmp_path, monkeypatch):
    monkeypatch.delenv("TDM_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("TDM_PSEUDONYM_KEY_FILE", raising=False)
    demo = load_settings(tmp_path / "h", mode="demo")
    with pytest.raises(ConfigError, match="no pseudonymisation key at .*run 'tdm init'"):
        load_key(demo)                       # only `tdm init` creates the key
    assert not (tmp_path / "h").exists()
    k1, k2 = load_key(demo, create=True), load_key(demo)
    assert k1 == k2 and len(k1) == 64


@pytest.mark.parametrize("header, values, kind", [
    ("Patient Name", ["x", "y"], "name"),
    ("성명", ["홍길동", "김철수"], "name"),
    ("주민등록번호", ["x", "y"], "resident registration number"),
    ("memo", ["050101-3123456", "061231-4234567"], "resident registration number"),
    ("contact", ["010-1234-5678", "01098765432"], "phone number"),
    ("note", ["a@b.org", "c.d@hosp.kr"], "e-mail"),
    ("addr", ["x", "y"], "address"),
])
def test_identifier_columns_are_found(header, values, kind):
    raw = pd.DataFrame({"patient_id": ["S1", "S2"], header: values, "source_line": [2, 3]})
    assert scan_identifiers(raw) == [(header, kind)]


def test_study_data_is_not_mistaken_for_identifiers():
    raw = pd.DataFrame({
        "patient_id": ["SMC-0001", "SMC-0002"], "birth_date": ["2002-03-01", "2003-05-02"],
        "crp_mg_dl": ["0.04", "0.13"], "assay_name": ["Shikari Q-INFLIXI", "Shikari Q-INFLIXI"],
        "trough_ug_ml": ["<0.4", "4.2"], "source_line": [2, 3],
    })
    assert scan_identifiers(raw) == []
